"""The Gym env XLogo-Mini: API checkers, masks, rewards, illegal actions, determinism, vector envs, SB3."""

from __future__ import annotations

import pytest

pytest.importorskip("gymnasium", reason="needs gymnasium: pip install \"xlogo-gym[env]\"")

import pickle
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from conftest import conformance_cases
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from xlogo_gym import Program, Task, XLogoError
from xlogo_gym.emulator import constraint_failures
from xlogo_gym.encoding import GRID_CHANNELS, encode_task
from xlogo_gym.envs import ENV_CONFIGS, ActionMaskObservation, GridOneHot, XLogoMiniEnv
from xlogo_gym.envs.wrappers import ONE_HOT_CHANNELS
from xlogo_gym.envs.xlogo_mini import PROGRAM_PAD
from xlogo_gym.grammar import (
    ACTION_INDEX,
    ACTIONS,
    CLOSE,
    END,
    N_ACTIONS,
    ConstrainedWriter,
    ProgramWriter,
    actions_to_program,
    program_to_actions,
)
from xlogo_gym.program import BLOCK_TYPES, Command, Repeat
from xlogo_gym.prompt import task_prompt
from xlogo_gym.task import CodeConstraint
from xlogo_gym.world import PEN_COLORS


def _task(turtle: tuple[int, int, int], size: tuple[int, int], items: list[dict[str, Any]] = (),  # type: ignore[assignment]
          lines: list[dict[str, Any]] = (), goal: list[dict[str, Any]] = (), constraints: Any = (),  # type: ignore[assignment]
          task_id: str = "t", forbidden: tuple[tuple[int, int], ...] = ()) -> dict[str, Any]:
    x, y, d = turtle
    return {"id": task_id, "turtle": {"x": x, "y": y, "direction": d},
            "tiles": [{"x": i, "y": j, "allowed": (i, j) not in forbidden, "walls": {}}
                      for j in range(size[1]) for i in range(size[0])],
            "items": list(items), "lines": list(lines), "goal": list(goal), "constraints": list(constraints)}


def _find(name: str) -> dict[str, Any]:
    return {"name": "find", "specs": [[[{"name": name, "neg": 0}]]]}


#: Small tasks with a solution each: find, draw, at_most and start_by.
TASKS = [
    _task((1, 2, 0), (3, 3), [{"x": 1, "y": 0, "name": "strawberry", "color": "red", "count": 2}],
          goal=[_find("strawberry")], task_id="find", forbidden=((2, 2),)),
    _task((0, 2, 0), (3, 3), lines=[{"x1": 0, "y1": 2, "x2": 0, "y2": 0, "color": "#000000"},
                                    {"x1": 0, "y1": 0, "x2": 2, "y2": 0, "color": "#D60000"}],
          goal=[{"name": "draw", "specs": [[]]}], task_id="draw"),
    _task((0, 0, 1), (4, 1), [{"x": 3, "y": 0, "name": "lemon", "color": "yellow", "count": 1}],
          goal=[_find("lemon")], constraints=[{"at_most": {"all": 2}}], task_id="at_most"),
    _task((0, 1, 0), (2, 2), [{"x": 1, "y": 0, "name": "strawberry", "color": "red", "count": 1}],
          goal=[_find("strawberry")], constraints=[{"start_by": ["rt"]}], task_id="start_by"),
]
SOLUTIONS = {"find": "fd fd", "draw": "fd fd rt setpc(red) fd fd", "at_most": "repeat(3){ fd }",
             "start_by": "rt fd lt fd"}


def make(**kwargs: Any) -> gym.Env:
    return gym.make("XLogo-Mini-v0", **{"tasks": TASKS, **kwargs})


def play(env: gym.Env, text: str, task_id: str, **reset: Any) -> tuple[float, bool, bool, dict[str, Any]]:
    """Write `text` token by token on task `task_id`; the last step's reward, flags and info."""
    env.reset(options={"task_id": task_id}, **reset)
    for a in program_to_actions(Program.parse(text)):
        _, reward, terminated, truncated, info = env.step(a)
    return float(reward), terminated, truncated, info


