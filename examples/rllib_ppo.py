"""RLlib PPO with action masking on one difficulty level (RLlib's new API stack).

    pip install -c constraints-cpu.txt -e ".[rllib]"
    python examples/rllib_ppo.py --level 1 --iterations 50
    python examples/rllib_ppo.py --level 1 --iterations 200 --env-runners 8 --address auto   # on a Ray cluster

The env is `XLogo-Mini-LevelN-v0` seen through two wrappers of `xlogo_gym.envs`: `FlatOneHot`
(one 0/1 vector) and `ActionMaskObservation`, which puts the action mask beside it in a Dict
observation, `{"observations": ..., "action_mask": ...}`: the layout that RLlib's documented
action-masking RLModule (`ray.rllib.examples.rl_modules.classes.action_masking_rlm`) reads. That
module adds log(mask) to PPO's logits, so a masked action is never sampled and never trained on.

Each iteration collects `--train-batch-size` env steps, runs PPO's update and prints the mean
episode return (1 on success with the default sparse reward); at the end a greedy evaluation on
fresh tasks of the level (the module's masked argmax) is written with the curve to
`OUT/level{level}-seed{seed}/results.json`, and the algorithm's checkpoint beside it. Only the public
env API and RLlib are used: nothing from this repository's `agents` package.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import ray
import torch
import tyro
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import ActionMaskingTorchRLModule
from ray.tune.registry import register_env

import xlogo_gym  # noqa: F401  (registers the env ids)
from xlogo_gym.envs import ActionMaskObservation, FlatOneHot
from xlogo_gym.envs.levels import LEVELS
from xlogo_gym.ray_backend import connect

ENV_NAME = "xlogo-masked"


@dataclass
class Args:
    level: int = 1
    """difficulty level 1..5: the env `XLogo-Mini-Level{level}-v0`"""
    iterations: int = 50
    """PPO iterations (each collects --train-batch-size env steps)"""
    seed: int = 0
    """seed of the envs, the network and the evaluation tasks"""
    train_batch_size: int = 2000
    """env steps per iteration"""
    minibatch_size: int = 256
    """SGD minibatch size"""
    epochs: int = 4
    """epochs over each batch"""
    learning_rate: float = 1e-3
    """Adam learning rate"""
    entropy_coeff: float = 0.01
    """entropy bonus"""
    hidden: tuple[int, ...] = (128, 128)
    """hidden layers of the policy and value networks"""
    centered: bool = True
    """FlatOneHot(centered=True): the grid shifted so that the turtle starts in its middle"""
    reward: Literal["sparse", "shaped"] = "sparse"
    """the env's reward"""
    env_runners: int = 0
    """Ray actors that collect samples (0: the driver collects)"""
    envs_per_runner: int = 1
    """envs stepped by each collector"""
    eval_episodes: int = 200
    """greedy episodes (fresh tasks of the level) at the end"""
    address: str | None = None
    """Ray cluster to join (auto: the one `ray start --head` started; None: a local Ray)"""
    num_cpus: int | None = None
    """CPUs of the local Ray (None: all)"""
    out: str = "runs/rllib"
    """output folder: OUT/level{level}-seed{seed}/ gets results.json and the checkpoint"""


def make_env(config: dict[str, Any]) -> gym.Env:
    """The masked env: FlatOneHot inside, the action mask beside it (RLlib's Dict layout)."""
    env = gym.make(f"XLogo-Mini-Level{config['level']}-v0", reward=config["reward"], prompt=False)
    return ActionMaskObservation(FlatOneHot(env, centered=config["centered"]))


def build(args: Args) -> Any:
    env_config = {"level": args.level, "reward": args.reward, "centered": args.centered}
    config = (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config)
        .env_runners(num_env_runners=args.env_runners, num_envs_per_env_runner=args.envs_per_runner)
        .rl_module(rl_module_spec=RLModuleSpec(
            module_class=ActionMaskingTorchRLModule,
            model_config={"fcnet_hiddens": list(args.hidden), "head_fcnet_hiddens": [], "vf_share_layers": False}))
        .training(train_batch_size_per_learner=args.train_batch_size, minibatch_size=args.minibatch_size,
                  num_epochs=args.epochs, lr=args.learning_rate, entropy_coeff=args.entropy_coeff)
        .debugging(seed=args.seed, log_level="ERROR")
    )
    return config.build_algo()


def evaluate(module: Any, args: Args, episodes: int, seed: int) -> float:
    """Greedy success of the RLModule's masked argmax on `episodes` fresh tasks of the level."""
    env = make_env({"level": args.level, "reward": args.reward, "centered": args.centered})
    solved = 0
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        while not done:
            batch = {"obs": {k: torch.as_tensor(np.asarray(v))[None] for k, v in obs.items()}}
            with torch.no_grad():
                logits = module.forward_inference(batch)["action_dist_inputs"][0]
            obs, _, terminated, truncated, info = env.step(int(logits.argmax()))
            done = terminated or truncated
        solved += bool(info["success"])
        obs, _ = env.reset()
    env.close()
    return solved / episodes


def main(args: Args) -> dict[str, Any]:
    run = os.path.abspath(os.path.join(args.out, f"level{args.level}-seed{args.seed}"))
    os.makedirs(run, exist_ok=True)
    print(f"XLogo-Mini-Level{args.level}-v0: {LEVELS[args.level].description}")
    print("| argument | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in asdict(args).items()))
    started = connect(args.address, args.num_cpus)  # ray.init unless Ray runs already
    register_env(ENV_NAME, make_env)
    algo = build(args)
    curve = []
    start = time.time()
    try:
        for i in range(1, args.iterations + 1):
            result = algo.train()
            runners = result.get("env_runners", {})
            steps = int(result.get("num_env_steps_sampled_lifetime", runners.get("num_env_steps_sampled_lifetime", 0)))
            ret = runners.get("episode_return_mean")
            curve.append({"iteration": i, "steps": steps, "episode_return_mean": None if ret is None else float(ret),
                          "minutes": round((time.time() - start) / 60, 2)})
            shown = "-" if ret is None else f"{ret:.3f}"
            print(f"iteration {i:>4}  env steps {steps:>8}  mean return {shown}  ({curve[-1]['minutes']:.1f} min)",
                  flush=True)
        module = algo.get_module()
        success = evaluate(module, args, args.eval_episodes, seed=10_000 + args.seed)
        checkpoint = algo.save_to_path(os.path.join(run, "checkpoint"))
    finally:
        algo.stop()
        if started:
            ray.shutdown()
    result = {"env": f"XLogo-Mini-Level{args.level}-v0", "args": asdict(args), "iterations": args.iterations,
              "steps": curve[-1]["steps"] if curve else 0, "minutes": round((time.time() - start) / 60, 2),
              "greedy_success": success, "curve": curve, "checkpoint": str(checkpoint)}
    with open(os.path.join(run, "results.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {run}/results.json: greedy success {success:.1%} on {args.eval_episodes} fresh tasks after "
          f"{result['steps']} env steps in {result['minutes']:.1f} minutes")
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
