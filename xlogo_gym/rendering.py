"""Pure-numpy pictures of tasks and program runs (no display needed), plus a text (ANSI) view.

`render_rgb(task, program, ...)` draws the grid (allowed cells light, forbidden cells hatched
grey, missing cells left blank), walls as thick dark bars on the side of the tile that lists
them, items by shape, colour and count (strawberry, lemon, triangle, rectangle, cross, circle,
letters), the target lines faint and wide, the lines a program drew in its pen colours, the
turtle (a green turtle whose head points along its heading, with a dot of the current pen
colour on its shell), a red cross where a run crashed, and the goal, constraints and verdict as
text below. Tiles are anti-aliased by supersampling and cached, as in MiniGrid.
`render_frames` gives one frame per executed action, for animations, and `save_frames` writes
them as PNG, GIF or MP4 (imageio, imported when called).
"""

from __future__ import annotations

import importlib.util
import os
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from xlogo_gym.emulator import Verdict, compile_task, execute, run
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import atomic_path
from xlogo_gym.program import Program
from xlogo_gym.prompt import constraint_words, item_words, objective_words
from xlogo_gym.task import Task
from xlogo_gym.world import HEX_OF_PEN, LETTERS, PEN_COLORS, SIDES, Item

TILE = 48  #: default tile size in pixels
_SS = 3  # supersampling factor for tiles

BACKGROUND = (255, 255, 255)
CELL = (232, 237, 242)
GRID_LINE = (176, 186, 196)
FORBIDDEN = (138, 142, 148)
FORBIDDEN_HATCH = (104, 108, 114)
WALL = (72, 46, 30)
TEXT = (20, 20, 20)
SUCCESS, FAILURE, CRASH = (0, 128, 40), (200, 110, 0), (210, 0, 0)
TURTLE_SHELL, TURTLE_SKIN = (46, 125, 50), (120, 190, 110)
PEN_RGB: dict[str, tuple[int, int, int]] = {name: (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16))
                                            for name, h in HEX_OF_PEN.items()}
ITEM_RGB = {"red": (222, 38, 46), "blue": (33, 99, 222), "yellow": (250, 208, 20), "green": (46, 160, 67),
            "black": (24, 24, 24), "orange": (250, 140, 0), "purple": (142, 68, 173), "pink": (240, 120, 180)}
TARGET_ALPHA = 0.35
WHITE_OUTLINE = (90, 90, 90)  # around white lines, so that they show on light cells
#: The env's frames: the grid square is FRAME_CELLS tiles of the env's `tile_size` (smaller grids get
#: larger tiles), with a text panel of PANEL_WIDTH pixels on its right.
FRAME_CELLS, PANEL_WIDTH = 8, 280

# -- a 5x7 bitmap font (ASCII 32..126): five column bytes per glyph, bit 0 at the top -------------
_FONT_HEX = (
    "0000000000 00005f0000 0007000700 147f147f14 242a7f2a12 2313086462 3649552250 0005030000 001c224100 "
    "0041221c00 082a1c2a08 08083e0808 0050300000 0808080808 0060600000 2010080402 3e5149453e 00427f4000 "
    "4261514946 2141454b31 1814127f10 2745454539 3c4a494930 0171090503 3649494936 064949291e 0036360000 "
    "0056360000 0008142241 1414141414 4122140800 0201510906 324979413e 7e1111117e 7f49494936 3e41414122 "
    "7f4141221c 7f49494941 7f09090101 3e41415132 7f0808087f 00417f4100 2040413f01 7f08142241 7f40404040 "
    "7f0204027f 7f0408107f 3e4141413e 7f09090906 3e4151215e 7f09192946 4649494931 01017f0101 3f4040403f "
    "1f2040201f 7f2018207f 6314081463 0304780403 6151494543 007f414100 0204081020 0041417f00 0402010204 "
    "4040404040 0001020400 2054545478 7f48444438 3844444420 384444487f 3854545418 087e090102 081454543c "
    "7f08040478 00447d4000 2040443d00 007f102844 00417f4000 7c04180478 7c08040478 3844444438 7c14141408 "
    "081414187c 7c08040408 4854545420 043f444020 3c4040207c 1c2040201c 3c4030403c 4428102844 0c5050503c "
    "4464544c44 0008364100 00007f0000 0041360800 0201020402"
)
_GLYPHS: dict[str, np.ndarray] = {}
for _i, _hex in enumerate(_FONT_HEX.split()):
    _cols = [int(_hex[j:j + 2], 16) for j in range(0, 10, 2)]
    _GLYPHS[chr(32 + _i)] = np.array([[(c >> r) & 1 for c in _cols] for r in range(7)], dtype=bool)
