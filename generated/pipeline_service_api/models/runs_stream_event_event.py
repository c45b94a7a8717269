from enum import StrEnum


class RunsStreamEventEvent(StrEnum):
    CHANGED = "changed"
    CREATED = "created"
    DELETED = "deleted"
    LEFT = "left"
    RESET = "reset"
    SYNC = "sync"

    def __str__(self) -> str:
        return str(self.value)
