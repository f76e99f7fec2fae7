"""The text rendering of a task for language models: world, grid, goal, constraints, answer format.

`task_prompt(task)` is a language model's whole view of a task (the Gym env's `info["prompt"]`,
the prompted-LLM baseline, the pretrained-LM policy). It follows the XLogoMiniProg benchmark
prompts: the language, the grid row by row with coordinates, the goal and the code constraints
in words, and the required answer format. It is built from the task JSON (goal specs, effective
constraints), not from the free-text `description`, and is deterministic.

Goals with several objectives are rendered as "all of these must hold", which is what the real
tasks mean; meeting all of them also satisfies the reference's grouping rule (SEMANTICS.md §6.5).
"""

from __future__ import annotations

from xlogo_gym.task import CodeConstraint, Objective, Spec, Task
from xlogo_gym.world import DIRECTIONS, EMPTY_WORDS, ITEM_COLORS, LETTERS, PEN_COLORS, SIDES, STEPS, Item, World

LANGUAGE = f"""\
You program a turtle on a grid (XLogoOnline-Mini). A cell is (x, y): x is the column, from 0 at the \
left; y is the row, from 0 at the top, growing downwards.
Commands:
- fd: move one cell forward (north is up: facing north, fd goes from (x, y) to (x, y-1)).
- bk: move one cell backward; the heading does not change.
- lt, rt: turn 90 degrees left (anticlockwise) or right (clockwise) on the spot.
- setpc(C): set the pen colour, C one of {", ".join(PEN_COLORS)}. The pen starts black.
- repeat(N){{ ... }}: run the body N times, N from 1 to 12. Loops may be nested.
The turtle crashes, and the task fails, if it crosses a wall, leaves the grid or enters a forbidden \
or missing cell."""

DRAWING = ("Every fd or bk draws the segment between the two cells in the current pen colour; "
           "drawing over a segment again gives it the new colour.")

VISITING = ("A cell counts as visited when the turtle starts on it or passes over it; "
            "it does not have to stop there.")

BLOCKS = ("A block is one command or one repeat; the blocks inside a repeat count once each, "
          "however many times the loop runs.")

ANSWER_FORMAT = """\
Answer with the program in one fenced code block: one command per line, the body of a repeat \
indented by two spaces and closed by } on its own line. For example:
```
fd
repeat(2){
  rt
  fd
}
setpc(red)
bk
```"""


def task_prompt(task: Task, *, instructions: bool = True, description: bool = False) -> str:
    """The full text prompt of `task`.

    instructions: include the language description and the answer format (constant across
        tasks; a fine-tuned model may drop them).
    description: also include the task's free-text `description` (off by default: generated tasks
        keep tags there, and the goal and constraints are rendered from the JSON anyway).
    """
    world = task.world
    is_draw = "draw" in task.goal_names
    parts = [LANGUAGE] if instructions else []
    if description and task.description and task.description.strip():
        parts.append(f"Task text: {task.description.strip()}")
    parts.append(_grid_text(world))
    if is_draw:
        parts.append(_target_text(world) + "\n" + DRAWING)
    goal = _goal_text(task)
    if task.goal and not is_draw:
        goal += "\n" + VISITING
    parts.append(goal)
    parts.append(_constraints_text(task.constraints.effective))
    if instructions:
        parts.append(ANSWER_FORMAT)
    return "\n\n".join(parts) + "\n"


def task_summary(task: Task) -> str:
    """One line: grid size, turtle, goal and constraints (for logs and report tables)."""
    world = task.world
    turtle = world.turtle
    goals = "; ".join(objective_words(o) for o in task.goal) or "none"
    constraints = "; ".join(constraint_words(task.constraints.effective)) or "none"
    return (f"{world.cols}x{world.rows}, turtle ({turtle.x},{turtle.y}) {DIRECTIONS[turtle.direction]}; "
            f"goal: {goals}; constraints: {constraints}")


# -- world ---------------------------------------------------------------------------------------
def item_words(item: Item) -> str:
    """'red strawberry (count 3)', 'black letter A', 'house' (items without a colour)."""
    name = f"letter {item.name}" if item.name in LETTERS else item.name
    words = f"{item.color} {name}" if item.color else name
    return f"{words} (count {item.count})" if item.count != 1 else words


def _grid_text(world: World) -> str:
    turtle = world.turtle
    tiles = {(t.x, t.y): t for t in world.tiles}
    items = {(i.x, i.y): i for i in world.items}
    rows = []
    for y in range(world.rows):
        cells = []
        for x in range(world.cols):
            words = []
            if (x, y) == (turtle.x, turtle.y):
                words.append(f"turtle facing {DIRECTIONS[turtle.direction]}")
            tile = tiles.get((x, y))
            if tile is None or tile.exist is False:
                words.append("missing")
            elif not tile.allowed:
                words.append("forbidden")
            if (x, y) in items:
                words.append(item_words(items[(x, y)]))
            cells.append(f"({x},{y}) {', '.join(words) or 'empty'}")
        rows.append(f"Row y={y}: " + " | ".join(cells))
    return "\n".join([
        f"Grid: {world.cols} columns x {world.rows} rows.",
        *rows,
        f"The turtle starts at ({turtle.x},{turtle.y}) facing {DIRECTIONS[turtle.direction]}.",
        "Walls: " + ("; ".join(_walls(world)) or "none") + ".",
    ])


