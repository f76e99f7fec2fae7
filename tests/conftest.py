from __future__ import annotations

import contextlib
import functools
import gzip
import importlib.util
import json
import os
from collections.abc import Iterator
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


@contextlib.contextmanager
def interrupted_after_first_shard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside it, `write_dataset` stops (KeyboardInterrupt, which the block expects) as it writes its
    second shard: an interrupted run, for the resume tests."""
    import xlogo_gym.dataset as dataset

    real_write = dataset.write_atomic
    shards = 0

    def flaky_write(path: str, text: str) -> None:
        nonlocal shards
        if os.path.basename(path).startswith("tasks-"):
            shards += 1
            if shards == 2:
                raise KeyboardInterrupt
        real_write(path, text)

    monkeypatch.setattr(dataset, "write_atomic", flaky_write)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        monkeypatch.setattr(dataset, "write_atomic", real_write)
