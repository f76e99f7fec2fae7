"""Goals built around a trace: the items each goal needs, its objectives and its English sentence.

Items an objective asks for go on the trace (a find target on the last cell), items it
forbids go off the trace, and distractors never match a spec they could be confused with.
Specs have the real shapes (§12): one name, one colour, or colour AND shape (two clauses).

A dense world (§12.1, "logic worlds are full") draws every item from one `Palette`, the
single place that says which items a world holds: circles in distinct colours, shapes in
red, green and blue, or mixed items. `GoalBuilder.fill` then puts a palette item on every
free cell left, never one that would change the answer: fillers on the trace match no
objective, fillers off it match no target (but often a forbid, so that forbids bite).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

from xlogo_gym.generator.config import LOGIC_STRUCTURES, GeneratorConfig
from xlogo_gym.generator.worlds import Cell, Draft
from xlogo_gym.task import Objective, Spec
from xlogo_gym.world import (
    CATALOGUE,
    HEX_OF_PEN,
    ITEM_COLORS,
    ITEM_NAMES,
    LETTERS,
    LINE_HEX,
    PEN_COLORS,
    SHAPES,
    Item,
    Line,
)

#: Letters of the real tasks, drawn more often than the rest of the alphabet.
REAL_LETTERS = "AELPRTU"
#: Three-letter words for concat goals, spelled with the real tasks' letters.
WORDS = ("TEA", "EAT", "ATE", "PAL", "LAP", "ALE", "EAR", "ERA", "ARE", "PEA", "APE", "PAT", "TAP", "APT",
         "RAT", "TAR", "ART", "PET", "LET", "PUT", "RUT", "TUP", "PAR", "RAP", "LEA", "PUR", "UTE")
#: How often each kind of item is drawn ("letter": any letter A-Z).
KIND_WEIGHTS = {"strawberry": 3.0, "lemon": 1.5, "triangle": 0.8, "rectangle": 0.8, "cross": 0.8,
                "circle": 1.2, "letter": 1.5}
_PLURAL = {"strawberry": "strawberries", "cross": "crosses"}
#: Item palettes of dense worlds and how often each is chosen.
PALETTE_WEIGHTS = {"circles": 0.35, "shapes": 0.45, "mixed": 0.2}
#: The colours the catalogue allows for triangles, rectangles and crosses.
SHAPE_COLORS = ("red", "green", "blue")
#: Largest grid (in cells) that is made dense; larger ones stay sparse.
MAX_DENSE_CELLS = 16

Built = tuple[list[Objective], str]  # objectives and the goal sentence (without the final period)


def objective(name: str, specs: list[Spec], total: int | None = None) -> Objective:
    """An objective whose literals are keyed "name" for item names and "color" for colours."""
    keys = tuple(tuple(tuple("name" if v in ITEM_NAMES else "color" for v in clause) for clause in s) for s in specs)
    return Objective(name, tuple(specs), total, None, keys)


def matches(spec: Spec, item: Item | None) -> bool:
    return item is not None and all(any(v == item.name or v == item.color for v in clause) for clause in spec)


def random_item(rng: random.Random, kind: str | None = None) -> Item:
    """An item that fits the catalogue; `kind` is an item name, "letter" or None (any kind)."""
    if kind is None:
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    if kind == "letter":
        kind = rng.choice(REAL_LETTERS) if rng.random() < 0.7 else rng.choice(LETTERS)
    return Item(0, 0, kind, rng.choice(sorted(CATALOGUE[kind][0])), 1)


def item_matching(rng: random.Random, spec: Spec, unlike: tuple[Spec, ...] = ()) -> Item:
    """A random catalogue item matching `spec` and, if it can, none of `unlike`."""
    name, color = _parts(spec)
    kinds = [name] if name else [k for k in KIND_WEIGHTS if color in CATALOGUE["A" if k == "letter" else k][0]]
    for _ in range(10):
        item = random_item(rng, rng.choice(kinds))
        if color is not None:
            item = Item(0, 0, item.name, color, 1)
        if not any(matches(u, item) for u in unlike):
            break
    return item


class Palette:
    """The items of one dense world, drawn from one shuffled bag per world.

    "circles": circles of the 8 item colours; "shapes": circles, crosses, rectangles and triangles
    in red, green and blue; "mixed": any catalogue item (`random_item`). A circle or shape draw takes
    the next fitting item out of the bag, so each colour (combination) appears once while they last.
    """

    def __init__(self, rng: random.Random, kind: str) -> None:
        self.rng, self.kind = rng, kind
        if kind == "circles":
            self.combos = [Item(0, 0, "circle", c, 1) for c in ITEM_COLORS]
        elif kind == "shapes":
            self.combos = [Item(0, 0, s, c, 1) for s in SHAPES for c in SHAPE_COLORS]
        else:
            self.combos = []
        self.bag = rng.sample(self.combos, len(self.combos))

    def sample(self) -> Item:
        """Any item of the palette, leaving the bag as it is (to choose a spec from)."""
        return self.rng.choice(self.combos) if self.combos else random_item(self.rng)

    def item(self, match: Spec | None = None, unlike: tuple[Spec, ...] = (), reuse: bool = True) -> Item | None:
        """An item matching `match` (if given) and none of `unlike`: the next fitting one in the bag, else
        (if `reuse`) any fitting one of the palette again; None if there is none."""
        def fits(item: Item) -> bool:
            return (match is None or matches(match, item)) and not any(matches(u, item) for u in unlike)

        if not self.combos:
            for _ in range(30):
                item = random_item(self.rng) if match is None else item_matching(self.rng, match, unlike)
                if fits(item):
                    return item
            return None
        for i, item in enumerate(self.bag):
            if fits(item):
                return self.bag.pop(i)
        fitting = [c for c in self.combos if fits(c)] if reuse else []
        return self.rng.choice(fitting) if fitting else None


def _parts(spec: Spec) -> tuple[str | None, str | None]:
    """(item name, colour) named by a spec's single-literal clauses."""
    values = [clause[0] for clause in spec]
    return (next((v for v in values if v in ITEM_NAMES), None), next((v for v in values if v not in ITEM_NAMES), None))


