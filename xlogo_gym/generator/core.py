"""Code-first task generation: program, then the world around its trace, then verification."""

from __future__ import annotations

import itertools
import json
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator.config import CONSTRAINT_KINDS, GeneratorConfig, parse_size
from xlogo_gym.generator.constraints import avoid, choose_banned, constraint_kind, derive
from xlogo_gym.generator.families import loop_forcing, task_family
from xlogo_gym.generator.goals import GoalBuilder
from xlogo_gym.generator.identity import heldout_world, suite_worlds, task_hash, world_hash
from xlogo_gym.generator.programs import Limits, ProgramSampler, Walker, compact
from xlogo_gym.generator.worlds import Draft, add_obstacles, block_shortcuts, place
from xlogo_gym.program import Program
from xlogo_gym.skills import infer_skills
from xlogo_gym.suite import SuiteEntry
from xlogo_gym.task import CodeConstraint, Constraints, Task

#: Bumped whenever the same seed and settings would give other tasks (datasets record it to resume safely).
GENERATOR_VERSION = 3
#: Tasks per chunk: the unit of seeding, so output does not depend on the number of workers.
CHUNK_SIZE = 250
#: Failed attempts before generate_task gives up (a configuration that cannot be met).
MAX_ATTEMPTS = 2000
#: Failed attempts after which generate_task draws another goal structure and constraint kind.
REDRAW = 100
#: Tasks drawn over which `Exhaustion` measures the share of new (not duplicate) ones.
STALL_WINDOW = 10 * CHUNK_SIZE
#: `Exhaustion` stops a stream whose recent share of new tasks is under 1 in STALL_RATIO and would need more
#: than STALL_DRAWS draws to find the tasks still missing at that share.
STALL_RATIO = 20
STALL_DRAWS = 100 * CHUNK_SIZE
_EMPTY = Program()


@dataclass(frozen=True)
class GeneratedTask:
    """A verified task, the program it was built from, and labels for analysis and curricula."""

    task: Task
    program: Program
    goal_type: str  # objectives joined by "+", e.g. "find+forbid"
    skills: tuple[str, ...]
    features: dict[str, Any]  # difficulty features: blocks, actions, depth, grid size, obstacles, ...

    def to_record(self) -> dict[str, Any]:
        """The dataset record: {id, goal_type, skills, features, program: {text, json}, task}."""
        return {"id": self.task.id, "goal_type": self.goal_type, "skills": list(self.skills),
                "features": self.features, "program": {"text": str(self.program), "json": self.program.to_json()},
                "task": self.task.to_json()}

    def to_entry(self) -> SuiteEntry:
        return SuiteEntry(str(self.task.id), self.task, self.program, list(self.skills))


class _Tables:
    """Cumulative weights of a config, built once per config."""

    def __init__(self, config: GeneratorConfig) -> None:
        def cum(weights: dict) -> tuple[list, list[float]]:
            keys = [k for k, w in weights.items() if w > 0]
            return keys, list(itertools.accumulate(weights[k] for k in keys))

        self.goals = cum(dict(config.goal_weights))
        self.sizes = cum({parse_size(k, "size_weights"): w for k, w in config.size_weights.items()})
        self.any_size = [(c, r) for c in range(1, config.max_cols + 1) for r in range(1, config.max_rows + 1)
                         if c * r >= 2]
        self.directions = cum(dict(enumerate(config.direction_weights)))
        self.constraints = cum({k: config.constraint_weights.get(k, 0) for k in CONSTRAINT_KINDS})
        self.programs = ProgramSampler(config)
        self.excluded = suite_worlds(config.exclude_suites)


_TABLES: dict[str, _Tables] = {}
_LAST: list[tuple[GeneratorConfig, _Tables]] = []


def _tables(config: GeneratorConfig) -> _Tables:
    """The tables of `config`, cached by its settings (configs arrive unpickled in worker processes)."""
    if _LAST and _LAST[0][0] is config:
        return _LAST[0][1]
    key = json.dumps(config.to_json(), sort_keys=True)
    tables = _TABLES.get(key)
    if tables is None:
        if len(_TABLES) >= 16:
            _TABLES.clear()
        tables = _TABLES[key] = _Tables(config)
    _LAST[:] = [(config, tables)]
    return tables


def _pick(rng: random.Random, table: tuple[list, list[float]]) -> Any:
    return rng.choices(table[0], cum_weights=table[1])[0]


