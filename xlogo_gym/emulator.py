"""The emulator and the verdict (SEMANTICS.md §3-§8), with an optional strict mode.

A task is compiled once into flat tables (moves, segments, item matches) so that one verdict
costs a few microseconds. Reference semantics are the default; `strict=True` fixes the
reference quirks a user would call bugs:

| rule                         | reference (default)                          | strict=True                        |
|------------------------------|----------------------------------------------|------------------------------------|
| walls (§2.3)                 | tested only when leaving the listing tile     | block from both sides              |
| several objectives (§6.5)    | grouping rule: later targets replace earlier  | every objective must hold          |
| draw plus item goals (§6.1)  | only the picture counts                       | picture and every item objective   |
| constraint lists (§2.7)      | two or more objects constrain nothing         | every object is enforced           |
| `exactly` (§7.2)             | types absent from the program are unchecked   | checked: absent means a count of 0 |

In both modes a `start_by` longer than the program fails the constraint (§10).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from xlogo_gym.program import MAX_ACTIONS, OP_BK, OP_FD, OP_LT, OP_RT, OP_SETPC, Program
from xlogo_gym.task import CodeConstraint, Objective, Spec, Task
from xlogo_gym.world import CATALOGUE, EMPTY_WORDS, ITEM_COLORS, LETTERS, PEN_COLORS, SIDES, STEPS

WALL, OUT_OF_WORLD, FORBIDDEN_AREA, GRID_NOT_EXIST, EXCEED_MAX_CALLS = (
    "WALL", "OUT_OF_WORLD", "FORBIDDEN_AREA", "GRID_NOT_EXIST", "EXCEED_MAX_CALLS")
_CRASH_CODES = (WALL, OUT_OF_WORLD, FORBIDDEN_AREA, GRID_NOT_EXIST)  # move-table code -1 - index
_CHECKED_TYPES = ("fd", "bk", "lt", "rt", "setpc", "repeat")
#: One item check: (kind, objective) with kind find, forbid, misfit, collectall, sum or concat.
Check = tuple[str, Objective]


class CompiledTask:
    """Flat tables for one task: moves per (cell, heading), segment ids, item matches, goal plan."""

    def __init__(self, task: Task) -> None:
        world = task.world
        self.task = task
        self.cols, self.rows = cols, rows = world.cols, world.rows
        self.start = world.turtle.y * cols + world.turtle.x
        self.direction = world.turtle.direction
        tiles = {(t.x, t.y): t for t in world.tiles}
        self.moves = [self._move_table(tiles, strict) for strict in (False, True)]
        self.segments = [self.segment_id(c, c + (1 if d % 2 else cols) * (1 if d in (1, 2) else -1))
                         for c in range(cols * rows) for d in range(4)]
        self.items = {it.y * cols + it.x: it for it in world.items}
        self.is_draw = any(o.name == "draw" for o in task.goal)
        self.catalogue_ok = all(it.in_catalogue() for it in world.items)
        self.target_picture: dict[int, int] = {}
        for line in world.lines:
            color = PEN_COLORS.index(line.pen_color) if line.pen_color else -1
            for a, b in line.segments():
                self.target_picture[self.segment_id(a[1] * cols + a[0], b[1] * cols + b[0])] = color
        self._matches: dict[Spec, frozenset[int]] = {}
        self.plan = self._reference_plan(task.goal)

    def _move_table(self, tiles: dict[tuple[int, int], Any], strict: bool) -> list[int]:
        table = []
        for y in range(self.rows):
            for x in range(self.cols):
                here = tiles.get((x, y))
                for d, (dx, dy) in enumerate(STEPS):
                    tx, ty = x + dx, y + dy
                    target = tiles.get((tx, ty))
                    if (here is not None and here.has_wall(SIDES[d])) or (
                            strict and target is not None and target.has_wall(SIDES[(d + 2) % 4])):
                        table.append(-1)
                    elif not (0 <= tx < self.cols and 0 <= ty < self.rows):
                        table.append(-2)
                    elif target is None or not target.allowed:
                        table.append(-3)
                    elif target.exist is False:
                        table.append(-4)
                    else:
                        table.append(ty * self.cols + tx)
        return table

    @staticmethod
    def segment_id(a: int, b: int) -> int:
        """An undirected unit segment between neighbouring cells a and b."""
        lo, hi = (a, b) if a < b else (b, a)
        return lo * 2 + (0 if hi == lo + 1 else 1)

    def cell_xy(self, cell: int) -> tuple[int, int]:
        return cell % self.cols, cell // self.cols

    def matches(self, spec: Spec) -> frozenset[int]:
        """Cells of the bounding box whose item (or emptiness) matches the CNF spec (§6.2)."""
        found = self._matches.get(spec)
        if found is None:
            found = frozenset(c for c in range(self.cols * self.rows)
                              if all(any(_holds(v, self.items.get(c)) for v in clause) for clause in spec))
            self._matches[spec] = found
        return found

    def misfits(self, spec: Spec) -> frozenset[int]:
        """Cells holding an item that fails the (single-clause) findonly spec."""
        return frozenset(self.items) - self.matches(spec)

    def _reference_plan(self, goal: tuple[Objective, ...]) -> tuple[Check | None, list[Check]]:
        """The grouping rule of §6.5: (target check or None, forbid checks)."""
        order: list[str] = []
        for o in goal:
            if o.name not in order:
                order.append(o.name)
        target: Check | None = None
        forbids: list[Check] = []
        for name in order:
            for o in goal:
                if o.name != name:
                    continue
                if name == "forbid":
                    forbids.append(("forbid", o))
                elif name == "findonly":
                    target, forbids = ("find", o), [("misfit", o)]
                elif name != "draw":
                    target = (name, o)
        return target, forbids

    def check(self, kind: str, objective: Objective, trace: list[int], visited: set[int]) -> bool:
        """One item check: find, forbid, misfit (findonly's complement), collectall, sum or concat."""
        if kind == "concat":
            first = []
            for spec in objective.specs:
                m = self.matches(spec)
                hits = [j for j, c in enumerate(trace) if c in m]
                if len(hits) != 1:
                    return False
                first.append(hits[0])
            return all(a < b or a == b == 0 for a, b in zip(first, first[1:], strict=False))
        if kind == "misfit":
            return visited.isdisjoint(self.misfits(objective.specs[0]))
        m = self.matches(objective.specs[0])
        if kind == "find":
            return not visited.isdisjoint(m)
        if kind == "forbid":
            return visited.isdisjoint(m)
        if kind == "collectall":
            return bool(m) and m <= visited
        if kind == "sum":
            return sum(self.items[c].count for c in visited & m if c in self.items) == objective.total_cnt
        raise AssertionError(kind)

    def left(self, kind: str, objective: Objective, visited: set[int]) -> int:
        """What an item objective still needs after visiting `visited` (see `Progress.left`)."""
        if kind == "concat":
            return sum(1 for spec in objective.specs if visited.isdisjoint(self.matches(spec)))
        m = self.matches(objective.specs[0])
        if kind == "find":
            return int(visited.isdisjoint(m))
        if kind == "collectall":
            return len(m - visited)
        if kind == "sum":
            return (objective.total_cnt or 0) - sum(self.items[c].count for c in visited & m if c in self.items)
        raise AssertionError(kind)

    def objective_ok(self, objective: Objective, trace: list[int], visited: set[int], picture: dict[int, int]) -> bool:
        """Whether one objective holds on its own (used by strict mode and for explanations)."""
        if objective.name == "draw":
            return picture == self.target_picture
        if not self.catalogue_ok:
            return False
        if objective.name == "findonly":
            return self.check("find", objective, trace, visited) and self.check("misfit", objective, trace, visited)
        return self.check(objective.name, objective, trace, visited)

    def goal_ok(self, trace: list[int], picture: dict[int, int], strict: bool) -> bool:
        if strict:
            visited = set(trace)
            return all(self.objective_ok(o, trace, visited, picture) for o in self.task.goal)
        if self.is_draw:
            return picture == self.target_picture
        if not self.catalogue_ok:
            return False
        visited = set(trace)
        target, forbids = self.plan
        if target is not None and not self.check(target[0], target[1], trace, visited):
            return False
        return all(self.check(kind, o, trace, visited) for kind, o in forbids)


_COMPILED = "_compiled"  # where compile_task keeps a task's tables


def compile_task(task: Task) -> CompiledTask:
    """The flat tables of `task`, built on first use and kept with the task object."""
    compiled = task.__dict__.get(_COMPILED)
    if compiled is None:
        compiled = task.__dict__[_COMPILED] = CompiledTask(task)
    return compiled


def _holds(value: str, item: Any) -> bool:
    if item is None:
        return value in ("noname", "nocolor")
    return item.name == value or item.color == value


class _Break(NamedTuple):
    """One broken rule of a constraint object: `kind` exactly or at_most, with the `block` type,
    the program's count `n` and the `bound`; or `kind` start_by, with the program's first top-level
    types `top` and the required ones `want`."""

    kind: str
    block: str = ""
    n: int = 0
    bound: int = 0
    top: tuple[str, ...] = ()
    want: tuple[str, ...] = ()


def _constraint_breaks(constraint: CodeConstraint, program: Program, strict: bool) -> list[_Break]:
    """The rules of one constraint object (§7) that `program` breaks; [] if it holds."""
    counts = program.block_counts
    exactly, at_most = dict(constraint.exactly), dict(constraint.at_most)
    breaks: list[_Break] = []
    for block in (*_CHECKED_TYPES, "all"):
        n = counts[block]
        if n == 0 and block != "all" and not strict:
            continue  # reference quirk: types absent from the program are never checked
        if block in exactly and n != exactly[block]:
            breaks.append(_Break("exactly", block, n, exactly[block]))
        elif block in at_most and n > at_most[block]:
            breaks.append(_Break("at_most", block, n, at_most[block]))
    if breaks or not constraint.start_by:
        return breaks
    top = program.top_level_types
    want = list(constraint.start_by)
    if len(top) < len(want) or top[: len(want)] != want:
        breaks.append(_Break("start_by", top=tuple(top[: len(want)]), want=tuple(want)))
    return breaks


def constraint_failures(constraint: CodeConstraint, program: Program, strict: bool = False) -> list[str]:
    """Why `program` breaks one constraint object (§7), as stable keyed strings such as
    `at_most.all: program has 3, at most 2 allowed`; [] if it holds (`Verdict.reasons` says it in words)."""
    out = []
    for b in _constraint_breaks(constraint, program, strict):
        if b.kind == "start_by":
            out.append(f"start_by: program starts with {list(b.top)}, must start with {list(b.want)}")
        elif b.kind == "exactly":
            out.append(f"exactly.{b.block}: program has {b.n}, needs exactly {b.bound}")
        else:
            out.append(f"at_most.{b.block}: program has {b.n}, at most {b.bound} allowed")
    return out


# -- verdicts in words: the one place that says why a program failed ----------------------------
def _plural(noun: str) -> str:
    if noun.startswith("letter "):
        return "letters " + noun[7:]
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x")) else "s")


def _noun(spec: Spec, n: int = 1) -> str:
    """What a cell matching a CNF spec holds, without an article: `strawberry`, `red circles`,
    `empty cell`, `item that is red or blue` (plural unless `n` is 1)."""
    values = [c[0] for c in spec if len(c) == 1]
    if values and len(values) == len(spec):
        if all(v in EMPTY_WORDS for v in values):
            return "empty cell" if n == 1 else "empty cells"
        colors = [v for v in values if v in ITEM_COLORS]
        names = [f"letter {v}" if v in LETTERS else v for v in values if v not in ITEM_COLORS and v not in EMPTY_WORDS]
        if len(names) <= 1 and len(colors) + len(names) == len(values):
            base = names[0] if names else "item"
            return " ".join([*colors, base if n == 1 else _plural(base)])
    clauses = " and ".join(" or ".join(f"letter {v}" if v in LETTERS else v for v in c) for c in spec)
    return ("item that is " if n == 1 else "items that are ") + (clauses or "anything")


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _cells(cells: list[tuple[int, int]]) -> str:
    shown = [f"({x},{y})" for x, y in cells]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _item_noun(item: Any) -> str:
    """An item of the world in words: `lemon`, `letter B`, `blue circle` (the colour only when the
    catalogue allows several)."""
    name = f"letter {item.name}" if item.name in LETTERS else item.name
    colors = CATALOGUE.get(item.name, (frozenset(),))[0]
    return name if len(colors) == 1 and item.color in colors else f"{item.color or ''} {name}".strip()


def _one(c: CompiledTask, spec: Spec, m: frozenset[int]) -> str:
    """`the lemon` when one cell matches (named by its item), else `a lemon`."""
    if len(m) == 1:
        item = c.items.get(next(iter(m)))
        return "the " + (_noun(spec) if item is None else _item_noun(item))
    return _a(_noun(spec))


def _objective_reason(c: CompiledTask, o: Objective, trace: list[int], visited: set[int],
                      picture: dict[int, int]) -> str:
    """Why one objective fails on its own, with the figures of the run."""
    if o.name == "draw":
        target = c.target_picture
        right = sum(1 for seg, color in target.items() if picture.get(seg) == color)
        recoloured = sum(1 for seg, color in target.items() if seg in picture and picture[seg] != color)
        extra = sum(1 for seg in picture if seg not in target)
        words = f"drew {right} of {len(target)} line{'' if len(target) == 1 else 's'}"
        if recoloured:
            words += f", {recoloured} in the wrong colour"
        if extra:
            words += f", and {extra} line{' that is' if extra == 1 else 's that are'} not in the drawing"
        return words
    if o.name == "concat":
        for spec in o.specs:
            m = c.matches(spec)
            hits = [j for j, cell in enumerate(trace) if cell in m]
            noun = _one(c, spec, m)
            if not hits:
                return f"did not visit {noun}" + ("" if m else ": there is none")
            if len(hits) > 1:
                return f"visited {noun} {len(hits)} times, exactly once needed"
        order = ", then ".join(_a(_noun(spec)) for spec in o.specs)
        return f"visited the items out of order: needed {order}"
    spec = o.specs[0]
    m = c.matches(spec)
    if o.name in ("find", "findonly"):
        if visited.isdisjoint(m):
            if not m:
                return f"did not find {_a(_noun(spec))}: there is none"
            return f"did not find {_one(c, spec, m)}"
        bad = sorted(visited & c.misfits(spec))
        item = c.items[bad[0]]
        return (f"also visited {_a(_item_noun(item))} at {_cells([c.cell_xy(bad[0])])}, "
                f"though only {_noun(spec, 2)} were allowed")
    if o.name == "forbid":
        hit = sorted(visited & m)
        if len(hit) == 1:
            held = c.items.get(hit[0])
            what = _noun(spec) if held is None else _item_noun(held)
            return f"touched the forbidden {what} at {_cells([c.cell_xy(hit[0])])}"
        return f"touched {len(hit)} forbidden {_noun(spec, 2)}, at {_cells([c.cell_xy(x) for x in hit])}"
    if o.name == "collectall":
        if not m:
            return f"there is no {_noun(spec)} to collect"
        got = len(m & visited)
        if len(m) == 1:
            return f"did not collect the {_noun(spec)}"
        return f"collected {got} of {len(m)} {_noun(spec, 2)}"
    if o.name == "sum":
        got = sum(c.items[x].count for x in visited & m if x in c.items)
        need = o.total_cnt or 0
        return f"collected {got} {_noun(spec, got)}, needed {'' if got < need else 'exactly '}{need}"
    raise AssertionError(o.name)


def _break_reason(b: _Break) -> str:
    """One broken constraint rule in words."""
    if b.kind == "start_by":
        return f"must start with {', '.join(b.want)}, " + (
            f"but starts with {', '.join(b.top)}" if b.top else "but the program is empty")
    kind, block, n, bound = b.kind, b.block, b.n, b.bound
    if block == "all":
        what = f"used {n} command{'' if n == 1 else 's'}"
    elif bound == 0:
        return f"used {block}, which is not allowed"
    else:
        what = f"used {n} {block} command{'' if n == 1 else 's'}" if n else f"used no {block} command"
    if kind == "exactly":
        return f"{what}, exactly {bound} needed"
    return f"{what}, " + (f"at most {bound} allowed" if bound else "none allowed")


def _crash_reason(c: CompiledTask, reason: str | None, cell: tuple[int, int] | None, step: int | None) -> str:
    """The crash in words, from where the turtle went: a missing cell is called missing (the
    reference reports it as FORBIDDEN_AREA)."""
    if cell is None:
        what = f"ran more than {MAX_ACTIONS} actions" if reason == EXCEED_MAX_CALLS else str(reason)
    else:
        x, y = cell
        world = c.task.world
        inside = 0 <= x < world.cols and 0 <= y < world.rows
        tile = world.tile_at(x, y) if inside else None
        if reason == WALL:
            what = f"hit a wall moving to ({x},{y})"
        elif not inside:
            what = f"left the grid at ({x},{y})"
        elif tile is None or tile.exist is False:
            what = f"moved into the missing cell ({x},{y})"
        elif not tile.allowed:
            what = f"entered the forbidden cell ({x},{y})"
        else:
            what = f"{reason} at ({x},{y})"
    return f"crashed: {what} at action {step}"


class Verdict:
    """The emulator's verdict with everything a person or a learner wants to see.

    `success`, `crashed`, `goal_ok`, `constraints_ok`, `crash_reason`
    (WALL, OUT_OF_WORLD, FORBIDDEN_AREA, GRID_NOT_EXIST, EXCEED_MAX_CALLS or None),
    `crash_cell` (the (x, y) the turtle tried to enter), `crash_step` (index of the
    crashing action). Derived on demand: `trace` (cells visited, start first), `picture`
    (segment -> pen colour), `failed_objectives` and `failed_constraints` (stable keyed
    strings for programs: `goal[0] find`, `at_most.all: program has 6, at most 5 allowed`),
    and `reasons` and `explain()`, the same in sentences for people.
    """

    __slots__ = ("success", "crashed", "goal_ok", "constraints_ok", "crash_reason", "crash_cell",
                 "crash_step", "strict", "program", "_compiled", "_trace", "_picture")

    def __init__(self, compiled: CompiledTask, program: Program, strict: bool, trace: list[int],
                 picture: dict[int, int], crash_reason: str | None = None,
                 crash_cell: tuple[int, int] | None = None, crash_step: int | None = None,
                 goal_ok: bool | None = None, constraints_ok: bool | None = None) -> None:
        self._compiled, self.program, self.strict = compiled, program, strict
        self._trace, self._picture = trace, picture
        self.crash_reason, self.crash_cell, self.crash_step = crash_reason, crash_cell, crash_step
        self.crashed = crash_reason is not None
        self.goal_ok, self.constraints_ok = goal_ok, constraints_ok
        self.success = bool(goal_ok and constraints_ok)

    @property
    def trace(self) -> list[tuple[int, int]]:
        return [self._compiled.cell_xy(c) for c in self._trace]

    @property
    def picture(self) -> dict[tuple[tuple[int, int], tuple[int, int]], str]:
        """Drawn segments {((x, y), (x', y')): pen colour}, cells in ascending order."""
        cols = self._compiled.cols
        out = {}
        for seg, color in self._picture.items():
            lo = seg // 2
            hi = lo + (cols if seg % 2 else 1)
            out[(self._compiled.cell_xy(lo), self._compiled.cell_xy(hi))] = PEN_COLORS[color]
        return out

    @property
    def failed_objectives(self) -> list[str]:
        """Objectives that do not hold on their own (empty if crashed or the goal holds)."""
        if self.crashed or self.goal_ok:
            return []
        c = self._compiled
        visited = set(self._trace)
        failed = [f"goal[{i}] {o.name}" for i, o in enumerate(c.task.goal)
                  if not c.objective_ok(o, self._trace, visited, self._picture)]
        if not c.catalogue_ok and not c.is_draw:
            failed.insert(0, "an item breaks the item catalogue, so every item goal fails")
        return failed or ["goal (objectives interact through the reference grouping rule)"]

    @property
    def failed_constraints(self) -> list[str]:
        if self.crashed or self.constraints_ok:
            return []
        constraints = self._compiled.task.constraints
        entries = constraints.entries if self.strict else (constraints.effective,)
        return [f for e in entries for f in constraint_failures(e, self.program, self.strict)]

    @property
    def reasons(self) -> list[str]:
        """Why the program failed, one sentence each, with the run's figures ([] on success):
        `crashed: hit a wall moving to (2,1) at action 3`, `did not find the strawberry`,
        `collected 3 strawberries, needed 5`, `drew 4 of 6 lines`, `touched the forbidden lemon at
        (1,2)`, `used 6 commands, at most 5 allowed`, `used fd, which is not allowed`, `must start
        with fd, lt, but starts with rt`. Objectives and constraints are listed as in
        `failed_objectives` and `failed_constraints`."""
        c = self._compiled
        if self.success:
            return []
        if self.crashed:
            return [_crash_reason(c, self.crash_reason, self.crash_cell, self.crash_step)]
        out = []
        if not self.goal_ok:
            visited = set(self._trace)
            if not c.catalogue_ok and not c.is_draw:
                out.append("an item breaks the item catalogue, so every item goal fails")
            else:
                out += [_objective_reason(c, o, self._trace, visited, self._picture) for o in c.task.goal
                        if not c.objective_ok(o, self._trace, visited, self._picture)]
            if not out:
                out.append("the goal is not met: its objectives interact through the reference grouping rule")
        if not self.constraints_ok:
            constraints = c.task.constraints
            entries = constraints.entries if self.strict else (constraints.effective,)
            out += [_break_reason(b) for e in entries for b in _constraint_breaks(e, self.program, self.strict)]
        return out

    def explain(self) -> str:
        """One line saying why the program failed (`reasons` joined by '; '), or 'success'."""
        return "; ".join(self.reasons) or "success"

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON, in the reference's keys (SEMANTICS.md §1): `constraints_ok` is written `cons_ok`."""
        return {"success": self.success, "crashed": self.crashed, "goal_ok": self.goal_ok,
                "cons_ok": self.constraints_ok, "crash_reason": self.crash_reason,
                "crash_cell": list(self.crash_cell) if self.crash_cell else None, "crash_step": self.crash_step,
                "failed_objectives": self.failed_objectives, "failed_constraints": self.failed_constraints}

    def __repr__(self) -> str:
        return (f"Verdict(success={self.success}, crashed={self.crashed}, goal_ok={self.goal_ok}, "
                f"constraints_ok={self.constraints_ok}, crash_reason={self.crash_reason!r})")


class Run(NamedTuple):
    """What the turtle did: cells visited (start first), drawn picture (segment id -> pen index),
    the crash (reason, step, target cell) or None, the heading it ended with, and, when asked
    for, its state (cell, heading, pen index) before the first action and after each executed one."""

    trace: list[int]
    picture: dict[int, int]
    crash: tuple[str, int, tuple[int, int] | None] | None
    heading: int
    states: list[tuple[int, int, int]] | None = None


def run(compiled: CompiledTask, program: Program, strict: bool = False, record: bool = False) -> Run:
    """Run the turtle, the one stepping routine of the project (the verdict, `progress`, rendering
    and the policy's inputs all use it). A crash leaves the turtle where it stood before the failing
    move; at most MAX_ACTIONS actions run. `record` also keeps the state after every action."""
    moves, segments = compiled.moves[strict], compiled.segments
    pos, d, pen = compiled.start, compiled.direction, 0
    trace = [pos]
    picture: dict[int, int] = {}
    states = [(pos, d, pen)] if record else None
    ops = program.ops
    over_limit = len(ops) > MAX_ACTIONS
    if over_limit:
        ops = ops[:MAX_ACTIONS]
    for step, op in enumerate(ops):
        if op <= OP_BK:
            k = pos * 4 + (d if op == OP_FD else (d + 2) & 3)
            target = moves[k]
            if target < 0:
                x, y = compiled.cell_xy(pos)
                dx, dy = STEPS[k & 3]
                return Run(trace, picture, (_CRASH_CODES[-1 - target], step, (x + dx, y + dy)), d, states)
            picture[segments[k]] = pen
            trace.append(target)
            pos = target
        elif op == OP_LT:
            d = (d + 3) & 3
        elif op == OP_RT:
            d = (d + 1) & 3
        else:
            pen = op - OP_SETPC
        if states is not None:
            states.append((pos, d, pen))
    if over_limit:
        return Run(trace, picture, (EXCEED_MAX_CALLS, MAX_ACTIONS, None), d, states)
    return Run(trace, picture, None, d, states)


def execute(task: Task, program: Program | str, strict: bool = False) -> Verdict:
    """Run `program` on `task` and judge it: crash, goal (§6), constraints (§7), success (§8)."""
    if isinstance(program, str):
        program = Program.parse(program)
    compiled = compile_task(task)
    trace, picture, crash, _, _ = run(compiled, program, strict)
    if crash is not None:
        reason, step, cell = crash
        return Verdict(compiled, program, strict, trace, picture, reason, cell, step)
    goal_ok = compiled.goal_ok(trace, picture, strict)
    entries = task.constraints.entries if strict else (task.constraints.effective,)
    constraints_ok = not any(_constraint_breaks(e, program, strict) for e in entries)
    return Verdict(compiled, program, strict, trace, picture, goal_ok=goal_ok, constraints_ok=constraints_ok)


class Progress(NamedTuple):
    """How far a (partial) program gets on a task, under reference semantics.

    `cell` (y * cols + x) and `heading`: where the turtle ends; `crashed`; `goal_ok`: the goal
    holds now (never after a crash); `left`: what remains to do (draw: target segments not yet
    drawn in their colour; sum: the total still to collect, negative when over it; collectall:
    matching items not yet collected; concat: specs not yet collected; find: 1 until found);
    `wrong`: something the program cannot undo happened (a forbidden or misfit item visited, a
    segment drawn off the picture or in another colour).
    """

    cell: int
    heading: int
    crashed: bool
    goal_ok: bool
    left: int
    wrong: bool


def progress(task: Task, program: Program) -> Progress:
    """The execution state of `program` on `task`: what a learner sees while it writes a program."""
    compiled = compile_task(task)
    trace, picture, crash, heading, _ = run(compiled, program)
    if compiled.is_draw:
        target = compiled.target_picture
        left = sum(1 for seg, color in target.items() if picture.get(seg) != color)
        wrong = any(target.get(seg) != color for seg, color in picture.items())
        goal_ok = not left and not wrong
    else:
        visited = set(trace)
        aim, forbids = compiled.plan
        left = 0 if aim is None else compiled.left(aim[0], aim[1], visited)
        wrong = not all(compiled.check(kind, o, trace, visited) for kind, o in forbids)
        goal_ok = compiled.goal_ok(trace, picture, False)
    return Progress(trace[-1], heading, crash is not None, goal_ok and crash is None, left, wrong)
