"""Sampling natural programs on an open grid, and folding repeated blocks into loops.

A program is written statement by statement while a `Walker` runs it on an unbounded grid,
so every statement is checked as it is added: the trace must fit the chosen grid size, a
program for an item goal never steps on a cell twice, and a drawing never paints over a
segment in another colour (and goes back over a drawn line at most MAX_RETRACES times).
Programs are *natural*: no two turns in a row (`lt rt`, `rt rt`), no `bk` right after a turn,
no `repeat(1)`, loops only where they shorten the text and whose body is not itself a
repetition, no pen change that draws nothing, and no trailing turn, pen change or retrace.

`mirror` gives exact images of a program for "don't use" constraints: fd<->bk with the start
turned by 180 degrees draws the same trace, lt<->rt with the start mirrored east<->west draws
the mirrored trace. An image of a natural program counts as natural (`is_natural`), even where
it puts a `bk` right after a turn.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xlogo_gym.generator.config import GeneratorConfig
from xlogo_gym.program import MAX_REPEAT, Command, Program, Repeat, Statement
from xlogo_gym.world import STEPS

FD, BK, LT, RT = Command("fd"), Command("bk"), Command("lt"), Command("rt")
_TURN_KINDS = ("lt", "rt")

Cell = tuple[int, int]
Segment = tuple[Cell, Cell]
#: Most moves of a drawing program that go over a line already drawn (as in `fd bk`).
MAX_RETRACES = 2


class Walker:
    """A turtle on an unbounded grid that records what a program does, under `Limits`."""

    __slots__ = ("x", "y", "d", "pen", "trace", "segments", "minx", "maxx", "miny", "maxy", "actions",
                 "last_move", "retraced", "retraces", "pen_fresh", "limits")

    def __init__(self, direction: int, limits: Limits) -> None:
        self.x = self.y = 0
        self.d, self.pen = direction, "black"
        self.trace: list[Cell] = [(0, 0)]
        self.segments: dict[Segment, str] = {}  # drawn segment -> colour, in drawing order
        self.minx = self.maxx = self.miny = self.maxy = 0
        self.actions = 0
        self.last_move = 0  # actions up to and including the last move
        self.retraced = False  # the last move went over a segment drawn before
        self.retraces = 0
        self.pen_fresh = False  # the pen changed and has not drawn yet
        self.limits = limits

    def copy(self) -> Walker:
        w = Walker.__new__(Walker)
        w.x, w.y, w.d, w.pen, w.limits = self.x, self.y, self.d, self.pen, self.limits
        w.trace, w.segments = list(self.trace), dict(self.segments)
        w.minx, w.maxx, w.miny, w.maxy = self.minx, self.maxx, self.miny, self.maxy
        w.actions, w.last_move, w.retraced, w.retraces, w.pen_fresh = (
            self.actions, self.last_move, self.retraced, self.retraces, self.pen_fresh)
        return w

    def run(self, stmt: Statement) -> bool:
        """Execute one statement; False if it breaks the limits (the walker is then spoiled)."""
        if isinstance(stmt, Repeat):
            return all(self.run(s) for _ in range(stmt.times) for s in stmt.body)
        self.actions += 1
        if self.actions > self.limits.max_actions:
            return False
        kind = stmt.kind
        if kind == "lt":
            self.d = (self.d + 3) & 3
        elif kind == "rt":
            self.d = (self.d + 1) & 3
        elif kind == "setpc":
            self.pen = stmt.color or "black"
            self.pen_fresh = True
        else:
            return self._move(self.d if kind == "fd" else (self.d + 2) & 3)
        return True

    def _move(self, heading: int) -> bool:
        lim = self.limits
        dx, dy = STEPS[heading]
        x, y = self.x + dx, self.y + dy
        self.minx, self.maxx = min(self.minx, x), max(self.maxx, x)
        self.miny, self.maxy = min(self.miny, y), max(self.maxy, y)
        if self.maxx - self.minx >= lim.cols or self.maxy - self.miny >= lim.rows:
            return False
        if lim.self_avoiding and (x, y) in self.trace:
            return False
        seg = ((self.x, self.y), (x, y)) if (self.x, self.y) < (x, y) else ((x, y), (self.x, self.y))
        if lim.drawing and seg in self.segments:
            # going back over a line is fine in the same colour, but rarely and never twice in a row
            if self.segments[seg] != self.pen or self.retraced or self.retraces >= MAX_RETRACES:
                return False
            self.retraced = True
            self.retraces += 1
        else:
            self.retraced = False
            self.segments[seg] = self.pen
        self.x, self.y = x, y
        self.trace.append((x, y))
        self.last_move = self.actions
        self.pen_fresh = False
        return True


@dataclass(frozen=True)
class Limits:
    """What a sampled program may do: fit in cols x rows, actions, revisits, colours."""

    cols: int
    rows: int
    max_actions: int
    self_avoiding: bool
    drawing: bool


def _first(stmt: Statement) -> Command | None:
    while isinstance(stmt, Repeat):
        if not stmt.body:
            return None
        stmt = stmt.body[0]
    return stmt


def _last(stmt: Statement) -> Command | None:
    while isinstance(stmt, Repeat):
        if not stmt.body:
            return None
        stmt = stmt.body[-1]
    return stmt


def _size(stmts: Sequence[Statement]) -> int:
    return sum(1 + _size(s.body) if isinstance(s, Repeat) else 1 for s in stmts)


def _fits_after(prev: Sequence[Statement], stmt: Statement) -> bool:
    """Whether appending `stmt` to `prev` keeps the text natural at the join."""
    if not prev:
        return True
    a, b = _last(prev[-1]), _first(stmt)
    if a is None or b is None:
        return True
    ka, kb = a.kind, b.kind
    if ka in _TURN_KINDS and (kb in _TURN_KINDS or kb == "bk"):
        return False  # "lt rt" undoes itself, "rt rt" is bk with extra steps, "lt bk" is "rt fd" turned
    if ka == "setpc" and kb == "setpc":
        return False
    if isinstance(stmt, Repeat) and len(prev) >= len(stmt.body) and tuple(prev[-len(stmt.body):]) == stmt.body:
        return False  # "fd repeat(3){fd}" is repeat(4){fd}
    if isinstance(prev[-1], Repeat) and prev[-1].body == (stmt,):
        return False  # "repeat(3){fd} fd" likewise
    return True


def natural_body(body: tuple[Statement, ...], times: int, inner: bool = False) -> bool:
    """A loop is natural when its body moves, is not a power of a shorter body, and the loop makes
    the text shorter (an `inner` loop, nested in another, may also keep its length: repeat(2){fd})."""
    size = _size(body)
    if (1 + size > times * size) if inner else (1 + size >= times * size):
        return False
    n = len(body)
    if n == 1 and isinstance(body[0], Repeat):
        return False  # repeat(a){repeat(b){X}} is repeat(a*b){X}
    if isinstance(body[-1], Command) and body[-1].kind == "setpc":
        return False
    if not any(isinstance(s, Repeat) or s.kind in ("fd", "bk") for s in body):
        return False
    if any(n % p == 0 and body == body[:p] * (n // p) for p in range(1, n // 2 + 1)):
        return False
    return all(_fits_after(body[:i], body[i]) for i in range(1, n))


class ProgramSampler:
    """Writes natural programs on the open grid for one configuration (its weight tables are cached)."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.repeat_counts = [k for k, v in config.repeat_weights.items() if v > 0]
        self.repeat_cum = list(itertools.accumulate(config.repeat_weights[k] for k in self.repeat_counts))
        self._tables: dict[tuple[str | None, str | None], tuple[list[Command], list[float]]] = {}

    def sample(self, rng: random.Random, limits: Limits, colored: bool, direction: int, target_moves: int,
               loops: int, whole_loop: bool = False, long_loops: bool = False) -> tuple[Program, Walker] | None:
        """A natural program of about `target_moves` moves with `loops` loops, and the walker that ran it;
        None if the program came out empty. `colored`: the program may change the pen colour. With
        `whole_loop` the program is one loop (after an optional pen change), or None if none fits;
        `long_loops`: loop bodies of 2-6 blocks (see `_loop`)."""
        walker = Walker(direction, limits)
        stmts: list[Statement] = []
        loop_at = [0] if whole_loop else sorted(rng.randint(0, max(0, target_moves - 1)) for _ in range(loops))
        if colored and rng.random() < 0.5:
            cmds, weights = self._table(None, "black")
            pens = [i for i, c in enumerate(cmds) if c.kind == "setpc"]
            stmts.append(cmds[rng.choices(pens, weights=[weights[i] for i in pens])[0]])
            walker.run(stmts[0])
        while len(walker.trace) - 1 < target_moves and _size(stmts) < self.config.max_blocks:
            if loop_at and len(walker.trace) - 1 >= loop_at[0]:
                loop_at.pop(0)
                loop = self._loop(rng, stmts, walker, colored, depth=0, long=long_loops)
                if loop is not None:
                    stmts.append(loop)
                    walker.run(loop)
                if whole_loop:
                    break
                continue
            step = self._step(rng, stmts, walker, colored)
            if step is None:
                break
            stmts.append(step[0])
            walker = step[1]
        # a trailing turn or pen change does nothing, nor does a last move over a drawn segment
        while stmts and isinstance(stmts[-1], Command) and (stmts[-1].kind not in ("fd", "bk") or walker.retraced):
            stmts.pop()
            walker = Walker(direction, limits)
            if not all(walker.run(s) for s in stmts):
                return None
        if not stmts or len(walker.trace) < 2 or (whole_loop and not isinstance(stmts[-1], Repeat)):
            return None
        return Program(tuple(stmts)), walker

    def _table(self, last: str | None, pen: str | None) -> tuple[list[Command], list[float]]:
        """Next-command weights after a `last` kind: mostly moves, no turn or bk after a turn, and a
        change to another colour than `pen` (None: no pen change here)."""
        key = (last, pen)
        table = self._tables.get(key)
        if table is None:
            after_turn = last in _TURN_KINDS
            weights = {FD: 1.0, BK: 0.0 if after_turn else self.config.bk_weight,
                       LT: 0.0 if after_turn else 0.36, RT: 0.0 if after_turn else 0.45}
            if pen is not None:
                pens = {c: w for c, w in self.config.pen_weights.items() if c != pen and w > 0}
                for color, w in pens.items():
                    weights[Command("setpc", color)] = 0.2 * w / sum(pens.values())
            cmds = [c for c, w in weights.items() if w > 0]
            table = self._tables[key] = (cmds, [weights[c] for c in cmds])
        return table

    def _choose(self, rng: random.Random, last: Command | None, pen: str | None) -> Iterator[Command]:
        """The commands of `_table` in a random weighted order (sampling without replacement)."""
        cmds, weights = self._table(None if last is None else last.kind, pen)
        cmds, weights = list(cmds), list(weights)
        while cmds:
            i = rng.choices(range(len(cmds)), weights=weights)[0] if len(cmds) > 1 else 0
            weights.pop(i)
            yield cmds.pop(i)

    def _step(self, rng: random.Random, stmts: list[Statement], walker: Walker, colored: bool,
              ) -> tuple[Command, Walker] | None:
        """A random command that is natural here and runs; a turn only if a step forward can follow."""
        last = _last(stmts[-1]) if stmts else None
        pen = walker.pen if colored and last is not None and not walker.pen_fresh else None
        for cmd in self._choose(rng, last, pen):
            if not _fits_after(stmts, cmd):
                continue
            trial = walker.copy()
            if trial.run(cmd) and (cmd.kind not in _TURN_KINDS or trial.copy().run(FD)):
                return cmd, trial
        return None

    def _loop(self, rng: random.Random, prev: Sequence[Statement], walker: Walker, colored: bool,
              depth: int, long: bool = False) -> Repeat | None:
        """A loop that runs from the walker's state: a short natural body (`long`: 2-6 blocks, or an inner
        loop and 1-3 more) and a count that shortens it."""
        nested = depth == 0 and rng.random() < self.config.nested_prob
        for _ in range(16 if nested or long else 8 if depth == 0 else 1):
            body: list[Statement] = []
            if nested:
                # a long body often repeats a closed unit square, as the real "grid of squares" pictures do
                inner = Repeat(4, (FD, rng.choice((LT, RT)))) if long and rng.random() < 0.5 \
                    else self._loop(rng, body, walker, colored, depth=1)
                if inner is None:
                    continue
                body.append(inner)
                length = rng.choice((2, 3, 4) if long else (1, 1, 2))
            elif long:
                length = rng.choice((2, 3, 4, 5, 6))
            else:
                length = rng.choices((1, 2, 3, 4), cum_weights=(3, 7, 9.5, 10.5))[0]
            for _ in range(10):
                if len(body) >= length:
                    break
                last = _last(body[-1]) if body else None
                pen = "black" if colored and (last is None or last.kind != "setpc") else None
                cmd = rng.choices(*self._table(None if last is None else last.kind, pen))[0]
                if _fits_after(body, cmd):
                    body.append(cmd)
            times = rng.choices(self.repeat_counts, cum_weights=self.repeat_cum)[0]
            loop = Repeat(times, tuple(body))
            if not natural_body(loop.body, times, inner=depth > 0) or not _fits_after(prev, loop):
                continue
            if depth > 0 or walker.copy().run(loop):
                return loop
        return None