def generate_task(rng: random.Random, config: GeneratorConfig | None = None) -> GeneratedTask:
    """One verified task drawn from `config` (default: the real-data-like distribution).

    The goal structure, constraint kind, whether an at_most limit must force a loop and which
    commands a "don't use" constraint bans are drawn once and kept over failed attempts (redrawn
    every REDRAW attempts), so rejections do not skew their configured mix. Raises XLogoError if
    MAX_ATTEMPTS attempts in a row fail, which means the configuration leaves no room (for
    example, a 1x2 grid with only draw goals of 10 blocks).
    """
    config = config or DEFAULT_CONFIG
    tables = _tables(config)
    limit = MAX_ATTEMPTS * (64 if config.heldout == "only" else 1)
    plan: tuple[str, str, bool, tuple[str, ...]] = ("", "", False, ())
    for i in range(limit):
        if i % REDRAW == 0:
            plan = _plan(rng, config, tables)
        generated = _attempt(rng, config, tables, *plan)
        if generated is not None:
            return generated
    raise XLogoError(f"no task met the configuration in {limit} attempts; loosen the generator settings",
                     "GeneratorConfig")


def _plan(rng: random.Random, config: GeneratorConfig, tables: _Tables) -> tuple[str, str, bool, tuple[str, ...]]:
    """(goal structure, constraint kind, whether an at_most limit must force a loop, "don't use" set)."""
    structure, kind = _pick(rng, tables.goals), _pick(rng, tables.constraints)
    # a random draw only where a knob is on, so turning one off keeps the rest of the stream
    force_loop = kind == "at_most" and (structure == "draw" or structure.startswith("find")) \
        and config.loop_forcing_prob > 0 and rng.random() < config.loop_forcing_prob
    banned = choose_banned(rng) if kind == "exactly" and config.dont_use_prob > 0 and \
        rng.random() < config.dont_use_prob else ()
    return structure, kind, force_loop, banned


def _attempt(rng: random.Random, config: GeneratorConfig, tables: _Tables, structure: str, kind: str,
             force_loop: bool, banned: tuple[str, ...]) -> GeneratedTask | None:
    """One try at a task planned by `_plan`: program, world around its trace, constraints, then the
    emulator's verdict; None if rejected."""
    cols, rows = rng.choice(tables.any_size) if rng.random() < config.random_size_prob else _pick(rng, tables.sizes)
    direction = _pick(rng, tables.directions)
    draw = structure == "draw"
    mean = config.mean_moves_draw if draw else \
        config.mean_moves_find if structure.startswith("find") else config.mean_moves_collect
    # an at_most limit forces a loop best on a program that is one loop (whole_loop_prob 0 keeps it off)
    whole_prob = max(config.whole_loop_prob, 0.8) if kind == "at_most" and config.whole_loop_prob > 0 \
        else config.whole_loop_prob
    whole_loop = kind != "none" and whole_prob > 0 and rng.random() < whole_prob
    loops = 1 if whole_loop else 0 if rng.random() >= (config.loop_prob_draw if draw else config.loop_prob_items) \
        else 1 if rng.random() < 0.85 else 2
    limits = Limits(cols, rows, config.max_actions, self_avoiding=not draw, drawing=draw)
    long_loops = force_loop and draw and rng.random() < config.long_loop_prob
    sampled = tables.programs.sample(rng, limits, draw and rng.random() < config.pen_prob, direction,
                                     max(1, round(rng.gammavariate(3.0, mean / 3))), loops, whole_loop, long_loops)
    if sampled is None:
        return None
    program, walker = sampled
    if kind == "at_most":
        program = compact(program)  # "at most N commands" needs the loops that make a program short
    elif rng.random() < config.compact_prob:
        program = compact(program, min_saving=2)
    if not config.min_blocks <= len(program) <= config.max_blocks:
        return None
    if force_loop and _loop_free_upper(structure, walker) <= len(program):
        return None  # the program itself, unrolled, fits the limit: it cannot force a loop
    if banned:  # "don't use": an exact mirror image of the program that avoids the banned commands
        image = avoid(program, direction, banned)
        if image is None:
            return None
        program, direction = image
        walker = Walker(direction, limits)
        if not all(walker.run(s) for s in program.body):
            return None

    draft = place(rng, walker, cols, rows, direction)
    goals = GoalBuilder(rng, config, draft)
    built = goals.build(structure)
    if built is None:
        return None
    add_obstacles(rng, config, draft)
    if goals.find_targets and not _close_shortcuts(rng, config, draft, goals, walker.last_move):
        return None
    if goals.palette is not None and not goals.fill(built[0]):
        return None
    constraint, phrase, extra = derive(rng, kind, program, rng.random() < config.combined_constraints_prob, banned)
    if constraint.is_empty():  # the real tasks write "no constraints" as [] or [{}]
        constraints = Constraints(()) if rng.random() < 0.85 else Constraints((CodeConstraint(),))
    else:
        constraints = Constraints((constraint,))
    task = Task(draft.world(), tuple(built[0]), constraints, None, built[1] + phrase + "." + extra)

    world = world_hash(task)
    if (config.heldout != "include" and heldout_world(world) != (config.heldout == "only")) or world in tables.excluded:
        return None
    forcing = loop_forcing(task)
    if force_loop and not forcing:
        return None
    if not execute(task, program).success or execute(task, _EMPTY).success:
        return None
    task = replace(task, id=f"syn-{task_hash(task)}")
    features = _features(task, program, draft)
    features.update(loop_forcing=forcing, dense=goals.palette is not None, family=task_family(task))
    return GeneratedTask(task, program, structure, tuple(infer_skills(task, program)), features)


