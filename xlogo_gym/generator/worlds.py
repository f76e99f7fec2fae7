"""Placing a sampled trace on a grid and decorating the grid off the trace.

Walls, forbidden tiles and missing tiles never touch what the program uses: walls sit on
edges the turtle never crosses (and are written on both tiles, as in the real data), and
blocked cells are off the trace. For find goals, `block_shortcuts` makes the program's route
the shortest one by closing the shorter routes with walls, forbidden tiles or avoided items.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from xlogo_gym.generator.config import GeneratorConfig
from xlogo_gym.generator.programs import Walker
from xlogo_gym.world import SIDES, STEPS, Item, Line, Tile, Turtle, World

Cell = tuple[int, int]
Edge = tuple[Cell, Cell]  # two neighbouring cells, in ascending order


def edge(a: Cell, b: Cell) -> Edge:
    return (a, b) if a < b else (b, a)


@dataclass
class Draft:
    """A world under construction around the program's trace (absolute coordinates)."""

    cols: int
    rows: int
    direction: int
    trace: list[Cell]
    segments: dict[Edge, str]  # drawn segments -> pen colour, in drawing order
    path_edges: set[Edge]  # every edge the turtle crosses
    items: dict[Cell, Item] = field(default_factory=dict)
    forbidden: set[Cell] = field(default_factory=set)
    missing: set[Cell] = field(default_factory=set)
    walls: set[Edge] = field(default_factory=set)
    avoid: set[Cell] = field(default_factory=set)  # cells a solution must not step on (forbid items, misfits)
    lines: list[Line] = field(default_factory=list)

    @property
    def start(self) -> Cell:
        return self.trace[0]

    @property
    def cells(self) -> list[Cell]:
        return [(x, y) for y in range(self.rows) for x in range(self.cols)]

    def free_cells(self) -> list[Cell]:
        """Cells off the trace with no item and no obstacle, in row-major order."""
        on_trace = set(self.trace)
        return [c for c in self.cells if c not in on_trace and c not in self.items
                and c not in self.forbidden and c not in self.missing]

    def near_trace(self, cells: list[Cell]) -> list[float]:
        """Weights favouring cells next to the trace, where an obstacle or item changes the route."""
        on_trace = set(self.trace)
        return [3.0 if any((x + dx, y + dy) in on_trace for dx, dy in STEPS) else 1.0 for x, y in cells]

    def world(self) -> World:
        """The finished world: tiles in row-major order with walls on both sides, items by position."""
        walls: dict[Cell, list[str]] = {}
        for a, b in self.walls:
            side = SIDES[STEPS.index((b[0] - a[0], b[1] - a[1]))]
            walls.setdefault(a, []).append(side)
            walls.setdefault(b, []).append(SIDES[(SIDES.index(side) + 2) % 4])
        tiles = tuple(Tile(x, y, (x, y) not in self.forbidden,
                           tuple((s, True) for s in SIDES if s in walls.get((x, y), ())))
                      for x, y in self.cells if (x, y) not in self.missing)
        x, y = self.start
        items = tuple(sorted(self.items.values(), key=lambda i: (i.y, i.x)))
        return World(Turtle(x, y, self.direction), tiles, items, tuple(self.lines))


def place(rng: random.Random, walker: Walker, cols: int, rows: int, direction: int) -> Draft:
    """Shift the walker's trace to a random place where it fits the cols x rows grid."""
    dx = rng.randint(-walker.minx, cols - 1 - walker.maxx)
    dy = rng.randint(-walker.miny, rows - 1 - walker.maxy)
    trace = [(x + dx, y + dy) for x, y in walker.trace]
    segments = {((a[0] + dx, a[1] + dy), (b[0] + dx, b[1] + dy)): c for (a, b), c in walker.segments.items()}
    path_edges = {edge(a, b) for a, b in zip(trace, trace[1:], strict=False)}
    return Draft(cols, rows, direction, trace, segments, path_edges)