def compact(program: Program, min_saving: int = 1) -> Program:
    """Fold runs of repeated statements into loops wherever that saves `min_saving` blocks or more
    (greedy, left to right, loops nested at most twice)."""
    return Program(_compact(program.body, 0, min_saving))


def _compact(stmts: tuple[Statement, ...], depth: int, min_saving: int) -> tuple[Statement, ...]:
    stmts = tuple(Repeat(s.times, _compact(s.body, depth + 1, min_saving)) if isinstance(s, Repeat) else s
                  for s in stmts)
    out: list[Statement] = []
    i = 0
    while i < len(stmts):
        best: tuple[int, int, int] | None = None  # (saving, period, count)
        for p in range(1, min(4, (len(stmts) - i) // 2) + 1):
            unit = stmts[i:i + p]
            t = 1
            while t < MAX_REPEAT and stmts[i + t * p:i + (t + 1) * p] == unit:
                t += 1
            if t < 2:
                continue
            saving = (t - 1) * _size(unit) - 1
            if saving >= min_saving and (best is None or saving > best[0]) and depth + _depth(unit) < 2 \
                    and natural_body(unit, t):
                best = (saving, p, t)
        if best is None:
            out.append(stmts[i])
            i += 1
            continue
        _, p, t = best
        out.append(Repeat(t, stmts[i:i + p]))
        i += p * t
    return tuple(out)


def _depth(stmts: Sequence[Statement]) -> int:
    return max((1 + _depth(s.body) for s in stmts if isinstance(s, Repeat)), default=0)


_SWAP_MOVES = {"fd": BK, "bk": FD}
_SWAP_TURNS = {"lt": RT, "rt": LT}


def mirror(program: Program, direction: int, moves: bool, turns: bool) -> tuple[Program, int]:
    """An exact image of `program` and its start direction: `moves` swaps fd<->bk and turns the start
    by 180 degrees (same trace); `turns` swaps lt<->rt and mirrors the start east<->west (mirrored trace)."""
    swap = {**(_SWAP_MOVES if moves else {}), **(_SWAP_TURNS if turns else {})}

    def image(stmts: tuple[Statement, ...]) -> tuple[Statement, ...]:
        return tuple(Repeat(s.times, image(s.body)) if isinstance(s, Repeat) else swap.get(s.kind, s) for s in stmts)

    if moves:
        direction = (direction + 2) & 3
    if turns:
        direction = (4 - direction) & 3
    return Program(image(program.body)), direction


def is_natural(program: Program) -> bool:
    """The naturalness rules of this module, checked on a finished program or on its fd<->bk image
    (an exact image of a natural program, see `mirror`)."""
    return _natural(program) or _natural(mirror(program, 0, moves=True, turns=False)[0])


def _natural(program: Program) -> bool:
    def ok(stmts: tuple[Statement, ...], top: bool) -> bool:
        for i, s in enumerate(stmts):
            if i and not _fits_after(stmts[:i], s):
                return False
            if isinstance(s, Repeat) and (not natural_body(s.body, s.times, inner=not top) or not ok(s.body, False)):
                return False
        return not top or not stmts or isinstance(stmts[-1], Repeat) or stmts[-1].kind in ("fd", "bk")
    return ok(program.body, True)

