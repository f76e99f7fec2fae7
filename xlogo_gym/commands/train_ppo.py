"""`train-ppo`: PPO fine-tuning of the transformer policy from a supervised checkpoint.

The options are the fields of `agents.ppo.train.PPOConfig` (with their docstrings); torch,
stable-baselines3 and sb3-contrib are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

from xlogo_gym.commands.train import _add_fields


def register(sub: argparse._SubParsersAction) -> None:
    from agents.ppo.config import PPOConfig

    p = sub.add_parser("train-ppo", help="PPO fine-tuning of the transformer policy (MaskablePPO, emulator reward)",
                       description=__doc__.splitlines()[0])
    _add_fields(p, PPOConfig)
    p.set_defaults(run=_train_ppo)


def _train_ppo(args: argparse.Namespace) -> int:
    from agents.ppo.config import PPOConfig
    from agents.ppo.train import train_ppo

    config = PPOConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(PPOConfig)})
    result = train_ppo(config)
    print(json.dumps(result, indent=2))
    print(f"policy written to {os.path.abspath(config.out)} (best on held-out generated tasks: "
          f"{os.path.join(os.path.abspath(config.out), 'best')}); evaluate it with: "
          f"xlogo-gym evaluate --agent {config.out} --suite mini-85")
    return 0