def add_obstacles(rng: random.Random, config: GeneratorConfig, draft: Draft) -> None:
    """Missing tiles, forbidden tiles and walls, each with its configured probability."""
    if rng.random() < config.missing_prob:
        _add_missing(rng, draft)
    if rng.random() < config.forbidden_prob:
        free = draft.free_cells()
        for _ in range(min(len(free), rng.choice((1, 1, 2, 2, 3)))):
            cell = rng.choices(free, weights=draft.near_trace(free))[0]
            free.remove(cell)
            draft.forbidden.add(cell)
    if rng.random() < config.wall_prob:
        candidates = _wall_candidates(draft)
        on_trace = set(draft.trace)
        weights = [1.0 + 2.0 * (a in on_trace) + 2.0 * (b in on_trace) for a, b in candidates]  # walls that matter
        for _ in range(min(len(candidates), rng.choice((1, 1, 2, 2, 3, 4)))):
            i = rng.choices(range(len(candidates)), weights=weights)[0]
            draft.walls.add(candidates.pop(i))
            weights.pop(i)


def _add_missing(rng: random.Random, draft: Draft) -> None:
    """Remove 1-4 free border cells, for a non-rectangular world (the grid never shrinks)."""
    free = [c for c in draft.free_cells() if c[0] in (0, draft.cols - 1) or c[1] in (0, draft.rows - 1)]
    rng.shuffle(free)
    wanted = rng.choice((1, 1, 2, 2, 3, 4))
    for cell in free:
        if wanted == 0:
            break
        gone = draft.missing | {cell}
        if all((x, draft.rows - 1) in gone for x in range(draft.cols)) or \
                all((draft.cols - 1, y) in gone for y in range(draft.rows)):
            continue  # the grid would shrink
        draft.missing.add(cell)
        wanted -= 1


def _wall_candidates(draft: Draft) -> list[Edge]:
    """Interior edges the turtle never crosses, between two existing cells, not walled yet."""
    out = []
    for x, y in draft.cells:
        for nb in ((x + 1, y), (x, y + 1)):
            e = ((x, y), nb)
            if nb[0] < draft.cols and nb[1] < draft.rows and e not in draft.path_edges and e not in draft.walls \
                    and (x, y) not in draft.missing and nb not in draft.missing:
                out.append(e)
    return out


def shortest_route(draft: Draft, targets: set[Cell]) -> list[tuple[Cell, int]] | None:
    """A shortest action sequence's states (cell, heading) from the start to any target cell, or None.

    Moves obey walls (both sides), the grid, forbidden and missing tiles and the avoided cells.
    """
    return route(draft.cols, draft.rows, draft.start, draft.direction, draft.forbidden | draft.missing | draft.avoid,
                 draft.walls, targets)


def route(cols: int, rows: int, start_cell: Cell, direction: int, blocked: set[Cell], walls: set[Edge],
          targets: set[Cell]) -> list[tuple[Cell, int]] | None:
    """Breadth-first search over (cell, heading) states for `shortest_route` (also used on finished tasks)."""
    start = (start_cell, direction)
    parent: dict[tuple[Cell, int], tuple[Cell, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        cell, d = state
        if cell in targets and cell != start_cell:
            found = []
            node: tuple[Cell, int] | None = state
            while node is not None:
                found.append(node)
                node = parent[node]
            return found[::-1]
        nexts = [(cell, (d + 1) & 3), (cell, (d + 3) & 3)]
        for heading in (d, (d + 2) & 3):
            nb = (cell[0] + STEPS[heading][0], cell[1] + STEPS[heading][1])
            if 0 <= nb[0] < cols and 0 <= nb[1] < rows and nb not in blocked and edge(cell, nb) not in walls:
                nexts.append((nb, d))
        for nxt in nexts:
            if nxt not in parent:
                parent[nxt] = state
                queue.append(nxt)
    return None


def block_shortcuts(rng: random.Random, draft: Draft, targets: set[Cell], actions: int, slack: int,
                    blocker: str) -> bool:
    """Close routes to `targets` shorter than `actions - slack`; False if some cannot be closed.

    `blocker` says what closes a cell: "forbidden" (a forbidden tile) or "avoid" (the cell joins
    `draft.avoid`; the caller puts an item there that the goal forbids).
    """
    on_trace = set(draft.trace)
    for _ in range(6):
        route = shortest_route(draft, targets)
        if route is None:
            return False
        if len(route) - 1 + slack >= actions:
            return True
        cells = [c for c, _ in route[1:-1] if c not in on_trace and c not in draft.items and c != route[-1][0]]
        if cells:
            cell = rng.choice(cells)
            (draft.avoid if blocker == "avoid" else draft.forbidden).add(cell)
            continue
        edges = [edge(a, b) for (a, _), (b, _) in zip(route, route[1:], strict=False) if a != b]
        edges = [e for e in edges if e not in draft.path_edges]
        if not edges:
            return False
        draft.walls.add(rng.choice(edges))
    return False
