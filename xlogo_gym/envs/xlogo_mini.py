"""XLogo-Mini: write a program for a task one token at a time; the emulator judges it at `<end>`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from xlogo_gym.emulator import Verdict, execute
from xlogo_gym.encoding import GRID_CHANNELS, ITEM_WORDS, MAX_COLS, MAX_ROWS, MAX_TASK_TOKENS, TASK_VOCAB, encode_task
from xlogo_gym.errors import XLogoError
from xlogo_gym.grammar import (
    ACTIONS,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_TOKENS,
    END,
    N_ACTIONS,
    ConstrainedWriter,
    ProgramWriter,
)
from xlogo_gym.program import Program
from xlogo_gym.prompt import task_prompt
from xlogo_gym.reward import REWARDS, verdict_reward
from xlogo_gym.suite import SuiteEntry
from xlogo_gym.task import Task
from xlogo_gym.world import ITEM_COLORS, PEN_COLORS

if TYPE_CHECKING:
    from xlogo_gym.window import Window

#: Padding of the `program` observation (one past the last action id).
PROGRAM_PAD = N_ACTIONS
#: Largest value of each grid channel (see `xlogo_gym.encoding`).
GRID_HIGH = (4, 1, 1, 1, 1, len(ITEM_WORDS), len(ITEM_COLORS), 4, len(PEN_COLORS) + 1, len(PEN_COLORS) + 1, 4)
GRID_SHAPE = (MAX_ROWS, MAX_COLS, len(GRID_CHANNELS))
DEFAULT_SUITE = "mini-85"
_END_ONLY = np.zeros(N_ACTIONS, dtype=bool)
_END_ONLY[END] = True
_END_ONLY.flags.writeable = False
assert len(GRID_HIGH) == len(GRID_CHANNELS)


class _Static(NamedTuple):
    """The per-task part of the observation (read-only; copied into each observation)."""

    tokens: np.ndarray
    cells: np.ndarray
    length: np.ndarray
    grid: np.ndarray


def _static(task: Task) -> _Static:
    enc = encode_task(task)
    parts = _Static(enc.tokens, enc.cells, np.array([enc.length], dtype=np.int32), enc.grid.reshape(-1))
    for array in parts:
        array.flags.writeable = False
    return parts


def _as_task(obj: Any, where: str) -> Task:
    if isinstance(obj, Task):
        return obj
    if isinstance(obj, SuiteEntry):
        return obj.task
    return Task.from_json(obj, where)


def info_verdict(verdict: Verdict) -> dict[str, Any]:
    """`Verdict.to_json()` with one type per key, as vector envs need (they stack each info key
    into one array): no crash is `crash_reason` "", `crash_cell` [] and `crash_step` -1, and after
    a crash (when they are not judged) `goal_ok` and `cons_ok` are False."""
    out = verdict.to_json()
    out["goal_ok"], out["cons_ok"] = bool(out["goal_ok"]), bool(out["cons_ok"])
    out["crash_reason"] = out["crash_reason"] or ""
    out["crash_cell"] = out["crash_cell"] or []
    out["crash_step"] = -1 if out["crash_step"] is None else int(out["crash_step"])
    return out


class XLogoMiniEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """
    ## Description

    Program synthesis in the XLogoOnline-Mini world (Wen et al., AIED 2024). Each episode is
    one task: a small grid with a turtle, walls, forbidden and missing cells, items and target
    lines, a goal (find, findonly, forbid, collectall, sum, concat or draw) and code constraints
    (at_most, exactly, start_by). The agent writes a program one token per step; at `<end>` the
    exact emulator (`xlogo_gym.execute`) runs it and the verdict decides the reward.

    The task is drawn from the env's suite with the env's seeded RNG, or chosen with
    `reset(options={"task_id": ...})` (or `options={"task": Task or task JSON}`);
    `XLogo-Mini-Generated-v0` draws a fresh generated task each episode, and
    `XLogo-Mini-Level1-v0` ... `XLogo-Mini-Level5-v0` draw them from five difficulty levels
    (level 1: find an item with one or two commands on a small grid; level 5: the full
    generated distribution; see `xlogo_gym.envs.levels`) for agents that learn from scratch.

    ```python
    >>> import gymnasium as gym
    >>> import xlogo_gym
    >>> env = gym.make("XLogo-Mini-v0")
    >>> env
    <OrderEnforcing<PassiveEnvChecker<XLogoMiniEnv<XLogo-Mini-v0>>>>

    ```

    ## Action Space

    `Discrete(23)`: the tokens of `xlogo_gym.grammar.ACTIONS`.

    | action | token | meaning |
    |--------|-------|---------|
    | 0-3    | `fd`, `bk`, `lt`, `rt` | move forward / back, turn left / right |
    | 4-9    | `setpc(C)`, C = black, red, green, blue, yellow, white | set the pen colour |
    | 10-20  | `repeat(N)`, N = 2..12 | open a loop (`repeat(1)` is never useful and not offered) |
    | 21     | `}` | close the innermost loop |
    | 22     | `<end>` | end the program: run it and end the episode |

    `env.unwrapped.get_action_meanings()` lists the tokens.

    **Action masks** keep every partial program completable: no `}` without an open loop or
    closing an empty body, no `<end>` inside a loop, at most `max_depth` nested loops, and
    room to close every loop and end within `max_tokens` tokens. Every observation has at least
    one legal action (once the episode is over, only `<end>` is marked, as a placeholder for
    vector envs; stepping a finished episode raises). With `mask_constraints=True` the masks
    also keep the task's code constraints satisfiable (exactly: a program written under them
    meets the constraints; if a task's constraints cannot be met within the limits, the masks
    fall back to the grammar and `info["constraints_masked"]` is False). Masks come three ways:
    `action_masks()` (read-only), `info["action_mask"]` after every reset and step, and the
    `ActionMaskObservation` wrapper (RLlib's Dict convention). Gymnasium's wrappers do not
    forward attributes, so after `gym.make` call `env.unwrapped.action_masks()` or
    `env.get_wrapper_attr("action_masks")()`; sb3-contrib's MaskablePPO does the latter and
    finds the masks through any wrapper and VecEnv.

    **An action outside the mask** ends the episode with reward 0.0 and
    `info["illegal_action"]` (the token) and `info["illegal_reason"]`: `syntax`, `depth`,
    `constraint` or `length`. A token that was grammatical but no longer fits within
    `max_tokens` *truncates* the episode (`truncated=True`): the program reached the maximum
    length. The others *terminate* it. A value outside `Discrete(23)` raises XLogoError.

    ## Observation

    A `Dict` of fixed-shape integer arrays, built to be read as token sequences by a
    transformer (padded ids plus lengths) and as a grid by a CNN. The task part comes from
    `xlogo_gym.encoding.encode_task`, computed once per task, not once per step:

    | key | shape, dtype | content |
    |-----|--------------|---------|
    | `task_tokens` | (384,) int32 | the task as words of `encoding.TASK_VOCAB`, padded with 0 |
    | `task_cells` | (384,) int32 | the cell each task token describes: 0 or 1 + y * 8 + x |
    | `task_length` | (1,) int32 | number of task tokens |
    | `grid` | (704,) int8 | the task as a grid, flattened from (8, 8, 11) |
    | `program` | (max_tokens,) int32 | action ids written so far, padded with `PROGRAM_PAD` (23) |
    | `program_length` | (1,) int32 | tokens written so far |
    | `depth` | (1,) int32 | loops open now |

    The task words describe, cell by cell, its state (allowed, forbidden, missing), walls,
    the turtle, the item (name, colour, count) and target lines, then the goal objectives and
    the constraints. `grid.reshape(8, 8, 11)` is `encoding`'s grid, indexed `[y, x, channel]`
    with channels `encoding.GRID_CHANNELS` (cell state, four walls, item name, item colour,
    item count, line to the right, line down, turtle); each channel's bound is in `GRID_HIGH`.

    Every observation is freshly allocated (nothing is shared between steps). The `grid` is
    flat because Stable-Baselines3 accepts only 1-D or image Boxes. Wrappers reshape it for
    SB3's default policies (`xlogo_gym.envs.wrappers`): `FlatOneHot` (one 0/1 vector for
    `MlpPolicy`, optionally centred on the turtle), `GridImage` (a channels-first uint8 one-hot
    image that `MultiInputPolicy`'s NatureCNN accepts) and `GridOneHot` (a (C, 8, 8) one-hot
    grid for your own network). Text lives in `info`: `info["prompt"]` (at reset)
    is the task in the style of the XLogoMiniProg benchmark prompts (`xlogo_gym.prompt`).

    ## Rewards

    * `reward="sparse"` (default): 1.0 when the verdict is success, else 0.0, given at the end.
    * `reward="shaped"`: also at the end only: 1.0 on success; 0.0 after a crash, an illegal
      action or for the empty program (so writing `<end>` at once is never better than
      trying); 0.5 when the goal holds but a code constraint fails; otherwise 0.1, plus
      for draw tasks 0.3 times the share of target and drawn segments that agree
      (right segment in the right colour, over the union of both pictures). Success stays
      the only way to 1.0.
    * `reward="progress"`: at the end: 1.0 on success; otherwise 0.3 times the share of the
      goal's work done (segments drawn, items collected, the sum collected; none after a wrong
      move or an overshot sum), minus 0.1 after a crash (`xlogo_gym.reward.verdict_reward`).

    ## Starting State

    An empty program on the chosen task.

    ## Episode End

    * Termination: the agent writes `<end>` (the program is run and judged), or an illegal
      action (see above).
    * Truncation: a grammatical token that no longer fits within `max_tokens`. Masked agents
      always terminate by `<end>` within `max_tokens` steps.

    `info` holds `task_id` and `action_mask` on every step (and `prompt` at reset). At the
    end it adds `program` (text), `success`, `explanation` and, when the program was run,
    `verdict` (`Verdict.to_json()`: crashed, goal_ok, cons_ok, crash_reason, crash_cell,
    crash_step, failed_objectives, failed_constraints). `explanation` is a str for people:
    "success", why the run failed in sentences (`Verdict.explain()`: "did not find the
    strawberry", "collected 3 strawberries, needed 5", "used 6 commands, at most 5 allowed"),
    or which illegal action ended the episode. Each key keeps one
    type in every episode, as vector envs need: without a crash, `crash_reason` is "",
    `crash_cell` [] and `crash_step` -1; after a crash `goal_ok` and `cons_ok` are False.

    ## Arguments

    * `tasks`: a list of task JSON objects (or `Task` / `SuiteEntry` objects).
    * `suite`: a suite name (`mini-85`, `synthetic-1k`), a file or a directory, read by
      `xlogo_gym.load_suite`.
    * `generator`: `GeneratorConfig` settings as a JSON object (`{}`: defaults); each
      episode draws a fresh task, seeded by the env's RNG.

    The first of `tasks`, `suite`, `generator` that is given is used (so
    `gym.make("XLogo-Mini-v0", tasks=[...])` replaces the registered suite); with none,
    the `mini-85` suite.
    * `level`: 1..5, a difficulty level (`xlogo_gym.envs.levels.LEVELS`): its generator
      settings (updated by `generator`, unless `tasks` or `suite` is given), its `max_tokens`
      and `mask_constraints=True`, each unless given.
    * `max_tokens` (40, or the level's) and `max_depth` (3): limits of the program, `<end>` included.
    * `mask_constraints` (False, or True with a level): masks also enforce the task's code constraints.
    * `reward` ("sparse"): "sparse", "shaped" or "progress".
    * `strict` (False): run programs with the emulator's strict semantics.
    * `prompt` (True): put `info["prompt"]` in the reset info.
    * `render_mode`: "rgb_array" (a numpy image, no display needed: the task and the program
      text while the program is written, then its run and the verdict), "human" (a pygame
      window showing the same; the run is animated when the episode ends) or "ansi" (text).
      `env.unwrapped.run_frames()` gives the animation frames, and `xlogo-gym render` saves
      them as GIF or MP4. Every rgb frame has the same shape, for every task and step
      (`xlogo_gym.rendering.frame_shape(tile_size)`, (384, 664, 3) by default), so
      `gymnasium.wrappers.RecordVideo` and SB3's `VecVideoRecorder` can record it.
    * `tile_size` (48): the grid fills a square of 8 * `tile_size` pixels (an 8x8 grid gets
      tiles of about `tile_size`, a 3x3 grid tiles more than twice as large).

    All arguments are plain JSON values, so they double as RLlib's `env_config`: use the id
    `"xlogo_gym:XLogo-Mini-v0"` (gymnasium imports `xlogo_gym` first, which registers it, in
    every worker) with `env_config` as keyword arguments.

    ## Registered Configurations

    * `XLogo-Mini-v0`: the `mini-85` suite.
    * `XLogo-Mini-Synthetic-v0`: the `synthetic-1k` suite.
    * `XLogo-MiniProg-v0`: the real benchmark's 85 tasks (`xlogominiprog-85`, after
      `xlogo-gym benchmark download`).
    * `XLogo-Mini-Generated-v0`: a fresh generated task each episode (`generator={}`).
    * `XLogo-Mini-Level1-v0` ... `XLogo-Mini-Level5-v0`: `level=1` ... `level=5`.

    ## Version History

    * v0: initial version. Later additions kept the id: the levels, one type per info key,
      and a shaped reward of 0 for the empty program.
    """

    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, suite: str | None = None, tasks: Sequence[Any] | None = None,
                 generator: dict[str, Any] | None = None, level: int | None = None, max_tokens: int | None = None,
                 max_depth: int = DEFAULT_MAX_DEPTH, mask_constraints: bool | None = None, reward: str = "sparse",
                 strict: bool = False, prompt: bool = True, render_mode: str | None = None,
                 tile_size: int = 48) -> None:
        if level is not None:
            from xlogo_gym.envs.levels import level as get_level

            chosen = get_level(level)
            if tasks is None and suite is None:  # the level's generator, with `generator` overriding its settings
                generator = {**chosen.generator, **(generator or {})}
            max_tokens = chosen.max_tokens if max_tokens is None else max_tokens
            mask_constraints = True if mask_constraints is None else mask_constraints
        max_tokens = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
        mask_constraints = bool(mask_constraints)
        self.level = level
        if reward not in REWARDS:
            raise XLogoError(f"reward must be one of {', '.join(REWARDS)}, got {reward!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise XLogoError(f"render_mode must be one of {', '.join(self.metadata['render_modes'])}, "
                             f"got {render_mode!r}")
        ProgramWriter(max_tokens, max_depth)  # validates the limits
        self.max_tokens, self.max_depth = max_tokens, max_depth
        self.mask_constraints, self.reward_mode, self.strict = mask_constraints, reward, strict
        self.with_prompt, self.render_mode, self.tile_size = prompt, render_mode, tile_size

        self._generator: Any = None
        self._tasks: list[Task] = []
        self.task_ids: list[str] = []
        if tasks is not None:  # the first source given wins, so make(id, tasks=...) replaces the suite
            suite = generator = None
        elif suite is not None:
            generator = None
        if generator is not None:
            from xlogo_gym.generator import GeneratorConfig, generate_task

            self._generator = (generate_task, GeneratorConfig.from_json(generator, "generator"))
        else:
            if tasks is None:
                from xlogo_gym.suite import load_suite

                entries = load_suite(suite or DEFAULT_SUITE)
                tasks = [e.task for e in entries]
                self.task_ids = [e.task_id for e in entries]
            else:
                given = [t.task_id if isinstance(t, SuiteEntry) else t.id if isinstance(t, Task)
                         else t.get("id") if isinstance(t, dict) else None for t in tasks]
                tasks = [_as_task(t, f"tasks[{i}]") for i, t in enumerate(tasks)]
                self.task_ids = [str(i) if task_id is None else str(task_id) for i, task_id in enumerate(given)]
            if not tasks:
                raise XLogoError("no tasks to play", suite or "tasks")
            self._tasks = list(tasks)
        self._index = {task_id: i for i, task_id in enumerate(self.task_ids)}
        if len(self._index) != len(self.task_ids):
            raise XLogoError("task ids must be unique", suite or "tasks")
        self._statics = [_static(t) for t in self._tasks]  # validates the shapes up front
        self._prompts: list[str | None] = [None] * len(self._tasks)

        self.action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space: spaces.Dict = spaces.Dict({  # type: ignore[assignment]
            "task_tokens": spaces.Box(0, len(TASK_VOCAB) - 1, (MAX_TASK_TOKENS,), np.int32),
            "task_cells": spaces.Box(0, MAX_ROWS * MAX_COLS, (MAX_TASK_TOKENS,), np.int32),
            "task_length": spaces.Box(0, MAX_TASK_TOKENS, (1,), np.int32),
            "grid": spaces.Box(0, np.tile(np.array(GRID_HIGH, dtype=np.int8), MAX_ROWS * MAX_COLS),
                               (int(np.prod(GRID_SHAPE)),), np.int8),
            "program": spaces.Box(0, PROGRAM_PAD, (max_tokens,), np.int32),
            "program_length": spaces.Box(0, max_tokens, (1,), np.int32),
            "depth": spaces.Box(0, max_depth, (1,), np.int32),
        })

        self.task: Task | None = None
        self.task_id: str | None = None
        self.verdict: Verdict | None = None
        self._static_obs: _Static | None = None
        self._writer: ProgramWriter = ProgramWriter(max_tokens, max_depth)
        self._program = np.full(max_tokens, PROGRAM_PAD, dtype=np.int32)
        self._episodes = 0
        self._window: Window | None = None
        self._animated = False

    # -- episode ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"task_id", "task"}
        if unknown:
            raise XLogoError(f"unknown reset option {sorted(unknown)[0]!r} (known: task_id, task)")
        index = None
        if "task" in options:
            task = _as_task(options["task"], "options.task")
            task_id, static = task.id or "custom", _static(task)
        elif "task_id" in options:
            index = self._index.get(str(options["task_id"]))
            if index is None:
                raise XLogoError(f"unknown task id {options['task_id']!r}", "options.task_id")
        elif self._generator is not None:
            generate_task, config = self._generator
            task = generate_task(random.Random(int(self.np_random.integers(2**63))), config).task
            task_id, static = task.id or f"generated-{self._episodes}", _static(task)
        else:
            index = int(self.np_random.integers(len(self._tasks)))
        if index is not None:
            task, task_id, static = self._tasks[index], self.task_ids[index], self._statics[index]
        self.task, self.task_id, self._static_obs, self.verdict = task, task_id, static, None
        self._episodes += 1
        self._writer = (ConstrainedWriter(task.constraints.entries if self.strict else (task.constraints.effective,),
                                          self.strict, self.max_tokens, self.max_depth)
                        if self.mask_constraints else ProgramWriter(self.max_tokens, self.max_depth))
        self._program.fill(PROGRAM_PAD)
        self._animated = False
        info: dict[str, Any] = {"task_id": task_id, "action_mask": self._writer.mask().copy()}
        if self.mask_constraints:
            info["constraints_masked"] = self._writer.enforced  # type: ignore[attr-defined]
        if self.with_prompt:
            if index is None:
                info["prompt"] = task_prompt(task)
            else:
                if self._prompts[index] is None:
                    self._prompts[index] = task_prompt(task)
                info["prompt"] = self._prompts[index]
        if self.render_mode == "human":
            self.render()
        return self._observation(0, 0), info

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if action.__class__ is not int:
            if not (isinstance(action, (np.integer, np.ndarray)) and np.ndim(action) == 0
                    and np.issubdtype(np.asarray(action).dtype, np.integer)):
                raise XLogoError(f"action {action!r} ({type(action).__name__}) is not an integer in 0..{N_ACTIONS - 1}")
            action = int(action)
        if not 0 <= action < N_ACTIONS:
            raise XLogoError(f"action {action!r} ({type(action).__name__}) is outside 0..{N_ACTIONS - 1}")
        writer = self._writer
        if self.task is None or writer.done:
            raise XLogoError("the episode is over (or never started): call reset()")
        try:
            writer.write(action)
        except XLogoError:
            return self._finish(action, writer.illegal_reason(action))
        n = len(writer.tokens)
        self._program[n - 1] = action
        if action == END:
            return self._finish(action, None)
        if self.render_mode == "human":
            self.render()
        return (self._observation(n, writer.depth), 0.0, False, False,
                {"task_id": self.task_id, "action_mask": writer.mask().copy()})

    def _observation(self, length: int, depth: int) -> dict[str, np.ndarray]:
        s = self._static_obs
        return {"task_tokens": s.tokens.copy(), "task_cells": s.cells.copy(),  # type: ignore[union-attr]
                "task_length": s.length.copy(), "grid": s.grid.copy(),  # type: ignore[union-attr]
                "program": self._program.copy(), "program_length": np.array([length], dtype=np.int32),
                "depth": np.array([depth], dtype=np.int32)}

    def _finish(self, action: int, reason: str | None
                ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """End the episode: after `<end>` (reason None) or an illegal action."""
        writer, task = self._writer, self.task
        assert task is not None
        writer.done = True
        program = writer.program()
        info: dict[str, Any] = {"task_id": self.task_id, "action_mask": _END_ONLY.copy(), "program": str(program)}
        reward = 0.0
        if reason in (None, "length"):
            self.verdict = verdict = execute(task, program, self.strict)
            info["verdict"], info["explanation"] = info_verdict(verdict), verdict.explain()
            if reason is None:
                reward = verdict_reward(task, verdict, self.reward_mode)
        info["success"] = bool(reason is None and self.verdict is not None and self.verdict.success)
        if reason is not None:
            info["illegal_action"], info["illegal_reason"] = ACTIONS[action], reason
            if reason != "length":
                info["explanation"] = f"illegal action {ACTIONS[action]} ({reason}): the program was not run"
        if self.render_mode == "human":
            self.render()
        n = len(writer.tokens)
        return self._observation(n, writer.depth), reward, reason != "length", reason == "length", info

    # -- masks and state -------------------------------------------------------------------
    def action_masks(self) -> np.ndarray:
        """Legal actions now, as a read-only boolean array (sb3-contrib's MaskablePPO calls this).

        Gymnasium's wrappers do not forward attributes: after `gym.make`, call
        `env.unwrapped.action_masks()` or `env.get_wrapper_attr("action_masks")()` (what
        sb3-contrib does, so MaskablePPO finds it through wrappers and VecEnvs)."""
        return _END_ONLY if self._writer.done else self._writer.mask()

    def get_action_meanings(self) -> list[str]:
        """The token of each action id: `fd`, `bk`, `lt`, `rt`, `setpc(black)`, ..., `}`, `<end>`."""
        return list(ACTIONS)

    @property
    def program(self) -> Program:
        """The program written so far (open loops closed)."""
        return self._writer.program()

    @property
    def tokens(self) -> list[int]:
        """The action ids written so far."""
        return list(self._writer.tokens)

    def run_frames(self, max_frames: int = 300) -> list[np.ndarray]:
        """Frames animating the current program's run (see `xlogo_gym.rendering.render_frames`)."""
        from xlogo_gym.rendering import render_frames

        if self.task is None:
            raise XLogoError("call reset() first")
        return render_frames(self.task, self.program, strict=self.strict, tile=self.tile_size, max_frames=max_frames,
                             fixed=True)

    # -- rendering -------------------------------------------------------------------------
    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            gym.logger.warn("render() without a render_mode: pass render_mode='rgb_array', 'human' or 'ansi'")
            return None
        if self.task is None:
            raise XLogoError("call reset() before render()")
        from xlogo_gym.rendering import render_ansi, render_frame

        finished = self.verdict is not None
        program = self.program if finished else None
        if self.render_mode == "ansi":
            text = render_ansi(self.task, program, self.verdict, self.strict)
            return text if finished else text + f"Program so far: {self._writer.text() or '(empty)'}\n"
        written = None if finished else " ".join(self._writer.text().split())
        status = None if finished else f"Writing: {len(self._writer.tokens)} of {self.max_tokens} tokens"
        frame = render_frame(self.task, program, self.verdict, strict=self.strict, tile=self.tile_size,
                             written=written, status=status)
        if self.render_mode == "rgb_array":
            return frame
        if finished and not self._animated:
            self._animated = True
            for f in self.run_frames()[:-1]:
                self._show(f, 2 * self.metadata["render_fps"])
        self._show(frame, self.metadata["render_fps"])
        return None

    def _show(self, frame: np.ndarray, fps: int) -> None:
        if self._window is None:
            from xlogo_gym.window import Window

            try:
                self._window = Window(f"XLogo-Mini: {self.task_id}")
            except ImportError as err:
                raise gym.error.DependencyNotInstalled(
                    'pygame is not installed: run `pip install "xlogo-gym[render]"`') from err
        self._window.show(frame, fps)

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_window"] = None  # pygame handles do not pickle
        return state
