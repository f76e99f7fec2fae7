"""Play one XLogo-Mini-v0 episode token by token with the search solver's program, then save a frame."""

from __future__ import annotations

import os

import gymnasium as gym
import imageio.v3 as iio

import xlogo_gym  # noqa: F401  (registers the env ids)
from agents.solver import shortest_solution
from xlogo_gym.grammar import ACTIONS, program_to_actions

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
env = gym.make("XLogo-Mini-v0", render_mode="rgb_array")
obs, info = env.reset(seed=3)
print(info["prompt"])
program = shortest_solution(env.unwrapped.task)  # type: ignore[attr-defined]
if program is None:
    raise SystemExit("the solver found no program for this task")
for action in program_to_actions(program):
    assert info["action_mask"][action], f"{ACTIONS[action]} is masked"
    obs, reward, terminated, truncated, info = env.step(action)
print(f"program:\n{info['program']}reward {reward}, verdict: {info['verdict']}")
iio.imwrite("episode.png", env.render())  # type: ignore[arg-type]
print("wrote episode.png")
