from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

ROOT = Path(__file__).resolve().parent.parent
#: The 3,548 reference conformance cases (SEMANTICS.md §11), shipped with the tests so every clone runs them.
CONFORMANCE = ROOT / "tests" / "data" / "conformance.jsonl.gz"


@functools.cache
def conformance_cases() -> tuple[dict, ...]:
    """The reference conformance cases, one dict each (read once per test session)."""
    with gzip.open(CONFORMANCE, "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh)


def needs(*modules: str) -> pytest.MarkDecorator:
    """Skip a test when an optional module is missing (a base install has only numpy), as MiniGrid's tests do."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (an optional extra of xlogo-gym)")