def _walls(world: World) -> list[str]:
    """Inner walls: two-sided ones once as 'between a and b', one-sided ones with their direction.

    Walls on the outer border are left out: stepping off the grid crashes anyway.
    """
    out = []
    for tile in sorted(world.tiles, key=lambda t: (t.y, t.x)):
        for d, side in enumerate(SIDES):
            if not tile.has_wall(side):
                continue
            nx, ny = tile.x + STEPS[d][0], tile.y + STEPS[d][1]
            if not (0 <= nx < world.cols and 0 <= ny < world.rows):
                continue
            other = world.tile_at(nx, ny)
            if other is not None and other.has_wall(SIDES[(d + 2) % 4]):
                if d in (1, 2):  # report each two-sided wall once, from its top or left tile
                    out.append(f"between ({tile.x},{tile.y}) and ({nx},{ny})")
            else:
                out.append(f"one-way on the {side} side of ({tile.x},{tile.y}): it blocks moving from "
                           f"({tile.x},{tile.y}) to ({nx},{ny}) but not back")
    return out


def _target_text(world: World) -> str:
    """The target picture as unit segments grouped by colour (a later line overwrites, §2.5)."""
    picture: dict[tuple[tuple[int, int], tuple[int, int]], str] = {}
    for line in world.lines:
        for segment in line.segments():
            picture[segment] = line.pen_color or f"{line.color} (a colour name, which no drawing can match)"
    if not picture:
        return "Target drawing: nothing (the turtle must not move)."
    colors = sorted(set(picture.values()), key=lambda c: (PEN_COLORS.index(c) if c in PEN_COLORS else 99, c))
    lines = ["Target drawing (segments between neighbouring cells):"]
    for color in colors:
        segments = ", ".join(f"({a[0]},{a[1]})-({b[0]},{b[1]})" for (a, b), c in picture.items() if c == color)
        lines.append(f"- {color}: {segments}")
    return "\n".join(lines)


# -- goal ----------------------------------------------------------------------------------------
def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _literal_words(value: str) -> str:
    return f"letter {value}" if value in LETTERS else value


def _item_words(spec: Spec) -> str:
    """What a cell matching a CNF spec holds: 'a red circle', 'no item', 'an item that is red or blue'."""
    values = [c[0] for c in spec if len(c) == 1]
    if len(values) == len(spec) and values:
        if all(v in EMPTY_WORDS for v in values):
            return "no item"
        colors = [v for v in values if v in ITEM_COLORS]
        names = [_literal_words(v) for v in values if v not in ITEM_COLORS and v not in EMPTY_WORDS]
        if len(names) <= 1 and len(colors) + len(names) == len(values):
            return _article(" ".join([*colors, *(names or ["item"])]))
    clauses = [" or ".join(_literal_words(v) for v in clause) or "(nothing)" for clause in spec]
    return "an item that is " + (" and ".join(clauses) or "anything")


def _cell_words(spec: Spec, quantifier: str = "a") -> str:
    """'a cell with a red circle', 'every cell with a lemon', 'an empty cell', ..."""
    item = _item_words(spec)
    if item == "no item":
        return "an empty cell" if quantifier == "a" else f"{quantifier} empty cell"
    return f"{quantifier} cell with {item}"


def objective_words(objective: Objective) -> str:
    """One objective in words, as an instruction."""
    name = objective.name
    if name == "draw":
        return "draw exactly the target drawing: every target segment in its colour and no other segment"
    spec = objective.specs[0]
    if name == "find":
        return f"visit {_cell_words(spec)}"
    if name == "forbid":
        return f"never visit {_cell_words(spec)}"
    if name == "findonly":
        return f"visit {_cell_words(spec)}, and no cell with any other item"
    if name == "collectall":
        return f"visit {_cell_words(spec, 'every')}"
    if name == "sum":
        return (f"add up the item counts of the distinct visited cells that hold {_item_words(spec)}: the total "
                f"must be exactly {objective.total_cnt} (a cell visited twice counts once)")
    if name == "concat":
        cells = ", then ".join(_cell_words(s) for s in objective.specs)
        return f"visit {cells}, in this order, passing each of these cells exactly once"
    raise AssertionError(name)


def _goal_text(task: Task) -> str:
    if not task.goal:
        return "Goal: none; any program that does not crash solves the task."
    if len(task.goal) == 1:
        return f"Goal: {objective_words(task.goal[0])}."
    return "Goal (all of these must hold):\n" + "\n".join(f"- {objective_words(o)}" for o in task.goal)


# -- constraints ---------------------------------------------------------------------------------
def _bound_words(kind: str, block: str, n: int) -> str:
    """'at most 4 blocks in total', 'exactly 1 lt block', 'use no bk blocks'."""
    if n == 0:
        return "use no blocks at all" if block == "all" else f"use no {block} blocks"
    noun = "block" if n == 1 else "blocks"
    return f"{kind} {n} {noun} in total" if block == "all" else f"{kind} {n} {block} {noun}"


def constraint_words(constraint: CodeConstraint) -> list[str]:
    """The code constraints in words, one string per bound or start_by rule."""
    out = [_bound_words("at most", b, n) for b, n in constraint.at_most]
    out += [_bound_words("exactly", b, n) for b, n in constraint.exactly]
    if constraint.start_by:
        out.append(f"the program starts with the top-level statements {', '.join(constraint.start_by)}, in this order")
    return out


def _constraints_text(constraint: CodeConstraint) -> str:
    words = constraint_words(constraint)
    if not words:
        return "Code constraints: none."
    note = f"\n{BLOCKS}" if constraint.at_most or constraint.exactly else ""
    if len(words) == 1:
        return f"Code constraint: {words[0]}.{note}"
    return "Code constraints (all must hold):\n" + "\n".join(f"- {w}" for w in words) + note
