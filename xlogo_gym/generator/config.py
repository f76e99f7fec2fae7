"""The generator's knobs: one validated dataclass whose defaults follow the real tasks (SEMANTICS.md §12)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.program import MAX_REPEAT
from xlogo_gym.world import PEN_COLORS

#: Goal structures the generator builds ("+" joins the objectives of one goal list, in list order).
GOAL_STRUCTURES = ("draw", "find", "find+forbid", "find+forbid+forbid", "findonly", "collectall",
                   "collectall+forbid", "sum", "concat")
CONSTRAINT_KINDS = ("none", "at_most", "exactly", "start_by")
#: Goal structures whose worlds may be dense (every free cell holds an item, §12.1 "logic worlds are full").
LOGIC_STRUCTURES = ("find+forbid", "find+forbid+forbid", "collectall", "collectall+forbid", "concat")
#: Layouts of a sum world: "four" (4 strawberry cells counting 1, 2, 3, 4), "full" (a strawberry with
#: count 1-4 on every free cell), "classic" (a few items on the trace and some off it).
SUM_LAYOUTS = ("four", "full", "classic")
#: Largest grid the generator makes (the task encodings are 8 x 8).
MAX_SIDE = 8

#: §12 counts over the 92 real tasks, with the rare structures raised to a few percent each.
DEFAULT_GOAL_WEIGHTS = {"draw": 38, "find": 29, "sum": 10, "find+forbid": 5, "find+forbid+forbid": 3,
                        "findonly": 4, "collectall": 3, "collectall+forbid": 3, "concat": 5}
#: §12 grid sizes (W x H) of the 86 executable real tasks.
DEFAULT_SIZE_WEIGHTS = {"3x3": 52, "4x4": 10, "3x2": 3, "2x2": 2, "2x3": 2, "6x3": 2, "4x2": 2, "3x4": 2,
                        "1x3": 1, "5x5": 1, "5x2": 1, "5x4": 1, "6x1": 1, "3x5": 1, "4x3": 1, "6x2": 1,
                        "8x2": 1, "7x3": 1, "7x1": 1}
#: §12 constraint kinds over the 92 real tasks: none 61, at_most.all 21, exactly 6, start_by 4 (raised
#: to 6 because a program that starts with a loop cannot take a start_by, and then gets none).
DEFAULT_CONSTRAINT_WEIGHTS = {"none": 61, "at_most": 21, "exactly": 6, "start_by": 6}
#: Pen colours of setpc, after the §12 line colours (red 29, green 19, yellow 14, white 12, blue 11).
DEFAULT_PEN_WEIGHTS = {"red": 29, "green": 19, "yellow": 14, "white": 12, "blue": 11, "black": 1}
#: Repeat counts: the real ones are 2, 3, 4, 5 and 7. (Counts of 8-12 are allowed, but a natural
#: loop that moves cannot run that often on a grid at most 8 wide, so they almost never occur.)
DEFAULT_REPEAT_WEIGHTS = {2: 30, 3: 28, 4: 25, 5: 8, 6: 4, 7: 3}


@dataclass(frozen=True)
class GeneratorConfig:
    """Knobs of the synthetic task distribution. Every field is validated; bad values raise XLogoError.

    Weights are relative (they need not sum to 1). Probabilities are per task unless noted.
    """

    #: Relative weight of each goal structure of GOAL_STRUCTURES.
    goal_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_GOAL_WEIGHTS))
    #: Relative weight of each grid size "WxH".
    size_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SIZE_WEIGHTS))
    #: Probability of a uniformly drawn size in 1..max_cols x 1..max_rows instead (robustness).
    random_size_prob: float = 0.1
    #: Largest grid width, 1..8.
    max_cols: int = 8
    #: Largest grid height, 1..8 (the real tasks reach 5).
    max_rows: int = 6
    #: Relative weights of the start directions north, east, south, west (real: 73, 7, 4, 2).
    direction_weights: tuple[float, float, float, float] = (80, 8, 7, 5)
    #: Smallest and largest number of blocks of the kept program (the real ones have 1-15).
    min_blocks: int = 1
    max_blocks: int = 15
    #: Largest number of actions the kept program executes (real: at most 32).
    max_actions: int = 40
    #: Mean number of moves of a program for a find goal / a collecting goal (collectall, sum,
    #: concat) / a draw goal.
    mean_moves_find: float = 4.0
    mean_moves_collect: float = 5.0
    mean_moves_draw: float = 8.0
    #: Probability that a program for an item goal / a draw goal is written around a loop (before
    #: compaction folds more runs into loops).
    loop_prob_items: float = 0.3
    loop_prob_draw: float = 0.6
    #: Probability that the program of a task with a code constraint is one loop and nothing else (the
    #: real constrained tasks are mostly "repeat a pattern" puzzles: the constraint forces the loop).
    whole_loop_prob: float = 0.5
    #: Probability that a loop body holds a loop of its own (depth 2).
    nested_prob: float = 0.35
    #: Probability that the loops of a draw program under a loop-forcing at_most limit have long bodies
    #: (2-6 blocks, or an inner loop and 1-3 more): the real ones repeat patterns such as `fd rt fd lt`
    #: or `repeat(4){fd rt} rt` into pictures of 6 to 18 lines.
    long_loop_prob: float = 0.7
    #: Relative weight of each repeat count 2..12.
    repeat_weights: Mapping[int, float] = field(default_factory=lambda: dict(DEFAULT_REPEAT_WEIGHTS))
    #: Probability that runs of repeated blocks are folded into loops (always done under at_most).
    compact_prob: float = 0.6
    #: Relative weight of bk among moves (fd has weight 1).
    bk_weight: float = 0.35
    #: Probability that a draw program changes the pen colour.
    pen_prob: float = 0.6
    #: Relative weight of each setpc colour.
    pen_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PEN_WEIGHTS))
    #: Probability that two collinear segments of one colour become one line of length 2.
    long_line_prob: float = 0.03
    #: How the target lines of a draw task are listed: "rows" (row by row, like the mini-85 suite),
    #: "drawing" (in the order and direction the program draws them) or "random" (shuffled). A mix
    #: keeps a policy from reading the solution off the order.
    line_order: Mapping[str, float] = field(default_factory=lambda: {"rows": 2, "drawing": 1, "random": 1})
    #: Probabilities of walls, forbidden tiles and missing tiles (always off the solution's path).
    wall_prob: float = 0.2
    forbidden_prob: float = 0.2
    missing_prob: float = 0.28
    #: Most distractor items (items no objective asks for).
    max_distractors: int = 3
    #: Largest sum total (real: 18).
    max_sum_total: int = 18
    #: A find program may take at most this many actions more than the shortest solution; the
    #: generator adds walls or forbidden cells to block shortcuts, or rejects the task.
    detour_slack: int = 0
    #: Probability that a logic world (LOGIC_STRUCTURES) on a grid of at most 16 cells is dense: every
    #: free cell holds an item from one palette (circles of distinct colours, or shapes in red, green,
    #: blue, or mixed items), as in all real logic tasks (§12.1).
    dense_prob: float = 0.75
    #: The same for plain find goals (3 of the 33 real find tasks are full); findonly stays sparse.
    dense_find_prob: float = 0.2
    #: Relative weight of each sum layout of SUM_LAYOUTS (real: 6 "four", 4 "full").
    sum_layout: Mapping[str, float] = field(default_factory=lambda: {"four": 0.4, "full": 0.35, "classic": 0.25})
    #: Probability that an at_most task with a draw or find goal must be loop-forcing: its limit is below a
    #: lower bound on the blocks of any loop-free solution (19 of the 21 real at_most tasks are), else the
    #: attempt is redrawn. (Collecting goals are left alone: their cheap bound almost never beats a limit.)
    loop_forcing_prob: float = 0.85
    #: Probability that an "exactly" constraint is "don't use" (count 0 of fd, bk, lt, rt, or fd and a
    #: turn); the program is mirrored (fd<->bk, lt<->rt) so that it avoids the banned commands.
    dont_use_prob: float = 0.67
    #: Relative weight of each constraint kind of CONSTRAINT_KINDS.
    constraint_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CONSTRAINT_WEIGHTS))
    #: Probability that a constrained task gets a second constraint kind (start_by with another).
    combined_constraints_prob: float = 0.03
    #: Held-out tasks (see `is_heldout`): "exclude" (training), "only" (evaluation) or "include".
    heldout: str = "exclude"
    #: Suites (names or paths, see `load_suite`) whose worlds are never generated; missing ones are skipped.
    exclude_suites: tuple[str, ...] = ("mini-85",)

    def __post_init__(self) -> None:
        where = "GeneratorConfig"
        _weights(self.goal_weights, GOAL_STRUCTURES, f"{where}.goal_weights")
        _weights(self.constraint_weights, CONSTRAINT_KINDS, f"{where}.constraint_weights")
        _weights(self.pen_weights, PEN_COLORS, f"{where}.pen_weights")
        _weights(self.repeat_weights, range(2, MAX_REPEAT + 1), f"{where}.repeat_weights")
        _weights(self.line_order, ("rows", "drawing", "random"), f"{where}.line_order")
        _weights(self.sum_layout, SUM_LAYOUTS, f"{where}.sum_layout")
        for name in ("max_cols", "max_rows"):
            _int_in(getattr(self, name), 1, MAX_SIDE, f"{where}.{name}")
        sizes = _weights(self.size_weights, None, f"{where}.size_weights")
        for key in sizes:
            cols, rows = parse_size(key, f"{where}.size_weights")
            if cols > self.max_cols or rows > self.max_rows:
                raise XLogoError(f"size {key!r} exceeds max_cols x max_rows = {self.max_cols}x{self.max_rows}",
                                 f"{where}.size_weights")
        if self.max_cols * self.max_rows < 2:
            raise XLogoError("the grid must have room for at least two cells", f"{where}.max_cols")
        if len(self.direction_weights) != 4:
            raise XLogoError(f"need 4 weights (N, E, S, W), got {len(self.direction_weights)}",
                             f"{where}.direction_weights")
        _weights(dict(zip("NESW", self.direction_weights, strict=True)), None, f"{where}.direction_weights")
        _int_in(self.min_blocks, 1, 100, f"{where}.min_blocks")
        _int_in(self.max_blocks, self.min_blocks, 100, f"{where}.max_blocks")
        _int_in(self.max_actions, 1, 10_000, f"{where}.max_actions")
        _int_in(self.max_distractors, 0, 20, f"{where}.max_distractors")
        _int_in(self.max_sum_total, 1, 60, f"{where}.max_sum_total")
        _int_in(self.detour_slack, 0, 100, f"{where}.detour_slack")
        for name in ("mean_moves_find", "mean_moves_collect", "mean_moves_draw"):
            value = getattr(self, name)
            if not _is_number(value) or not 1 <= value <= 50:
                raise XLogoError(f"must be a number in 1..50, got {value!r}", f"{where}.{name}")
        for name in ("random_size_prob", "loop_prob_items", "loop_prob_draw", "whole_loop_prob", "nested_prob",
                     "compact_prob", "pen_prob", "long_line_prob", "wall_prob", "forbidden_prob", "missing_prob",
                     "combined_constraints_prob", "dense_prob", "dense_find_prob", "loop_forcing_prob",
                     "dont_use_prob", "long_loop_prob"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise XLogoError(f"must be a probability in 0..1, got {value!r}", f"{where}.{name}")
        if not _is_number(self.bk_weight) or not 0 <= self.bk_weight <= 10:
            raise XLogoError(f"must be a number in 0..10, got {self.bk_weight!r}", f"{where}.bk_weight")
        if not isinstance(self.exclude_suites, (tuple, list)) or not all(
                isinstance(s, str) for s in self.exclude_suites):
            raise XLogoError(f"must be a list of suite names or paths, got {self.exclude_suites!r}",
                             f"{where}.exclude_suites")
        if self.heldout not in ("exclude", "only", "include"):
            raise XLogoError(f"must be 'exclude', 'only' or 'include', got {self.heldout!r}", f"{where}.heldout")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (repeat counts become string keys); `from_json` reads it back."""
        out = asdict(self)
        out["repeat_weights"] = {str(k): v for k, v in self.repeat_weights.items()}
        out["direction_weights"] = list(self.direction_weights)
        out["exclude_suites"] = list(self.exclude_suites)
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str = "GeneratorConfig") -> GeneratorConfig:
        """Build from a JSON object of field values; unknown fields raise XLogoError."""
        if not isinstance(obj, dict):
            raise XLogoError(f"expected an object of generator settings, got {type(obj).__name__}", where)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise XLogoError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})", where)
        values = dict(obj)
        if isinstance(values.get("repeat_weights"), dict):
            try:
                values["repeat_weights"] = {int(k): v for k, v in values["repeat_weights"].items()}
            except ValueError:
                raise XLogoError("repeat counts must be integers", f"{where}.repeat_weights") from None
        for key in ("direction_weights", "exclude_suites"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)