def _loop_free_upper(structure: str, walker: Walker) -> int:
    """An upper bound on `loop_free_bound` known from the program alone: draw, its segments and colours;
    find, its actions up to the last move; collecting goals, the cells it visits (each holds at most one
    target, or 4 strawberries)."""
    if structure == "draw":
        return len(walker.segments) + len(set(walker.segments.values()) - {"black"})
    if structure.startswith("find"):
        return walker.last_move
    return len(set(walker.trace)) - 1


def _close_shortcuts(rng: random.Random, config: GeneratorConfig, draft: Draft, goals: GoalBuilder,
                     actions: int) -> bool:
    """Make the program's route to a find target the shortest, with walls, forbidden tiles or avoided items."""
    blocker = "avoid" if goals.avoid_item is not None and rng.random() < 0.7 else "forbidden"
    if not block_shortcuts(rng, draft, goals.find_targets, actions, config.detour_slack, blocker):
        return False
    for cell in sorted(draft.avoid - draft.items.keys()):
        item = goals.avoid_item() if goals.avoid_item is not None else None
        if item is None:
            draft.forbidden.add(cell)
        else:
            goals.put(cell, item)
    return True


def _features(task: Task, program: Program, draft: Draft) -> dict[str, Any]:
    """Difficulty features of a generated task, for analysis and curricula."""
    counts = program.block_counts
    return {
        "blocks": len(program), "actions": len(program.ops), "depth": program.depth(), "loops": counts["repeat"],
        "pens": counts["setpc"], "cols": draft.cols, "rows": draft.rows, "missing": len(draft.missing),
        "forbidden": len(draft.forbidden), "walls": len(draft.walls), "items": len(draft.items),
        "lines": len(draft.lines), "trace": len(set(draft.trace)),
        "constraint": constraint_kind(task.constraints.effective),
    }


def chunk_rng(seed: int, chunk: int) -> random.Random:
    """The random stream of one chunk of a seeded run (stable across Python versions and platforms)."""
    return random.Random(f"xlogo-gym/{seed}/{chunk}")


def generate_chunk(seed: int, chunk: int, config: GeneratorConfig | None = None) -> list[GeneratedTask]:
    """The CHUNK_SIZE tasks of chunk `chunk` of the run seeded `seed` (duplicates not yet removed)."""
    rng = chunk_rng(seed, chunk)
    return [generate_task(rng, config) for _ in range(CHUNK_SIZE)]


class Exhaustion:
    """Stops a stream of distinct tasks whose configuration holds too few of them (a 2x1 grid with find goals
    only holds a few hundred): `draw(new)` raises XLogoError once, over the last STALL_WINDOW draws, under 1 in
    STALL_RATIO was new and the `wanted` tasks still missing (None: endless) would take over STALL_DRAWS more
    draws at that rate. A configuration with room to spare never comes near it."""

    def __init__(self, wanted: int | None = None) -> None:
        self.missing = wanted
        self.window: deque[bool] = deque(maxlen=STALL_WINDOW)
        self.new = self.found = 0

    def draw(self, new: bool) -> None:
        if len(self.window) == STALL_WINDOW:
            self.new -= self.window[0]
        self.window.append(new)
        self.new += new
        self.found += new
        if new and self.missing is not None:
            self.missing -= 1
        if len(self.window) < STALL_WINDOW or self.new * STALL_RATIO >= STALL_WINDOW:
            return
        if self.missing is not None and self.new and self.missing * STALL_WINDOW < STALL_DRAWS * self.new:
            return
        raise XLogoError(f"the settings hold too few distinct tasks: {self.found} found, and only {self.new} of "
                         f"the last {STALL_WINDOW} drawn were new; ask for fewer tasks or loosen the settings",
                         "GeneratorConfig")


def generate_tasks(seed: int, count: int | None = None, config: GeneratorConfig | None = None,
                   ) -> Iterator[GeneratedTask]:
    """`count` distinct verified tasks (endless if None), the same ones for the same seed and config.

    Duplicates (same task up to id and description, see `task_hash`) are skipped, so the
    stream equals the records `xlogo-gym generate` writes with this seed. A configuration that
    holds too few distinct tasks raises XLogoError (see `Exhaustion`).
    """
    if count is not None and count < 0:
        raise XLogoError(f"count must be >= 0, got {count}", "count")
    seen: set[str] = set()
    produced = 0
    exhaustion = Exhaustion(count)
    for chunk in itertools.count():
        if count is not None and produced >= count:
            return
        for generated in generate_chunk(seed, chunk, config):
            exhaustion.draw(generated.task.id not in seen)
            if generated.task.id in seen:
                continue
            seen.add(str(generated.task.id))
            yield generated
            produced += 1
            if produced == count:
                return


DEFAULT_CONFIG = GeneratorConfig()
