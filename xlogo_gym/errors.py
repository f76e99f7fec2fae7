"""The project's single error type for invalid tasks, programs and parameters."""

from __future__ import annotations


class XLogoError(ValueError):
    """Invalid input: the message names the file, field or line/column at fault."""

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
