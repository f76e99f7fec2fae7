"""Numeric, fixed-shape encodings of a task: a token sequence for transformers and a grid for CNNs.

Token sequence. A task becomes words of `TASK_VOCAB`, each with the id of the cell it
describes (`cells`: 0 for none, else 1 + y * MAX_COLS + x), so a model can add a cell
embedding. Layout::

    <task> W<cols> H<rows>
    per cell, row-major:  <cell:STATE> [wall:SIDE ...] [turtle:DIR] [ITEM COLOR [count:N]]
                          [line:right:PEN] [line:down:PEN]
    <goal> per objective: obj:NAME, specs as literals joined by `or` inside a clause,
           `and` between clauses, `<spec>` between concat specs; sum adds `total` NUMBER
    <cons> at_most / exactly BLOCK NUMBER ..., start_by TYPE ...   (the constraints the reference enforces)

Item names and colours are the same words in cells and in goals (`strawberry`, `red`), so
matching them is easy to learn. Numbers are words `n0` .. `n63`.

Grid. `grid[y, x, channel]` (int8, shape MAX_ROWS x MAX_COLS x len(GRID_CHANNELS)); cells
outside the world are all zero. Channels: cell state (0 outside, 1 allowed, 2 forbidden,
3 missing, 4 exist:false), four wall flags, item name (1 + index in ITEM_WORDS), item colour
(1 + index in ITEM_COLORS), item count, line to the right and line down (0 none, 1 + pen
colour index, 7 a colour that can never be drawn), turtle (0 none, 1 + direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlogo_gym.errors import XLogoError
from xlogo_gym.task import CONSTRAINT_BLOCKS, OBJECTIVES, START_TYPES, Task
from xlogo_gym.world import DIRECTIONS, EMPTY_WORDS, EXTRA_ITEM_NAMES, ITEM_COLORS, ITEM_NAMES, PEN_COLORS, SIDES

MAX_COLS = 8
MAX_ROWS = 8
MAX_TASK_TOKENS = 384
MAX_NUMBER = 63

ITEM_WORDS = (*ITEM_NAMES, *EXTRA_ITEM_NAMES)
CELL_STATES = ("allowed", "forbidden", "missing", "void")
GRID_CHANNELS = ("cell", "wall_top", "wall_right", "wall_bottom", "wall_left", "item_name", "item_color",
                 "item_count", "line_right", "line_down", "turtle")
_LINE_PENS = (*PEN_COLORS, "never")

TASK_VOCAB: tuple[str, ...] = (
    "<pad>", "<task>", "<goal>", "<cons>", "<spec>", "and", "or", "total",
    *(f"W{n}" for n in range(1, MAX_COLS + 1)), *(f"H{n}" for n in range(1, MAX_ROWS + 1)),
    *(f"<cell:{s}>" for s in CELL_STATES), *(f"wall:{s}" for s in SIDES),
    *(f"turtle:{d}" for d in DIRECTIONS),
    *ITEM_WORDS, *ITEM_COLORS, *EMPTY_WORDS, *(f"count:{n}" for n in range(2, 5)),
    *(f"line:{side}:{pen}" for side in ("right", "down") for pen in _LINE_PENS),
    *(f"obj:{name}" for name in OBJECTIVES),
    "at_most", "exactly", "start_by", *(f"block:{b}" for b in CONSTRAINT_BLOCKS),
    *(f"n{n}" for n in range(MAX_NUMBER + 1)),
)
TOKEN_ID = {word: i for i, word in enumerate(TASK_VOCAB)}
PAD = 0
assert len(TOKEN_ID) == len(TASK_VOCAB), "duplicate words in TASK_VOCAB"
assert set(START_TYPES) <= set(CONSTRAINT_BLOCKS)


@dataclass(frozen=True)
class TaskEncoding:
    tokens: np.ndarray  # int32 (MAX_TASK_TOKENS,), PAD after `length`
    cells: np.ndarray  # int32 (MAX_TASK_TOKENS,), 0 or 1 + y * MAX_COLS + x
    length: int
    grid: np.ndarray  # int8 (MAX_ROWS, MAX_COLS, len(GRID_CHANNELS))

    def words(self) -> list[str]:
        return [TASK_VOCAB[t] for t in self.tokens[: self.length]]


def _number(n: int, where: str) -> str:
    if not 0 <= n <= MAX_NUMBER:
        raise XLogoError(f"number {n} cannot be encoded (0..{MAX_NUMBER})", where)
    return f"n{n}"


def encode_task(task: Task) -> TaskEncoding:
    """Encode a task once (per episode); raises XLogoError if it exceeds the fixed shapes."""
    world = task.world
    cols, rows = world.cols, world.rows
    if cols > MAX_COLS or rows > MAX_ROWS:
        raise XLogoError(f"grid {cols}x{rows} exceeds the encodable {MAX_COLS}x{MAX_ROWS}", "task.tiles")
    grid = np.zeros((MAX_ROWS, MAX_COLS, len(GRID_CHANNELS)), dtype=np.int8)
    words: list[tuple[str, int]] = [("<task>", 0), (f"W{cols}", 0), (f"H{rows}", 0)]
    tiles = {(t.x, t.y): t for t in world.tiles}
    items = {(i.x, i.y): i for i in world.items}  # the last item on a cell wins, as in the emulator
    lines: dict[tuple[int, int, str], int] = {}
    for line in world.lines:
        pen = _LINE_PENS.index(line.pen_color) if line.pen_color else len(PEN_COLORS)
        for (x1, y1), (x2, _) in line.segments():
            lines[(x1, y1, "right" if x2 > x1 else "down")] = pen
    turtle = world.turtle
    for y in range(rows):
        for x in range(cols):
            cell = 1 + y * MAX_COLS + x
            g = grid[y, x]
            tile = tiles.get((x, y))
            state = 2 if tile is None else 3 if tile.exist is False else 0 if tile.allowed else 1
            g[0] = 1 + state
            words.append((f"<cell:{CELL_STATES[state]}>", cell))
            for s, side in enumerate(SIDES):
                if tile is not None and tile.has_wall(side):
                    g[1 + s] = 1
                    words.append((f"wall:{side}", cell))
            if (turtle.x, turtle.y) == (x, y):
                g[10] = 1 + turtle.direction
                words.append((f"turtle:{DIRECTIONS[turtle.direction]}", cell))
            item = items.get((x, y))
            if item is not None:
                g[5] = 1 + ITEM_WORDS.index(item.name)
                words.append((item.name, cell))
                if item.color is not None:
                    g[6] = 1 + ITEM_COLORS.index(item.color)
                    words.append((item.color, cell))
                g[7] = item.count
                if item.count > 1:
                    words.append((f"count:{item.count}", cell))
            for c, side in ((8, "right"), (9, "down")):
                drawn = lines.get((x, y, side))
                if drawn is not None:
                    g[c] = 1 + drawn
                    words.append((f"line:{side}:{_LINE_PENS[drawn]}", cell))
    words.append(("<goal>", 0))
    for i, objective in enumerate(task.goal):
        words.append((f"obj:{objective.name}", 0))
        for s, spec in enumerate(objective.specs):
            if s:
                words.append(("<spec>", 0))
            for c, clause in enumerate(spec):
                if c:
                    words.append(("and", 0))
                for v, value in enumerate(clause):
                    if v:
                        words.append(("or", 0))
                    words.append((value, 0))
        if objective.total_cnt is not None:
            words += [("total", 0), (_number(objective.total_cnt, f"task.goal[{i}].total_cnt"), 0)]
    words.append(("<cons>", 0))
    constraint = task.constraints.effective
    for kind, bounds in (("at_most", constraint.at_most), ("exactly", constraint.exactly)):
        for block, n in bounds:
            words += [(kind, 0), (f"block:{block}", 0), (_number(n, f"task.constraints.{kind}.{block}"), 0)]
    if constraint.start_by:
        words += [("start_by", 0), *((f"block:{t}", 0) for t in constraint.start_by)]
    if len(words) > MAX_TASK_TOKENS:
        raise XLogoError(f"task needs {len(words)} tokens, more than the encodable {MAX_TASK_TOKENS}", "task")
    tokens = np.zeros(MAX_TASK_TOKENS, dtype=np.int32)
    cells = np.zeros(MAX_TASK_TOKENS, dtype=np.int32)
    tokens[: len(words)] = [TOKEN_ID[w] for w, _ in words]
    cells[: len(words)] = [c for _, c in words]
    return TaskEncoding(tokens, cells, len(words), grid)
