from enum import StrEnum


class ProgressEventName(StrEnum):
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    ERROR = "error"
    FAILED = "failed"
    PROGRESS = "progress"

    def __str__(self) -> str:
        return str(self.value)
