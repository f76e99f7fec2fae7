"""Files written atomically (readers never see half a file) and JSON read with clear errors."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xlogo_gym.errors import XLogoError


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed.

    `suffix` keeps a file extension for writers that choose the format by name (e.g. ".gif").
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes the file private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a missing file or invalid JSON raises XLogoError naming the file and position."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise XLogoError("file not found", str(path)) from None
    except OSError as err:
        raise XLogoError(f"cannot read: {err.strerror}", str(path)) from None
    except json.JSONDecodeError as err:
        raise XLogoError(f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", str(path)) from None
