"""Env steps per second of XLogo-Mini with action masks, against CartPole-v1 in the same run.

Both envs are made with `gym.make` (default wrappers) and stepped on one core with random
actions drawn in advance; the XLogo agent picks uniformly among the legal actions of
`info["action_mask"]`, so mask reading is part of the figure. Resets count as part of the run.
Target: XLogo-Mini at least half of CartPole's speed. Run:
`python benchmarks/bench_env.py [--env-id XLogo-Mini-v0] [--steps 200000]`.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import xlogo_gym  # noqa: F401  (registers the env ids)

CHUNK = 10_000


def bench_xlogo(env: gym.Env, steps: int, seed: int) -> float:
    """Masked random steps per second."""
    draws = np.random.default_rng(seed).random(steps).tolist()
    legal: dict[bytes, np.ndarray] = {}
    _, info = env.reset(seed=seed)
    elapsed = 0.0
    with tqdm(total=steps, desc=env.spec.id if env.spec else "xlogo", unit="step") as bar:
        for start in range(0, steps, CHUNK):
            t0 = time.perf_counter()
            for r in draws[start:start + CHUNK]:
                mask = info["action_mask"]
                key = mask.tobytes()
                actions = legal.get(key)
                if actions is None:
                    actions = legal[key] = np.flatnonzero(mask).tolist()
                _, _, terminated, truncated, info = env.step(actions[int(r * len(actions))])
                if terminated or truncated:
                    _, info = env.reset()
            elapsed += time.perf_counter() - t0
            bar.update(min(CHUNK, steps - start))
    return steps / elapsed


def bench_cartpole(steps: int, seed: int) -> float:
    """Random steps per second of CartPole-v1."""
    env = gym.make("CartPole-v1")
    actions = np.random.default_rng(seed).integers(0, 2, steps).tolist()
    env.reset(seed=seed)
    elapsed = 0.0
    with tqdm(total=steps, desc="CartPole-v1", unit="step") as bar:
        for start in range(0, steps, CHUNK):
            t0 = time.perf_counter()
            for a in actions[start:start + CHUNK]:
                _, _, terminated, truncated, _ = env.step(a)
                if terminated or truncated:
                    env.reset()
            elapsed += time.perf_counter() - t0
            bar.update(min(CHUNK, steps - start))
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="XLogo-Mini-v0")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mask-constraints", action="store_true", help="constraint-aware masks")
    args = parser.parse_args()
    kwargs: dict[str, Any] = {"mask_constraints": True} if args.mask_constraints else {}
    env = gym.make(args.env_id, **kwargs)
    bench_xlogo(env, min(args.steps, 5_000), args.seed)  # warm-up: encodings, prompts, constraint plans
    xlogo = bench_xlogo(env, args.steps, args.seed + 1)
    cartpole = bench_cartpole(args.steps, args.seed)
    print(f"{args.env_id}{' (constraint masks)' if args.mask_constraints else ''}: {xlogo:,.0f} masked steps/s "
          f"({1e6 / xlogo:.1f} µs/step)")
    print(f"CartPole-v1: {cartpole:,.0f} steps/s ({1e6 / cartpole:.1f} µs/step)")
    print(f"ratio XLogo/CartPole: {xlogo / cartpole:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
