"""Exceptions that songwright raises on bad input.

Every error a user can cause is a :class:`SongwrightError`; the CLI turns it into one line on
stderr and exit code 2. Errors that come from a file say which file and line.
"""

from __future__ import annotations


class SongwrightError(Exception):
    """Base class for errors caused by input, configuration or missing resources."""


class ChordError(SongwrightError, ValueError):
    """A chord symbol that cannot be parsed."""

    def __init__(self, symbol: str, reason: str = "", where: str | None = None) -> None:
        self.symbol = symbol
        self.where = where
        msg = f"cannot parse chord {symbol!r}"
        if reason:
            msg += f": {reason}"
        if where:
            msg += f" (in {where})"
        super().__init__(msg)


class KeyError_(SongwrightError, ValueError):
    """A key name that cannot be parsed (named with a trailing underscore to keep builtins)."""


class FormatError(SongwrightError, ValueError):
    """A malformed input file. Carries the file and line when known."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
