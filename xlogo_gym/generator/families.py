"""Task families: the labels of SEMANTICS.md §12.1, computed from a task alone (any suite).

A family says which kind of puzzle a task is, beyond its goal structure: whether a logic
world is full of items, how a sum world is laid out, whether an `at_most` limit forces a
loop, whether an `exactly` constraint bans a command. `task_family` reads only the task
(goal names, items, constraints, tiles), so real and generated suites are labelled alike;
the generator records it as `features["family"]`.

| family          | the task                                                                       |
|-----------------|--------------------------------------------------------------------------------|
| `draw-at_most`  | draw, with a loop-forcing `at_most` limit (see `loop_forcing`)                 |
| `draw-dont_use` | draw, with an `exactly` count of 0 ("without moving forward")                  |
| `draw`          | any other draw                                                                 |
| `find+forbid`   | find with one or more forbids (dense or not)                                   |
| `find-at_most`  | find, with a loop-forcing `at_most` limit                                      |
| `find-dont_use` | find, with an `exactly` count of 0                                             |
| `find-dense`    | find in a full world: every free cell but the start holds an item             |
| `find`          | any other find                                                                 |
| `findonly`      | findonly                                                                       |
| `collectall`    | collectall (with or without forbids)                                           |
| `concat`        | concat                                                                         |
| `sum-four`      | sum over exactly 4 strawberry cells counting 1, 2, 3 and 4                     |
| `sum-full`      | sum where every free cell but the start holds a strawberry                     |
| `sum-classic`   | any other sum                                                                  |

The first row that applies wins; a goal list with none of these objectives (an empty goal)
is labelled by its first objective's name, or "draw" when it has none.
"""

from __future__ import annotations

from xlogo_gym.generator.worlds import route
from xlogo_gym.task import Objective, Task
from xlogo_gym.world import SIDES, STEPS, Item

FAMILIES = ("draw", "draw-at_most", "draw-dont_use", "find", "find-dense", "find-at_most", "find-dont_use",
            "findonly", "find+forbid", "collectall", "concat", "sum-four", "sum-full", "sum-classic")


def _matches(objective: Objective, item: Item | None) -> bool:
    """Whether `item` matches any spec of `objective` (a spec: AND of OR-clauses of names/colours)."""
    return item is not None and any(all(any(v == item.name or v == item.color for v in clause) for clause in spec)
                                    for spec in objective.specs)


def free_cells(task: Task) -> list[tuple[int, int]]:
    """Cells a turtle may stand on (existing, allowed tiles) except the start."""
    turtle = task.world.turtle
    return [(t.x, t.y) for t in task.world.tiles if t.allowed and t.exist is not False
            and (t.x, t.y) != (turtle.x, turtle.y)]


def is_dense(task: Task) -> bool:
    """Every free cell but the start holds an item (and there are at least two)."""
    cells = free_cells(task)
    held = {(i.x, i.y) for i in task.world.items}
    return len(cells) >= 2 and all(c in held for c in cells)


def occupancy(task: Task) -> float | None:
    """The share of free cells (`free_cells`) that hold an item; None if there is no free cell."""
    cells = free_cells(task)
    held = {(i.x, i.y) for i in task.world.items}
    return sum(c in held for c in cells) / len(cells) if cells else None


def grid_total(task: Task, objective: Objective) -> int:
    """What the items matching `objective` count together (for a sum: the most its path could collect)."""
    return sum(i.count for i in task.world.items if _matches(objective, i))


def loop_free_bound(task: Task) -> int:
    """A cheap lower bound on the blocks of any loop-free program that solves `task`.

    draw: one move per distinct unit segment plus one setpc per non-black colour; find and
    findonly: the actions of the shortest route to a matching item (around walls, forbidden and
    missing tiles, and items a forbid or findonly rules out); collectall: one move per matching
    item; concat: one move per spec; sum: ceil(total / 4). The largest over the objectives.
    """
    world = task.world
    bound = 0
    forbids = [o for o in task.goal if o.name == "forbid"]
    for obj in task.goal:
        if obj.name == "draw":
            segments = {seg for line in world.lines for seg in line.segments()}
            colors = {line.pen_color for line in world.lines} - {"black", None}
            bound = max(bound, len(segments) + len(colors))
        elif obj.name in ("find", "findonly"):
            bound = max(bound, _route_bound(task, obj, forbids))
        elif obj.name == "collectall":
            bound = max(bound, sum(1 for i in world.items if _matches(obj, i)))
        elif obj.name == "concat":
            bound = max(bound, len(obj.specs))
        elif obj.name == "sum":
            bound = max(bound, -(-(obj.total_cnt or 0) // 4))
    return bound


def _route_bound(task: Task, obj: Objective, forbids: list[Objective]) -> int:
    world = task.world
    at = {(i.x, i.y): i for i in world.items}
    targets = {c for c, i in at.items() if _matches(obj, i)}
    start = (world.turtle.x, world.turtle.y)
    if start in targets:
        return 0
    open_cells = set(free_cells(task)) | {start}
    blocked = {c for c, i in at.items() if any(_matches(f, i) for f in forbids)
               or (obj.name == "findonly" and not _matches(obj, i))}
    blocked |= {(x, y) for x in range(world.cols) for y in range(world.rows) if (x, y) not in open_cells}
    walls = set()
    for t in world.tiles:
        for i, side in enumerate(SIDES):
            if t.has_wall(side):
                nb = (t.x + STEPS[i][0], t.y + STEPS[i][1])
                walls.add(((t.x, t.y), nb) if (t.x, t.y) < nb else (nb, (t.x, t.y)))
    found = route(world.cols, world.rows, start, world.turtle.direction, blocked, walls, targets)
    return 10_000 if found is None else len(found) - 1


def at_most_limit(task: Task) -> int | None:
    """The task's `at_most.all` limit, or None."""
    return dict(task.constraints.effective.at_most).get("all")


def loop_forcing(task: Task) -> bool:
    """The task has an `at_most.all` limit that no loop-free program can meet (by `loop_free_bound`)."""
    limit = at_most_limit(task)
    return limit is not None and loop_free_bound(task) > limit


def task_family(task: Task) -> str:
    """The family of FAMILIES that `task` belongs to (see the table above)."""
    names = task.goal_names
    dont_use = any(n == 0 for _, n in task.constraints.effective.exactly)
    if "draw" in names or not names:
        return "draw-at_most" if names and loop_forcing(task) else "draw-dont_use" if dont_use else "draw"
    if "sum" in names:
        items = task.world.items
        if items and all(i.name == "strawberry" for i in items):
            if len(items) == 4 and sorted(i.count for i in items) == [1, 2, 3, 4]:
                return "sum-four"
            if is_dense(task):
                return "sum-full"
        return "sum-classic"
    if "concat" in names:
        return "concat"
    if "collectall" in names:
        return "collectall"
    if "findonly" in names:
        return "findonly"
    if "forbid" in names:
        return "find+forbid"
    if loop_forcing(task):
        return "find-at_most"
    if dont_use:
        return "find-dont_use"
    return "find-dense" if is_dense(task) else "find"
