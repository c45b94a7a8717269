from enum import StrEnum


class LogLevel(StrEnum):
    CRITICAL = "critical"
    DANGER = "danger"
    DEBUG = "debug"
    ERROR = "error"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"

    def __str__(self) -> str:
        return str(self.value)
