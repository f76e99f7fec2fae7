"""MaskablePPO from scratch on one difficulty level, in the style of a CleanRL script.

    python examples/sb3_maskable_ppo.py --level 1 --total-timesteps 100000 --seed 0
    python examples/sb3_maskable_ppo.py --level 2 --obs cnn        # the small CNN below instead of an MLP
    tensorboard --logdir runs/sb3

Read it top to bottom: the arguments (a dataclass, parsed by `tyro.cli`), the env
(`XLogo-Mini-LevelN-v0` plus an observation wrapper), an example features extractor, a
greedy evaluation, and training with TensorBoard logs (`time/fps`, the losses, `eval/success`)
and a `results.json` with the success-against-steps curve. Only the public env API and
stable-baselines3 / sb3-contrib are used: nothing from this repository's `agents` package.

Observations (`--obs`):

* `flat`: `xlogo_gym.envs.FlatOneHot`, one 0/1 vector, and SB3's `MlpPolicy`;
* `cnn`: `xlogo_gym.envs.GridOneHot` and `XLogoExtractor` below: a 3x3 CNN over the one-hot
  grid, an order-aware bag of the goal words, the program tokens embedded.

(`xlogo_gym.envs.GridImage` with `MultiInputPolicy` runs SB3's own NatureCNN instead; it works,
but that network is made for 84x84 Atari frames and is slow on an 8x8 grid.)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
import tyro
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

import xlogo_gym  # noqa: F401  (registers the env ids)
from xlogo_gym.encoding import TASK_VOCAB
from xlogo_gym.envs import FlatOneHot, GridOneHot
from xlogo_gym.envs.levels import LEVELS
from xlogo_gym.grammar import N_ACTIONS


@dataclass
class Args:
    level: int = 1
    """difficulty level 1..5: the env `XLogo-Mini-Level{level}-v0`"""
    obs: Literal["flat", "centered", "cnn"] = "centered"
    """observation and network: `flat` (FlatOneHot + MLP), `centered` (FlatOneHot(centered=True) + MLP)
    or `cnn` (GridOneHot + XLogoExtractor)"""
    total_timesteps: int = 100_000
    """env steps (tokens written) to train for"""
    seed: int = 0
    """seed of the envs, the network and the evaluation tasks"""
    num_envs: int = 8
    """parallel envs (in one process: the env is cheaper than the network)"""
    num_steps: int = 128
    """steps per env per rollout"""
    learning_rate: float = 1e-3
    """Adam learning rate"""
    batch_size: int = 256
    """minibatch size"""
    update_epochs: int = 4
    """epochs over each rollout"""
    gamma: float = 0.99
    """discount"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    ent_coef: float = 0.01
    """entropy bonus"""
    net_arch: tuple[int, ...] = (128, 128)
    """hidden layers of the actor and of the critic"""
    reward: Literal["sparse", "shaped"] = "sparse"
    """the env's reward"""
    eval_every: int = 10_000
    """evaluate greedily every this many env steps (and at the end)"""
    eval_episodes: int = 200
    """episodes (fresh tasks of the level) per evaluation"""
    threads: int = 1
    """torch threads"""
    time_limit_minutes: float = 0.0
    """stop training after this many minutes (0: no limit); the run is evaluated and saved as usual"""
    out: str = "runs/sb3"
    """output folder: OUT/level{level}-{obs}-seed{seed}/ gets TensorBoard logs, results.json and model.zip"""


