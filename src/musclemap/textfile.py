"""Reading the user's CSV files (manifests, predictions): binary junk, a foreign text encoding
or broken quoting is one clear DatasetError naming the file and line, never a traceback."""

from __future__ import annotations

import csv
import errno
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from musclemap.errors import DatasetError


def read_text(path: Path, what: str = "CSV file") -> str:
    """UTF-8 text of `path` (a BOM is dropped); anything else raises DatasetError."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror or err})") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DatasetError(f"{path}: UTF-16 text; save the {what} as UTF-8 CSV")
    if b"\x00" in data:
        raise DatasetError(f"{path}: binary file (NUL bytes), not a {what}")
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DatasetError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
            f"save the {what} as UTF-8 CSV"
        ) from None


def csv_records(path: Path, what: str = "CSV file") -> Iterator[tuple[int, list[str]]]:
    """(first line of the record as an editor numbers it, fields) for each non-blank record.

    Line numbers count blank lines and line breaks inside quoted fields, so they match what the
    user sees; the header is the first record.
    """
    reader = csv.reader(io.StringIO(read_text(path, what), newline=""))
    end = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise DatasetError(f"{path}: line {reader.line_num}: not valid CSV ({err})") from None
        start, end = end + 1, reader.line_num
        if any(f.strip() for f in fields):
            yield start, fields


def format_lines(lines: Iterable[int], limit: int = 8) -> str:
    """'line 4', 'lines 2-41, 57' or 'lines 2, 5, 9 ... and 30 more' (0s are left out).

    Runs of consecutive lines are shown as ranges; at most `limit` items are listed.
    """
    nums = sorted({n for n in lines if n > 0})
    if not nums:
        return ""
    runs: list[list[int]] = []
    for n in nums:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    items = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs]
    shown = ", ".join(items[:limit])
    rest = sum(b - a + 1 for a, b in runs[limit:])
    more = f" and {rest} more" if rest else ""
    return f"line{'s' if len(nums) > 1 else ''} {shown}{more}"


def is_regular_file(path: Path) -> bool:
    """`path.is_file()`, False where the name cannot even be looked up: Path.is_file raises
    OSError for a name too long for the file system (ENAMETOOLONG), which was a traceback."""
    try:
        return path.is_file()
    except OSError:
        return False


def missing_reason(path: Path) -> str:
    """Why `path` is not a readable regular file, in a few words (for "<path>: <reason>")."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            return "file name too long for the file system"
    if path.is_symlink() and not path.exists():
        return "file not found (a symlink to nothing, or a symlink loop)"
    if not path.exists():
        return "file not found"
    if path.is_dir():
        return "is a folder, not a file"
    if not path.is_file():
        return "not a regular file (a FIFO, socket or device)"
    return "file not found"
