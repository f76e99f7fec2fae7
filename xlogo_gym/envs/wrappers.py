"""Observation wrappers: the action mask inside a Dict observation (RLlib), one-hot grids for CNNs
(`GridOneHot` for your own network, `GridImage` for SB3's NatureCNN) and one flat vector for MLPs
(`FlatOneHot`, SB3's `MlpPolicy`).

The action masks stay with the env: wrappers do not change them, and sb3-contrib finds
`action_masks()` through any wrapper (`env.get_wrapper_attr("action_masks")`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from xlogo_gym.encoding import GRID_CHANNELS, MAX_COLS, MAX_ROWS, TASK_VOCAB
from xlogo_gym.envs.xlogo_mini import GRID_HIGH, GRID_SHAPE
from xlogo_gym.errors import XLogoError
from xlogo_gym.grammar import N_ACTIONS


class ActionMaskObservation(gym.ObservationWrapper):
    """`{"observations": the env's observation, "action_mask": float32 0/1 per action}`.

    This is RLlib's action-masking convention (its `ActionMaskingTorchRLModule` reads these two
    keys); the mask is the env's `action_masks()` after the reset or step.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Dict({
            "observations": env.observation_space,
            "action_mask": spaces.Box(0.0, 1.0, (N_ACTIONS,), np.float32),
        })

    def observation(self, observation: Any) -> dict[str, Any]:
        mask = self.env.get_wrapper_attr("action_masks")()
        return {"observations": observation, "action_mask": mask.astype(np.float32)}


#: Channel names of the one-hot grid: `CHANNEL=VALUE` for every value of every grid channel.
ONE_HOT_CHANNELS = tuple(f"{name}={v}" for name, high in zip(GRID_CHANNELS, GRID_HIGH, strict=True)
                         for v in range(high + 1))
_OFFSETS = np.concatenate([[0], np.cumsum([h + 1 for h in GRID_HIGH])[:-1]]).astype(np.int64)


class GridOneHot(gym.ObservationWrapper):
    """Replaces `grid` by a channels-first one-hot float32 array (len(ONE_HOT_CHANNELS), 8, 8),
    ready for a convolutional network (`ONE_HOT_CHANNELS` names the channels)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        inner = env.observation_space
        self.observation_space = spaces.Dict({
            **inner.spaces,  # type: ignore[attr-defined]
            "grid": spaces.Box(0.0, 1.0, (len(ONE_HOT_CHANNELS), MAX_ROWS, MAX_COLS), np.float32),
        })

    def observation(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**observation, "grid": _one_hot(observation["grid"]).transpose(2, 0, 1).astype(np.float32)}


def _one_hot(flat_grid: np.ndarray) -> np.ndarray:
    """The grid observation as a (8, 8, len(ONE_HOT_CHANNELS)) 0/1 uint8 array."""
    grid = flat_grid.reshape(GRID_SHAPE).astype(np.int64) + _OFFSETS
    onehot = np.zeros((MAX_ROWS, MAX_COLS, len(ONE_HOT_CHANNELS)), dtype=np.uint8)
    np.put_along_axis(onehot, grid, 1, axis=2)
    return onehot


#: The channels of `GridImage` and `FlatOneHot`: `ONE_HOT_CHANNELS` less the `=0` ones (nothing there).
PRESENT_CHANNELS = tuple(name for name in ONE_HOT_CHANNELS if not name.endswith("=0"))
_PRESENT = np.array([not name.endswith("=0") for name in ONE_HOT_CHANNELS])


def _present_one_hot(flat_grid: np.ndarray) -> np.ndarray:
    """The grid observation as a (8, 8, len(PRESENT_CHANNELS)) 0/1 uint8 array."""
    return _one_hot(flat_grid)[:, :, _PRESENT]


def image_scale(channels: int = len(PRESENT_CHANNELS)) -> int:
    """The smallest scale at which an 8x8 image suits SB3's NatureCNN (at least 36 pixels a side)
    and reads as channels-first (more pixels a side than channels)."""
    return max(-(-36 // MAX_ROWS), channels // MAX_ROWS + 1)


class GridImage(gym.ObservationWrapper):
    """Replaces `grid` by a channels-first uint8 image (len(PRESENT_CHANNELS), 8 * scale, 8 * scale):
    one channel per present value (`PRESENT_CHANNELS`), 255 where it holds, each cell a
    `scale` x `scale` block. SB3's `MultiInputPolicy` runs its NatureCNN on it as on any image
    and flattens the other keys.

    scale: pixels per cell; the default (`image_scale()`, 9: 72x72 pixels) is the smallest
        NatureCNN accepts with this many channels. That network is large for an 8x8 grid: a
        small one on `GridOneHot` (see `examples/sb3_maskable_ppo.py`) trains much faster.
    """

    def __init__(self, env: gym.Env, scale: int | None = None) -> None:
        super().__init__(env)
        self.scale = image_scale() if scale is None else scale
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 1:
            raise XLogoError(f"must be a positive integer, got {scale!r}", "scale")
        side = (MAX_ROWS * self.scale, MAX_COLS * self.scale)
        self.observation_space = spaces.Dict({
            **env.observation_space.spaces,  # type: ignore[attr-defined]
            "grid": spaces.Box(0, 255, (len(PRESENT_CHANNELS), *side), np.uint8),
        })

    def observation(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        image = _present_one_hot(observation["grid"]).transpose(2, 0, 1) * np.uint8(255)
        image = np.repeat(np.repeat(image, self.scale, axis=1), self.scale, axis=2)
        return {**observation, "grid": image}


_TURTLE = GRID_CHANNELS.index("turtle")


def centered_grid(flat_grid: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """`grid` (8, 8, C), a per-cell array of the observation `flat_grid`, shifted into a
    (15, 15, C) array whose centre cell is the turtle's start."""
    ys, xs = np.nonzero(flat_grid.reshape(GRID_SHAPE)[:, :, _TURTLE])
    y, x = (int(ys[0]), int(xs[0])) if len(ys) else (0, 0)
    out = np.zeros((2 * MAX_ROWS - 1, 2 * MAX_COLS - 1, grid.shape[2]), dtype=grid.dtype)
    out[MAX_ROWS - 1 - y:2 * MAX_ROWS - 1 - y, MAX_COLS - 1 - x:2 * MAX_COLS - 1 - x] = grid
    return out


