"""The readable source of the `mini-85` suite: 85 original tasks with verified reference solutions.

The suite mirrors the mix of the real XLogoOnline-Mini tasks (SEMANTICS.md §12): goal types,
code constraints, grid shapes, start headings, items, pen colours and program lengths. Every
task here is new. Run ``python -m xlogo_gym.data.mini85_source`` to check every task and
rewrite ``mini-85.jsonl`` beside this file.

Each task is a `TaskSource`: an English description in the real tasks' style, the world as
grid art, a goal, optional code constraints and the reference program. Grid art has one
character per cell on the even lines, at the even columns; the characters between cells join
neighbours (odd columns: a cell and its right neighbour; the odd lines below a cell: that cell
and the one under it). So a 3x2 world is three characters per row, a join line, three more::

    Cells  .        open cell             #        forbidden cell     x  missing cell (no tile)
           ^ > v <  the turtle (N/E/S/W) on an open cell; `under` names an item below it
           s 1      strawberry            2 3 4    strawberries with that count
           l        lemon                 A..Z     a letter (black)
           other    the task's `legend`, e.g. {"b": "blue circle", "t": "red triangle"}
    Joins  space    nothing               #        a wall, on both tiles (never on the border)
           - |      a black target line (horizontal, vertical)
           r g b y w  a red, green, blue, yellow or white target line

Target lines are unit segments listed row by row, top to bottom and left to right, so their
order says nothing about the solution.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import write_atomic
from xlogo_gym.program import Program, Repeat, Statement
from xlogo_gym.skills import infer_skills
from xlogo_gym.task import Task
from xlogo_gym.world import CATALOGUE, HEX_OF_PEN, ITEM_COLORS, LETTERS, SIDES, STEPS

SUITE_NAME = "mini-85"
DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{SUITE_NAME}.jsonl")

TURTLES = "^>v<"
DEFAULT_LEGEND = {"s": "strawberry", "1": "strawberry", **{str(n): f"{n} strawberry" for n in (2, 3, 4)},
                  "l": "lemon", **{letter: letter for letter in LETTERS}}
LINE_CODES = {"r": "red", "g": "green", "b": "blue", "y": "yellow", "w": "white"}
DEFAULT_ITEM_COLORS = {"strawberry": "red", "lemon": "yellow", **{letter: "black" for letter in LETTERS}}


# -- goals and constraints -----------------------------------------------------------------------
def _spec(values: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    """A CNF spec with one single-literal clause per value: ("red", "circle") is "red AND circle"."""
    return [[{"color" if v in ITEM_COLORS else "name": v, "neg": 0}] for v in values]


def find(*values: str) -> dict[str, Any]:
    return {"name": "find", "specs": [_spec(values)]}


def findonly(value: str) -> dict[str, Any]:
    return {"name": "findonly", "specs": [_spec((value,))]}


def forbid(*values: str) -> dict[str, Any]:
    return {"name": "forbid", "specs": [_spec(values)]}


def collectall(*values: str) -> dict[str, Any]:
    return {"name": "collectall", "specs": [_spec(values)]}


def total(count: int, *values: str) -> dict[str, Any]:
    """A `sum` objective: the counts of the matching items visited add up to `count`."""
    return {"name": "sum", "specs": [_spec(values)], "total_cnt": count}


def concat(*values: str) -> dict[str, Any]:
    """Visit one item matching each value, in this order, each exactly once."""
    return {"name": "concat", "specs": [_spec((v,)) for v in values]}


#: The draw objective; its specs (the target lines) are filled in from the grid art.
DRAW = {"name": "draw"}


def at_most(n: int) -> dict[str, Any]:
    return {"at_most": {"all": n}}


def exactly(block: str, n: int) -> dict[str, Any]:
    return {"exactly": {block: n}}


def start_by(*types: str) -> dict[str, Any]:
    return {"start_by": list(types)}


@dataclass(frozen=True)
class TaskSource:
    """One task as written below: description, grid art, goal, constraint and reference program."""

    description: str
    grid: str
    goal: tuple[dict[str, Any], ...]
    program: str
    constraint: dict[str, Any] | None = None
    legend: dict[str, str] = field(default_factory=dict)
    under: str | None = None  # item under the turtle


# -- grid art --------------------------------------------------------------------------------------
def _item(text: str, x: int, y: int, where: str) -> dict[str, Any]:
    """'[count] [colour] name' -> item JSON, with the catalogue's colour for fruit and letters."""
    words = text.split()
    count = int(words.pop(0)) if words and words[0].isdigit() else 1
    name = words.pop() if words else ""
    color = words.pop() if words else DEFAULT_ITEM_COLORS.get(name)
    if words or name not in CATALOGUE or color not in CATALOGUE[name][0] or count not in CATALOGUE[name][1]:
        raise XLogoError(f"item {text!r} at ({x},{y}) is not in the item catalogue", where)
    return {"x": x, "y": y, "name": name, "color": color, "count": count}