class XLogoExtractor(BaseFeaturesExtractor):
    """Features of a `GridOneHot` observation: a small CNN over the (C, 8, 8) one-hot grid, the goal
    words (task words of cell 0) as a sum of word and rank embeddings, and the program tokens embedded.

    observation_space: the Dict space of `GridOneHot(env)`.
    features_dim: size of the output.
    """

    def __init__(self, observation_space: spaces.Dict, features_dim: int = 256) -> None:
        super().__init__(observation_space, features_dim)
        channels = observation_space["grid"].shape[0]
        max_tokens = observation_space["program"].shape[0]
        self.grid = nn.Sequential(nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Flatten())
        self.words, self.ranks = nn.Embedding(len(TASK_VOCAB), 32), nn.Embedding(32, 32)
        self.program = nn.Embedding(N_ACTIONS + 1, 8)
        self.head = nn.Sequential(nn.Linear(32 * 64 + 32 + 8 * max_tokens + 1, features_dim), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens, cells = obs["task_tokens"].long(), obs["task_cells"].long()
        position = torch.arange(tokens.shape[1], device=tokens.device)
        goal = (cells == 0) & (position < obs["task_length"].long())
        rank = (goal.long().cumsum(1) - 1).clamp(0, 31)
        words = ((self.words(tokens) + self.ranks(rank)) * goal.unsqueeze(-1)).sum(1)
        program = self.program(obs["program"].long()).flatten(1)
        return self.head(torch.cat([self.grid(obs["grid"]), words, program, obs["depth"]], dim=1))


def make_env(args: Args) -> gym.Env:
    env = gym.make(f"XLogo-Mini-Level{args.level}-v0", reward=args.reward, prompt=False)
    return GridOneHot(env) if args.obs == "cnn" else FlatOneHot(env, centered=args.obs == "centered")


def evaluate(model: MaskablePPO, args: Args, episodes: int, seed: int) -> float:
    """Greedy (masked argmax) success on `episodes` fresh tasks of the level, the same tasks for the same seed."""
    env = make_env(args)
    solved = 0
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        while not done:
            masks = np.array(env.get_wrapper_attr("action_masks")())  # a writable copy, for torch
            action, _ = model.predict(obs, deterministic=True, action_masks=masks)
            obs, _, terminated, truncated, info = env.step(int(action))
            done = terminated or truncated
        solved += bool(info["success"])
        obs, _ = env.reset()
    env.close()
    return solved / episodes


class EvalCallback(BaseCallback):
    """Evaluate every `args.eval_every` env steps; log `eval/success` and keep the curve."""

    def __init__(self, args: Args) -> None:
        super().__init__()
        self.args, self.curve, self.next = args, [], 0
        self.start = time.time()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next:
            self.record()
            self.next += self.args.eval_every
        limit = self.args.time_limit_minutes
        return not (limit > 0 and time.time() - self.start > 60 * limit)

    def record(self) -> None:
        success = evaluate(self.model, self.args, self.args.eval_episodes, seed=10_000 + self.args.seed)
        self.logger.record("eval/success", success)
        self.curve.append({"steps": self.num_timesteps, "success": success,
                           "minutes": round((time.time() - self.start) / 60, 2)})
        print(f"steps {self.num_timesteps:>8}  greedy success {success:6.1%}  "
              f"({self.curve[-1]['minutes']:.1f} min)", flush=True)


def main(args: Args) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    run = os.path.join(args.out, f"level{args.level}-{args.obs}-seed{args.seed}")
    os.makedirs(run, exist_ok=True)
    print(f"XLogo-Mini-Level{args.level}-v0: {LEVELS[args.level].description}")
    print("| argument | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in asdict(args).items()))

    venv = DummyVecEnv([lambda: Monitor(make_env(args)) for _ in range(args.num_envs)])
    venv.seed(args.seed)
    policy_kwargs: dict[str, Any] = {"net_arch": list(args.net_arch)}
    if args.obs == "cnn":
        policy_kwargs["features_extractor_class"] = XLogoExtractor
    model = MaskablePPO("MultiInputPolicy" if args.obs == "cnn" else "MlpPolicy", venv,
                        learning_rate=args.learning_rate, n_steps=args.num_steps, batch_size=args.batch_size,
                        n_epochs=args.update_epochs, gamma=args.gamma, gae_lambda=args.gae_lambda,
                        ent_coef=args.ent_coef, policy_kwargs=policy_kwargs, seed=args.seed, device="cpu",
                        tensorboard_log=run)
    callback = EvalCallback(args)
    start = time.time()
    model.learn(args.total_timesteps, callback=callback, tb_log_name="tb")
    if not callback.curve or callback.curve[-1]["steps"] != model.num_timesteps:
        callback.record()
    result = {"env": f"XLogo-Mini-Level{args.level}-v0", "args": asdict(args), "steps": model.num_timesteps,
              "minutes": round((time.time() - start) / 60, 2), "final_success": callback.curve[-1]["success"],
              "curve": callback.curve}
    with open(os.path.join(run, "results.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    model.save(os.path.join(run, "model.zip"))
    print(f"wrote {run}/results.json: final greedy success {result['final_success']:.1%} "
          f"after {model.num_timesteps} steps in {result['minutes']:.1f} minutes")
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
