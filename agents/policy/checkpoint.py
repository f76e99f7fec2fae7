"""The shipped policy checkpoints by name (no torch import): `checkpoint_dir("default")`."""

from __future__ import annotations

from pathlib import Path

#: Names of the shipped policy checkpoints: `load_agent("default")` reads CHECKPOINTS / "default".
POLICY_NAMES = ("default", "ppo")
CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


def checkpoint_dir(path_or_name: str) -> str:
    """The directory of a named checkpoint (`default`, `ppo`) or the path given."""
    return str(CHECKPOINTS / path_or_name) if path_or_name in POLICY_NAMES else path_or_name