def parse_grid(art: str, legend: dict[str, str], under: str | None, where: str) -> dict[str, Any]:
    """Grid art (see the module docstring) -> the world part of the task JSON."""
    rows = textwrap.dedent(art).strip("\n").split("\n")
    if len(rows) % 2 == 0:
        raise XLogoError("grid art needs an odd number of lines: cell lines with a join line between each two", where)
    cells = rows[0::2]
    width = len(cells[0])
    if width % 2 == 0 or any(len(r) != width for r in cells) or any(len(r) > width for r in rows):
        raise XLogoError(f"cell lines must all have the same odd length ({width}) and joins fit inside", where)
    cols, nrows = (width + 1) // 2, len(cells)
    rows = [r.ljust(width) for r in rows]
    names = {**DEFAULT_LEGEND, **legend}
    tiles: dict[tuple[int, int], dict[str, Any]] = {}
    items, lines, turtle = [], [], None
    for y in range(nrows):
        for x in range(cols):
            ch, at = rows[2 * y][2 * x], f"{where}: cell ({x},{y})"
            if ch == "x":
                continue
            tiles[x, y] = {"x": x, "y": y, "allowed": ch != "#", "walls": {}}
            if ch in TURTLES:
                if turtle is not None:
                    raise XLogoError("a second turtle", at)
                turtle = {"x": x, "y": y, "direction": TURTLES.index(ch)}
                if under is not None:
                    items.append(_item(under, x, y, at))
            elif ch in names:
                items.append(_item(names[ch], x, y, at))
            elif ch not in ".#":
                raise XLogoError(f"unknown cell character {ch!r}", at)
    if turtle is None:
        raise XLogoError("no turtle (^ > v <) in the grid", where)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch == " " or (r % 2 == 0 and c % 2 == 0):
                continue
            at = f"{where}: line {r + 1}, column {c + 1}"
            if r % 2 and c % 2:
                raise XLogoError(f"unexpected {ch!r} between four cells", at)
            a = (c // 2, r // 2)
            b, side = ((a[0] + 1, a[1]), 1) if c % 2 else ((a[0], a[1] + 1), 2)
            if a not in tiles or b not in tiles:
                raise XLogoError(f"{ch!r} joins a missing cell", at)
            if ch == "#":
                tiles[a]["walls"][SIDES[side]] = True
                tiles[b]["walls"][SIDES[(side + 2) % 4]] = True
            elif ch in LINE_CODES or ch == ("-" if c % 2 else "|"):
                color = HEX_OF_PEN[LINE_CODES.get(ch, "black")]
                lines.append({"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1], "color": color})
            else:
                raise XLogoError(f"unknown join character {ch!r}", at)
    return {"turtle": turtle, "tiles": [tiles[k] for k in sorted(tiles, key=lambda k: (k[1], k[0]))],
            "items": sorted(items, key=lambda i: (i["y"], i["x"])), "lines": lines}


def build_task(source: TaskSource, task_id: str) -> Task:
    """The public task JSON of `source`, validated by `Task.from_json`."""
    obj = parse_grid(source.grid, source.legend, source.under, task_id)
    goal = [dict(o) for o in source.goal]
    for o in goal:
        if o["name"] == "draw":
            o["specs"] = [[[dict(line)] for line in obj["lines"]]]
    obj.update(goal=goal, constraints=[source.constraint] if source.constraint else [], id=task_id,
               description=source.description)
    return Task.from_json(obj, task_id)


# -- checks ----------------------------------------------------------------------------------------
def _deletions(body: tuple[Statement, ...]) -> Iterator[tuple[Statement, ...]]:
    """Every body with one statement (at any depth) removed or one loop run once less."""
    for i, s in enumerate(body):
        yield body[:i] + body[i + 1:]
        if isinstance(s, Repeat):
            if s.times > 1:
                yield body[:i] + (Repeat(s.times - 1, s.body),) + body[i + 1:]
            for inner in _deletions(s.body):
                yield body[:i] + (Repeat(s.times, inner),) + body[i + 1:]


def problems(task: Task, program: Program) -> list[str]:
    """What keeps `task` with reference `program` from being a well-formed curated task ([] if none).

    Checks: the task avoids the reference quirks (walls on both tiles and off the border, one
    non-forbid objective, no forbid before findonly, items in the catalogue, draw tasks only
    with lines), the program solves it under reference and strict semantics, the empty
    program does not, and the program is minimal: dropping any one block, or one run of a
    loop, breaks it.
    """
    found = []
    world = task.world
    tiles = {(t.x, t.y): t for t in world.tiles}
    for (x, y), tile in tiles.items():
        for side, flag in tile.walls:
            d = SIDES.index(side)
            dx, dy = STEPS[d]
            other = tiles.get((x + dx, y + dy))
            if flag and (other is None or not other.has_wall(SIDES[(d + 2) % 4])):
                found.append(f"wall {side} of ({x},{y}) is one-sided or on the border")
    names = task.goal_names
    if sum(n != "forbid" for n in names) != 1:
        found.append(f"goal {names} needs exactly one objective besides forbid")
    if "findonly" in names and "forbid" in names[: names.index("findonly")]:
        found.append("a forbid comes before findonly")
    if any(not item.in_catalogue() for item in world.items):
        found.append("an item is outside the catalogue")
    if ("draw" in names) != bool(world.lines) or ("draw" in names and world.items):
        found.append("draw tasks have target lines and no items; other tasks have no lines")
    if any(s.startswith("setpc(black)") for s in str(program).split()):
        found.append("the reference program uses setpc(black)")
    for strict in (False, True):
        verdict = execute(task, program, strict=strict)
        if not verdict.success:
            found.append(f"reference program fails{' (strict)' if strict else ''}: {verdict.explain()}")
    if execute(task, Program()).success:
        found.append("the empty program solves the task")
    for body in _deletions(program.body):
        if execute(task, Program(body)).success:
            found.append(f"a shorter variant also solves it: {str(Program(body))!r}")
            break
    return found


# -- the suite file --------------------------------------------------------------------------------
def build_records(sources: tuple[TaskSource, ...] | None = None) -> list[dict[str, Any]]:
    """Check every task and return the suite lines: {task_id, task, program, skills}."""
    records = []
    for i, source in enumerate(TASKS if sources is None else sources, 1):
        task_id = f"mini-{i:03d}"
        task = build_task(source, task_id)
        try:
            program = Program.parse(source.program)
        except XLogoError as err:
            raise XLogoError(f"reference program: {err}", task_id) from None
        found = problems(task, program)
        if found:
            raise XLogoError("; ".join(found), task_id)
        records.append({"task_id": task_id, "task": task.to_json(), "program": str(program),
                        "skills": infer_skills(task, program)})
    return records


def render(records: list[dict[str, Any]]) -> str:
    """The JSONL text: one record per line."""
    return "".join(json.dumps(r) + "\n" for r in records)


def write(path: str = DATA_FILE) -> list[dict[str, Any]]:
    """Build the suite and write it to `path` atomically."""
    records = build_records()
    write_atomic(path, render(records))
    return records


def mix(tasks: list[Task], programs: list[Program]) -> dict[str, Counter[Any]]:
    """What the suite is made of, as counters: goal structures, constraint kinds, grid sizes,
    start headings, world features, program features and lengths, line colours and items."""
    out: dict[str, Counter[Any]] = {k: Counter() for k in (
        "goal", "constraint", "size", "heading", "world", "program", "length", "line colour", "item")}
    for task, program in zip(tasks, programs, strict=True):
        w = task.world
        out["goal"]["+".join(task.goal_names)] += 1
        c = task.constraints.effective
        kinds = [f"at_most.{b}" for b, _ in c.at_most] + [f"exactly.{b}" for b, _ in c.exactly]
        out["constraint"]["+".join(kinds + ["start_by"] * bool(c.start_by)) or "none"] += 1
        out["size"][f"{w.cols}x{w.rows}"] += 1
        out["heading"]["NESW"[w.turtle.direction]] += 1
        out["world"]["missing tiles"] += len(w.tiles) < w.cols * w.rows
        out["world"]["forbidden tiles"] += any(not t.allowed for t in w.tiles)
        out["world"]["walls"] += any(flag for t in w.tiles for _, flag in t.walls)
        out["program"]["repeat"] += program.block_counts["repeat"] > 0
        out["program"]["nested repeat"] += program.depth() > 1
        out["program"]["setpc"] += program.block_counts["setpc"] > 0
        out["program"]["bk"] += program.block_counts["bk"] > 0
        out["length"][len(program)] += 1
        for line in w.lines:
            out["line colour"][line.pen_color] += 1
        for item in w.items:
            out["item"][item.name if item.name not in LETTERS else "letter"] += 1
    return out


def main() -> None:
    records = write()
    tasks = [Task.from_json(r["task"]) for r in records]
    programs = [Program.parse(r["program"]) for r in records]
    print(f"wrote {len(records)} tasks to {DATA_FILE}")
    for key, counter in mix(tasks, programs).items():
        print(f"{key:>12}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])))


# -- the tasks -------------------------------------------------------------------------------------
TASKS: tuple[TaskSource, ...] = (
    # -- find: basic actions ------------------------------------------------------------------------
    TaskSource(
        "Find the strawberry.",
        """
        . s .

        . . .

        . ^ .
        """,
        (find("strawberry"),),
        "fd fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        . . .

        . . l
          #
        ^ . .
        """,
        (find("lemon"),),
        "fd rt fd fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        v

        .

        l
        """,
        (find("lemon"),),
        "fd fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        . s

        ^ .
        """,
        (find("strawberry"),),
        "fd rt fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        . ^ .
        #
        . . .

        s . .
        """,
        (find("strawberry"),),
        "bk bk lt fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        l . .

        . . <
        """,
        (find("lemon"),),
        "fd fd rt fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        . v .

        . # .

        s . .
        """,
        (find("strawberry"),),
        "rt fd lt fd fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        . . s

        > . #

        . . .
        """,
        (find("strawberry"),),
        "fd lt fd rt fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        s . x
        #
        . . .

        ^ . .
        """,
        (find("strawberry"),),
        "fd rt fd lt fd lt fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        x x l

        . . .

        ^ x x
        """,
        (find("lemon"),),
        "fd rt fd fd lt fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        .#l

        .#.

        ^ .
        """,
        (find("lemon"),),
        "rt fd lt fd fd",
    ),
    TaskSource(
        "Find the letter E.",
        """
        E .#A

        . . .
        #
        L . ^
        """,
        (find("E"),),
        "fd lt fd fd rt fd",
    ),
    TaskSource(
        "Find the strawberry.",
        """
        . . . s
        # # #
        . . . .
          # # #
        . . . .

        ^ . . .
        """,
        (find("strawberry"),),
        "fd fd rt fd fd fd lt fd",
    ),
    TaskSource(
        "Find the lemon.",
        """
        . . l

        # # .

        . . .

        . # #

        ^ . .
        """,
        (find("lemon"),),
        "fd fd rt fd fd lt fd fd",
    ),
    # -- find: shapes and colours ----------------------------------------------------------------
    TaskSource(
        "Find the red circle.",
        """
        t . c
            #
        . b .

        . ^ .
        """,
        (find("red", "circle"),),
        "fd fd rt fd",
        legend={"t": "red triangle", "c": "red circle", "b": "blue circle"},
    ),
    TaskSource(
        "Find the green rectangle.",
        """
        . . g
          #
        b . .

        . ^ r
        """,
        (find("green", "rectangle"),),
        "rt fd lt fd fd",
        legend={"g": "green rectangle", "b": "blue rectangle", "r": "red rectangle"},
    ),
    TaskSource(
        "Find the blue cross.",
        """
        v x x .

        . r . g

        . . . b
        """,
        (find("blue", "cross"),),
        "fd fd lt fd fd fd",
        legend={"r": "red cross", "g": "green cross", "b": "blue cross"},
    ),
    TaskSource(
        "Find the green triangle.",
        """
        . . g .

        . # . r

        b . # .

        . ^ . .
        """,
        (find("green", "triangle"),),
        "fd lt fd rt fd fd rt fd fd",
        legend={"g": "green triangle", "r": "red triangle", "b": "blue triangle"},
    ),
    TaskSource(
        "Find the yellow circle.",
        """
        o . p .#y

        . # . # .

        k . . . .

        . . ^ . u
        """,
        (find("yellow", "circle"),),
        "fd rt fd fd lt fd fd",
        legend={"o": "orange circle", "p": "pink circle", "y": "yellow circle", "k": "black circle",
                "u": "purple circle"},
    ),
    # -- find: loops and code constraints -----------------------------------------------------------
    TaskSource(
        "Find the strawberry with at most 2 commands.",
        """
        > . . . . . s
        """,
        (find("strawberry"),),
        "repeat(6){fd}",
        at_most(2),
    ),
    TaskSource(
        "Find the lemon with at most 3 commands.",
        """
        ^ . . . . l
        """,
        (find("lemon"),),
        "rt repeat(5){fd}",
        at_most(3),
    ),
    TaskSource(
        "Find the red cross with at most 4 commands.",
        """
        g . r
          #
        . b .

        ^ . .
        """,
        (find("red", "cross"),),
        "repeat(2){fd fd rt}",
        at_most(4),
        legend={"g": "green cross", "r": "red cross", "b": "blue cross"},
    ),
    TaskSource(
        "Find the purple circle with at most 4 commands.",
        """
        . . .

        . . .

        . # .

        ^ # u
        """,
        (find("purple", "circle"),),
        "repeat(3){fd fd rt}",
        at_most(4),
        legend={"u": "purple circle"},
    ),
    TaskSource(
        "Find the lemon with at most 5 commands.",
        """
        x x . l

        x . . x

        . . x x

        ^ x x x
        """,
        (find("lemon"),),
        "repeat(3){fd rt fd lt}",
        at_most(5),
    ),
    TaskSource(
        "Find the strawberry with at most 7 commands.",
        """
        # # . . s

        # # . x x

        . . . x x

        . # x x x

        ^ # x x x
        """,
        (find("strawberry"),),
        "repeat(2){fd fd rt fd fd lt}",
        at_most(7),
    ),
    TaskSource(
        "Find the strawberry with at most 10 commands.",
        """
        . . .#. . .

        > .#. .#. s
        """,
        (find("strawberry"),),
        "repeat(2){fd lt fd rt fd rt fd lt} fd",
        at_most(10),
    ),
    TaskSource(
        "Find the lemon.",
        """
        . . . .

        .#. . .

        .#. . .

        ^#. . l
        """,
        (find("lemon"),),
        "repeat(3){fd fd fd rt}",
    ),
    TaskSource(
        "Find the strawberry without using the left command.",
        """
        . . .

        s . .
        #
        . . ^
        """,
        (find("strawberry"),),
        "fd rt bk bk",
        exactly("lt", 0),
    ),
    TaskSource(
        "Find the lemon without using the forward command.",
        """
        . . ^

        . # .

        l . .
        """,
        (find("lemon"),),
        "bk bk rt bk bk",
        exactly("fd", 0),
    ),
    TaskSource(
        "Find the lemon with exactly 4 commands.",
        """
        . . . l

        . x x x

        . x x x

        ^ x x x
        """,
        (find("lemon"),),
        "repeat(2){repeat(3){fd} rt}",
        exactly("all", 4),
    ),
    TaskSource(
        "Find the strawberry. Start with the left command.",
        """
        . . .

        ^ . s
        """,
        (find("strawberry"),),
        "lt bk bk",
        start_by("lt"),
    ),
    TaskSource(
        "Find the strawberry. Start with the forward command.",
        """
        . . .

        s > .

        . # .
        """,
        (find("strawberry"),),
        "fd bk bk",
        start_by("fd"),
    ),
    # -- sum: collect exactly n ---------------------------------------------------------------------
    TaskSource(
        "Collect exactly 4 strawberries.",
        """
        1 3 x

        . 2 2

        . ^ .
        """,
        (total(4, "strawberry"),),
        "fd rt fd",
    ),
    TaskSource(
        "Collect exactly 5 strawberries.",
        """
        1 3 .
          #
        2 4 1

        ^ 1 .
        """,
        (total(5, "strawberry"),),
        "rt fd lt fd",
    ),
    TaskSource(
        "Collect exactly 1 strawberry.",
        """
        1 . 2

        3 . 4

        ^ . x
        """,
        (total(1, "strawberry"),),
        "rt fd lt fd fd lt fd",
    ),
    TaskSource(
        "Collect exactly 4 strawberries.",
        """
        x 1 2

        3 . .

        ^ 1 x
        """,
        (total(4, "strawberry"),),
        "rt fd lt fd fd",
        under="2 strawberry",
    ),
    TaskSource(
        "Collect exactly 8 strawberries with at most 4 commands.",
        """
        1 1 1

        1#4 1
          #
        ^ 2 1
        """,
        (total(8, "strawberry"),),
        "repeat(4){fd fd rt}",
        at_most(4),
    ),
    TaskSource(
        "Collect exactly 9 strawberries.",
        """
        2 . 3 .

        4 . . 1

        . 2 # .

        ^ . 1 3
        """,
        (total(9, "strawberry"),),
        "fd fd fd rt fd fd",
    ),
    TaskSource(
        "Collect exactly 10 strawberries.",
        """
        3 . 4 2

        ^ 4 . 3
        """,
        (total(10, "strawberry"),),
        "fd bk rt fd fd fd",
    ),
    TaskSource(
        "Collect exactly 18 strawberries.",
        """
        4 4 2

        4 1#4

        ^ 3 #
        """,
        (total(18, "strawberry"),),
        "fd fd rt fd fd rt fd",
    ),
    TaskSource(
        "Collect exactly 5 red items.",
        """
        c . x

        b 3 t

        r . ^
        """,
        (total(5, "red"),),
        "fd lt fd fd rt fd",
        legend={"c": "red circle", "b": "blue circle", "t": "red triangle", "r": "red cross"},
    ),
    TaskSource(
        "Collect exactly 9 strawberries.",
        """
        . 2 # 3 . .

        ^ . 1 # . .

        3 . . 4 4 1
        """,
        (total(9, "strawberry"),),
        "rt fd fd rt fd lt fd fd",
    ),
    # -- logic: findonly, forbid, collectall, concat ---------------------------------------------------
    TaskSource(
        "Find the strawberry without touching any other item.",
        """
        . c s

        . l .
          #
        ^ . .
        """,
        (findonly("strawberry"),),
        "rt fd fd lt fd fd",
        legend={"c": "red circle"},
    ),
    TaskSource(
        "Find a red item without touching items of other colours.",
        """
        r . .

        g b .

        x y <
        """,
        (findonly("red"),),
        "rt fd fd lt fd fd",
        legend={"r": "red triangle", "g": "green circle", "b": "blue circle", "y": "yellow circle"},
    ),
    TaskSource(
        "Find the lemon without touching the strawberries.",
        """
        s l .

        x s .

        ^ . .
        """,
        (find("lemon"), forbid("strawberry")),
        "rt fd fd lt fd fd lt fd",
    ),
    TaskSource(
        "Find the strawberry without touching the lemons or the circles.",
        """
        . c . s

        l . c .
            #
        . l . .

        ^ . . c
        """,
        (find("strawberry"), forbid("lemon"), forbid("circle")),
        "rt fd fd lt fd rt fd lt fd fd",
        legend={"c": "orange circle"},
    ),
    TaskSource(
        "Find the letter T without touching the letters L and P.",
        """
        L T .

        . P .

        x ^ .
        """,
        (find("T"), forbid("L"), forbid("P")),
        "rt fd lt fd fd lt fd",
    ),
    TaskSource(
        "Collect the letters C, A and T in this order.",
        """
        A . T
          #
        C . .

        . ^ .
        """,
        (concat("C", "A", "T"),),
        "fd lt fd rt fd rt fd fd",
    ),
    TaskSource(
        "Collect the letters S, U and N in this order.",
        """
        N .#N

        . U .

        ^ S #
        """,
        (concat("S", "U", "N"),),
        "rt fd lt fd fd lt fd",
    ),
    TaskSource(
        "Collect all the blue items with at most 4 commands.",
        """
        r b g

        b ^ b

        g b r
        """,
        (collectall("blue"),),
        "repeat(4){fd bk rt}",
        at_most(4),
        legend={"b": "blue triangle", "r": "red circle", "g": "green cross"},
    ),
    TaskSource(
        "Collect all the strawberries without touching the lemons.",
        """
        s l s

        . ^ .

        s l s
        """,
        (collectall("strawberry"), forbid("lemon")),
        "repeat(2){lt fd rt fd bk bk fd rt fd rt}",
    ),
    TaskSource(
        "Collect all the green items without touching the red items.",
        """
        g . r

        > r g

        g . .
        """,
        (collectall("green"), forbid("red")),
        "lt fd bk bk rt fd fd lt fd",
        legend={"g": "green circle", "r": "red triangle"},
    ),
    # -- draw: basic actions and pen colours -------------------------------------------------------
    TaskSource(
        "Draw the white line.",
        """
        . . .
          w
        .#.#.
          w
        . ^ .
        """,
        (DRAW,),
        "setpc(white) fd fd",
    ),
    TaskSource(
        "Draw the picture.",
        """
        . . x
        |
        . . x
        |
        .-.-^
        """,
        (DRAW,),
        "lt fd fd rt fd fd",
    ),
    TaskSource(
        "Draw the square.",
        """
        .-.
        | |
        ^-.
        """,
        (DRAW,),
        "fd rt fd rt fd rt fd",
    ),
    TaskSource(
        "Draw the letter L in green.",
        """
        . .
        g
        . .
        g
        .g^
        """,
        (DRAW,),
        "setpc(green) lt fd rt fd fd",
    ),
    TaskSource(
        "Draw the picture.",
        """
        .-.-.
          |
        .#. .
          |
        . ^ .
        """,
        (DRAW,),
        "fd fd lt fd bk bk",
    ),
    TaskSource(
        "Draw the letter S.",
        """
        .-.-.
        |
        .-.-.
            |
        >-.-.
        """,
        (DRAW,),
        "fd fd lt fd lt fd fd rt fd rt fd fd",
    ),
    TaskSource(
        "Draw the letter E.",
        """
        .-.-.
        |
        .-. .
        |
        .-.-^
        """,
        (DRAW,),
        "lt fd fd rt fd rt fd bk lt fd rt fd fd",
    ),
    TaskSource(
        "Draw the picture in red.",
        """
        x . .

        . .r.
          r
        . ^ .
        """,
        (DRAW,),
        "setpc(red) fd rt fd",
    ),
    TaskSource(
        "Draw the stairs in green.",
        """
        .g. x
          g
        . .g.
            g
        . . ^
        """,
        (DRAW,),
        "setpc(green) fd lt fd rt fd lt fd",
    ),
    TaskSource(
        "Draw the red and blue picture.",
        """
        .b.b.
        r
        . .#.
        r
        ^ . .
        """,
        (DRAW,),
        "setpc(red) fd fd setpc(blue) rt fd fd",
    ),
    TaskSource(
        "Draw the picture in white.",
        """
        . . x

        .w. .
        w
        .w.w^
        """,
        (DRAW,),
        "setpc(white) lt fd fd rt fd rt fd",
    ),
    TaskSource(
        "Draw the square in four colours.",
        """
        .g.g.
        r   b
        . . .
        r   b
        ^y.y.
        """,
        (DRAW,),
        "setpc(red) fd fd rt setpc(green) fd fd rt setpc(blue) fd fd rt setpc(yellow) fd fd",
    ),
    TaskSource(
        "Draw the letter J in blue.",
        """
        x . v
            b
        x . .
            b
        . # .
        b   b
        .b.b.
        """,
        (DRAW,),
        "setpc(blue) fd fd fd rt fd fd rt fd",
    ),
    # -- draw: loops -------------------------------------------------------------------------------
    TaskSource(
        "Draw the square in red.",
        """
        .r.r.
        r   r
        . # .
        r   r
        ^r.r.
        """,
        (DRAW,),
        "setpc(red) repeat(4){fd fd rt}",
    ),
    TaskSource(
        "Draw the square with at most 3 commands.",
        """
        x .-.
          | |
        .#^-.

        x . .
        """,
        (DRAW,),
        "repeat(4){fd rt}",
        at_most(3),
    ),
    TaskSource(
        "Draw the cross in yellow.",
        """
        x . x
          y
        .y^y.
          y
        x . x
        """,
        (DRAW,),
        "setpc(yellow) repeat(4){fd bk rt}",
    ),
    TaskSource(
        "Draw the letter U in yellow with at most 5 commands.",
        """
        ^ . .
        y   y
        . . .
        y   y
        .y.y.
        """,
        (DRAW,),
        "setpc(yellow) repeat(3){bk bk lt}",
        at_most(5),
    ),
    TaskSource(
        "Draw the rectangle in green.",
        """
        .g.g.
        g   g
        ^g.g.
        """,
        (DRAW,),
        "setpc(green) repeat(2){fd rt fd fd rt}",
    ),
    TaskSource(
        "Draw the rectangle with at most 6 commands.",
        """
        .-.-.-.
        |     |
        ^-.-.-.
        """,
        (DRAW,),
        "repeat(2){fd rt repeat(3){fd} rt}",
        at_most(6),
    ),
    TaskSource(
        "Draw the stairs in white with at most 6 commands.",
        """
        . . .w.
            w
        . .w. .
          w
        .w. . #
        w
        ^ . # #
        """,
        (DRAW,),
        "setpc(white) repeat(3){fd rt fd lt}",
        at_most(6),
    ),
    TaskSource(
        "Draw the flag.",
        """
        .r. .
        r r
        .r. .
        |
        ^ . .
        """,
        (DRAW,),
        "fd setpc(red) repeat(4){fd rt}",
    ),
    TaskSource(
        "Draw the square in yellow and green with at most 7 commands.",
        """
        # . .

        . .g.
          y y
        . ^g.
        """,
        (DRAW,),
        "repeat(2){setpc(yellow) fd rt setpc(green) fd rt}",
        at_most(7),
    ),
    TaskSource(
        "Draw the window with at most 5 commands.",
        """
        .-.-.
        | | |
        .-^-.
        | | |
        .-.-.
        """,
        (DRAW,),
        "repeat(4){repeat(4){fd rt} rt}",
        at_most(5),
    ),
    TaskSource(
        "Draw the comb.",
        """
        . . . . . . . .
        | | | | | | | |
        ^-.-.-.-.-.-.-.
        """,
        (DRAW,),
        "repeat(7){fd bk rt fd lt} fd",
    ),
    TaskSource(
        "Draw the wave with at most 11 commands.",
        """
        .-. .-. .-. .
        | | | | | |
        . . . . . . .
        | | | | | |
        ^ .-. .-. .-.
        """,
        (DRAW,),
        "repeat(3){fd fd rt fd rt fd fd lt fd lt}",
        at_most(11),
    ),
    TaskSource(
        "Draw the battlements.",
        """
        .-.#.-.#.
        | | | |
        ^ .-. .-.
        """,
        (DRAW,),
        "repeat(2){fd rt fd rt fd lt fd lt}",
    ),
    TaskSource(
        "Draw the glasses.",
        """
        >-.-.-.-.-.
        |   | |   |
        . . .#. . .
        |   | |   |
        .-.-. .-.-.
        """,
        (DRAW,),
        "repeat(4){fd fd rt} repeat(3){fd} repeat(4){fd fd rt}",
    ),
    TaskSource(
        "Draw the three squares in red with at most 9 commands.",
        """
        # . .r.
            r r
        . .r.r.
          r r
        .r.r. .
        r r
        ^r. . #
        """,
        (DRAW,),
        "setpc(red) repeat(3){repeat(4){fd rt} fd rt fd lt}",
        at_most(9),
    ),
    TaskSource(
        "Draw the spiral with at most 8 commands.",
        """
        .-.-.-.
        |     |
        . . . .
        | |   |
        . . # .
        | |   |
        ^ .-.-.
        """,
        (DRAW,),
        "repeat(3){repeat(3){fd} rt} repeat(2){fd fd rt}",
        at_most(8),
    ),
    # -- draw: code constraints ---------------------------------------------------------------------
    TaskSource(
        "Draw the picture without turning right.",
        """
        .-.-.
        |
        . # .
        |
        ^ . x
        """,
        (DRAW,),
        "fd fd lt bk bk",
        exactly("rt", 0),
    ),
    TaskSource(
        "Draw the stairs using the forward command exactly twice.",
        """
        .#.-.
          |
        .-. .
        |
        ^ . .
        """,
        (DRAW,),
        "repeat(2){fd rt fd lt}",
        exactly("fd", 2),
    ),
    TaskSource(
        "Draw the picture. Start with fd, fd, rt.",
        """
        .-.-.
        |   |
        . . .
        |   |
        . x ^
        """,
        (DRAW,),
        "fd fd rt bk bk rt fd fd",
        start_by("fd", "fd", "rt"),
    ),
    TaskSource(
        "Draw the picture. Start with the left command.",
        """
        . . .
            |
        . . .
            |
        ^-.-.
        """,
        (DRAW,),
        "lt bk bk rt fd fd",
        start_by("lt"),
    ),
)


if __name__ == "__main__":
    main()
