"""The search solver: the shortest program the emulator accepts, found by best-first search.

The search runs over *states*: the turtle's cell, heading and pen, plus what the goal has
seen so far (the drawn picture, items found, the sum so far, concat progress) and what the
constraints count (blocks of constrained types, how much of `start_by` is written). An edge
appends one top-level statement: a command, or a `repeat(N){body}` whose body is enumerated
from that state and run on the same transition tables, so a prefix that crashes, enters the
cell of a forbidden item or draws a segment outside the target is cut at once. Edges cost
(blocks, actions) and A* with an admissible heuristic returns the program with the fewest
blocks (`len(program)`), ties broken toward fewer actions.

Passes keep it fast: a loop-free pass gives an upper bound at once, then passes with loops
of growing bodies (4, 8, then `max_body` blocks; loops holding loops up to 6 blocks, nested
up to `max_depth`) each look only for strictly shorter programs, so most tasks are settled
by the cheap early passes. The search prunes with:

* goal state (`agents.solver_goals`): an undrawn segment and a wrong-coloured one are the
  same state (both need a later stroke), and an admissible bound counts the move, setpc and
  turn blocks still needed;
* loops: enumerated once per cell and heading for every pen (a symbolic entry pen), cut to
  one loop per distinct effect, rounds stopped once they cycle, and bodies kept in a
  canonical form (`_Search._after`: no `lt rt`, turns after setpc, ...);
* constraints: banned block types are never written; `exactly`/`start_by` shortfalls that
  harmless blocks (turns, setpc) can fill are padded at the end.

Within those bounds the result is the shortest program, and `SearchResult.optimal` says
whether the search finished in time. `execute` is the final judge of every solution.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from agents.solver_goals import ENTRY_PEN, CollectAllGoal, ConcatGoal, DrawGoal, FindGoal, Grid, SumGoal, Tracker
from xlogo_gym.emulator import CompiledTask, compile_task, execute
from xlogo_gym.evaluation import AgentFailure, Candidate, TaskByTaskAgent
from xlogo_gym.program import BLOCK_TYPES as TYPES
from xlogo_gym.program import MAX_REPEAT, OP_BK, OP_FD, OP_LT, OP_RT, OP_SETPC, Command, Program, Repeat, Statement
from xlogo_gym.task import Task
from xlogo_gym.world import PEN_COLORS

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 10.0
#: Largest loop body searched, in blocks (a real reference solution has one of 10).
DEFAULT_MAX_BODY = 12
#: Largest body searched for a loop that holds another loop.
MAX_NESTING_BODY = 6
#: Loop-body limits of the passes before the last (small bodies first: most loops are short).
_WIDENING = (4, 8)
#: Deepest loop nesting searched (real reference solutions nest at most 2 deep).
DEFAULT_MAX_DEPTH = 2
#: Programs longer than this are not searched when no constraint bounds the length.
MAX_BLOCKS = 40

#: Commands that change neither the trace nor the picture when appended to a finished program.
_PAD_TYPES = ("lt", "rt", "setpc")
_NONE = -1  # event of a command that neither moves nor draws
_LOOP = -2  # syntax code of a loop statement (commands use their opcode)
_COUNT_BITS = 8
_COUNT_MASK = (1 << _COUNT_BITS) - 1
_ONE = {t: 1 << (_COUNT_BITS * i) for i, t in enumerate(TYPES)}  # one block of a type, packed
_MOVES = _ONE["fd"] * _COUNT_MASK | _ONE["bk"] * _COUNT_MASK  # the fd and bk fields


class _Timeout(Exception):
    pass


@dataclass(frozen=True)
class SearchResult:
    """What `search` found: the program (or None and why), whether it is proven shortest, effort."""

    program: Program | None
    optimal: bool
    reason: str
    seconds: float
    expanded: int

    @property
    def solved(self) -> bool:
        return self.program is not None


class _Piece(NamedTuple):
    """Statements with their effect from one position: cost, block counts, end position, events."""

    stmts: tuple[Statement, ...]
    blocks: int
    actions: int
    counts: int  # blocks per type, packed: TYPES[i] counts `_COUNT_BITS` bits from bit i * _COUNT_BITS
    end: int
    events: tuple[int, ...]  # cells entered (item goals) or segment index * 8 + pen (draw goals)
    ops: tuple[int, ...]  # the actions run, as emulator opcodes


def _piece(*fields: Any) -> _Piece:
    """A _Piece built without NamedTuple's slow constructor (the enumeration makes millions)."""
    return tuple.__new__(_Piece, fields)


