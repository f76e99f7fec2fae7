"""The grid world: tiles, items, target lines and the turtle (SEMANTICS.md §2.1-§2.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlogo_gym.errors import XLogoError

DIRECTIONS = ("north", "east", "south", "west")
#: (dx, dy) of one step forward for each direction 0..3 (y grows downwards).
STEPS = ((0, -1), (1, 0), (0, 1), (-1, 0))
SIDES = ("top", "right", "bottom", "left")  # side crossed by a step in direction 0..3

SHAPES = ("triangle", "rectangle", "cross", "circle")
LETTERS = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))
ITEM_NAMES = ("strawberry", "lemon", *SHAPES, *LETTERS)
#: Loads (real chapter-12 draw tasks use it) but is outside the item catalogue.
EXTRA_ITEM_NAMES = ("house",)
ITEM_COLORS = ("red", "blue", "yellow", "green", "black", "orange", "purple", "pink")
EMPTY_WORDS = ("noname", "nocolor")

#: Item catalogue (§2.4): name -> (allowed colours, allowed counts).
CATALOGUE: dict[str, tuple[frozenset[str], frozenset[int]]] = {
    "strawberry": (frozenset({"red"}), frozenset({1, 2, 3, 4})),
    "lemon": (frozenset({"yellow"}), frozenset({1})),
    **{s: (frozenset({"red", "green", "blue"}), frozenset({1})) for s in ("triangle", "rectangle", "cross")},
    "circle": (frozenset(ITEM_COLORS), frozenset({1})),
    **{letter: (frozenset({"black"}), frozenset({1})) for letter in LETTERS},
}

PEN_COLORS = ("black", "red", "green", "blue", "yellow", "white")
LINE_HEX = {"#000000": "black", "#D60000": "red", "#009624": "green",
            "#0D47A1": "blue", "#FFD600": "yellow", "#FFFFFF": "white"}
HEX_OF_PEN = {name: hex_ for hex_, name in LINE_HEX.items()}
#: Largest grid side: every coordinate is in 0..MAX_SIDE - 1 (the real tasks and the encodings stop at 8;
#: the bound keeps the emulator's per-cell tables small whatever a file says).
MAX_SIDE = 64


def _int(obj: dict[str, Any], key: str, where: str, lo: int | None = None, hi: int | None = None) -> int:
    if key not in obj:
        raise XLogoError(f"missing field {key!r}", where)
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise XLogoError(f"field {key!r} must be an integer, got {value!r}", where)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        shown = value if value.bit_length() < 64 else f"a number of {value.bit_length()} bits"
        raise XLogoError(f"field {key!r} = {shown} is outside {lo}..{hi}", where)
    return value


def _cell(obj: dict[str, Any], where: str) -> tuple[int, int]:
    """The fields x and y, each in 0..MAX_SIDE - 1."""
    return _int(obj, "x", where, 0, MAX_SIDE - 1), _int(obj, "y", where, 0, MAX_SIDE - 1)


def _dict(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise XLogoError(f"expected an object, got {type(obj).__name__}", where)
    return obj


def _list(obj: Any, where: str) -> list[Any]:
    if not isinstance(obj, list):
        raise XLogoError(f"expected a list, got {type(obj).__name__}", where)
    return obj


@dataclass(frozen=True)
class Turtle:
    x: int
    y: int
    direction: int  # 0 north, 1 east, 2 south, 3 west

    @classmethod
    def from_json(cls, obj: Any, where: str = "turtle") -> Turtle:
        obj = _dict(obj, where)
        return cls(*_cell(obj, where), _int(obj, "direction", where, 0, 3))

    def to_json(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "direction": self.direction}


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    allowed: bool = True
    walls: tuple[tuple[str, bool], ...] = ()  # (side, flag) pairs as written
    exist: bool | None = None  # None: key absent (means True)

    def has_wall(self, side: str) -> bool:
        return any(s == side and flag for s, flag in self.walls)

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Tile:
        obj = _dict(obj, where)
        allowed = obj.get("allowed")
        if not isinstance(allowed, bool):
            raise XLogoError(f"field 'allowed' must be true or false, got {allowed!r}", where)
        walls = _dict(obj.get("walls"), f"{where}.walls")
        for side, flag in walls.items():
            if side not in SIDES:
                raise XLogoError(f"unknown wall side {side!r} (expected one of {', '.join(SIDES)})", f"{where}.walls")
            if not isinstance(flag, bool):
                raise XLogoError(f"wall {side!r} must be true or false, got {flag!r}", f"{where}.walls")
        exist = obj.get("exist")
        if exist is not None and not isinstance(exist, bool):
            raise XLogoError(f"field 'exist' must be true or false, got {exist!r}", where)
        return cls(*_cell(obj, where), allowed, tuple(walls.items()), exist)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"x": self.x, "y": self.y, "allowed": self.allowed, "walls": dict(self.walls)}
        if self.exist is not None:
            out["exist"] = self.exist
        return out


@dataclass(frozen=True)
class Item:
    x: int
    y: int
    name: str
    color: str | None
    count: int = 1

    def in_catalogue(self) -> bool:
        allowed = CATALOGUE.get(self.name)
        return allowed is not None and self.color in allowed[0] and self.count in allowed[1]

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Item:
        obj = _dict(obj, where)
        name, color = obj.get("name"), obj.get("color")
        if not isinstance(name, str) or (name not in ITEM_NAMES and name not in EXTRA_ITEM_NAMES):
            raise XLogoError(f"unknown item name {name!r} (expected strawberry, lemon, a shape or a letter A-Z)", where)
        if color is not None and color not in ITEM_COLORS:
            raise XLogoError(f"unknown item colour {color!r} (expected one of {', '.join(ITEM_COLORS)})", where)
        return cls(*_cell(obj, where), name, color, _int(obj, "count", where, 1, 4))

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "name": self.name, "color": self.color, "count": self.count}


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    color: str  # upper-case hex of §2.5, or a colour name (accepted, never matches)

    @property
    def pen_color(self) -> str | None:
        """The pen colour name this line must be drawn in (None: can never match)."""
        return LINE_HEX.get(self.color)

    def segments(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """The unit segments the line stands for, each as (cell, cell) in ascending order."""
        if self.x1 == self.x2:
            lo, hi = sorted((self.y1, self.y2))
            return [((self.x1, y), (self.x1, y + 1)) for y in range(lo, hi)]
        lo, hi = sorted((self.x1, self.x2))
        return [((x, self.y1), (x + 1, self.y1)) for x in range(lo, hi)]

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Line:
        obj = _dict(obj, where)
        x1, y1, x2, y2 = (_int(obj, k, where, 0, MAX_SIDE - 1) for k in ("x1", "y1", "x2", "y2"))
        if x1 != x2 and y1 != y2:
            raise XLogoError(f"diagonal line ({x1},{y1})-({x2},{y2}): lines must be horizontal or vertical", where)
        color = obj.get("color")
        if not isinstance(color, str) or (color not in LINE_HEX and color not in PEN_COLORS):
            raise XLogoError(
                f"bad line colour {color!r} (expected one of {', '.join(LINE_HEX)}, upper-case hex)", where)
        return cls(x1, y1, x2, y2, color)

    def to_json(self) -> dict[str, Any]:
        return {"x1": self.x1, "y1": self.y1, "x2": self.x2, "y2": self.y2, "color": self.color}


@dataclass(frozen=True)
class World:
    """Grid size comes from the tiles only: cols = 1 + max x, rows = 1 + max y (§2.1)."""

    turtle: Turtle
    tiles: tuple[Tile, ...]
    items: tuple[Item, ...] = ()
    lines: tuple[Line, ...] = ()

    @property
    def cols(self) -> int:
        return 1 + max(t.x for t in self.tiles)

    @property
    def rows(self) -> int:
        return 1 + max(t.y for t in self.tiles)

    def tile_at(self, x: int, y: int) -> Tile | None:
        return next((t for t in self.tiles if t.x == x and t.y == y), None)

    def item_at(self, x: int, y: int) -> Item | None:
        return next((i for i in self.items if i.x == x and i.y == y), None)

    @classmethod
    def from_json(cls, obj: Any, where: str = "task") -> World:
        obj = _dict(obj, where)
        for key in ("turtle", "tiles", "items", "lines"):
            if key not in obj:
                raise XLogoError(f"missing field {key!r}", where)
        tiles = tuple(Tile.from_json(t, f"{where}.tiles[{i}]")
                      for i, t in enumerate(_list(obj["tiles"], f"{where}.tiles")))
        if not tiles:
            raise XLogoError("the tile list must not be empty", f"{where}.tiles")
        seen: set[tuple[int, int]] = set()
        for i, tile in enumerate(tiles):
            if (tile.x, tile.y) in seen:
                raise XLogoError(f"second tile for cell ({tile.x},{tile.y})", f"{where}.tiles[{i}]")
            seen.add((tile.x, tile.y))
        cols, rows = 1 + max(t.x for t in tiles), 1 + max(t.y for t in tiles)

        def inside(x: int, y: int, at: str) -> None:
            if x >= cols or y >= rows:
                raise XLogoError(f"cell ({x},{y}) is outside the {cols}x{rows} grid", at)

        turtle = Turtle.from_json(obj["turtle"], f"{where}.turtle")
        inside(turtle.x, turtle.y, f"{where}.turtle")
        items = tuple(Item.from_json(t, f"{where}.items[{i}]")
                      for i, t in enumerate(_list(obj["items"], f"{where}.items")))
        for i, item in enumerate(items):
            inside(item.x, item.y, f"{where}.items[{i}]")
        lines = tuple(Line.from_json(t, f"{where}.lines[{i}]")
                      for i, t in enumerate(_list(obj["lines"], f"{where}.lines")))
        for i, line in enumerate(lines):
            inside(max(line.x1, line.x2), max(line.y1, line.y2), f"{where}.lines[{i}]")
        return cls(turtle, tiles, items, lines)

    def to_json(self) -> dict[str, Any]:
        return {"turtle": self.turtle.to_json(), "tiles": [t.to_json() for t in self.tiles],
                "items": [i.to_json() for i in self.items], "lines": [ln.to_json() for ln in self.lines]}
