"""The RL practitioner's path: masks through wrappers and VecEnvs, difficulty levels, observation
wrappers for SB3's default policies, action names, and the from-scratch training script."""

from __future__ import annotations

import pytest

pytest.importorskip("gymnasium", reason="needs gymnasium: pip install \"xlogo-gym[env]\"")

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from conftest import ROOT, needs

from xlogo_gym import XLogoError
from xlogo_gym.encoding import TASK_VOCAB, encode_task
from xlogo_gym.envs import ENV_CONFIGS, FlatOneHot, GridImage, XLogoMiniEnv
from xlogo_gym.envs.levels import LEVELS, level
from xlogo_gym.envs.wrappers import GOAL_WORDS, PRESENT_CHANNELS
from xlogo_gym.generator import GeneratorConfig, generate_task
from xlogo_gym.grammar import ACTIONS, END, N_ACTIONS, program_to_actions
from xlogo_gym.suite import load_suite


# -- masks through wrappers ----------------------------------------------------------------------
def test_masks_are_found_through_wrappers_in_the_documented_ways() -> None:
    env = gym.make("XLogo-Mini-Level2-v0")
    _, info = env.reset(seed=0)
    with pytest.raises(AttributeError):  # gymnasium 1.x wrappers do not forward attributes
        env.action_masks()  # type: ignore[attr-defined]
    assert np.array_equal(env.unwrapped.action_masks(), info["action_mask"])  # type: ignore[attr-defined]
    assert np.array_equal(env.get_wrapper_attr("action_masks")(), info["action_mask"])


@needs("sb3_contrib")
def test_sb3_contrib_finds_the_masks_through_wrappers_and_vec_envs() -> None:
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    wrapped = Monitor(FlatOneHot(gym.make("XLogo-Mini-Level1-v0")))
    wrapped.reset(seed=1)
    assert is_masking_supported(wrapped)
    assert np.array_equal(get_action_masks(wrapped), wrapped.unwrapped.action_masks())  # type: ignore[attr-defined]
    venv = DummyVecEnv([lambda: Monitor(FlatOneHot(gym.make("XLogo-Mini-Level1-v0"))) for _ in range(3)])
    venv.seed(0)
    venv.reset()
    assert is_masking_supported(venv)
    rng = np.random.default_rng(0)
    for _ in range(20):  # across episode ends: the VecEnv resets, the masks follow
        masks = get_action_masks(venv)
        assert masks.shape == (3, N_ACTIONS) and masks.any(axis=1).all()
        expected = [e.unwrapped.action_masks() for e in venv.envs]  # type: ignore[attr-defined]
        assert np.array_equal(masks, np.stack(expected))
        venv.step(np.array([rng.choice(np.flatnonzero(m)) for m in masks]))


# -- levels --------------------------------------------------------------------------------------
def test_levels_are_registered() -> None:
    for n in range(1, 6):
        assert ENV_CONFIGS[f"XLogo-Mini-Level{n}-v0"] == {"level": n}
        assert gym.spec(f"XLogo-Mini-Level{n}-v0").kwargs == {"level": n}
    env = gym.make("XLogo-Mini-Level1-v0").unwrapped
    assert env.max_tokens == LEVELS[1].max_tokens and env.mask_constraints  # type: ignore[attr-defined]
    assert gym.make("XLogo-Mini-Level5-v0").unwrapped.max_tokens == 40  # type: ignore[attr-defined]
    assert gym.make("XLogo-Mini-Level1-v0", max_tokens=9).unwrapped.max_tokens == 9  # type: ignore[attr-defined]


@pytest.mark.parametrize("number", list(LEVELS))
def test_every_level_task_is_solvable_within_its_limits(number: int) -> None:
    env = gym.make(f"XLogo-Mini-Level{number}-v0", prompt=False)
    config = GeneratorConfig.from_json(LEVELS[number].generator)
    rng = random.Random(number)
    for _ in range(25):
        generated = generate_task(rng, config)
        _, info = env.reset(options={"task": generated.task})
        for action in program_to_actions(generated.program):  # <end> included
            assert info["action_mask"][action], (number, str(generated.program))
            _, reward, terminated, truncated, info = env.step(action)
        assert terminated and not truncated and reward == 1.0


def test_level_one_is_small_find_tasks_and_level_five_the_full_distribution() -> None:
    env = gym.make("XLogo-Mini-Level1-v0", prompt=False)
    env.reset(seed=0)
    for _ in range(40):
        task = env.unwrapped.task  # type: ignore[attr-defined]
        assert task.goal_names == ("find",) or list(task.goal_names) == ["find"]
        assert task.world.cols <= 3 and task.world.rows <= 3 and len(task.world.items) == 1
        env.reset()
    assert LEVELS[5].generator == {}


def test_level_argument_of_the_generated_env() -> None:
    a, b = gym.make("XLogo-Mini-Generated-v0", level=2), gym.make("XLogo-Mini-Level2-v0")
    obs_a, obs_b = a.reset(seed=4)[0], b.reset(seed=4)[0]
    assert all(np.array_equal(obs_a[k], obs_b[k]) for k in obs_a)
    assert a.observation_space == b.observation_space
    # generator settings on top of a level update it
    one = gym.make("XLogo-Mini-Level1-v0", generator={"size_weights": {"2x2": 1}}, prompt=False)
    one.reset(seed=0)
    assert (one.unwrapped.task.world.cols, one.unwrapped.task.world.rows) == (2, 2)  # type: ignore[attr-defined]
    for bad in (0, 6, "1", True, 1.0):
        with pytest.raises(XLogoError, match="level"):
            level(bad)
        with pytest.raises(XLogoError, match="level"):
            XLogoMiniEnv(level=bad)