GLYPH_W, GLYPH_H = 6, 9  # advance per character and line height at scale 1


def glyph(char: str) -> np.ndarray:
    """The 7x5 boolean bitmap of a character ('?' for characters outside ASCII 32..126)."""
    return _GLYPHS.get(char, _GLYPHS["?"])


def draw_text(img: np.ndarray, x: int, y: int, text: str, color: tuple[int, int, int] = TEXT,
              scale: int = 2) -> None:
    """Write one line of text with its top-left corner at (x, y), clipped to the image."""
    h, w = img.shape[:2]
    for i, char in enumerate(text):
        bitmap = np.repeat(np.repeat(glyph(char), scale, 0), scale, 1)
        left = x + i * GLYPH_W * scale
        x0, y0, x1, y1 = max(left, 0), max(y, 0), min(left + bitmap.shape[1], w), min(y + bitmap.shape[0], h)
        if x0 < x1 and y0 < y1:
            img[y0:y1, x0:x1][bitmap[y0 - y:y1 - y, x0 - left:x1 - left]] = color


def text_block(lines: list[tuple[str, tuple[int, int, int]]], width: int, scale: int = 2,
               pad: int = 8) -> np.ndarray:
    """A white block holding `(text, colour)` lines, wrapped to `width` pixels."""
    chars = max(1, (width - 2 * pad) // (GLYPH_W * scale))
    wrapped = [(part, color) for text, color in lines for part in (textwrap.wrap(text, chars) or [""])]
    img = np.full((2 * pad + len(wrapped) * GLYPH_H * scale, width, 3), BACKGROUND, dtype=np.uint8)
    for row, (text, color) in enumerate(wrapped):
        draw_text(img, pad, pad + row * GLYPH_H * scale, text, color, scale)
    return img


# -- tiles -----------------------------------------------------------------------------------
def _ss(size: int) -> int:
    """Supersampling factor of a tile: large tiles need less."""
    return _SS if size <= 64 else 2


def _coords(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Supersampled pixel-centre coordinates of a tile, in tile units (0..1)."""
    c = (np.arange(size * _ss(size)) + 0.5) / (size * _ss(size))
    return np.meshgrid(c, c)


def _coverage(mask: np.ndarray, size: int) -> np.ndarray:
    ss = _ss(size)
    return mask.reshape(size, ss, size, ss).mean(axis=(1, 3))


def _paint(tile: np.ndarray, mask: np.ndarray, color: tuple[int, ...]) -> None:
    a = _coverage(mask, tile.shape[0])[..., None]
    tile[:] = tile * (1 - a) + np.asarray(color, dtype=np.float64) * a


def _disc(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return (x - cx) ** 2 + (y - cy) ** 2 < r * r


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1


def _triangle(x: np.ndarray, y: np.ndarray, a: tuple[float, float], b: tuple[float, float],
              c: tuple[float, float]) -> np.ndarray:
    def side(p: tuple[float, float], q: tuple[float, float]) -> np.ndarray:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def _item_shape(tile: np.ndarray, name: str, color: str | None) -> None:
    size = tile.shape[0]
    x, y = _coords(size)
    rgb = ITEM_RGB.get(color or "", (150, 150, 150))
    dark = tuple(int(v * 0.6) for v in rgb)
    if name == "strawberry":
        body = _disc(x, y, 0.5, 0.5, 0.25) | _triangle(x, y, (0.265, 0.56), (0.735, 0.56), (0.5, 0.86))
        _paint(tile, body, rgb)
        for sx, sy in ((0.4, 0.5), (0.6, 0.5), (0.5, 0.62), (0.42, 0.7), (0.58, 0.7), (0.5, 0.4)):
            _paint(tile, _disc(x, y, sx, sy, 0.028), (255, 236, 120))
        leaves = (_triangle(x, y, (0.3, 0.24), (0.7, 0.24), (0.5, 0.37))
                  | _triangle(x, y, (0.38, 0.2), (0.62, 0.2), (0.5, 0.34)))
        _paint(tile, leaves, (40, 140, 50))
        _paint(tile, (abs(x - 0.5) < 0.03) & (y > 0.11) & (y < 0.24), (40, 110, 40))
    elif name == "lemon":
        _paint(tile, _ellipse(x, y, 0.5, 0.5, 0.33, 0.23) | _disc(x, y, 0.15, 0.5, 0.05)
               | _disc(x, y, 0.85, 0.5, 0.05), dark)
        _paint(tile, _ellipse(x, y, 0.5, 0.5, 0.3, 0.2) | _disc(x, y, 0.17, 0.5, 0.035)
               | _disc(x, y, 0.83, 0.5, 0.035), rgb)
        _paint(tile, _ellipse(x, y, 0.42, 0.43, 0.1, 0.04), (255, 250, 200))
    elif name == "triangle":
        _paint(tile, _triangle(x, y, (0.5, 0.18), (0.16, 0.8), (0.84, 0.8)), rgb)
    elif name == "rectangle":
        _paint(tile, (abs(x - 0.5) < 0.32) & (abs(y - 0.5) < 0.22), rgb)
    elif name == "cross":
        box = (abs(x - 0.5) < 0.3) & (abs(y - 0.5) < 0.3)
        _paint(tile, box & ((abs(x - y) < 0.11) | (abs(x + y - 1) < 0.11)), rgb)
    elif name == "circle":
        _paint(tile, _disc(x, y, 0.5, 0.5, 0.3), rgb)
    elif name in LETTERS:
        scale = max(1, int(size * 0.62) // 7)
        bitmap = np.repeat(np.repeat(glyph(name), scale, 0), scale, 1)
        top, left = (size - bitmap.shape[0]) // 2, (size - bitmap.shape[1]) // 2
        tile[top:top + bitmap.shape[0], left:left + bitmap.shape[1]][bitmap] = rgb
    else:  # house (outside the catalogue): a small house
        brown = (150, 90, 50)
        _paint(tile, (abs(x - 0.5) < 0.24) & (y > 0.45) & (y < 0.82), brown)
        _paint(tile, _triangle(x, y, (0.5, 0.16), (0.18, 0.47), (0.82, 0.47)), (190, 50, 40))
        _paint(tile, (abs(x - 0.5) < 0.06) & (y > 0.62) & (y < 0.82), (250, 230, 200))


@lru_cache(maxsize=512)
def _tile(size: int, state: str, walls: tuple[str, ...], item: tuple[str, str | None, int] | None) -> np.ndarray:
    """One cell: state 'allowed', 'forbidden' or 'missing', its walls and its item (read-only)."""
    tile = np.zeros((size, size, 3), dtype=np.float64)
    tile[:] = BACKGROUND if state == "missing" else CELL
    x, y = _coords(size)
    if state == "forbidden":
        _paint(tile, np.ones_like(x, dtype=bool), FORBIDDEN)
        _paint(tile, ((x + y) * 6) % 1 < 0.3, FORBIDDEN_HATCH)
    if state != "missing":
        edge = 1.0 / size
        _paint(tile, (x < edge) | (y < edge) | (x > 1 - edge) | (y > 1 - edge), GRID_LINE)
    if item is not None:
        _item_shape(tile, item[0], item[1])
    w = 0.08
    bars = {"top": y < w, "right": x > 1 - w, "bottom": y > 1 - w, "left": x < w}
    for side in walls:
        _paint(tile, bars[side], WALL)
    out = np.round(tile).astype(np.uint8)
    if item is not None and item[2] > 1:  # count badge, bottom right
        scale = max(1, size // 24)
        bw, bh = 5 * scale + 2 * scale, 7 * scale + 2 * scale
        x0, y0 = size - bw - 2, size - bh - 2
        out[y0:y0 + bh, x0:x0 + bw] = BACKGROUND
        draw_text(out, x0 + scale, y0 + scale, str(item[2]), TEXT, scale)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=64)
def _turtle(size: int, direction: int, pen: str) -> tuple[np.ndarray, np.ndarray]:
    """The turtle facing `direction` (0 north .. 3 west): (colour, coverage) arrays (read-only)."""
    x, y = _coords(size)
    # rotate coordinates so that the turtle is drawn facing north
    u, v = x - 0.5, y - 0.5
    for _ in range(direction):
        u, v = v, -u
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))

    def add(mask: np.ndarray, color: tuple[int, ...]) -> None:
        a = _coverage(mask, size)
        rgb[:] = rgb * (1 - a[..., None]) + np.asarray(color, dtype=np.float64) * a[..., None]
        alpha[:] = np.maximum(alpha, a)

    for lx, ly in ((-0.25, -0.19), (0.25, -0.19), (-0.25, 0.19), (0.25, 0.19)):
        add(_disc(u, v, lx, ly, 0.08), TURTLE_SKIN)
    add(_triangle(u, v, (-0.05, 0.25), (0.05, 0.25), (0.0, 0.42)), TURTLE_SKIN)  # tail
    add(_disc(u, v, 0.0, -0.36, 0.12), TURTLE_SKIN)  # head
    add(_disc(u, v, -0.05, -0.4, 0.025) | _disc(u, v, 0.05, -0.4, 0.025), (20, 20, 20))
    add(_ellipse(u, v, 0.0, 0.0, 0.26, 0.3), TURTLE_SHELL)
    add(_disc(u, v, 0.0, 0.0, 0.12), (255, 255, 255))
    add(_disc(u, v, 0.0, 0.0, 0.09), PEN_RGB[pen])
    rgb.flags.writeable = alpha.flags.writeable = False
    return rgb, alpha


# -- runs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunState:
    """The turtle after some actions: cell (x, y), heading, pen and how many segments are drawn."""

    x: int
    y: int
    direction: int
    pen: int
    drawn: int


def replay(task: Task, program: Program, strict: bool = False
           ) -> tuple[list[RunState], list[tuple[tuple[int, int], tuple[int, int], int]]]:
    """Run `program` step by step (`xlogo_gym.emulator.run`): the state before the first action
    and after each action up to a crash, and the drawn segments in drawing order ((x, y), (x', y'),
    pen index)."""
    compiled = compile_task(task)
    cols = compiled.cols
    states: list[RunState] = []
    segments: list[tuple[tuple[int, int], tuple[int, int], int]] = []
    before = compiled.start
    for pos, d, pen in run(compiled, program, strict, record=True).states or ():
        if pos != before:  # a move (the turtle never moves onto its own cell)
            segments.append(((before % cols, before // cols), (pos % cols, pos // cols), pen))
            before = pos
        states.append(RunState(pos % cols, pos // cols, d, pen, len(segments)))
    return states, segments


class _Canvas:
    """Geometry of one task's picture: margin, tile size and cell centres."""

    def __init__(self, task: Task, tile: int) -> None:
        self.tile = tile
        self.margin = max(4, tile // 4)
        world = task.world
        self.width = world.cols * tile + 2 * self.margin
        self.height = world.rows * tile + 2 * self.margin

    def centre(self, x: int, y: int) -> tuple[int, int]:
        return self.margin + x * self.tile + self.tile // 2, self.margin + y * self.tile + self.tile // 2

    def segment(self, img: np.ndarray, a: tuple[int, int], b: tuple[int, int], color: tuple[int, ...],
                width: int) -> None:
        """An axis-aligned stroke between two cell centres (lines are never diagonal)."""
        (ax, ay), (bx, by) = self.centre(*a), self.centre(*b)
        h = width // 2
        img[max(min(ay, by) - h, 0):max(ay, by) + width - h, max(min(ax, bx) - h, 0):max(ax, bx) + width - h] = color

    def strokes(self, img: np.ndarray, segments: list[tuple[tuple[int, int], tuple[int, int], str]],
                width: int) -> None:
        """Lines in pen colours, later ones on top; white lines get a grey outline (drawn first,
        so that it never cuts a neighbouring line) to show on light cells."""
        for a, b, pen in segments:
            if pen == "white":
                self.segment(img, a, b, WHITE_OUTLINE, width + 2 * max(1, width // 3))
        for a, b, pen in segments:
            self.segment(img, a, b, PEN_RGB[pen], width)


_STATIC: dict[tuple[int, int], tuple[Task, np.ndarray]] = {}


def _static_layer(task: Task, tile: int) -> np.ndarray:
    """Cells, walls, items and faint target lines of a task (cached for the last tasks drawn)."""
    key = (id(task), tile)
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is task:
        return hit[1]
    world = task.world
    canvas = _Canvas(task, tile)
    img = np.full((canvas.height, canvas.width, 3), BACKGROUND, dtype=np.uint8)
    tiles = {(t.x, t.y): t for t in world.tiles}
    items: dict[tuple[int, int], Item] = {(i.x, i.y): i for i in world.items}
    for y in range(world.rows):
        for x in range(world.cols):
            t = tiles.get((x, y))
            state = "missing" if t is None or t.exist is False else "allowed" if t.allowed else "forbidden"
            walls = tuple(s for s in SIDES if t is not None and t.has_wall(s))
            it = items.get((x, y))
            key_item = None if it is None else (it.name, it.color, it.count)
            top, left = canvas.margin + y * tile, canvas.margin + x * tile
            img[top:top + tile, left:left + tile] = _tile(tile, state, walls, key_item)
    if world.lines:  # the target, drawn opaque on an overlay (later lines win), then blended once
        overlay = img.copy()
        # a line coloured by name (never drawable, §2.5) is shown in that colour
        target = [(a, b, line.pen_color or (line.color if line.color in PEN_RGB else "black"))
                  for line in world.lines for a, b in line.segments()]
        canvas.strokes(overlay, target, max(4, tile // 5))
        covered = (overlay != img).any(axis=2, keepdims=True)
        img = np.where(covered, np.round(img * (1 - TARGET_ALPHA) + overlay * TARGET_ALPHA), img).astype(np.uint8)
    img.flags.writeable = False
    if len(_STATIC) >= 64:
        _STATIC.pop(next(iter(_STATIC)))
    _STATIC[key] = (task, img)
    return img


def _crash_mark(img: np.ndarray, canvas: _Canvas, state: RunState, cell: tuple[int, int]) -> None:
    """A red cross on the border the turtle failed to cross."""
    (ax, ay), (bx, by) = canvas.centre(state.x, state.y), canvas.centre(*cell)
    cx, cy, r = (ax + bx) // 2, (ay + by) // 2, canvas.tile // 5
    w = max(2, canvas.tile // 16)
    for i in range(-r, r + 1):
        for sign in (1, -1):
            y0, x0 = cy + i, cx + sign * i
            img[max(y0 - w // 2, 0):y0 + w - w // 2, max(x0 - w // 2, 0):x0 + w - w // 2] = CRASH


def program_line(program: Program) -> str:
    """The program on one line, e.g. `rt repeat(2){ fd } lt`."""
    return " ".join(str(program).split()) or "(empty)"


def crash_words(task: Task, verdict: Verdict) -> str:
    """What the crash was, in words, from where the turtle went (`Verdict.explain()` of a crash):
    a missing cell is called missing (the reference reports it as FORBIDDEN_AREA)."""
    return verdict.explain()


def verdict_line(verdict: Verdict, task: Task | None = None) -> tuple[str, tuple[int, int, int]]:
    """The verdict as a coloured caption, in the sentences of `Verdict.explain()` (`task` is unused,
    kept for callers)."""
    if verdict.success:
        return "Verdict: success", SUCCESS
    return f"Verdict: {verdict.explain()}", CRASH if verdict.crashed else FAILURE


def caption(task: Task) -> list[tuple[str, tuple[int, int, int]]]:
    """The goal and constraints, one caption line each (the words of `xlogo_gym.prompt`)."""
    goal = [f"Goal: {objective_words(o)}" for o in task.goal] or ["Goal: none (any run without a crash)"]
    rules = constraint_words(task.constraints.effective)
    return [(g, TEXT) for g in goal] + [(f"Rule: {r}", TEXT) for r in rules]


@dataclass(frozen=True)
class _Run:
    states: list[RunState]
    segments: list[tuple[tuple[int, int], tuple[int, int], int]]
    verdict: Verdict | None
    program: Program | None = None


def _run(task: Task, program: Program | str | None, verdict: Verdict | None, strict: bool) -> _Run:
    if program is None:
        turtle = task.world.turtle
        return _Run([RunState(turtle.x, turtle.y, turtle.direction, 0, 0)], [], None)
    program = Program.parse(program) if isinstance(program, str) else program
    states, segments = replay(task, program, strict)
    return _Run(states, segments, verdict or execute(task, program, strict), program)


def _picture(task: Task, run: _Run, step: int | None, tile: int, text: bool, min_width: int) -> np.ndarray:
    canvas = _Canvas(task, tile)
    img = _static_layer(task, tile).copy()
    last = len(run.states) - 1
    k = last if step is None else max(0, min(step, last))
    state = run.states[k]
    canvas.strokes(img, [(a, b, PEN_COLORS[pen]) for a, b, pen in run.segments[:state.drawn]], max(2, tile // 12))
    top, left = canvas.margin + state.y * tile, canvas.margin + state.x * tile
    size = tile
    if any(i.x == state.x and i.y == state.y for i in task.world.items):  # a small turtle in the corner
        size = tile // 2                                                  # leaves the item visible
    rgb, alpha = _turtle(size, state.direction, PEN_COLORS[state.pen])
    region = img[top:top + size, left:left + size]
    region[:] = np.round(region * (1 - alpha[..., None]) + rgb * alpha[..., None])
    verdict = run.verdict
    finished = verdict is not None and k == last
    if finished and verdict.crashed and verdict.crash_cell is not None:  # type: ignore[union-attr]
        _crash_mark(img, canvas, state, verdict.crash_cell)  # type: ignore[union-attr]
    if not text:
        return img
    width = max(canvas.width, min_width)
    lines = caption(task)
    if run.program is not None:
        lines.append((f"Program: {program_line(run.program)}", TEXT))
    if finished:
        lines.append(verdict_line(verdict, task))  # type: ignore[arg-type]
    elif verdict is not None:
        lines.append((f"Running: action {k} of {last}", TEXT))
    picture = np.full((canvas.height, width, 3), BACKGROUND, dtype=np.uint8)
    x0 = (width - canvas.width) // 2
    picture[:, x0:x0 + canvas.width] = img
    return np.concatenate([picture, text_block(lines, width)], axis=0)


def render_rgb(task: Task, program: Program | str | None = None, verdict: Verdict | None = None,
               step: int | None = None, *, strict: bool = False, tile: int = TILE, text: bool = True,
               min_width: int = 360) -> np.ndarray:
    """A picture of `task` as an (H, W, 3) uint8 array; no display is needed.

    program: drawn as run by the emulator; None shows the task with the turtle at its start.
    verdict: the verdict of `program` (computed when not given).
    step: show the state after this many executed actions (None: the whole run).
    strict: run with the emulator's strict semantics.
    tile: cell size in pixels.
    text: add the goal, the constraints and, once the whole run is shown, the verdict below
        the grid, in a panel at least `min_width` pixels wide.
    """
    return _picture(task, _run(task, program, verdict, strict), step, tile, text, min_width)


def render_frames(task: Task, program: Program | str, *, strict: bool = False, tile: int = TILE,
                  max_frames: int = 300, fixed: bool = False) -> list[np.ndarray]:
    """Frames of the run: the start, one per executed action (evenly thinned to at most
    `max_frames`), the last one with the verdict. All frames have the same shape; with `fixed`
    they are `render_frame`'s, whose shape is the same for every task."""
    run = _run(task, program, None, strict)
    last = len(run.states) - 1
    steps = sorted(set(np.linspace(0, last, num=min(last + 1, max(2, max_frames)), dtype=int).tolist()))
    if fixed:
        return [_frame(task, run, s, tile, None, None) for s in steps]
    frames = [_picture(task, run, s, tile, True, 360) for s in steps]
    height = max(f.shape[0] for f in frames)
    return [np.pad(f, ((0, height - f.shape[0]), (0, 0), (0, 0)), constant_values=255) for f in frames]


def frame_shape(tile: int = TILE) -> tuple[int, int, int]:
    """The shape of every `render_frame` with this `tile`, whatever the task."""
    return FRAME_CELLS * tile, FRAME_CELLS * tile + PANEL_WIDTH, 3


def render_frame(task: Task, program: Program | str | None = None, verdict: Verdict | None = None,
                 step: int | None = None, *, strict: bool = False, tile: int = TILE,
                 written: str | None = None, status: str | None = None) -> np.ndarray:
    """A frame of one fixed shape for every task (`frame_shape(tile)`), for videos and windows.

    The grid fills a square of FRAME_CELLS * `tile` pixels (a 3x3 grid gets tiles of about 2.3
    times `tile`); the panel on its right holds the goal, the constraints, the program and the
    verdict, in Pillow's FreeType font when Pillow is installed (else the bitmap font).
    program, verdict, step, strict: as in `render_rgb`.
    written: program text to show while no program is run (e.g. the tokens written so far).
    status: a last line to show instead of the run's progress or verdict.
    """
    return _frame(task, _run(task, program, verdict, strict), step, tile, written, status)


def _frame(task: Task, run: _Run, step: int | None, tile: int, written: str | None, status: str | None
           ) -> np.ndarray:
    side = FRAME_CELLS * tile
    n = max(task.world.cols, task.world.rows)
    cell = int(side / (n + 0.5))
    while cell * n + 2 * max(4, cell // 4) > side:
        cell -= 1
    picture = _picture(task, run, step, cell, False, 0)
    frame = np.full(frame_shape(tile), BACKGROUND, dtype=np.uint8)
    top, left = (side - picture.shape[0]) // 2, (side - picture.shape[1]) // 2
    frame[top:top + picture.shape[0], left:left + picture.shape[1]] = picture
    lines = caption(task)
    text = program_line(run.program) if run.program is not None else written
    if text is not None:
        lines.append((f"Program: {text or '(empty)'}", TEXT))
    last = len(run.states) - 1
    k = last if step is None else max(0, min(step, last))
    if status is not None:
        lines.append((status, TEXT))
    elif run.verdict is not None and k == last:
        lines.append(verdict_line(run.verdict, task))
    elif run.verdict is not None:
        lines.append((f"Running: action {k} of {last}", TEXT))
    frame[:, side:] = text_panel(lines, PANEL_WIDTH, side, size=max(12, tile // 3))
    frame[:, side] = GRID_LINE
    return frame


@lru_cache(maxsize=8)
def _font(size: int) -> Any:
    """Pillow's bundled FreeType font at `size` pixels, or None (no Pillow, or one older than 10.1)."""
    try:
        from PIL import ImageFont

        return ImageFont.load_default(size=size)
    except (ImportError, TypeError, OSError, AttributeError):
        return None


def _wrap(text: str, fits: Any) -> list[str]:
    """`text` split at spaces into lines for which `fits(line)` holds (a word too long stays whole)."""
    out: list[str] = []
    for word in text.split(" "):
        if out and fits(f"{out[-1]} {word}"):
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out or [""]


def text_panel(lines: list[tuple[str, tuple[int, int, int]]], width: int, height: int, size: int = 16,
               pad: int = 10) -> np.ndarray:
    """A white (height, width) panel of `(text, colour)` lines, wrapped to its width; lines that do
    not fit its height end in "...". Pillow's FreeType font when available, else the bitmap font."""
    font = _font(size)
    if font is None:
        block = text_block(lines, width, scale=max(1, size // 8))
        out = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
        out[:min(height, block.shape[0])] = block[:height]
        return out
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    wrapped = [(part, color) for text, color in lines
               for part in _wrap(text, lambda t: font.getlength(t) <= width - 2 * pad)]
    step = int(size * 1.3)
    room = max(1, (height - 2 * pad) // step)
    if len(wrapped) > room:
        wrapped = [*wrapped[:room - 1], ("...", TEXT)]
    for row, (text, color) in enumerate(wrapped):
        draw.text((pad, pad + row * step), text, fill=color, font=font)
    return np.asarray(image).copy()


def side_panel(image: np.ndarray, title: str, lines: list[str], width: int = 260) -> np.ndarray:
    """`image` with a text panel (a title and monospace lines, e.g. a program) on its right."""
    return beside(image, text_block([(title, TEXT), *((line, TEXT) for line in lines)], width))


def beside(image: np.ndarray, panel: np.ndarray) -> np.ndarray:
    """`image` with `panel` on its right, top-aligned, split by a grid line."""
    height = max(image.shape[0], panel.shape[0])
    out = np.full((height, image.shape[1] + panel.shape[1], 3), BACKGROUND, dtype=np.uint8)
    out[:image.shape[0], :image.shape[1]] = image
    out[:panel.shape[0], image.shape[1]:] = panel
    out[:, image.shape[1]] = GRID_LINE
    return out


# -- files -----------------------------------------------------------------------------------
FORMATS = (".png", ".gif", ".mp4")  #: what `save_frames` writes


def save_frames(frames: list[np.ndarray], path: str, fps: float = 4.0) -> None:
    """Write frames as .png (the last one), .gif (looping; the last frame held 2 s) or .mp4.

    The file is written next to `path` and moved into place, so a failed write leaves no
    partial file. MP4 needs imageio's ffmpeg plugin (`pip install imageio-ffmpeg`).
    """
    import imageio.v3 as iio

    ext = os.path.splitext(path)[1].lower()
    with atomic_path(path, suffix=ext) as tmp:
        if ext == ".png":
            iio.imwrite(tmp, frames[-1])
        elif ext == ".gif":
            durations = [1000 / fps] * (len(frames) - 1) + [2000.0]
            iio.imwrite(tmp, np.stack(frames), duration=durations, loop=0)
        elif ext == ".mp4":
            if importlib.util.find_spec("imageio_ffmpeg") is None and importlib.util.find_spec("av") is None:
                raise XLogoError("writing .mp4 needs a video plugin for imageio: pip install imageio-ffmpeg", path)
            h, w = frames[0].shape[:2]  # pad to the codec's 16-pixel blocks (else imageio resizes)
            video = np.stack([np.pad(f, ((0, -h % 16), (0, -w % 16), (0, 0)), constant_values=255) for f in frames])
            video = np.concatenate([video, np.repeat(video[-1:], max(1, int(2 * fps)), axis=0)])  # hold the end
            iio.imwrite(tmp, video, fps=fps)
        else:
            raise XLogoError(f"unknown output format {ext!r}: use {', '.join(FORMATS)}", path)


# -- text ------------------------------------------------------------------------------------
_ARROWS = "^>v<"
_ITEM_CODES = {"strawberry": "S", "lemon": "L", "triangle": "T", "rectangle": "R", "cross": "X",
               "circle": "O", "house": "H"}


def render_ansi(task: Task, program: Program | str | None = None, verdict: Verdict | None = None,
                strict: bool = False) -> str:
    """A text picture: walls as | and ---, forbidden cells ###, missing cells blank, the turtle
    as ^ > v <, items by a code (letters as *A), then the items, goal, constraints, program and verdict."""
    world = task.world
    tiles = {(t.x, t.y): t for t in world.tiles}
    items = {(i.x, i.y): i for i in world.items}
    turtle = world.turtle
    if program is not None:
        program = Program.parse(program) if isinstance(program, str) else program
        verdict = verdict or execute(task, program, strict)
        end = replay(task, program, strict)[0][-1]
        tx, ty, td = end.x, end.y, end.direction
    else:
        tx, ty, td = turtle.x, turtle.y, turtle.direction

    def wall(x: int, y: int, side: str) -> bool:
        t = tiles.get((x, y))
        return t is not None and t.has_wall(side)

    rows = []
    for y in range(world.rows):
        top, mid = "+", "|" if wall(0, y, "left") else " "
        for x in range(world.cols):
            top += ("---" if wall(x, y, "top") or wall(x, y - 1, "bottom") else "   ") + "+"
            t = tiles.get((x, y))
            it = items.get((x, y))
            body = "   " if t is None or t.exist is False else "###" if not t.allowed else " . "
            if it is not None:
                code = ("*" + it.name) if it.name in LETTERS else _ITEM_CODES.get(it.name, "?")
                body = f"{code}{it.count if it.count > 1 else ''}".center(3)
            if (x, y) == (tx, ty):
                body = _ARROWS[td] + body[1:]
            mid += body + ("|" if wall(x, y, "right") or wall(x + 1, y, "left") else " ")
        rows += [top, mid]
    rows.append("+" + "".join("---+" if wall(x, world.rows - 1, "bottom") else "   +" for x in range(world.cols)))
    out = ["\n".join(rows)]
    if world.items:
        out.append("Items: " + ", ".join(f"({i.x},{i.y}) {item_words(i)}" for i in world.items))
    if world.lines:
        out.append("Target: " + ", ".join(f"({a[0]},{a[1]})-({b[0]},{b[1]}) {line.pen_color or line.color}"
                                          for line in world.lines for a, b in line.segments()))
    out += [text for text, _ in caption(task)]
    if program is not None:
        out.append("Program: " + (" ".join(str(program).split()) or "(empty)"))
        out.append(verdict_line(verdict, task)[0])  # type: ignore[arg-type]
    return "\n".join(out) + "\n"
