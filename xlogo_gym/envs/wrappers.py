"""Observation wrappers: the action mask inside a Dict observation (RLlib), and a one-hot grid (CNNs)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from xlogo_gym.encoding import GRID_CHANNELS, MAX_COLS, MAX_ROWS
from xlogo_gym.envs.xlogo_mini import GRID_HIGH, GRID_SHAPE
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
        grid = observation["grid"].reshape(GRID_SHAPE).astype(np.int64) + _OFFSETS
        onehot = np.zeros((MAX_ROWS, MAX_COLS, len(ONE_HOT_CHANNELS)), dtype=np.float32)
        np.put_along_axis(onehot, grid, 1.0, axis=2)
        return {**observation, "grid": onehot.transpose(2, 0, 1).copy()}
