"""User-facing errors: one line naming file, row and field; the CLI turns them into exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """An error in the user's input or configuration (printed without a traceback)."""


class DataError(UserError):
    """A problem in one cell, row or file of the raw data."""

    def __init__(self, path: str, message: str, row: int | None = None, field: str | None = None):
        self.path, self.row, self.field, self.detail = path, row, field, message
        where = path
        if row is not None:
            where += f":{row}"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {message}")