# -- ecosystem ---------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", list(ENV_CONFIGS))
def test_every_registered_id_passes_both_checkers(env_id: str) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    from xlogo_gym.benchmark import is_installed

    if ENV_CONFIGS[env_id].get("suite") == "xlogominiprog-85" and not is_installed():
        pytest.skip("the real benchmark is not downloaded (xlogo-gym benchmark download)")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.close()


@pytest.mark.parametrize("kwargs", [{}, {"mask_constraints": True, "reward": "shaped", "max_tokens": 12}])
def test_checkers_pass_on_custom_tasks(kwargs: dict[str, Any]) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = make(**kwargs)
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)


def test_ids_are_registered_on_import() -> None:
    assert set(ENV_CONFIGS) <= set(gym.registry)
    assert gym.spec("XLogo-Mini-v0").kwargs == {"suite": "mini-85"}


def _rollout(env: gym.Env, seed: int, steps: int) -> list[Any]:
    """Masked random steps (several episodes): everything the env returned."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [obs, info]
    for _ in range(steps):
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        obs, reward, terminated, truncated, info = env.step(action)
        out += [obs, reward, terminated, truncated, info]
        if terminated or truncated:
            obs, info = env.reset()
            out += [obs, info]
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)


def test_same_seed_same_rollout_and_different_seeds_differ() -> None:
    first, second = _rollout(make(), 7, 150), _rollout(make(), 7, 150)
    assert _same(first, second)
    ids = [x["task_id"] for x in first if isinstance(x, dict) and "prompt" in x]
    other = [x["task_id"] for x in _rollout(make(), 8, 150) if isinstance(x, dict) and "prompt" in x]
    assert len(set(ids)) > 1 and ids != other


def test_env_pickles_mid_episode_and_continues_identically() -> None:
    env = make(render_mode="rgb_array")
    env.reset(seed=3, options={"task_id": "draw"})
    env.step(0)
    env.render()
    clone = pickle.loads(pickle.dumps(env))
    for a in program_to_actions(Program.parse("fd rt setpc(red) fd fd")):
        assert _same(env.step(a), clone.step(a))
    assert np.array_equal(env.render(), clone.render())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_over_many_episodes_with_successes_and_crashes(mode: str) -> None:
    """Gymnasium stacks each info key into one array: a key whose type changes between envs
    (an int crash step beside None) used to raise TypeError in `_add_info`."""
    envs = gym.make_vec("XLogo-Mini-v0", num_envs=4, vectorization_mode=mode, tasks=TASKS, max_tokens=8)
    rng = np.random.default_rng(0)
    plans: list[list[int]] = [[] for _ in range(4)]
    outcomes = {"success": 0, "crash": 0, "other": 0}
    try:
        obs, info = envs.reset(seed=0)
        assert obs["program"].shape == (4, 8) and obs["grid"].shape == (4, 704)
        for i in range(4):  # half the episodes play the task's solution, half play at random
            plans[i] = program_to_actions(Program.parse(SOLUTIONS[info["task_id"][i]])) if i % 2 else []
        done = np.zeros(4, dtype=bool)
        for _ in range(400):
            actions = np.array([plans[i].pop(0) if plans[i] else int(rng.choice(np.flatnonzero(info["action_mask"][i])))
                                for i in range(4)])
            obs, reward, terminated, truncated, info = envs.step(actions)
            assert obs in envs.observation_space
            for i in range(4):
                if done[i]:  # this step reset env i (gymnasium's next-step autoreset)
                    plans[i] = (program_to_actions(Program.parse(SOLUTIONS[info["task_id"][i]]))
                                if rng.random() < 0.5 else [])
                elif terminated[i] or truncated[i]:
                    assert info["_success"][i] and isinstance(info["success"][i], (bool, np.bool_))
                    verdict = info["verdict"]
                    if info["success"][i]:
                        outcomes["success"] += 1
                        assert reward[i] == 1.0 and verdict["crash_step"][i] == -1 and verdict["crash_reason"][i] == ""
                    elif "_verdict" in info and info["_verdict"][i] and verdict["crashed"][i]:
                        outcomes["crash"] += 1
                        assert verdict["crash_step"][i] >= 0 and verdict["crash_reason"][i] != ""
                    else:
                        outcomes["other"] += 1
            done = terminated | truncated
        assert outcomes["success"] >= 10 and outcomes["crash"] >= 10 and outcomes["other"] >= 5, outcomes
    finally:
        envs.close()


def test_info_keys_keep_one_type() -> None:
    env = make(max_tokens=6)
    types: dict[str, set[type]] = {}
    for text, task_id in [("fd fd", "find"), ("rt fd", "find"), ("fd", "find"), ("", "draw"), ("lt lt", "at_most")]:
        if text:
            _, _, _, info = play(env, text, task_id)
        else:
            env.reset(options={"task_id": task_id})
            info = env.step(END)[4]
        for key, value in [*info.items(), *(("verdict." + k, v) for k, v in info["verdict"].items())]:
            types.setdefault(key, set()).add(type(value))
    assert {k: v for k, v in types.items() if len(v) > 1} == {}
    assert types["verdict.crash_step"] == {int} and types["verdict.crash_cell"] == {list}


class _CountIllegal(gym.Wrapper):
    illegal = 0
    episodes = 0

    def step(self, action: Any) -> Any:
        out = self.env.step(action)
        _CountIllegal.illegal += "illegal_action" in out[4]
        _CountIllegal.episodes += out[2] or out[3]
        return out


def test_maskable_ppo_runs_and_never_takes_an_illegal_action() -> None:
    from sb3_contrib import MaskablePPO

    env = _CountIllegal(make(max_tokens=10))
    model = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu",
                        policy_kwargs={"net_arch": [32]})
    model.learn(256)
    assert model.num_timesteps >= 256
    assert _CountIllegal.episodes > 0 and _CountIllegal.illegal == 0


# -- rewards and info ----------------------------------------------------------------------------
@pytest.mark.parametrize("task_id", list(SOLUTIONS))
def test_reference_solutions_earn_reward_one(task_id: str) -> None:
    reward, terminated, truncated, info = play(make(), SOLUTIONS[task_id], task_id)
    assert (reward, terminated, truncated, info["success"]) == (1.0, True, False, True)
    assert info["verdict"]["success"] and info["explanation"] == "success"
    assert Program.parse(info["program"]) == Program.parse(SOLUTIONS[task_id])


def test_failures_are_explained_in_info() -> None:
    env = make()
    reward, terminated, _, info = play(env, "rt fd", "find")
    assert reward == 0.0 and terminated and not info["success"]
    assert info["verdict"]["crash_reason"] == "FORBIDDEN_AREA" and "entered the forbidden cell" in info["explanation"]
    _, _, _, info = play(env, "fd fd fd", "at_most")
    assert info["verdict"]["goal_ok"] and info["verdict"]["failed_constraints"] == [
        "at_most.all: program has 3, at most 2 allowed"]
    assert info["explanation"] == "used 3 commands, at most 2 allowed"
    _, _, _, info = play(env, "fd", "find")
    assert info["verdict"]["failed_objectives"] == ["goal[0] find"]
    assert info["explanation"] == "did not find the strawberry"
    env.reset(options={"task_id": "find"})
    info = env.step(CLOSE)[4]  # an illegal action ends the episode with a sentence too
    assert info["explanation"] == "illegal action } (syntax): the program was not run"


def test_shaped_reward() -> None:
    env = make(reward="shaped")
    assert play(env, "fd fd", "find")[0] == 1.0
    assert play(env, "rt fd", "find")[0] == 0.0  # crash
    assert play(env, "fd fd fd", "at_most")[0] == 0.5  # goal holds, constraint fails
    assert play(env, "fd", "find")[0] == pytest.approx(0.1)
    # draw: target has 4 segments; `fd fd` draws 2 of them right -> 2 agree over a union of 4
    assert play(env, "fd fd", "draw")[0] == pytest.approx(0.1 + 0.3 * 2 / 4)
    # a wrong colour agrees on nothing: union 2 drawn + 2 other target segments... 0 agree
    assert play(env, "setpc(blue) fd fd", "draw")[0] == pytest.approx(0.1)
    assert play(make(), "fd", "find")[0] == 0.0  # sparse by default
    for task_id in ("find", "draw"):  # the empty program scores no better than trying (a crash: 0.0)
        env.reset(options={"task_id": task_id})
        assert env.step(END)[1] == 0.0


def test_progress_reward() -> None:
    env = make(reward="progress")
    assert play(env, "fd fd", "find")[0] == 1.0
    assert play(env, "rt fd", "find")[0] == pytest.approx(-0.1)  # a crash costs
    assert play(env, "fd", "find")[0] == 0.0  # a find goal has no partial credit
    assert play(env, "fd fd", "draw")[0] == pytest.approx(0.3 * 2 / 4)  # 2 of the 4 target segments
    assert play(env, "setpc(blue) fd fd", "draw")[0] == 0.0  # a wrong line can never be undone
    env.reset(options={"task_id": "draw"})
    assert env.step(END)[1] == 0.0  # the empty program does nothing


def test_info_carries_task_id_mask_and_prompt() -> None:
    env = make()
    obs, info = env.reset(options={"task_id": "draw"})
    assert info["task_id"] == "draw" and info["prompt"] == task_prompt(Task.from_json(TASKS[1]))
    assert info["action_mask"].dtype == bool and info["action_mask"].shape == (N_ACTIONS,)
    _, _, _, _, info = env.step(0)
    assert set(info) == {"task_id", "action_mask"}
    assert "prompt" not in make(prompt=False).reset()[1]


# -- actions and masks ---------------------------------------------------------------------------
def test_illegal_actions_end_the_episode_as_documented() -> None:
    env = make()
    env.reset(options={"task_id": "find"})
    obs, reward, terminated, truncated, info = env.step(CLOSE)
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert info["illegal_action"] == "}" and info["illegal_reason"] == "syntax" and "verdict" not in info
    with pytest.raises(XLogoError, match="episode is over"):
        env.step(0)
    env.reset()
    env.step(ACTION_INDEX["repeat(3)"])
    assert env.step(END)[4]["illegal_reason"] == "syntax"  # <end> inside a loop
    env = make(max_depth=1)
    env.reset()
    env.step(ACTION_INDEX["repeat(2)"])
    assert env.step(ACTION_INDEX["repeat(2)"])[4]["illegal_reason"] == "depth"


def test_a_token_past_the_length_limit_truncates() -> None:
    env = make(max_tokens=3)
    env.reset(options={"task_id": "find"})
    env.step(0)
    env.step(0)
    assert env.unwrapped.action_masks().tolist() == [a == END for a in range(N_ACTIONS)]
    obs, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated, info["illegal_reason"]) == (0.0, False, True, "length")
    assert info["verdict"]["success"] and not info["success"]  # `fd fd` would solve it, but was never ended


def test_constraint_masking_blocks_and_reports() -> None:
    env = make(mask_constraints=True)
    _, info = env.reset(options={"task_id": "at_most"})
    assert info["constraints_masked"]
    env.step(0)  # fd: one block of the two allowed
    mask = env.unwrapped.action_masks()
    assert mask[ACTION_INDEX["rt"]] and not mask[ACTION_INDEX["repeat(2)"]]  # a loop needs two more blocks
    env.step(0)
    obs, reward, terminated, truncated, info = env.step(ACTION_INDEX["fd"])
    assert info["illegal_reason"] == "constraint" and terminated
    _, info = env.reset(options={"task_id": "start_by"})
    assert env.unwrapped.action_masks().tolist() == [a == ACTION_INDEX["rt"] for a in range(N_ACTIONS)]


@pytest.mark.parametrize("action", [1.5, "fd", None, N_ACTIONS, -1, np.array([1, 2]), np.float64(2.0)])
def test_actions_outside_the_space_raise_naming_value_and_type(action: Any) -> None:
    env = make()
    env.reset()
    with pytest.raises(XLogoError, match=type(action).__name__):
        env.step(action)


def test_numpy_integer_actions_are_accepted() -> None:
    env = make()
    env.reset()
    for a in (np.int64(0), np.int32(2), np.array(3)):
        assert not env.step(a)[2]


def test_masks_three_ways_agree() -> None:
    env = make(mask_constraints=True)
    wrapped = ActionMaskObservation(make(mask_constraints=True))
    rng = np.random.default_rng(1)
    obs, info = env.reset(seed=5)
    wobs, _ = wrapped.reset(seed=5)
    assert wrapped.observation_space.contains(wobs)
    for _ in range(60):
        mask = env.unwrapped.action_masks()
        assert np.array_equal(mask, info["action_mask"])
        assert np.array_equal(mask, wobs["action_mask"].astype(bool)) and wobs["action_mask"].dtype == np.float32
        assert _same(obs, wobs["observations"])
        action = int(rng.choice(np.flatnonzero(mask)))
        obs, _, terminated, truncated, info = env.step(action)
        wobs, *_ = wrapped.step(action)
        if terminated or truncated:
            obs, info = env.reset()
            wobs, _ = wrapped.reset()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), max_tokens=st.integers(1, 24), max_depth=st.integers(0, 3),
       mask_constraints=st.booleans())
def test_random_masked_rollouts_always_have_a_legal_action(seed: int, max_tokens: int, max_depth: int,
                                                           mask_constraints: bool) -> None:
    env = XLogoMiniEnv(tasks=TASKS, max_tokens=max_tokens, max_depth=max_depth, mask_constraints=mask_constraints,
                       prompt=False)
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    for _ in range(3):
        enforced = info.get("constraints_masked", False)  # False: the task's constraints cannot fit the limits
        tokens: list[int] = []
        while True:
            mask = info["action_mask"]
            assert mask.any()
            tokens.append(int(rng.choice(np.flatnonzero(mask))))
            obs, _, terminated, truncated, info = env.step(tokens[-1])
            assert obs in env.observation_space and "illegal_action" not in info
            assert obs["program"][:len(tokens)].tolist() == tokens and obs["program_length"][0] == len(tokens)
            assert (obs["program"][len(tokens):] == PROGRAM_PAD).all()
            if terminated or truncated:
                break
        assert terminated and not truncated and tokens[-1] == END and len(tokens) <= max_tokens
        program = actions_to_program(tokens)
        assert info["program"] == str(program) and program.depth() <= max_depth
        if enforced:
            task = env.task
            assert task is not None
            assert not constraint_failures(task.constraints.effective, program)
        obs, info = env.reset()


# -- constraint-aware writer (grammar.ConstrainedWriter) -----------------------------------------
commands = st.sampled_from([Command(k) for k in ("fd", "bk", "lt", "rt")] + [Command("setpc", c) for c in PEN_COLORS])
statements = st.recursive(commands, lambda inner: st.builds(
    Repeat, st.integers(2, 12), st.lists(inner, min_size=1, max_size=3).map(tuple)), max_leaves=10)
programs = st.lists(statements, max_size=6).map(lambda body: Program(tuple(body)))
blocks = st.sampled_from([*BLOCK_TYPES, "all"])


@st.composite
def constraints(draw: st.DrawFn) -> CodeConstraint:
    at_most = draw(st.dictionaries(blocks, st.integers(0, 8), max_size=3))
    exactly = draw(st.dictionaries(blocks.filter(lambda b: b not in at_most), st.integers(0, 8), max_size=2))
    start_by = draw(st.lists(st.sampled_from(BLOCK_TYPES), max_size=3))
    return CodeConstraint(tuple(at_most.items()), tuple(exactly.items()), tuple(start_by))


@settings(max_examples=150, deadline=None)
@given(constraint=constraints(), strict=st.booleans(), max_tokens=st.integers(1, 24), max_depth=st.integers(0, 3),
       seed=st.integers(0, 2**32 - 1))
def test_constraint_masks_are_sound(constraint: CodeConstraint, strict: bool, max_tokens: int, max_depth: int,
                                    seed: int) -> None:
    """Every masked rollout ends, and when the masks are enforced the program meets the constraints."""
    rng = np.random.default_rng(seed)
    writer = ConstrainedWriter((constraint,), strict, max_tokens, max_depth)
    while not writer.done:
        mask = writer.mask()
        assert mask.any()
        writer.write(int(rng.choice(np.flatnonzero(mask))))
    assert len(writer.tokens) <= max_tokens
    if writer.enforced:
        assert not constraint_failures(constraint, writer.program(), strict)


@settings(max_examples=200, deadline=None)
@given(program=programs, data=st.data(), strict=st.booleans())
def test_constraint_masks_are_complete(program: Program, data: st.DataObject, strict: bool) -> None:
    """A program that meets constraints (derived from it) and fits the limits is never masked out."""
    counts = program.block_counts
    picked = data.draw(st.lists(blocks, max_size=4, unique=True))
    at_most = tuple((b, counts[b] + data.draw(st.integers(0, 2))) for b in picked[:2])
    exactly = tuple((b, counts[b]) for b in picked[2:])
    top = program.top_level_types
    start_by = tuple(top[:data.draw(st.integers(0, min(3, len(top))))])
    constraint = CodeConstraint(at_most, exactly, start_by)
    assert not constraint_failures(constraint, program, strict)
    actions = program_to_actions(program)
    writer = ConstrainedWriter((constraint,), strict, len(actions) + data.draw(st.integers(0, 3)), program.depth())
    assert writer.enforced
    for a in actions:
        assert writer.mask()[a], (ACTIONS[a], writer.text(), constraint)
        writer.write(a)
    assert writer.program() == program


@settings(max_examples=60, deadline=None)
@given(max_tokens=st.integers(1, 30), max_depth=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_without_constraints_the_masks_equal_the_grammar(max_tokens: int, max_depth: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    plain, constrained = ProgramWriter(max_tokens, max_depth), ConstrainedWriter((), False, max_tokens, max_depth)
    while not plain.done:
        assert np.array_equal(plain.mask(), constrained.mask())
        a = int(rng.choice(np.flatnonzero(plain.mask())))
        plain.write(a)
        constrained.write(a)


def test_unsatisfiable_constraints_fall_back_to_the_grammar() -> None:
    writer = ConstrainedWriter((CodeConstraint(exactly=(("all", 50),)),), False, 40, 3)
    assert not writer.enforced and np.array_equal(writer.mask(), ProgramWriter(40, 3).mask())
    writer = ConstrainedWriter((CodeConstraint(start_by=("fd",)), CodeConstraint(start_by=("lt",))), True, 40, 3)
    assert not writer.enforced


# -- observations --------------------------------------------------------------------------------
def test_observation_holds_the_task_encoding_and_the_program() -> None:
    env = make()
    obs, _ = env.reset(options={"task_id": "draw"})
    enc = encode_task(Task.from_json(TASKS[1]))
    assert np.array_equal(obs["task_tokens"], enc.tokens) and np.array_equal(obs["task_cells"], enc.cells)
    assert obs["task_length"][0] == enc.length
    assert np.array_equal(obs["grid"].reshape(8, 8, len(GRID_CHANNELS)), enc.grid)
    obs, *_ = env.step(ACTION_INDEX["repeat(2)"])
    obs, *_ = env.step(ACTION_INDEX["fd"])
    assert obs["program"][:3].tolist() == [ACTION_INDEX["repeat(2)"], ACTION_INDEX["fd"], PROGRAM_PAD]
    assert obs["program_length"][0] == 2 and obs["depth"][0] == 1
    obs["task_tokens"][:] = 0  # observations are the caller's to modify
    assert np.array_equal(env.step(CLOSE)[0]["task_tokens"], enc.tokens)


def test_the_task_is_encoded_once_per_task_not_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import xlogo_gym.envs.xlogo_mini as module

    calls = []
    monkeypatch.setattr(module, "encode_task", lambda task: calls.append(task.id) or encode_task(task))
    env = make()
    assert len(calls) == len(TASKS)  # at construction
    _rollout(env, 0, 100)
    assert len(calls) == len(TASKS)
    env.reset(options={"task": TASKS[0]})  # a task from outside the list: encoded at reset
    env.step(0)
    env.step(0)
    assert len(calls) == len(TASKS) + 1


def test_every_conformance_task_fits_the_observation_space() -> None:
    tasks = list({c["task"]["id"]: c["task"] for c in conformance_cases()}.values())
    env = XLogoMiniEnv(tasks=tasks, prompt=False)
    for task_id in env.task_ids:
        obs, _ = env.reset(options={"task_id": task_id})
        assert obs in env.observation_space, task_id


def test_grid_one_hot_wrapper() -> None:
    env = GridOneHot(make())
    obs, _ = env.reset(options={"task_id": "find"})
    assert obs in env.observation_space
    grid = obs["grid"]
    assert grid.shape == (len(ONE_HOT_CHANNELS), 8, 8)
    assert (grid.sum(axis=0) == len(GRID_CHANNELS)).all()  # one value per channel in every cell
    assert grid[ONE_HOT_CHANNELS.index("turtle=1"), 2, 1] == 1  # the turtle at (1, 2) facing north
    assert grid[ONE_HOT_CHANNELS.index("cell=2"), 2, 2] == 1  # (2, 2) is forbidden


# -- task sources and options --------------------------------------------------------------------
def test_reset_options() -> None:
    env = make()
    assert env.reset(options={"task_id": "start_by"})[1]["task_id"] == "start_by"
    with pytest.raises(XLogoError, match="unknown task id"):
        env.reset(options={"task_id": "nope"})
    with pytest.raises(XLogoError, match="unknown reset option"):
        env.reset(options={"level": 3})
    custom = dict(TASKS[0], id="mine")
    assert env.reset(options={"task": custom})[1]["task_id"] == "mine"
    assert play(env, "fd fd", "find")[0] == 1.0


def test_tasks_argument_overrides_the_registered_suite_and_accepts_objects() -> None:
    env = gym.make("XLogo-Mini-Synthetic-v0", tasks=[Task.from_json(t) for t in TASKS])
    assert env.unwrapped.task_ids == [t["id"] for t in TASKS]
    nameless = [{k: v for k, v in t.items() if k != "id"} for t in TASKS]
    assert XLogoMiniEnv(tasks=nameless).task_ids == ["0", "1", "2", "3"]
    with pytest.raises(XLogoError, match="unique"):
        XLogoMiniEnv(tasks=[TASKS[0], TASKS[0]])
    with pytest.raises(XLogoError, match="reward"):
        XLogoMiniEnv(tasks=TASKS, reward="dense")


def test_generated_env_draws_fresh_seeded_tasks() -> None:
    first, second = gym.make("XLogo-Mini-Generated-v0"), gym.make("XLogo-Mini-Generated-v0")
    a = [first.reset(seed=11)[0]] + [first.reset()[0] for _ in range(2)]
    b = [second.reset(seed=11)[0]] + [second.reset()[0] for _ in range(2)]
    assert _same(a, b)
    assert not np.array_equal(a[0]["task_tokens"], a[1]["task_tokens"])


# -- rendering through the env -------------------------------------------------------------------
def test_render_modes() -> None:
    env = make(render_mode="rgb_array")
    env.reset(options={"task_id": "draw"})
    before = env.render()
    assert isinstance(before, np.ndarray) and before.dtype == np.uint8 and before.ndim == 3
    play(env, SOLUTIONS["draw"], "draw")
    after = env.render()
    assert after.shape[1] == before.shape[1] and not np.array_equal(before, after)
    assert len(env.unwrapped.run_frames()) == 7  # the start and one frame per action

    env = make(render_mode="ansi")
    env.reset(options={"task_id": "find"})
    assert "Program so far: (empty)" in env.render()
    env.step(0)
    assert "Program so far: fd" in env.render()
    play(env, "fd fd", "find")
    assert "Verdict: success" in env.render()

    env = make(render_mode="human")  # SDL's dummy video driver (tests/conftest.py)
    play(env, "fd fd", "find")
    env.close()
    env.close()
