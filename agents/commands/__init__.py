"""The `xlogo-gym` commands of the agents: evaluate, compare, train-sft and train-ppo.

`register` hands them to the command line through the entry point `xlogo_gym.commands`
(pyproject.toml), so `xlogo_gym` never imports this package. Nothing heavy is imported here:
each command's module imports torch and the rest when the command runs.
"""

from __future__ import annotations

from xlogo_gym.cli import Command


def register() -> list[Command]:
    """The commands of the agents package."""
    return [
        Command("evaluate", "score an agent on a suite: Markdown table, report.json and a chart",
                "agents.commands.evaluate:evaluate", "eval"),
        Command("compare", "put evaluation reports side by side in one Markdown table",
                "agents.commands.compare:compare"),
        Command("train-sft", "supervised training of the transformer policy on generated tasks",
                "agents.commands.train_sft:train_sft", "train"),
        Command("train-ppo", "PPO fine-tuning of the transformer policy (MaskablePPO, emulator reward)",
                "agents.commands.train_ppo:train_ppo", "train"),
    ]
