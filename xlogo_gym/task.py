"""Tasks: a world plus a goal (§2.6) and code constraints (§2.7), read from and written to the public JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import read_json
from xlogo_gym.world import EMPTY_WORDS, ITEM_COLORS, ITEM_NAMES, World, _dict, _list

OBJECTIVES = ("find", "findonly", "forbid", "collectall", "sum", "concat", "draw")
LITERAL_VALUES = frozenset(ITEM_NAMES) | frozenset(ITEM_COLORS) | frozenset(EMPTY_WORDS)
CONSTRAINT_BLOCKS = ("fd", "bk", "lt", "rt", "setpc", "repeat", "all")
START_TYPES = ("fd", "bk", "lt", "rt", "setpc", "repeat")

#: A spec in conjunctive normal form: all clauses hold, each clause by one of its literal values.
Spec = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Objective:
    """One goal objective. `specs` are CNF literal values; draw objectives keep their raw specs."""

    name: str
    specs: tuple[Spec, ...] = ()
    total_cnt: int | None = None
    raw_specs: Any = None  # draw only: the line literals, ignored by the verdict (§6.1)
    literal_keys: tuple[tuple[tuple[str, ...], ...], ...] = ()  # "name"/"color" per literal, for round trips

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Objective:
        obj = _dict(obj, where)
        name = obj.get("name")
        if name not in OBJECTIVES:
            raise XLogoError(f"unknown objective {name!r} (expected one of {', '.join(OBJECTIVES)})", where)
        specs = _list(obj.get("specs"), f"{where}.specs")
        if name == "concat" and len(specs) < 2:
            raise XLogoError(f"concat needs two or more specs, got {len(specs)}", f"{where}.specs")
        if name != "concat" and len(specs) != 1:
            raise XLogoError(f"{name} needs exactly one spec, got {len(specs)}", f"{where}.specs")
        total = obj.get("total_cnt")
        if name == "sum":
            if not isinstance(total, int) or isinstance(total, bool) or total < 0:
                raise XLogoError(f"sum needs a non-negative integer 'total_cnt', got {total!r}", where)
        elif total is not None:
            raise XLogoError(f"'total_cnt' is only allowed on sum, not on {name}", where)
        if name == "draw":
            return cls(name, (), None, specs)
        parsed, keys = [], []
        for i, spec in enumerate(specs):
            values, spec_keys = _spec_from_json(spec, f"{where}.specs[{i}]")
            parsed.append(values)
            keys.append(spec_keys)
        if name == "findonly" and len(parsed[0]) != 1:
            raise XLogoError("a findonly spec must have exactly one clause", f"{where}.specs[0]")
        return cls(name, tuple(parsed), total, None, tuple(keys))

    def to_json(self) -> dict[str, Any]:
        if self.name == "draw":
            return {"name": "draw", "specs": self.raw_specs}
        specs = [[[{key: value, "neg": 0} for key, value in zip(ck, clause, strict=True)]
                  for ck, clause in zip(sk, spec, strict=True)]
                 for sk, spec in zip(self.literal_keys, self.specs, strict=True)]
        out: dict[str, Any] = {"name": self.name, "specs": specs}
        if self.name == "sum":
            out["total_cnt"] = self.total_cnt
        return out


def _spec_from_json(spec: Any, where: str) -> tuple[Spec, tuple[tuple[str, ...], ...]]:
    clauses, keys = [], []
    for c, clause in enumerate(_list(spec, where)):
        values, clause_keys = [], []
        for j, lit in enumerate(_list(clause, f"{where}[{c}]")):
            at = f"{where}[{c}][{j}]"
            lit = _dict(lit, at)
            neg = lit.get("neg", 0)
            if neg not in (0, False) or isinstance(neg, float):
                raise XLogoError(f"negated literals are not supported (neg={neg!r})", at)
            lit_keys = [k for k in lit if k != "neg"]
            if len(lit_keys) != 1 or lit_keys[0] not in ("name", "color"):
                raise XLogoError(f"a literal has exactly one key, 'name' or 'color', got {lit_keys}", at)
            value = lit[lit_keys[0]]
            if not isinstance(value, str) or value not in LITERAL_VALUES:
                raise XLogoError(f"unknown literal value {value!r} (an item name, item colour, noname or nocolor)", at)
            values.append(value)
            clause_keys.append(lit_keys[0])
        clauses.append(tuple(values))
        keys.append(tuple(clause_keys))
    return tuple(clauses), tuple(keys)


@dataclass(frozen=True)
class CodeConstraint:
    """One constraint object: at_most and exactly bounds per block type, and a start_by prefix."""

    at_most: tuple[tuple[str, int], ...] = ()
    exactly: tuple[tuple[str, int], ...] = ()
    start_by: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: Any, where: str) -> CodeConstraint:
        obj = _dict(obj, where)
        bounds = {}
        for kind in ("at_most", "exactly"):
            table = _dict(obj.get(kind, {}), f"{where}.{kind}")
            for block, n in table.items():
                if block not in CONSTRAINT_BLOCKS:
                    continue  # other keys are ignored (§2.7)
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    raise XLogoError(f"bound for {block!r} must be a non-negative integer, got {n!r}",
                                     f"{where}.{kind}")
            bounds[kind] = tuple((b, n) for b, n in table.items() if b in CONSTRAINT_BLOCKS)
        both = {b for b, _ in bounds["at_most"]} & {b for b, _ in bounds["exactly"]}
        if both:
            raise XLogoError(f"block {sorted(both)[0]!r} is bounded by both at_most and exactly", where)
        start = _list(obj.get("start_by", []), f"{where}.start_by")
        for i, t in enumerate(start):
            if t not in START_TYPES:
                raise XLogoError(f"unknown start_by type {t!r} (expected one of {', '.join(START_TYPES)})",
                                 f"{where}.start_by[{i}]")
        return cls(bounds["at_most"], bounds["exactly"], tuple(start))

    def is_empty(self) -> bool:
        return not (self.at_most or self.exactly or self.start_by)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.at_most:
            out["at_most"] = dict(self.at_most)
        if self.exactly:
            out["exactly"] = dict(self.exactly)
        if self.start_by:
            out["start_by"] = list(self.start_by)
        return out


@dataclass(frozen=True)
class Constraints:
    """The constraints as written: a bare object (`as_list=False`) or a list of objects."""

    entries: tuple[CodeConstraint, ...] = ()
    as_list: bool = True

    @classmethod
    def from_json(cls, obj: Any, where: str = "constraints") -> Constraints:
        if isinstance(obj, dict):
            return cls((CodeConstraint.from_json(obj, where),), as_list=False)
        entries = _list(obj, where) if obj is not None else None
        if entries is None:
            raise XLogoError("constraints must be an object or a list, not null", where)
        return cls(tuple(CodeConstraint.from_json(c, f"{where}[{i}]") for i, c in enumerate(entries)))

    @property
    def effective(self) -> CodeConstraint:
        """What the reference enforces (§2.7): a bare object, or a list's only element; else nothing."""
        return self.entries[0] if len(self.entries) == 1 else CodeConstraint()

    def to_json(self) -> Any:
        if not self.as_list:
            return self.entries[0].to_json()
        return [c.to_json() for c in self.entries]


