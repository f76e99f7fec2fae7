"""`xlogo-gym train-sft`: supervised training of the transformer policy; its options are the fields of
`agents.policy.config.SFTConfig` and `ModelConfig` (torch is imported when the command runs)."""

from __future__ import annotations

import json
import os

from agents.policy.config import SFTConfig


def train_sft(config: SFTConfig) -> int:
    from agents.policy.train_sft import train_sft as run

    result = run(config)
    print(json.dumps(result, indent=2))
    print(f"policy written to {os.path.abspath(config.out)} "
          f"(evaluate it with: xlogo-gym evaluate --agent {config.out} --suite mini-85)")
    return 0
