from enum import StrEnum


class LogEventName(StrEnum):
    END = "end"
    ERROR = "error"
    LOG = "log"

    def __str__(self) -> str:
        return str(self.value)
