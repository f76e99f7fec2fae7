"""What every training run is configured with: output directory, seed, CPU threads and device.

`SFTConfig` (`agents.policy.config`) and `PPOConfig` (`agents.ppo.config`) extend `RunConfig`;
a subclass restates a field only to give it another default. No torch import here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import EVALUATION_SUITES

#: Data sampling during training: uniform, or emulator (towards the task families the policy fails).
CURRICULA = ("uniform", "emulator")
#: The default of a run's `exclude_suites`.
EXCLUDED_SUITES = list(EVALUATION_SUITES)


@dataclass
class RunConfig:
    """The settings every run shares."""

    out: str = "runs/run"
    """output directory"""
    seed: int = 0
    """random seed"""
    threads: int = 2
    """CPU threads for torch"""
    device: str = "auto"
    """cpu, cuda or auto"""

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise XLogoError(f"must be a non-negative integer, got {self.seed}", "seed")
        if self.threads < 1:
            raise XLogoError(f"must be at least 1, got {self.threads}", "threads")
        for name in ("time_limit_minutes", "checkpoint_minutes"):  # the subclasses' durations
            value = getattr(self, name, None)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise XLogoError(f"must be a positive number of minutes, got {value}", name)


def torch_device(name: str) -> str:
    """A device name for torch: `name`, or for "auto" "cuda" when a GPU is there, else "cpu"."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
