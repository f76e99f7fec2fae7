"""Settings of a PPO run, as a dataclass (no torch import here); `train-ppo` builds its options from it.

`PPOConfig` extends `agents.config.RunConfig` (out, seed, threads, device).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agents.config import CURRICULA, EXCLUDED_SUITES, RunConfig
from xlogo_gym.errors import XLogoError
from xlogo_gym.reward import REWARDS

BASELINES = ("value", "group")


@dataclass
class PPOConfig(RunConfig):
    """Settings of one PPO run (every field is a `train-ppo` option)."""

    out: str = "runs/ppo"
    """output directory: exported policy, best/, resume.zip, progress.csv, TensorBoard logs (tb/)"""
    checkpoint: str = "default"
    """supervised policy to start from and stay close to: a directory or a name (default, ppo)"""
    pool: int = 20_000
    """generated training tasks the episodes draw from"""
    eval_tasks: int = 256
    """other generated tasks on which greedy success is measured during training"""
    exclude_suites: list[str] = field(default_factory=lambda: list(EXCLUDED_SUITES))
    """suites whose worlds are kept out of the pool and the evaluation tasks"""
    seed: int = 1
    """seed of task generation, initialisation and sampling"""
    total_steps: int = 400_000
    """env steps (tokens written) in all"""
    time_limit_minutes: float | None = None
    """stop (with a checkpoint) after this many minutes of this invocation"""
    envs: int = 128
    """vectorised envs (one batched forward pass per step)"""
    n_steps: int = 80
    """steps per env per rollout"""
    batch_size: int = 2048
    """minibatch of the PPO update"""
    epochs: int = 1
    """passes over each rollout"""
    lr: float = 1e-5
    """Adam learning rate (small: the policy starts good)"""
    clip_range: float = 0.2
    """PPO clip range"""
    ent_coef: float = 0.0
    """entropy bonus"""
    vf_coef: float | None = None
    """value-loss weight (default: 0.5 with baseline=value; 0 with group, which needs no critic)"""
    max_grad_norm: float = 0.5
    """gradient-norm clip"""
    gamma: float = 1.0
    """discount (episodes are at most max_tokens long)"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    target_kl: float = 0.05
    """stop an update early once PPO's approx. KL to the rollout policy exceeds this (0: never)"""
    kl_coef: float = 0.05
    """per-token penalty on the log-ratio to the supervised policy (0: none)"""
    baseline: str = "group"
    """advantage baseline: value (the critic, GAE) or group (each task played group_size times per
    rollout; return minus the mean return of its other episodes)"""
    group_size: int = 4
    """episodes per task with baseline=group"""
    skip_uniform: bool = True
    """with baseline=group, no entropy bonus and no critic: leave out of the update (and of the KL pass)
    the tasks whose episodes all earned the same verdict reward (their loss is zero but for the KL term)"""
    reward: str = "sparse"
    """env reward: sparse (1 on success), shaped or progress (see `xlogo_gym.reward.verdict_reward`)"""
    curriculum: str = "emulator"
    """task sampling: uniform, or emulator (online, towards failing families)"""
    curriculum_mix: float = 0.5
    """share of the sampling probability that follows the failure rates"""
    curriculum_window: int = 4096
    """recent episodes the failure rates are measured on"""
    eval_every: int = 20
    """rollouts between greedy evaluations"""
    checkpoint_minutes: float = 5.0
    """minutes between checkpoints"""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.curriculum not in CURRICULA:
            raise XLogoError(f"must be one of {', '.join(CURRICULA)}, got {self.curriculum!r}", "curriculum")
        if self.baseline not in BASELINES:
            raise XLogoError(f"must be one of {', '.join(BASELINES)}, got {self.baseline!r}", "baseline")
        if self.baseline == "group" and self.group_size < 2:
            raise XLogoError(f"must be at least 2 with baseline=group, got {self.group_size}", "group_size")
        if self.reward not in REWARDS:
            raise XLogoError(f"must be one of {', '.join(REWARDS)}, got {self.reward!r}", "reward")
        for name in ("pool", "envs", "n_steps", "batch_size", "epochs", "total_steps", "eval_every",
                     "curriculum_window"):
            if getattr(self, name) < 1:
                raise XLogoError(f"must be at least 1, got {getattr(self, name)}", name)
        if not 0 <= self.curriculum_mix <= 1:
            raise XLogoError(f"must be in 0..1, got {self.curriculum_mix}", "curriculum_mix")

    @property
    def value_coef(self) -> float:
        """`vf_coef`, or its default for the baseline."""
        return self.vf_coef if self.vf_coef is not None else (0.5 if self.baseline == "value" else 0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
