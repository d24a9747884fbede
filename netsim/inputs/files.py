"""Input files nobody has to trust: refused before reading unless they are regular files of
a bounded size, and decoded strictly.

A FIFO would block a reader forever and `/dev/zero` would fill memory, so only regular files
are opened; a size limit bounds the work any file can cause."""

from __future__ import annotations

import stat
from pathlib import Path

MAX_SCENARIO_BYTES = 8 << 20  # a scenario of 10,000 base stations is ~1 MB
MAX_TRACE_BYTES = 1 << 30


class InputFileError(ValueError):
    """A file that cannot be used as input: the message says why, never what it holds."""


def checked_file(path: Path, what: str, max_bytes: int) -> Path:
    """`path` if it is a regular file of at most `max_bytes`; an InputFileError otherwise."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"{what} {path} does not exist") from None
    except OSError as err:  # a name too long, a loop of links, no permission
        raise InputFileError(f"{what} {_short(path)} cannot be opened ({err.strerror})"
                             ) from None
    except ValueError:  # a NUL character in the name
        raise InputFileError(f"{what} {_short(path)} is not a valid file name") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{what} {path} is not a regular file (a device, a pipe or a "
                             "socket cannot be read as input)")
    if info.st_size > max_bytes:
        raise InputFileError(f"{what} {path} has {info.st_size:,} bytes, more than the "
                             f"{max_bytes:,} allowed")
    return path


def read_text(path: Path, what: str, max_bytes: int) -> str:
    """The UTF-8 text of a checked file; bad bytes are reported by line and offset."""
    data = checked_file(path, what, max_bytes).read_bytes()[: max_bytes + 1]
    if len(data) > max_bytes:  # it grew after the check
        raise InputFileError(f"{what} {path} has more than the {max_bytes:,} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputFileError(f"{what} {path} is not UTF-8 text (byte {err.start}, line "
                             f"{line}: {data[err.start:err.start + 1]!r})") from None


def _short(path: Path, limit: int = 120) -> str:
    """A path for an error message, cut to `limit` characters."""
    text = str(path)
    return text if len(text) <= limit else text[: limit - 3] + "..."