#: Goal and constraint words `FlatOneHot` keeps (the task's words that describe no cell, in order).
GOAL_WORDS = 32


class FlatOneHot(gym.ObservationWrapper):
    """The whole observation as one flat float32 0/1 vector, for an MLP (SB3's `MlpPolicy`):

    | part | size | content |
    |---|---|---|
    | grid | 8 * 8 * len(PRESENT_CHANNELS) | the one-hot grid, `[y, x, channel]` flattened |
    | goal | GOAL_WORDS * len(TASK_VOCAB) | one-hot task words of no cell: size, goal, constraints, in order |
    | program | max_tokens * 23 | one-hot action ids written so far (padding is all zeros) |
    | depth | max_depth + 1 | one-hot number of open loops |

    Words past GOAL_WORDS are dropped (every task of the shipped suites has fewer than 24).

    centered: shift the grid so that the turtle's start is its centre cell (a 15 x 15 grid, as
        MiniGrid's agent-centred views): an item one cell ahead is then always at the same place,
        which a network from scratch learns much sooner. Headings and walls stay as they are.
    """

    def __init__(self, env: gym.Env, centered: bool = False) -> None:
        super().__init__(env)
        inner = env.observation_space.spaces  # type: ignore[attr-defined]
        self.max_tokens = int(inner["program"].shape[0])
        self.max_depth = int(inner["depth"].high[0])
        self.centered = centered
        side = np.array([2 * MAX_ROWS - 1, 2 * MAX_COLS - 1]) if centered else np.array([MAX_ROWS, MAX_COLS])
        self.sizes = {"grid": int(side.prod()) * len(PRESENT_CHANNELS), "goal": GOAL_WORDS * len(TASK_VOCAB),
                      "program": self.max_tokens * N_ACTIONS, "depth": self.max_depth + 1}
        self.observation_space = spaces.Box(0.0, 1.0, (sum(self.sizes.values()),), np.float32)

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        out = np.zeros(sum(self.sizes.values()), dtype=np.float32)
        n = self.sizes["grid"]
        grid = _present_one_hot(observation["grid"])
        if self.centered:
            grid = centered_grid(observation["grid"], grid)
        out[:n] = grid.reshape(-1)
        length = int(observation["task_length"][0])
        words = observation["task_tokens"][:length][observation["task_cells"][:length] == 0][:GOAL_WORDS]
        out[n + np.arange(len(words)) * len(TASK_VOCAB) + words] = 1.0
        n += self.sizes["goal"]
        written = int(observation["program_length"][0])
        out[n + np.arange(written) * N_ACTIONS + observation["program"][:written]] = 1.0
        n += self.sizes["program"]
        out[n + int(observation["depth"][0])] = 1.0
        return out