def _kind(stmt: Statement) -> str:
    return "repeat" if isinstance(stmt, Repeat) else stmt.kind


def _nesting(stmts: tuple[Statement, ...]) -> int:
    """How deep loops nest in `stmts` (0: no loop)."""
    return max((1 + _nesting(s.body) for s in stmts if isinstance(s, Repeat)), default=0)


# -- the search ---------------------------------------------------------------------------

class _Search:
    """Transition tables, constraint bookkeeping and the A* passes for one task."""

    def __init__(self, task: Task, max_body: int, deadline: float) -> None:
        self.task, self.max_body, self.deadline = task, max_body, deadline
        self.loop_budget = max_body + 1  # largest loop statement (blocks) of the current pass
        c = compile_task(task)
        self.cells = c.cols * c.rows
        cons = task.constraints.effective
        at_most, exactly = dict(cons.at_most), dict(cons.exactly)
        self.start_by = cons.start_by
        self.lower_all = exactly.get("all", 0)
        self.upper_all = min(exactly.get("all", at_most.get("all", MAX_BLOCKS)), MAX_BLOCKS)
        self.counted = [t for t in TYPES if t in at_most or t in exactly]
        self.counted_shift = [_COUNT_BITS * TYPES.index(t) for t in self.counted]
        self.counted_mask = sum(_ONE[t] * _COUNT_MASK for t in self.counted)
        self.count_lower = [exactly.get(t, 0) for t in self.counted]
        self.count_upper = [exactly.get(t, at_most.get(t)) for t in self.counted]
        self.free = {t for t in TYPES if t not in self.counted}
        self.capped = {t for t, hi in zip(self.counted, self.count_upper, strict=True) if hi is not None}
        self.banned = {t for t, hi in zip(self.counted, self.count_upper, strict=True) if hi == 0}
        #: start_by may ask for a loop that is no shorter than its unrolled form
        self.loop_wanted = "repeat" in self.start_by
        self.pen_colors = self._pen_colors(c)
        self.is_draw = c.is_draw
        self.segment_index = {seg: i for i, seg in enumerate(c.target_picture)}
        _, forbids = c.plan
        #: cells whose item a forbid objective (or findonly) rules out; draw goals ignore items
        self.dead = frozenset() if c.is_draw else frozenset().union(
            *(c.matches(o.specs[0]) if kind == "forbid" else c.misfits(o.specs[0]) for kind, o in forbids))
        self.tracker = self._goal(c)
        self._build_tables(c)
        self.expanded = 0
        self._ticks = 0
        self._syntax: dict[tuple[tuple[int, int, int], int], tuple[int, int, int] | None] = {}
        self.best: Program | None = None
        self.best_cost = (math.inf, math.inf)
        #: (pos, depth) -> (budget, pieces by blocks, their blocks) for loops and for top-level loop edges
        self._loop_cache: dict[tuple[int, int], tuple[int, list[_Piece], list[int]]] = {}
        self._edge_cache: dict[tuple[int, int], tuple[int, list[_Piece], list[int]]] = {}

    # -- set-up -------------------------------------------------------------------------------
    def _pen_colors(self, c: CompiledTask) -> list[int]:
        """Pens worth selecting: the target's colours (draw tasks); black if start_by needs a setpc."""
        colors = sorted(set(c.target_picture.values())) if c.is_draw else []
        if not colors and "setpc" in self.start_by:
            colors = [0]
        return colors

    def _goal(self, c: CompiledTask) -> Tracker:
        """The tracker for the goal's target (reference grouping rule, §6.5)."""
        grid = Grid(c.cols, self.cells)
        if c.is_draw:
            return DrawGoal(c.target_picture, grid)
        target, _ = c.plan
        if target is None:
            return Tracker()
        kind, objective = target
        self._into: dict[int, list[int]] = {}  # cell -> cells one move away from it
        for k, cell in enumerate(c.moves[0]):
            if cell >= 0:
                self._into.setdefault(cell, []).append(k >> 2)
        if kind == "find":
            cells = c.matches(objective.specs[0])
            return FindGoal(cells, self._distances(cells), grid)
        if kind == "collectall":
            cells = c.matches(objective.specs[0])
            return CollectAllGoal(cells, {m: self._distances(frozenset([m])) for m in cells}, grid)
        if kind == "sum":
            counts = {cell: c.items[cell].count for cell in c.matches(objective.specs[0]) if cell in c.items}
            return SumGoal(counts, objective.total_cnt or 0)
        spec_cells = [c.matches(spec) for spec in objective.specs]
        return ConcatGoal(spec_cells, [self._distances(cells) for cells in spec_cells], grid)

    def _distances(self, goal: frozenset[int]) -> list[Any]:
        """Fewest moves from each cell to a cell of `goal`, avoiding forbidden cells (inf: none)."""
        dist: list[Any] = [math.inf] * self.cells
        todo = deque(g for g in goal if g not in self.dead)
        for g in todo:
            dist[g] = 0
        while todo:
            cell = todo.popleft()
            for prev in self._into.get(cell, ()):
                if dist[prev] == math.inf and prev not in self.dead:
                    dist[prev] = dist[cell] + 1
                    todo.append(prev)
        return dist

    def _build_tables(self, c: CompiledTask) -> None:
        """`step[op][pos]` = (end position, event) or None; pos = (pen * cells + cell) * 4 + heading.

        Draw tasks have one pen more than PEN_COLORS: `ENTRY_PEN`, the pen a loop was entered with,
        so that loops are enumerated once for all pens (`_loops`).
        """
        pens = ENTRY_PEN + 1 if c.is_draw else 1
        n = pens * self.cells * 4
        ops = [OP_FD, OP_BK, OP_LT, OP_RT, *(OP_SETPC + p for p in self.pen_colors)]
        self.commands = [(Command(t), op) for t, op in zip(TYPES[:4], ops[:4], strict=True)]
        self.commands += [(Command("setpc", PEN_COLORS[p]), OP_SETPC + p) for p in self.pen_colors]
        self.commands = [(cmd, op) for cmd, op in self.commands if cmd.kind not in self.banned]
        self.step: list[list[tuple[int, int] | None]] = [[] for _ in range(OP_SETPC + len(PEN_COLORS))]
        for op in ops:
            table: list[tuple[int, int] | None] = []
            for pos in range(n):
                heading, cell, pen = pos & 3, (pos >> 2) % self.cells, (pos >> 2) // self.cells
                if op >= OP_SETPC:
                    table.append(((((op - OP_SETPC) % pens) * self.cells + cell) * 4 + heading, _NONE))
                elif op in (OP_LT, OP_RT):
                    table.append((pos - heading + ((heading + (3 if op == OP_LT else 1)) & 3), _NONE))
                else:
                    k = cell * 4 + (heading if op == OP_FD else (heading + 2) & 3)
                    target = c.moves[0][k]
                    if target < 0 or target in self.dead:
                        table.append(None)
                    elif c.is_draw:
                        index = self.segment_index.get(c.segments[k])
                        table.append(None if index is None else
                                     ((pen * self.cells + target) * 4 + heading, index * 8 + pen))
                    else:
                        table.append(((pen * self.cells + target) * 4 + heading, target))
            self.step[op] = table
        self.start_pos = c.start * 4 + c.direction
        self.command_pieces = [self._command_pieces(pos) for pos in range(n)]

    def _command_pieces(self, pos: int) -> list[_Piece]:
        pieces = []
        for cmd, op in self.commands:
            moved = self.step[op][pos]
            if moved is None:
                continue
            end, event = moved
            pieces.append(_piece((cmd,), 1, 1, _ONE[cmd.kind], end, () if event == _NONE else (event,), (op,)))
        return pieces

    # -- loops ----------------------------------------------------------------------------------
    def _tick(self) -> None:
        """Count a unit of work; past the deadline, stop the search."""
        self._ticks += 1
        if not self._ticks & 255 and time.perf_counter() > self.deadline:
            raise _Timeout

    def _run(self, ops: tuple[int, ...], pos: int) -> tuple[int, tuple[int, ...]] | None:
        """Run opcodes from `pos`: (end position, events), or None if they crash or break the goal."""
        events: list[int] = []
        step = self.step
        for op in ops:
            moved = step[op][pos]
            if moved is None:
                return None
            pos, event = moved
            if event != _NONE:
                events.append(event)
        return pos, tuple(events)

    def _after(self, syntax: tuple[int, int, int], code: int) -> tuple[int, int, int] | None:
        """The syntax state after appending a statement to a sequence, or None to cut the sequence.

        `syntax` = (code of the last statement, of the one before, of the last setpc), with a
        statement's code its opcode (`_LOOP` for a loop, `_NONE` for nothing). The cuts keep one
        sequence of each class of equivalent ones (at most as long, in canonical form):
        useless blocks (`lt rt`, `rt lt`, a setpc of the pen's colour, the first of two setpc
        blocks with only turns between: if a constraint needs one, the same block appended at
        the end does as well); commuting blocks (a turn and a setpc, so setpc never follows a
        turn); and while the types involved are unconstrained, `lt lt` = `rt rt`, `rt rt rt` =
        `lt`, `fd bk fd` = `fd`, `rt rt fd` = `bk rt rt`, `lt fd rt` = `rt bk lt`.
        """
        key = (syntax, code)
        if key not in self._syntax:
            self._syntax[key] = self._next_syntax(syntax, code)
        return self._syntax[key]

    def _next_syntax(self, syntax: tuple[int, int, int], code: int) -> tuple[int, int, int] | None:
        last, before, pen = syntax
        turns, moves = (OP_LT, OP_RT), (OP_FD, OP_BK)
        turns_free, moves_free = {"lt", "rt"} <= self.free, {"fd", "bk"} <= self.free
        if code >= OP_SETPC:
            return None if last in turns or last >= OP_SETPC or pen == code else (code, last, code)
        cut = False
        if code in moves:
            cut = moves_free and ((before == code and last in moves and last != code)
                                  or (turns_free and last == before == OP_RT))
        elif code in turns and last in moves:
            cut = moves_free and code == OP_RT and before == OP_LT
        elif code in turns and last in turns:
            cut = code != last or (turns_free and (code == OP_LT or before == OP_RT))
        return None if cut else (code, last, _NONE if code == _LOOP else pen)  # a loop may change the pen

    def _sequences(self, pos: int, budget: int, depth: int) -> list[_Piece]:
        """Every non-empty statement sequence from `pos` of at most `budget` blocks that survives."""
        out: list[_Piece] = []
        new = tuple.__new__
        todo = [(_piece((), 0, 0, 0, pos, (), ()), (_NONE, _NONE, _NONE))]
        while todo:
            prefix, syntax = todo.pop()
            left = budget - prefix.blocks
            options = [(piece, piece.ops[0]) for piece in self.command_pieces[prefix.end]]
            for nesting in range(1, depth + 1 if left >= 2 else 1):
                options += [(piece, _LOOP) for piece in self._loops(prefix.end, left, nesting)]
            for piece, code in options:
                after = self._after(syntax, code) if piece.blocks <= left else None
                if after is None:
                    continue
                seq = new(_Piece, (prefix.stmts + piece.stmts, prefix.blocks + piece.blocks,
                                   prefix.actions + piece.actions, prefix.counts + piece.counts, piece.end,
                                   prefix.events + piece.events, prefix.ops + piece.ops))
                out.append(seq)
                if seq.blocks < budget:
                    todo.append((seq, after))
            self._tick()
        return out

    def _loops(self, pos: int, budget: int, depth: int) -> list[_Piece]:
        """`repeat(N){body}` statements from `pos` of at most `budget` blocks, nested exactly `depth` deep."""
        cached = self._loop_cache.get((pos, depth))
        if cached is None or cached[0] < budget:
            pen = pos // (4 * self.cells)
            if self.is_draw and pen != ENTRY_PEN:  # the loops entered with any pen, with this pen filled in
                entry = pos + (ENTRY_PEN - pen) * 4 * self.cells
                self._loops(entry, budget, depth)
                cached = self._with_pen(self._loop_cache[(entry, depth)], pen)
            else:
                cached = self._fresh_loops(pos, budget, depth)
            self._loop_cache[(pos, depth)] = cached
        return cached[1][:bisect.bisect_right(cached[2], budget)]

    def _with_pen(self, loops: tuple[int, list[_Piece], list[int]], pen: int) -> tuple[int, list[_Piece], list[int]]:
        """Loops enumerated with the `ENTRY_PEN` pen, for a turtle whose pen is `pen`."""
        budget, pieces, blocks = loops
        shift = (pen - ENTRY_PEN) * 4 * self.cells
        out = [piece._replace(end=piece.end + shift if piece.end // (4 * self.cells) == ENTRY_PEN else piece.end,
                              events=tuple(e - ENTRY_PEN + pen if e & 7 == ENTRY_PEN else e for e in piece.events))
               for piece in pieces]
        return budget, out, blocks

    def _fresh_loops(self, pos: int, budget: int, depth: int) -> tuple[int, list[_Piece], list[int]]:
        pieces = []
        turn_loops = self.loop_wanted or not self.capped.isdisjoint(("lt", "rt"))
        for body in ([] if "repeat" in self.banned else self._sequences(pos, budget - 1, depth - 1)):
            self._tick()
            if depth > 1 and (not body.counts & _ONE["repeat"] * _COUNT_MASK
                              or depth > 2 and _nesting(body.stmts) < depth - 1):
                continue  # loops nested less deep come from `_loops(pos, budget, depth - 1)`
            if body.end == pos or not (body.counts & _MOVES or (turn_loops and body.blocks == 1)):
                continue  # a body that comes back unchanged, or only turns, is shorter unrolled
            first = _kind(body.stmts[0])
            if not self.loop_wanted and (
                    (first == "setpc" and body.counts & _ONE["setpc"] * _COUNT_MASK == _ONE["setpc"])
                    or {first, _kind(body.stmts[-1])} == {"lt", "rt"}):
                continue  # as short with the body's only setpc, or its first turn, before the loop
            counts = body.counts + _ONE["repeat"]
            end, events, times, most = body.end, body.events, 1, MAX_REPEAT
            seen = {pos: 0, end: 1}  # position after each round
            while times < most:
                again = self._run(body.ops, end)
                if again is None:
                    break
                end, events, times = again[0], events + again[1], times + 1
                if body.blocks > 1 or times > 2 or self.loop_wanted or first in self.capped:
                    pieces.append(_piece((Repeat(times, body.stmts),), body.blocks + 1, body.actions * times, counts,
                                         end, events, body.ops * times))
                if end in seen:  # rounds now cycle: once a cycle is complete only the end position changes
                    most = min(most, 2 * times - seen[end] - 1)
                seen.setdefault(end, times)
        pieces.sort(key=lambda p: p.blocks)
        return budget, pieces, [p.blocks for p in pieces]

    def _loop_edges(self, pos: int, budget: int, depth: int) -> list[_Piece]:
        """`_loops` for the top level: the cheapest loop for each distinct effect on the state."""
        cached = self._edge_cache.get((pos, depth))
        if cached is None or cached[0] < budget:
            pen = pos // (4 * self.cells)
            if self.is_draw and pen != ENTRY_PEN:  # fill the pen into the edges of the `ENTRY_PEN` pen
                entry = pos + (ENTRY_PEN - pen) * 4 * self.cells
                self._loop_edges(entry, budget, depth)
                pieces = self._with_pen(self._edge_cache[(entry, depth)], pen)[1]
            else:
                pieces = self._loops(pos, budget, depth)
            best: dict[Any, _Piece] = {}
            for piece in pieces:
                events = self.tracker.compress(piece.events)
                effect = (piece.end, events, piece.counts & self.counted_mask)
                old = best.get(effect)
                if old is None or (piece.blocks, piece.actions) < (old.blocks, old.actions):
                    best[effect] = piece._replace(events=events)
            edges = sorted(best.values(), key=lambda p: p.blocks)
            cached = self._edge_cache[(pos, depth)] = (budget, edges, [p.blocks for p in edges])
        return cached[1][:bisect.bisect_right(cached[2], budget)]

    # -- constraints ------------------------------------------------------------------------------
    def _padding(self, blocks: int, counters: tuple[int, ...], written: int) -> tuple[Command, ...] | None:
        """Fewest harmless commands (turns, setpc) to append so that every constraint holds, or None."""
        need = self.start_by[written:]
        if any(t not in _PAD_TYPES for t in need):
            return None
        if not self.counted and not need and blocks >= self.lower_all:
            return ()
        options = {t: list(range(MAX_BLOCKS)) for t in _PAD_TYPES}  # extra blocks allowed per pad type
        for t, n, lo, hi in zip(self.counted, counters, self.count_lower, self.count_upper, strict=True):
            n += need.count(t)
            hi = MAX_BLOCKS if hi is None else hi
            if t in options:
                options[t] = [k for k in range(hi - n + 1) if n + k == 0 or n + k >= lo]
            elif not (n == 0 or lo <= n <= hi):
                return None
        least, most = self.lower_all - blocks - len(need), self.upper_all - blocks - len(need)
        splits: dict[int, tuple[int, ...]] = {0: ()}  # total extra -> extra per pad type
        for t in _PAD_TYPES:
            splits = {total + k: (*split, k) for total, split in reversed(splits.items())
                      for k in reversed(options[t]) if total + k <= most}
        total = min((total for total in splits if total >= least), default=None)
        if total is None:
            return None
        tail = [t for t, k in zip(_PAD_TYPES, splits[total], strict=True) for _ in range(k)]
        return tuple(Command(t, "black" if t == "setpc" else None) for t in (*need, *tail))

    # -- A* -----------------------------------------------------------------------------------
    def astar(self, depth: int, max_blocks: int) -> None:
        """One pass over programs with loops nested at most `depth` deep; improves `self.best`."""
        if max_blocks < max(self.lower_all, depth + 1):
            return  # a program with loops nested `depth` deep has at least depth + 1 blocks
        self.loop_budget = min(self.max_body + 1, max_blocks)
        counters0 = (0,) * len(self.counted)
        progress0 = self.tracker.start(self.start_pos >> 2)
        if progress0 is None:
            return
        key0 = (self.start_pos, progress0, counters0, 0)
        best_g = {key0: (0, 0)}
        parent: dict[Any, tuple[Any, Statement] | None] = {key0: None}
        heap = [((0, 0), (0, 0), 0, key0)]
        tie = itertools.count(1)
        bound = min(self.best_cost, (max_blocks + 1, 0))
        while heap:
            f, g, _, key = heapq.heappop(heap)
            if f >= bound:
                return
            if best_g[key] != g:
                continue
            self.expanded += 1
            self._tick()
            pos, progress, counters, written = key
            if self.tracker.done(progress):
                pad = self._padding(g[0], counters, written)
                if pad is not None and (g[0] + len(pad), g[1] + len(pad)) < bound:
                    program = Program(self._path(parent, key) + pad)
                    if execute(self.task, program).success:
                        self.best, self.best_cost = program, (len(program), len(program.ops))
                        bound = min(bound, self.best_cost)
                    else:
                        log.warning("solver: %s fails on task %s; skipped", str(program).split(), self.task.id)
            pieces = self.command_pieces[pos]
            for nesting in range(1, depth + 1 if max_blocks - g[0] >= 2 else 1):
                pieces = pieces + self._loop_edges(pos, min(max_blocks - g[0], self.loop_budget), nesting)
            for piece in pieces:
                if written < len(self.start_by):
                    if _kind(piece.stmts[0]) != self.start_by[written]:
                        continue
                    step_written = written + 1
                else:
                    step_written = written
                if self.counted:
                    new_counters = tuple(n + (piece.counts >> shift & _COUNT_MASK)
                                         for n, shift in zip(counters, self.counted_shift, strict=True))
                    if any(n > hi for n, hi in zip(new_counters, self.count_upper, strict=True) if hi is not None):
                        continue
                else:
                    new_counters = counters
                g2 = (g[0] + piece.blocks, g[1] + piece.actions)
                if g2[0] > max_blocks:
                    continue
                progress2 = self.tracker.advance(progress, piece.events)
                if progress2 is None:
                    continue
                key2 = (piece.end, progress2, new_counters, step_written)
                old = best_g.get(key2)
                if old is not None and old <= g2:
                    continue
                h = self.tracker.bound(progress2, piece.end)
                if h is None:
                    continue
                f2 = (max(g2[0] + h[0], self.lower_all), g2[1] + h[1])
                if f2 >= bound:
                    continue
                best_g[key2] = g2
                parent[key2] = (key, piece.stmts[0])
                heapq.heappush(heap, (f2, g2, next(tie), key2))

    def goal_reachable(self) -> bool:
        """Whether some action sequence meets the goal, constraints aside (the search is then hopeless)."""
        start = (self.start_pos, self.tracker.start(self.start_pos >> 2))
        seen, todo = {start}, [start] if start[1] is not None else []
        while todo:
            pos, progress = todo.pop()
            if self.tracker.done(progress):
                return True
            for piece in self.command_pieces[pos]:
                nxt = (piece.end, self.tracker.advance(progress, piece.events))
                if nxt[1] is not None and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
            self._tick()
        return False

    @staticmethod
    def _path(parent: dict[Any, tuple[Any, Statement] | None], key: Any) -> tuple[Statement, ...]:
        stmts = []
        link = parent[key]
        while link is not None:
            key, stmt = link
            stmts.append(stmt)
            link = parent[key]
        return tuple(reversed(stmts))