@dataclass(frozen=True)
class Task:
    """A task: world, goal objectives and code constraints. `Task.from_json` validates everything."""

    world: World
    goal: tuple[Objective, ...] = ()
    constraints: Constraints = Constraints()
    id: str | None = None
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # other keys, kept for round trips

    @classmethod
    def from_json(cls, obj: Any, where: str = "task") -> Task:
        obj = _dict(obj, where)
        for key in ("goal", "constraints"):
            if key not in obj:
                raise XLogoError(f"missing field {key!r}", where)
        world = World.from_json(obj, where)
        if obj["goal"] is None:
            raise XLogoError("goal must be a list of objectives, not null", f"{where}.goal")
        goal_list = _list(obj["goal"], f"{where}.goal")
        goal = tuple(Objective.from_json(o, f"{where}.goal[{i}]") for i, o in enumerate(goal_list))
        constraints = Constraints.from_json(obj["constraints"], f"{where}.constraints")
        if not any(o.name == "draw" for o in goal):
            for i, item in enumerate(world.items):
                if item.color is None and item.name != "house":
                    raise XLogoError("an item without a colour cannot be used with an item goal", f"{where}.items[{i}]")
        extra = {k: v for k, v in obj.items() if k not in _TASK_KEYS}
        task_id, description = obj.get("id"), obj.get("description")
        if task_id is not None and (not isinstance(task_id, (str, int)) or isinstance(task_id, bool)):
            raise XLogoError(f"field 'id' must be a string, got {task_id!r}", where)
        return cls(world, goal, constraints, None if task_id is None else str(task_id), description, extra)

    @classmethod
    def from_file(cls, path: str) -> Task:
        obj = read_json(path)
        return cls.from_json(obj, where=path)

    def to_json(self) -> dict[str, Any]:
        out = self.world.to_json()
        out["goal"] = [o.to_json() for o in self.goal]
        out["constraints"] = self.constraints.to_json()
        if self.id is not None:
            out["id"] = self.id
        if self.description is not None:
            out["description"] = self.description
        out.update(self.extra)
        return out

    @property
    def goal_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.goal)


_TASK_KEYS = ("turtle", "tiles", "items", "lines", "goal", "constraints", "id", "description")
