"""`xlogo-gym train-ppo`: PPO fine-tuning of the transformer policy from a supervised checkpoint; its options are
the fields of `agents.ppo.config.PPOConfig` (torch, stable-baselines3 and sb3-contrib are imported when the
command runs)."""

from __future__ import annotations

import json
import os

from agents.ppo.config import PPOConfig


def train_ppo(config: PPOConfig) -> int:
    from agents.ppo.train import train_ppo as run

    result = run(config)
    print(json.dumps(result, indent=2))
    print(f"policy written to {os.path.abspath(config.out)} (best on held-out generated tasks: "
          f"{os.path.join(os.path.abspath(config.out), 'best')}); evaluate it with: "
          f"xlogo-gym evaluate --agent {config.out} --suite mini-85")
    return 0
