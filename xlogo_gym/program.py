"""Programs: the AST, the plain-text form (SEMANTICS.md §2.9) and the code JSON form (§2.8)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Union

from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import parse_json, read_text
from xlogo_gym.world import PEN_COLORS

MOVES_AND_TURNS = ("fd", "bk", "lt", "rt")
BLOCK_TYPES = (*MOVES_AND_TURNS, "setpc", "repeat")
MAX_REPEAT = 12
#: Deeper nesting is rejected so that no input can exhaust Python's recursion.
MAX_DEPTH = 100
#: Action limit (§4.3): the 100 001st action crashes.
MAX_ACTIONS = 100_000

#: Opcodes of the flattened action sequence the emulator runs.
OP_FD, OP_BK, OP_LT, OP_RT = 0, 1, 2, 3
OP_SETPC = 4  # OP_SETPC + index in PEN_COLORS


@dataclass(frozen=True)
class Command:
    """`fd`, `bk`, `lt`, `rt` or `setpc(color)` (color None: JSON null, the default black pen)."""

    kind: str
    color: str | None = None

    def __str__(self) -> str:
        return f"setpc({self.color or 'black'})" if self.kind == "setpc" else self.kind


@dataclass(frozen=True)
class Repeat:
    times: int
    body: tuple[Statement, ...] = ()


Statement = Union[Command, Repeat]  # noqa: UP007 (a runtime alias; `|` needs Python 3.10 classes)


@dataclass(frozen=True)
class Program:
    """A program: a sequence of statements. Immutable; derived views are cached."""

    body: tuple[Statement, ...] = ()

    # -- text form -------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> Program:
        """Parse the plain-text form. Whitespace is free, so `repeat(2){fd rt}` also parses."""
        if not isinstance(text, str):
            raise XLogoError(f"program text must be a string, got {type(text).__name__}")
        stack: list[tuple[int, list[Statement], int]] = []  # (times, outer body, offset of the repeat)
        body: list[Statement] = []
        for match in _TOKEN.finditer(text):
            kind, value = match.lastgroup, match.group()
            if kind == "space":
                continue
            if kind == "cmd":
                body.append(Command(value))
            elif kind == "setpc":
                color = match.group("color")
                if color not in PEN_COLORS:
                    raise XLogoError(f"unknown pen colour {color!r} (expected one of {', '.join(PEN_COLORS)})",
                                     _position(text, match.start()))
                body.append(Command("setpc", color))
            elif kind == "repeat":
                times = int(match.group("times"))
                if not 1 <= times <= MAX_REPEAT:
                    raise XLogoError(f"repeat count {times} is outside 1..{MAX_REPEAT}", _position(text, match.start()))
                if len(stack) >= MAX_DEPTH:
                    raise XLogoError(f"repeats nested deeper than {MAX_DEPTH}", _position(text, match.start()))
                stack.append((times, body, match.start()))
                body = []
            elif kind == "close":
                if not stack:
                    raise XLogoError("'}' without an open repeat", _position(text, match.start()))
                times, outer, _ = stack.pop()
                outer.append(Repeat(times, tuple(body)))
                body = outer
            else:
                raise XLogoError(f"unexpected text {value[:20]!r}", _position(text, match.start()))
        if stack:
            raise XLogoError("repeat is never closed with '}'", _position(text, stack[-1][2]))
        return cls(tuple(body))

    def __str__(self) -> str:
        lines: list[str] = []

        def emit(stmts: tuple[Statement, ...], depth: int) -> None:
            pad = "  " * depth
            for s in stmts:
                if isinstance(s, Repeat):
                    lines.append(f"{pad}repeat({s.times}){{")
                    emit(s.body, depth + 1)
                    lines.append(f"{pad}}}")
                else:
                    lines.append(pad + str(s))

        emit(self.body, 0)
        return "".join(line + "\n" for line in lines)

    # -- code JSON form --------------------------------------------------------------------
    @classmethod
    def from_json(cls, obj: Any, where: str = "code") -> Program:
        if not isinstance(obj, dict) or set(obj) != {"run"}:
            raise XLogoError('code must be an object with the single key "run"', where)
        return cls(_statements_from_json(obj["run"], f"{where}.run", 0))

    def to_json(self) -> dict[str, Any]:
        return {"run": [_statement_to_json(s) for s in self.body]}

    # -- files and records -----------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str) -> Program:
        """A program file: code JSON if it holds a JSON object, else the plain-text form."""
        text = read_text(path)
        stripped = text.strip()
        if stripped.startswith("{"):
            return cls.from_json(parse_json(stripped, path), where=path)
        try:
            return cls.parse(text)
        except XLogoError as err:
            raise XLogoError(str(err), path) from None

    @classmethod
    def from_record(cls, record: dict[str, Any], where: str = "record") -> Program | None:
        """The program of a JSONL record (a suite line, a dataset record, a conformance case), or None.

        Read from `program`: `{"text", "json"}` (the JSON form wins) or text; else from `code`
        (JSON form) or `code_text`. None when there is none (`"program": null` in a suite line).
        """
        program = record.get("program")
        if isinstance(program, dict):
            if "json" in program:
                return cls.from_json(program["json"], f"{where}.program.json")
            program = program.get("text")
            if not isinstance(program, str):
                raise XLogoError('a program object is {"text", "json"}', f"{where}.program")
        if program is not None and not isinstance(program, str):
            raise XLogoError("'program' must be program text, {\"text\", \"json\"} or null", f"{where}.program")
        if program is None and "code" in record:
            return cls.from_json(record["code"], f"{where}.code")
        if program is None:
            program, where = record.get("code_text"), f"{where}.code_text"
        else:
            where = f"{where}.program"
        if program is None:
            return None
        if not isinstance(program, str):
            raise XLogoError("must be program text", where)
        try:
            return cls.parse(program)
        except XLogoError as err:
            raise XLogoError(str(err), where) from None

    # -- derived views ---------------------------------------------------------------------
    @cached_property
    def block_counts(self) -> dict[str, int]:
        """Blocks per type over the program text (§7.1), plus `all`, the total node count."""
        counts = dict.fromkeys(BLOCK_TYPES, 0)
        todo = list(self.body)
        while todo:
            s = todo.pop()
            if isinstance(s, Repeat):
                counts["repeat"] += 1
                todo.extend(s.body)
            else:
                counts[s.kind] += 1
        counts["all"] = sum(counts.values())
        return counts

    @cached_property
    def ops(self) -> tuple[int, ...]:
        """The executed action sequence as opcodes, cut after MAX_ACTIONS + 1 actions."""
        out: list[int] = []
        _flatten(self.body, out, MAX_ACTIONS)
        return tuple(out)

    @property
    def top_level_types(self) -> list[str]:
        return ["repeat" if isinstance(s, Repeat) else s.kind for s in self.body]

    def __len__(self) -> int:
        """Number of blocks (the `all` count of §7.1)."""
        return self.block_counts["all"]

    def depth(self) -> int:
        """Deepest repeat nesting (0 for a program without loops)."""
        def d(stmts: tuple[Statement, ...]) -> int:
            return max((1 + d(s.body) for s in stmts if isinstance(s, Repeat)), default=0)
        return d(self.body)


_TOKEN = re.compile(
    r"(?P<space>[\s;,]+)"
    r"|(?P<repeat>repeat\s*\(\s*(?P<times>[0-9]{1,6})\s*\)\s*\{)"
    r"|(?P<setpc>setpc\s*\(\s*(?P<color>[A-Za-z]*)\s*\))"
    r"|(?P<cmd>fd|bk|lt|rt)\b"
    r"|(?P<close>\})"
    r"|(?P<bad>\S+)"
)

def _position(text: str, offset: int) -> str:
    """'line L, column C' of a character offset (computed only for an error, so parsing stays linear)."""
    line_start = text.rfind("\n", 0, offset) + 1
    return f"line {text.count(chr(10), 0, offset) + 1}, column {offset - line_start + 1}"


_OPCODE = {"fd": OP_FD, "bk": OP_BK, "lt": OP_LT, "rt": OP_RT}


def _flatten(stmts: tuple[Statement, ...], out: list[int], budget: int) -> bool:
    """Append the opcodes of `stmts` to `out`; stop (return False) once `out` exceeds `budget`."""
    for s in stmts:
        if isinstance(s, Repeat):
            start = len(out)
            if not _flatten(s.body, out, budget):
                return False
            chunk = out[start:]
            if not chunk:
                continue
            for _ in range(s.times - 1):
                if len(out) + len(chunk) > budget:
                    out.extend(chunk[: budget - len(out) + 1])
                    return False
                out.extend(chunk)
        else:
            out.append(_OPCODE[s.kind] if s.kind != "setpc" else OP_SETPC + PEN_COLORS.index(s.color or "black"))
            if len(out) > budget:
                return False
    return True


def _statements_from_json(obj: Any, where: str, depth: int) -> tuple[Statement, ...]:
    if not isinstance(obj, list):
        raise XLogoError(f"expected a list of statements, got {type(obj).__name__}", where)
    if depth > MAX_DEPTH:
        raise XLogoError(f"repeats nested deeper than {MAX_DEPTH}", where)
    return tuple(_statement_from_json(s, f"{where}[{i}]", depth) for i, s in enumerate(obj))


def _statement_from_json(obj: Any, where: str, depth: int) -> Statement:
    if not isinstance(obj, dict):
        raise XLogoError(f"a statement must be an object, got {type(obj).__name__}", where)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise XLogoError(f"a statement's 'type' must be one of {', '.join(BLOCK_TYPES)}, got {kind!r}", where)
    expected_keys = {"fd": {"type"}, "bk": {"type"}, "lt": {"type"}, "rt": {"type"},
                     "setpc": {"type", "value"}, "repeat": {"type", "times", "body"}}.get(kind)  # type: ignore[arg-type]
    if expected_keys is None:
        raise XLogoError(f"unknown statement type {kind!r} (expected one of {', '.join(BLOCK_TYPES)})", where)
    if set(obj) != expected_keys:
        raise XLogoError(f"a {kind} statement has exactly the keys {sorted(expected_keys)}, got {sorted(obj)}", where)
    if kind == "setpc":
        color = obj["value"]
        if color is not None and color not in PEN_COLORS:
            raise XLogoError(f"unknown pen colour {color!r} (expected one of {', '.join(PEN_COLORS)})", where)
        return Command("setpc", color)
    if kind == "repeat":
        times = obj["times"]
        if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= MAX_REPEAT:
            raise XLogoError(f"repeat 'times' must be an integer in 1..{MAX_REPEAT}, got {times!r}", where)
        return Repeat(times, _statements_from_json(obj["body"], f"{where}.body", depth + 1))
    return Command(str(kind))


def _statement_to_json(s: Statement) -> dict[str, Any]:
    if isinstance(s, Repeat):
        return {"type": "repeat", "times": s.times, "body": [_statement_to_json(b) for b in s.body]}
    if s.kind == "setpc":
        return {"type": "setpc", "value": s.color}
    return {"type": s.kind}
