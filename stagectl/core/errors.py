"""The one exception tree of stagectl.

Every message says what was wrong, where (file:line, device, field) and, where it helps,
what to do about it. Every exception a caller can see derives from :class:`StageError`; only a
module's private control-flow signal that never leaves it (an emulator's ``_Refusal``) stands apart.
"""

from __future__ import annotations


class StageError(Exception):
    """Base of every error stagectl raises on purpose."""


class ConfigError(StageError):
    """A stage file (or a value in it) is not valid.

    ``path`` is the file, ``line`` the 1-based line where known, ``key`` the dotted key
    (``sources[0].listen``) where known.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.detail = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        if key is not None:
            where += f"{key}: "
        super().__init__(where + message)


class DecodeError(StageError):
    """A datagram or frame could not be decoded.

    ``reason`` is a short stable word used as a counter key (``length``, ``type``,
    ``checksum``, ``range``, ...); the message says the detail.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class RuntimeBlocked(StageError):
    """The I/O loop did not answer a synchronous call within its timeout."""


class RuntimeNotRunning(StageError):
    """A coroutine was submitted to an I/O runtime that is not running."""
