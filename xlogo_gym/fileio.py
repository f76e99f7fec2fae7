"""Files written atomically (readers never see half a file) and JSON read with clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xlogo_gym.errors import XLogoError

#: Name prefix of the temporary files of `atomic_path` (an interrupted writer may leave one behind).
TEMP_PREFIX = ".tmp-"


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed.

    `suffix` keeps a file extension for writers that choose the format by name (e.g. ".gif").
    """
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise XLogoError("is a directory, not a file", str(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=suffix)
    except OSError as err:
        raise XLogoError(f"cannot write here: {err.strerror}", str(path)) from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes the file private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def safe_file_name(name: str, default: str = "task") -> str:
    """`name` (e.g. a task id from a data file) as a plain file name in the current folder: characters other
    than letters, digits, `.`, `_` and `-` become `_`, and leading dots go, so no name climbs out with `..` or
    points elsewhere with `/`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or default


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def read_text(path: str | os.PathLike[str]) -> str:
    """A UTF-8 text file; a missing or unreadable file or bytes that are not UTF-8 raise XLogoError naming it."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise XLogoError("file not found", str(path)) from None
    except UnicodeDecodeError as err:
        raise XLogoError(f"not UTF-8 text: byte {err.object[err.start]:#04x} at offset {err.start}",
                         str(path)) from None
    except OSError as err:
        raise XLogoError(f"cannot read: {err.strerror}", str(path)) from None


def parse_json(text: str | bytes, where: str) -> Any:
    """One JSON value; invalid JSON, nesting deeper than Python's recursion allows or bytes that are not
    UTF-8 raise XLogoError naming `where` and the position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise XLogoError(f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", where) from None
    except UnicodeDecodeError:
        raise XLogoError("not UTF-8 text", where) from None
    except RecursionError:
        raise XLogoError("JSON nested too deeply", where) from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise XLogoError(f"not valid JSON: {err}", where) from None


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a missing file, bytes that are not UTF-8 or invalid JSON raise XLogoError naming the
    file and position."""
    return parse_json(read_text(path), str(path))