def _hopeless(task: Task) -> str:
    """Why no program can succeed, for the cases that show without searching ('' otherwise)."""
    c = compile_task(task)
    if c.is_draw:
        if any(color < 0 for color in c.target_picture.values()):
            return "a target line has a colour name instead of a hex colour, so no drawn segment can match it"
        return ""
    if not c.catalogue_ok:
        return "an item breaks the item catalogue, so every item goal fails (SEMANTICS §6.3)"
    target, _ = c.plan
    if target is not None and target[0] == "collectall" and not c.matches(target[1].specs[0]):
        return "collectall matches no item on the grid"
    return ""


def search(task: Task, time_limit: float = DEFAULT_TIME_LIMIT, max_body: int = DEFAULT_MAX_BODY,
           max_depth: int = DEFAULT_MAX_DEPTH) -> SearchResult:
    """The shortest program that solves `task` (fewest blocks, then fewest actions).

    Returns the best program found within `time_limit` seconds; `optimal` is True when the
    search finished, so no shorter program exists with loop bodies of at most `max_body`
    blocks nested at most `max_depth` deep. Without a program, `reason` says why.
    """
    t0 = time.perf_counter()
    reason = _hopeless(task)
    if reason:
        return SearchResult(None, True, reason, time.perf_counter() - t0, 0)
    s = _Search(task, max_body, t0 + time_limit)
    if s.start_pos >> 2 in s.dead:
        reason = "the start cell holds an item that the goal forbids, and the start cell is always visited"
        return SearchResult(None, True, reason, time.perf_counter() - t0, 0)
    finished = False
    passes = [(0, 0)]  # (nesting depth, body limit), each pass looking for strictly shorter programs
    for body in (*(b for b in _WIDENING if b < max_body), max_body):
        for depth in range(1, max_depth + 1):
            limit = body if depth == 1 else min(body, MAX_NESTING_BODY)
            if (depth, limit) not in passes:
                passes.append((depth, limit))
    try:
        for depth, s.max_body in passes:
            s.astar(depth, max_blocks=s.upper_all if s.best is None else min(s.upper_all, len(s.best) - 1))
            if depth == 0 and s.best is None and not s.goal_reachable():
                reason = "no sequence of moves meets the goal (every reachable turtle state was tried)"
                return SearchResult(None, True, reason, time.perf_counter() - t0, s.expanded)
        finished = True
    except _Timeout:
        pass
    seconds = time.perf_counter() - t0
    if s.best is not None:
        return SearchResult(s.best, finished, "", seconds, s.expanded)
    if not finished:
        return SearchResult(None, False, f"timeout after {time_limit:g} s", seconds, s.expanded)
    return SearchResult(None, True, f"no program of at most {s.upper_all} blocks (loop bodies up to {max_body} "
                        f"blocks, nested loops up to {max_depth} deep)", seconds, s.expanded)


def shortest_solution(task: Task, time_limit: float = DEFAULT_TIME_LIMIT) -> Program | None:
    """The shortest program the emulator accepts for `task`, or None (see `search` for details)."""
    return search(task, time_limit).program


class SearchSolver(TaskByTaskAgent):
    """Symbolic upper bound: best-first search for the shortest accepted program (one candidate).

    Args:
        time_limit: seconds per task; the best program found so far is returned when it runs out.
        max_body: largest loop body searched, in blocks.
        max_depth: deepest loop nesting searched (0: loop-free programs only).
    """

    name = "solver"

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT, max_body: int = DEFAULT_MAX_BODY,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.time_limit, self.max_body, self.max_depth = time_limit, max_body, max_depth

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        result = search(task, self.time_limit, self.max_body, self.max_depth)
        return [result.program if result.program is not None else AgentFailure(result.reason)]
