"""Goal trackers of the search solver: what a search state remembers about the trace, and bounds.

A tracker folds a program's *events* (cells entered for item goals; segment index * 8 + pen
for draw goals) into a small hashable *progress* value, says when the goal holds, and gives
an admissible lower bound on the (blocks, actions) still needed. Positions are encoded as
`pos = (pen * cells + cell) * 4 + heading` (`Grid`).
"""

from __future__ import annotations

import math
from typing import Any

from xlogo_gym.world import PEN_COLORS

#: Pen index standing for "the pen at the start of the loop": loops are enumerated once for every pen.
ENTRY_PEN = len(PEN_COLORS)


class Tracker:
    """Goal progress along a program: `advance` returns None once the goal can no longer hold."""

    def start(self, cell: int) -> Any:
        return self.advance(0, (cell,))

    def advance(self, progress: Any, events: tuple[int, ...]) -> Any:
        return progress

    def done(self, progress: Any) -> bool:
        return True

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        """The events that matter to `advance`, in a canonical form (equal forms, equal effect)."""
        return ()

    def bound(self, progress: Any, pos: int) -> tuple[int, int] | None:
        """A lower bound on the (blocks, actions) still needed; None if the goal is out of reach."""
        return (0, 0)


class Grid:
    """Position arithmetic for the bounds: pos = (pen * cells + cell) * 4 + heading."""

    def __init__(self, cols: int, cells: int) -> None:
        self.cols, self.cells = cols, cells

    def cell(self, pos: int) -> int:
        return (pos >> 2) % self.cells

    def pen(self, pos: int) -> int:
        return (pos >> 2) // self.cells

    def line(self, pos: int) -> int:
        """The line the turtle moves along: its column (heading N/S) or -1 - its row (heading E/W)."""
        cell = self.cell(pos)
        return cell % self.cols if pos & 1 == 0 else -1 - cell // self.cols

    def cell_lines(self, cell: int) -> tuple[int, int]:
        return cell % self.cols, -1 - cell // self.cols

    def reach(self, pos: int, dist: list[Any], cells: Any) -> tuple[int, int] | None:
        """(blocks, actions) at least needed to enter one of `cells`, `dist` moves away (None: never).

        A cell off the turtle's line needs a turn as well as moves.
        """
        d = dist[self.cell(pos)]
        if d == math.inf:
            return None
        line = self.line(pos)
        turn = all(line not in self.cell_lines(c) for c in cells)
        return (1 + turn, d + turn)


class DrawGoal(Tracker):
    """Progress = bitmask of the target segments whose last colour is right.

    An undrawn segment and a segment in the wrong colour are alike: both need a later stroke
    in the right colour. Off-target segments never get here (they are dead ends).
    """

    _WRONG = 7  # a pen index that matches no target colour

    def __init__(self, target: dict[int, int], grid: Grid) -> None:
        self.target, self.grid = tuple(target.values()), grid
        self.full = (1 << len(self.target)) - 1
        # the line a segment is drawn along: column of a vertical one, -1 - row of a horizontal one
        self.lines = [grid.cell_lines(seg >> 1)[seg & 1 ^ 1] for seg in target]

    def advance(self, progress: int, events: tuple[int, ...]) -> int:
        for e in events:
            i = e >> 3
            progress = progress | 1 << i if e & 7 == self.target[i] else progress & ~(1 << i)
        return progress

    def start(self, cell: int) -> int:
        return 0

    def done(self, progress: int) -> bool:
        return progress == self.full

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        """The last colour of each segment, any wrong colour as `_WRONG` (the loop's entry pen kept)."""
        last = {e >> 3: e for e in events}
        return tuple(e if e & 7 in (self.target[i], ENTRY_PEN) else i << 3 | self._WRONG
                     for i, e in sorted(last.items()))

    def bound(self, progress: int, pos: int) -> tuple[int, int]:
        """A move block, a setpc block per missing colour, a turn block if a segment is off the line."""
        wrong = [i for i in range(len(self.target)) if not progress >> i & 1]
        if not wrong:
            return (0, 0)
        pens = len({self.target[i] for i in wrong} - {self.grid.pen(pos)})
        line = self.grid.line(pos)
        turn = any(self.lines[i] != line for i in wrong)
        return (1 + pens + turn, len(wrong) + pens + turn)


