"""Opening an untrusted motion file: the size limit is checked before a byte is read, and every
failure to open or decode ends as one InputError naming the file, so no reader repeats this code.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from ..errors import InputError
from ..motion import MAX_FILE_BYTES


def check_size(path: str) -> int:
    """The file's size in bytes; refuses a missing file or one over MAX_FILE_BYTES before reading."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror})") from None
    if size > MAX_FILE_BYTES:  # checked before reading so a huge upload costs nothing
        raise InputError(path, f"file is {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB limit")
    return size


def read_text(path: str, kind: str) -> str:
    """The whole file as UTF-8 text (`kind` names the format in the message, e.g. 'BVH')."""
    check_size(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable {kind} text file ({err})") from None


def iter_lines(path: str, kind: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) read lazily, so a long file never exists as one list of lines."""
    check_size(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            for number, line in enumerate(f, start=1):
                yield number, line
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable {kind} text file ({err})") from None
