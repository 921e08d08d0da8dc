"""Opening an untrusted motion file: the size limit is checked before a byte is read, and every
failure to open or decode ends as one InputError naming the file, so no reader repeats this code.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..motion import MAX_FILE_BYTES

# Largest |value| of a coordinate, offset or angle any reader accepts: 1e9 is 1000 km in millimetres, so
# no real body comes near it, and everything computed from smaller values (squares, products of rotations
# and offsets, cumulative sums over MAX_FRAMES frames) stays far from float overflow.
MAX_ABS_VALUE = 1e9


def check_size(path: str) -> int:
    """The file's size in bytes; refuses a missing file or one over MAX_FILE_BYTES before reading."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise InputError(path, f"cannot read the file ({err.strerror})") from None
    except ValueError:   # e.g. a NUL byte in the name: no file system holds such a file
        raise InputError(path, "cannot read the file (its name holds a character no file name can)") from None
    if size > MAX_FILE_BYTES:  # checked before reading so a huge upload costs nothing
        raise InputError(path, f"file is {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB limit")
    return size


def check_magnitude(values: np.ndarray, path: str, what: str) -> None:
    """Refuses finite values beyond MAX_ABS_VALUE (e.g. 1e300), which would overflow further on."""
    values = np.asarray(values)
    if not values.size:
        return
    largest = max(abs(float(values.max())), abs(float(values.min())))   # no copy, no integer wrap-around
    if largest > MAX_ABS_VALUE:
        raise InputError(path, f"{what} holds a value of magnitude {largest:.3g}, beyond any motion "
                         f"(the limit is {MAX_ABS_VALUE:g})")


def read_text(path: str, kind: str) -> str:
    """The whole file as UTF-8 text (`kind` names the format in the message, e.g. 'BVH')."""
    check_size(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable {kind} text file ({err})") from None


def iter_lines(path: str, kind: str, max_chars: int | None = None) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) read lazily, so a long file never exists as one list of lines;
    a line longer than max_chars is refused (it is not the format, and messages quote lines)."""
    check_size(path)
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            for number, line in enumerate(f, start=1):
                if max_chars is not None and len(line) > max_chars:
                    raise InputError(path, f"line {number} is {len(line)} characters long: not a {kind} file "
                                     f"(the limit is {max_chars})")
                yield number, line
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable {kind} text file ({err})") from None