class FindGoal(Tracker):
    def __init__(self, cells: frozenset[int], dist: list[Any], grid: Grid) -> None:
        self.cells, self.dist, self.grid = cells, dist, grid

    def advance(self, progress: int, events: tuple[int, ...]) -> int:
        return 1 if progress or not self.cells.isdisjoint(events) else 0

    def done(self, progress: int) -> bool:
        return progress == 1

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        return next(((e,) for e in events if e in self.cells), ())

    def bound(self, progress: int, pos: int) -> tuple[int, int] | None:
        return (0, 0) if progress else self.grid.reach(pos, self.dist, self.cells)


class CollectAllGoal(Tracker):
    """Progress = bitmask of the matching cells visited so far."""

    def __init__(self, cells: frozenset[int], dist_to: dict[int, list[Any]], grid: Grid) -> None:
        self.bit = {c: 1 << i for i, c in enumerate(sorted(cells))}
        self.full = (1 << len(cells)) - 1
        self.dist_to, self.grid = dist_to, grid

    def advance(self, progress: int, events: tuple[int, ...]) -> int:
        for e in events:
            progress |= self.bit.get(e, 0)
        return progress

    def done(self, progress: int) -> bool:
        return progress == self.full and self.full > 0

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted({e for e in events if e in self.bit}))

    def bound(self, progress: int, pos: int) -> tuple[int, int] | None:
        bounds = [self.grid.reach(pos, self.dist_to[c], (c,)) for c, b in self.bit.items() if not progress & b]
        if None in bounds:
            return None
        return max(bounds, default=(0, 0))  # type: ignore[type-var]


class SumGoal(Tracker):
    """Progress = (bitmask of matching item cells visited, their total count)."""

    def __init__(self, counts: dict[int, int], total: int) -> None:
        self.bit = {c: 1 << i for i, c in enumerate(sorted(counts))}
        self.counts, self.total = counts, total

    def start(self, cell: int) -> tuple[int, int] | None:
        return self.advance((0, 0), (cell,))

    def advance(self, progress: tuple[int, int], events: tuple[int, ...]) -> tuple[int, int] | None:
        mask, total = progress
        for e in events:
            b = self.bit.get(e, 0)
            if b and not mask & b:
                mask |= b
                total += self.counts[e]
        return (mask, total) if total <= self.total else None

    def done(self, progress: tuple[int, int]) -> bool:
        return progress[1] == self.total

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted({e for e in events if e in self.bit}))

    def bound(self, progress: tuple[int, int], pos: int) -> tuple[int, int]:
        return (0, 0) if progress[1] == self.total else (1, 1)


class ConcatGoal(Tracker):
    """Progress = bitmask of the specs matched so far, with the reference rule of §6.4."""

    def __init__(self, spec_cells: list[frozenset[int]], dist_to_spec: list[list[Any]], grid: Grid) -> None:
        self.jmask: dict[int, int] = {}
        for k, cells in enumerate(spec_cells):
            for c in cells:
                self.jmask[c] = self.jmask.get(c, 0) | 1 << k
        self.full = (1 << len(spec_cells)) - 1
        self.spec_cells, self.dist_to_spec, self.grid = spec_cells, dist_to_spec, grid

    def start(self, cell: int) -> int:
        return self.jmask.get(cell, 0)  # position 0 may match several specs at once

    def advance(self, progress: int, events: tuple[int, ...]) -> int | None:
        for e in events:
            j = self.jmask.get(e, 0)
            # each spec matches one position; S_k+1 needs S_k before it; S_k not after S_k+1
            if j and (j & progress or (j << 1) & progress or (j >> 1) & ~progress):
                return None
            progress |= j
        return progress

    def done(self, progress: int) -> bool:
        return progress == self.full

    def compress(self, events: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(e for e in events if e in self.jmask)

    def bound(self, progress: int, pos: int) -> tuple[int, int] | None:
        if progress == self.full:
            return (0, 0)
        k = next(k for k in range(len(self.spec_cells)) if not progress >> k & 1)
        return self.grid.reach(pos, self.dist_to_spec[k], self.spec_cells[k])