# -- observation wrappers ------------------------------------------------------------------------
def test_flat_one_hot_holds_grid_goal_program_and_depth() -> None:
    env = FlatOneHot(gym.make("XLogo-Mini-Level3-v0", prompt=False))
    obs, _ = env.reset(seed=2)
    assert obs.dtype == np.float32 and obs in env.observation_space
    grid_n, goal_n = env.sizes["grid"], env.sizes["goal"]
    task = env.unwrapped.task  # type: ignore[attr-defined]
    enc = encode_task(task)
    grid = obs[:grid_n].reshape(8, 8, len(PRESENT_CHANNELS))
    turtle = task.world.turtle
    assert grid[turtle.y, turtle.x, PRESENT_CHANNELS.index(f"turtle={1 + turtle.direction}")] == 1
    words = obs[grid_n:grid_n + goal_n].reshape(GOAL_WORDS, len(TASK_VOCAB))
    expected = [int(t) for t, c in zip(enc.tokens[:enc.length], enc.cells[:enc.length], strict=True) if c == 0]
    assert words.argmax(axis=1)[:len(expected)].tolist() == expected and words.sum() == len(expected)
    for action in (ACTIONS.index("repeat(2)"), ACTIONS.index("fd")):
        obs, *_ = env.step(action)
    program = obs[grid_n + goal_n:grid_n + goal_n + env.sizes["program"]].reshape(-1, N_ACTIONS)
    assert program.sum() == 2 and program[0, ACTIONS.index("repeat(2)")] == program[1, ACTIONS.index("fd")] == 1
    assert obs[-env.sizes["depth"]:].tolist() == [0, 1, 0, 0]  # one loop open


def test_every_suite_task_fits_the_goal_words() -> None:
    for suite in ("mini-85", "synthetic-1k"):
        for entry in load_suite(suite):
            enc = encode_task(entry.task)
            assert int((enc.cells[:enc.length] == 0).sum()) <= GOAL_WORDS, entry.task_id


def test_centered_grid_puts_the_turtle_in_the_middle() -> None:
    env = FlatOneHot(gym.make("XLogo-Mini-Level2-v0", prompt=False), centered=True)
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        grid = obs[:env.sizes["grid"]].reshape(15, 15, len(PRESENT_CHANNELS))
        turtle = [i for i, name in enumerate(PRESENT_CHANNELS) if name.startswith("turtle=")]
        assert np.argwhere(grid[:, :, turtle].any(axis=2)).tolist() == [[7, 7]]
        task = env.unwrapped.task  # type: ignore[attr-defined]
        item, start = task.world.items[0], task.world.turtle
        name = PRESENT_CHANNELS.index(f"item_name={1 + __import__('xlogo_gym').encoding.ITEM_WORDS.index(item.name)}")
        assert grid[7 + item.y - start.y, 7 + item.x - start.x, name] == 1


@needs("sb3_contrib")
def test_grid_image_suits_natures_cnn_in_multi_input_policy() -> None:
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.torch_layers import NatureCNN

    env = GridImage(gym.make("XLogo-Mini-Level1-v0", prompt=False))
    space = env.observation_space["grid"]  # type: ignore[index]
    assert is_image_space(space) and is_image_space_channels_first(space)  # type: ignore[arg-type]
    assert space.shape[1] >= 36 and space.shape[1] > space.shape[0]
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and set(np.unique(obs["grid"])) == {0, 255}
    model = MaskablePPO("MultiInputPolicy", env, n_steps=16, batch_size=16, device="cpu", seed=0)
    assert isinstance(model.policy.features_extractor.extractors["grid"], NatureCNN)  # type: ignore[union-attr]
    action, _ = model.predict(obs, action_masks=info["action_mask"])
    assert info["action_mask"][int(action)]
    with pytest.raises(XLogoError, match="scale"):
        GridImage(gym.make("XLogo-Mini-Level1-v0"), scale=0)


def test_action_meanings() -> None:
    env = gym.make("XLogo-Mini-v0")
    meanings = env.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
    assert len(meanings) == env.action_space.n == N_ACTIONS  # type: ignore[attr-defined]
    assert meanings[:4] == ["fd", "bk", "lt", "rt"] and meanings[END] == "<end>" and meanings[10] == "repeat(2)"


# -- the from-scratch training script ------------------------------------------------------------
@needs("sb3_contrib", "tyro", "tensorboard")
@pytest.mark.parametrize("obs", ["centered", "cnn"])
def test_training_script_smoke(tmp_path: Path, obs: str) -> None:
    script = ROOT / "examples" / "sb3_maskable_ppo.py"
    cmd = [sys.executable, str(script), "--level", "1", "--obs", obs, "--total-timesteps", "128", "--num-envs", "2",
           "--num-steps", "32", "--batch-size", "32", "--eval-every", "64", "--eval-episodes", "3",
           "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / f"level1-{obs}-seed0"
    result: dict[str, Any] = json.loads((run / "results.json").read_text())
    assert result["env"] == "XLogo-Mini-Level1-v0" and result["steps"] >= 128
    assert [p["steps"] for p in result["curve"]][0] >= 0 and 0.0 <= result["final_success"] <= 1.0
    assert len(result["curve"]) >= 3 and (run / "model.zip").exists()
    assert list(run.glob("tb*/events.out.tfevents.*")), "no TensorBoard log"
    assert "greedy success" in done.stdout