def parse_size(key: str, where: str) -> tuple[int, int]:
    """'WxH' -> (W, H), each 1..MAX_SIDE."""
    parts = key.split("x") if isinstance(key, str) else []
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise XLogoError(f"grid size {key!r} must look like '3x3' (width x height)", where)
    cols, rows = int(parts[0]), int(parts[1])
    if not (1 <= cols <= MAX_SIDE and 1 <= rows <= MAX_SIDE) or cols * rows < 2:
        raise XLogoError(f"grid size {key!r} must be 1..{MAX_SIDE} on each side with at least two cells", where)
    return cols, rows


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int_in(value: Any, lo: int, hi: int, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise XLogoError(f"must be an integer in {lo}..{hi}, got {value!r}", where)


def _weights(weights: Any, allowed: Any, where: str) -> Mapping[Any, float]:
    if not isinstance(weights, Mapping):
        raise XLogoError(f"expected a mapping of weights, got {type(weights).__name__}", where)
    for key, value in weights.items():
        if allowed is not None and key not in allowed:
            raise XLogoError(f"unknown key {key!r} (expected one of {', '.join(map(str, allowed))})", where)
        if not _is_number(value) or value < 0:
            raise XLogoError(f"weight of {key!r} must be a non-negative number, got {value!r}", where)
    if not any(v > 0 for v in weights.values()):
        raise XLogoError("at least one weight must be positive", where)
    if not math.isfinite(sum(weights.values())):
        raise XLogoError("the weights must have a finite sum", where)
    return weights