def noun(spec: Spec, plural: bool = False, article: str = "the") -> str:
    """English for a spec: "the strawberry", "red items", "the red triangle", "the letter A"."""
    name, color = _parts(spec)
    if name is not None and len(name) == 1:
        return f"letters {name}" if plural else f"{article} letter {name}"
    head = name or "item"
    if plural:
        return " ".join(([color] if color else []) + [_PLURAL.get(head, head + "s")])
    phrase = " ".join([article] + ([color] if color else []) + [head])
    return "an" + phrase[1:] if article == "a" and phrase[2] in "aeiou" else phrase


def _top_left_first(line: Line) -> Line:
    return line if (line.y1, line.x1) <= (line.y2, line.x2) else Line(line.x2, line.y2, line.x1, line.y1, line.color)


def _join(words: list[str], conj: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conj} " + words[-1]


class GoalBuilder:
    """Builds one goal structure on a draft: its items, objectives and sentence."""

    def __init__(self, rng: random.Random, config: GeneratorConfig, draft: Draft) -> None:
        self.rng, self.config, self.draft = rng, config, draft
        #: Cells a find goal reaches; the route there must be the shortest (see `block_shortcuts`).
        self.find_targets: set[Cell] = set()
        #: Makes an item for a cell the solution must avoid (a forbidden item or a findonly misfit).
        self.avoid_item: Callable[[], Item | None] | None = None
        #: The items of a dense world (None: a sparse world); `fill` completes a dense world.
        self.palette: Palette | None = None

    def build(self, structure: str) -> Built | None:
        """Items and objectives of a goal structure such as "find+forbid"; None if the trace cannot host it."""
        name, forbids = structure.split("+")[0], structure.count("forbid")
        dense = self.config.dense_find_prob if structure == "find" else \
            self.config.dense_prob if structure in LOGIC_STRUCTURES else 0
        if dense > 0 and self.draft.cols * self.draft.rows <= MAX_DENSE_CELLS and self.rng.random() < dense:
            kind = self.rng.choices(list(PALETTE_WEIGHTS), weights=list(PALETTE_WEIGHTS.values()))[0]
            if kind == "circles" and name == "collectall":
                kind = "shapes"  # distinct colours leave nothing to collect "all" of
            self.palette = Palette(self.rng, kind)
        if name == "draw":
            return self.draw()
        if name in ("find", "findonly"):
            return self.find(forbids, only=name == "findonly")
        if name == "collectall":
            return self.collectall(forbids)
        return self.sum() if name == "sum" else self.concat()

    # -- placement -------------------------------------------------------------------------------
    def put(self, cell: Cell, item: Item) -> None:
        self.draft.items[cell] = Item(cell[0], cell[1], item.name, item.color, item.count)

    def put_off_trace(self, make: Callable[[], Item | None], count: int, avoid: bool = False) -> None:
        """Place up to `count` items on free cells, preferring cells next to the trace."""
        free = self.draft.free_cells()
        for _ in range(count):
            item = make()
            if not free or item is None:
                return
            cell = self.rng.choices(free, weights=self.draft.near_trace(free))[0]
            free.remove(cell)
            self.put(cell, item)
            if avoid:
                self.draft.avoid.add(cell)

    def trace_cells(self) -> list[Cell]:
        """Distinct trace cells after the start, in first-visit order."""
        return [c for c in dict.fromkeys(self.draft.trace) if c != self.draft.start]

    def new_item(self) -> Item | None:
        """A random item of the world: from the palette of a dense world, else any catalogue item."""
        return self.palette.item() if self.palette is not None else random_item(self.rng)

    def target_spec(self, item: Item) -> Spec:
        """A spec that `item` matches: its name (mostly), colour AND shape, or its colour. In a dense
        world of circles (where "circle" names every item): its colour, or colour AND shape."""
        r = self.rng.random()
        kind = self.palette.kind if self.palette is not None else "mixed"
        if kind == "circles":
            return ((item.color,),) if r < 0.6 else ((item.color,), (item.name,))  # type: ignore[return-value]
        if kind == "shapes":
            return ((item.color,), (item.name,)) if r < 0.5 else \
                ((item.name,),) if r < 0.75 else ((item.color,),)  # type: ignore[return-value]
        if item.name in SHAPES and r < 0.4:
            return ((item.color,), (item.name,))  # type: ignore[return-value]
        return ((item.color,),) if r > 0.85 else ((item.name,),)  # type: ignore[return-value]

    def item_for(self, spec: Spec, unlike: tuple[Spec, ...] = ()) -> Item | None:
        """A random item matching `spec` and, if it can, none of `unlike` (of the palette of a dense world:
        then it must match none of `unlike`, or it is None)."""
        if self.palette is not None:
            return self.palette.item(spec, unlike)
        return item_matching(self.rng, spec, unlike)

    def distractor(self, avoid: list[Spec], near: Item | None = None) -> Item | None:
        """An item matching none of `avoid`, often of the same kind as `near` (a harder negative)."""
        for _ in range(30):
            kind = None
            if near is not None and self.rng.random() < 0.5:
                kind = near.name if len(near.name) > 1 else "letter"
            item = random_item(self.rng, kind)
            if not any(matches(s, item) for s in avoid):
                return item
        return None

    def distractors(self, avoid: list[Spec], near: Item | None, on_trace: bool) -> None:
        """0..max_distractors items matching none of `avoid`, a quarter on the trace if `on_trace`."""
        if self.palette is not None:
            return  # `fill` puts the distractors of a dense world
        top = self.config.max_distractors
        n = self.rng.choices(range(top + 1), weights=[1 / (1 + k) for k in range(top + 1)])[0]
        cells = [c for c in self.trace_cells() if c not in self.draft.items] if on_trace else []
        for _ in range(n):
            if cells and self.rng.random() < 0.25:
                item = self.distractor(avoid, near)
                if item is not None:
                    self.put(cells.pop(self.rng.randrange(len(cells))), item)
            else:
                self.put_off_trace(lambda: self.distractor(avoid, near), 1)

    def forbids(self, count: int, keep: Spec) -> list[Spec] | None:
        """`count` forbid specs matching no item on the trace, their items off the trace; None if impossible."""
        on_trace = [self.draft.items[c] for c in self.draft.trace if c in self.draft.items]
        specs: list[Spec] = []
        for _ in range(30):
            if len(specs) == count:
                break
            if self.palette is None:
                item = random_item(self.rng)
                color = self.rng.random() < 0.2
            else:  # a colour or a shape class, never "circle" among circles
                item = self.palette.sample()
                color = self.palette.kind == "circles" or self.rng.random() < 0.5
            spec: Spec = ((item.color,),) if color else ((item.name,),)  # type: ignore[assignment]
            if spec not in specs and not matches(keep, item) and not any(matches(spec, i) for i in on_trace):
                specs.append(spec)
        if len(specs) < count:
            return None
        for spec in specs:
            count = 1 if self.palette is not None else self.rng.choice((1, 1, 2))
            self.put_off_trace(partial(self.item_for, spec, (keep,)), count, avoid=True)
        self.avoid_item = lambda: self.item_for(self.rng.choice(specs), (keep,))
        return specs

    # -- goal structures -----------------------------------------------------------------------------
    def draw(self) -> Built:
        """One line per drawn segment (a few collinear pairs merged), listed row by row, in drawing
        order or shuffled, as `GeneratorConfig.line_order` says."""
        draft = self.draft
        lines: list[Line] = []
        done: set[tuple[Cell, Cell]] = set()
        for a, b in zip(draft.trace, draft.trace[1:], strict=False):
            seg = (a, b) if a < b else (b, a)
            if seg in done:
                continue
            done.add(seg)
            line = Line(a[0], a[1], b[0], b[1], HEX_OF_PEN[draft.segments[seg]])
            prev = lines[-1] if lines else None
            if prev is not None and prev.color == line.color and (prev.x2, prev.y2) == a \
                    and (prev.x2 - prev.x1, prev.y2 - prev.y1) == (b[0] - a[0], b[1] - a[1]) \
                    and self.rng.random() < self.config.long_line_prob:
                lines[-1] = Line(prev.x1, prev.y1, b[0], b[1], line.color)
            else:
                lines.append(line)
        colors = [c for c in PEN_COLORS if any(LINE_HEX[ln.color] == c for ln in lines)]
        order = self.rng.choices(list(self.config.line_order), weights=list(self.config.line_order.values()))[0]
        if order == "rows":  # row by row, endpoints left/top first: the order tells nothing about the solution
            lines = sorted(map(_top_left_first, lines), key=lambda ln: (ln.y1, ln.x1, ln.y2, ln.x2))
        elif order == "random":
            lines = [ln if self.rng.random() < 0.5 else Line(ln.x2, ln.y2, ln.x1, ln.y1, ln.color)
                     for ln in self.rng.sample(lines, len(lines))]
        draft.lines = lines
        spec = [[{"x1": ln.x1, "y1": ln.y1, "x2": ln.x2, "y2": ln.y2, "color": ln.color}] for ln in lines]
        sentence = "Draw the picture" if colors == ["black"] else "Draw the picture in " + _join(colors, "and")
        return [Objective("draw", (), None, [spec])], sentence

    def find(self, forbids: int, only: bool) -> Built | None:
        """find (+ forbids) or findonly: the target on the last cell, reached for the first time there."""
        final = self.draft.trace[-1]
        if final == self.draft.start or self.draft.trace.index(final) != len(self.draft.trace) - 1:
            return None
        target = self.new_item()
        if target is None:
            return None
        self.put(final, target)
        self.find_targets = {final}
        if only:
            spec: Spec = ((target.color,),) if self.rng.random() < 0.3 else ((target.name,),)  # type: ignore
            self.avoid_item = lambda: self.distractor([spec], target)
            self.put_off_trace(self.avoid_item, self.rng.randint(1, 3), avoid=True)
            return [objective("findonly", [spec])], f"Find only {noun(spec, plural=len(target.name) > 1)}"
        spec = self.target_spec(target)
        sentence = f"Find {noun(spec)}"
        fspecs = self.forbids(forbids, spec) if forbids else []
        if fspecs is None:
            return None
        if fspecs:
            sentence += " without stepping on " + _join([noun(s, article="a") for s in fspecs], "or")
        self.distractors([spec, *fspecs], target, on_trace=True)
        return [objective("find", [spec]), *(objective("forbid", [s]) for s in fspecs)], sentence

    def collectall(self, forbids: int) -> Built | None:
        """2-4 matching items on the trace (one on the last cell) and none elsewhere."""
        cells = self.trace_cells()
        if len(cells) < 2:
            return None
        target = self.palette.sample() if self.palette is not None else random_item(
            self.rng, self.rng.choice(("strawberry", "lemon", "circle", "triangle", "rectangle", "cross", "letter")))
        spec = self.target_spec(target)
        k = self.rng.randint(2, min(4, len(cells)))
        for cell in [cells[-1], *self.rng.sample(cells[:-1], k - 1)]:
            item = self.item_for(spec)
            if item is None:
                return None
            self.put(cell, item)
        letter = spec == ((target.name,),) and len(target.name) == 1
        sentence = f"Collect every letter {target.name}" if letter else f"Collect all the {noun(spec, plural=True)}"
        fspecs = self.forbids(forbids, spec) if forbids else []
        if fspecs is None:
            return None
        if fspecs:
            sentence += " without stepping on " + _join([noun(s, article="a") for s in fspecs], "or")
        self.distractors([spec, *fspecs], target, on_trace=False)
        return [objective("collectall", [spec]), *(objective("forbid", [s]) for s in fspecs)], sentence

    def sum(self) -> Built | None:
        """A sum world laid out as `GeneratorConfig.sum_layout` says: "four" and "full" (strawberries only,
        see `strawberries`) or "classic": strawberries (mostly) with counts on some trace cells, including
        the last, more off the trace, and distractors."""
        rng = self.rng
        layout = rng.choices(list(self.config.sum_layout), weights=list(self.config.sum_layout.values()))[0]
        if layout == "full" and not 6 <= self.draft.cols * self.draft.rows <= MAX_DENSE_CELLS:
            layout = "four"
        if layout != "classic" and self.draft.cols * self.draft.rows >= 5:
            return self.strawberries(layout)
        cells = self.trace_cells()
        kind = "strawberry" if rng.random() < 0.9 else rng.choice(("lemon", "circle"))
        spec: Spec = ((kind,),)
        k = min(rng.choices(range(1, 7), weights=(1, 2, 3, 3, 2, 2))[0], len(cells))
        total = 0
        for cell in [cells[-1], *rng.sample(cells[:-1], k - 1)]:
            count = min(self._count(kind), self.config.max_sum_total - total)
            if count <= 0:
                break
            self.put(cell, Item(0, 0, kind, item_matching(rng, spec).color, count))
            total += count
        for _ in range(rng.randint(1, 3)):
            self.put_off_trace(lambda: Item(0, 0, kind, item_matching(rng, spec).color, self._count(kind)), 1)
        self.distractors([spec], None, on_trace=True)
        word = kind if total == 1 else _PLURAL.get(kind, kind + "s")
        return [objective("sum", [spec], total)], f"Collect exactly {total} {word}"

    def strawberries(self, layout: str) -> Built | None:
        """"four": 4 strawberry cells counting a permutation of 1, 2, 3, 4 (one on the last trace cell, at
        least one off the trace); "full": a strawberry counting 1-4 on every cell but the start. The total
        is what the trace collects, below the grid's total; None if the trace leaves no room for that."""
        rng, draft = self.rng, self.draft
        cells = self.trace_cells()
        on_trace = set(draft.trace)
        off = [c for c in draft.cells if c not in on_trace]
        if not off or not cells:
            return None
        if layout == "four":
            lo, hi = max(1, 4 - len(off)), min(3, len(cells))
            if lo > hi:
                return None
            k = rng.randint(lo, hi)
            chosen = [cells[-1], *rng.sample(cells[:-1], k - 1), *rng.sample(off, 4 - k)]
            counts = rng.sample((1, 2, 3, 4), 4)
        else:
            chosen = cells + off
            counts = [self._count("strawberry") for _ in chosen]
        for cell, count in zip(chosen, counts, strict=True):
            self.put(cell, Item(0, 0, "strawberry", "red", count))
        total = sum(count for cell, count in zip(chosen, counts, strict=True) if cell in on_trace)
        if total > self.config.max_sum_total:
            return None
        word = "strawberry" if total == 1 else "strawberries"
        return [objective("sum", [(("strawberry",),)], total)], f"Collect exactly {total} {word}"

    def fill(self, objectives: list[Objective]) -> bool:
        """Complete a dense world: a palette item on every free cell (not the start, no item, tile or hole).

        On the trace a filler matches no spec at all, so the program still solves the task the same way;
        off the trace it matches no target spec, and often a forbid spec. False if the palette runs out.
        """
        draft, palette = self.draft, self.palette
        assert palette is not None
        targets = tuple(s for o in objectives if o.name != "forbid" for s in o.specs)
        forbids = tuple(s for o in objectives if o.name == "forbid" for s in o.specs)
        on_trace = set(draft.trace)
        for cell in draft.cells:
            if cell == draft.start or cell in draft.items or cell in draft.forbidden or cell in draft.missing:
                continue
            if cell in on_trace:
                item = palette.item(unlike=targets + forbids)
            else:
                item = None
                if forbids and self.rng.random() < 0.6:  # a forbidden item next to the path
                    item = palette.item(self.rng.choice(forbids), targets, reuse=False)
                if item is None:
                    item = palette.item(unlike=targets)
            if item is None:
                return False
            self.put(cell, item)
        return True

    def _count(self, kind: str) -> int:
        """Strawberries come in counts 1-4; every other item counts 1 (§2.4)."""
        return self.rng.choices((1, 2, 3, 4), weights=(2, 3, 3, 3))[0] if kind == "strawberry" else 1

    def concat(self) -> Built | None:
        """2-4 (mostly 3) items on trace cells visited once, to be collected in trace order."""
        rng = self.rng
        once = [c for c in self.trace_cells() if self.draft.trace.count(c) == 1]
        k = rng.choices((3, 2, 4), weights=(85, 8, 7))[0]
        if len(once) < k:
            return None
        chosen = sorted(rng.sample(once[:-1], k - 1), key=self.draft.trace.index) + [once[-1]]
        specs: list[Spec] = []
        if (self.palette is None or not self.palette.combos) and rng.random() < 0.7:
            word = rng.choice(WORDS) if k == 3 and rng.random() < 0.7 else "".join(rng.sample(LETTERS, k))
            items = [Item(0, 0, letter, "black", 1) for letter in word]
            specs = [((letter,),) for letter in word]
            sentence = "Collect the letters " + ", ".join(word) + " in this order"
        else:
            items = []
            for _ in range(50):
                if len(items) == k:
                    break
                item = self.new_item() if self.palette is None else self.palette.item(unlike=tuple(specs))
                if item is None:
                    return None
                spec = self.target_spec(item)
                if not any(matches(s, item) for s in specs) and not any(matches(spec, i) for i in items):
                    items.append(item)
                    specs.append(spec)
            if len(items) < k:
                return None
            sentence = "Collect " + ", then ".join(noun(s) for s in specs)
        for cell, item in zip(chosen, items, strict=True):
            self.put(cell, item)
        self.distractors(specs, None, on_trace=False)
        return [objective("concat", specs)], sentence
