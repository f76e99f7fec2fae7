"""Programs from free-form model replies: `extract_program` finds the program in a chat reply.

It reads fenced code blocks first, then runs of command lines and inline code spans in the
prose, and accepts the variants models write (`forward`, `turn left`, `repeat 3 [ fd ]`, ...);
what it returns always passes `Program.parse`.
"""

from __future__ import annotations

import re

from xlogo_gym.program import MAX_DEPTH, MAX_REPEAT, Command, Program, Repeat, Statement
from xlogo_gym.world import PEN_COLORS

_ALIASES = {
    **dict.fromkeys(("fd", "forward", "forwards", "fwd", "moveforward", "move_forward"), "fd"),
    **dict.fromkeys(("bk", "back", "backward", "backwards", "moveback", "movebackward", "move_backward"), "bk"),
    **dict.fromkeys(("lt", "left", "turnleft", "turn_left"), "lt"),
    **dict.fromkeys(("rt", "right", "turnright", "turn_right"), "rt"),
    **dict.fromkeys(("setpc", "setpencolor", "setpencolour", "set_pen_color", "set_pen_colour", "pencolor",
                     "pencolour"), "setpc"),
    "repeat": "repeat",
}
#: Words that may surround commands without changing them ("turn left", "repeat 3 times [...]").
_FILLER = frozenset({"move", "turn", "go", "step", "times", "then", "and"})
_TOKEN = re.compile(r"(?P<word>[a-z_]+)|(?P<num>\d+)|(?P<open>[{\[])|(?P<close>[}\]])|(?P<lp>\()|(?P<rp>\))"
                    r"|(?P<skip>[\s;,.:'\"-]+)|(?P<bad>.)")
_COMMENT = re.compile(r"(#|//).*")
_THINK = re.compile(r"<think>.*?</think>", re.S)
_FENCE = re.compile(r"(`{3,}|~{3,})(.*?)(?:\1|\Z)", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+>•]|\d+[.)])\s+")


def extract_program(reply: str) -> str | None:
    """The program in a free-form model reply, in the reference text form, or None.

    Looks, in this order, at fenced code blocks (any language tag; the last block that holds a
    program wins), then at loose candidates in the prose: runs of lines made only of commands
    ("Answer: fd fd rt", list items) and inline code spans. Of those it takes the last one with
    two or more blocks, else the last one. Reasoning inside <think>...</think> is skipped.
    Accepts variants: any case, `forward`/`back`/`left`/`right`, `turn left`, `fd()`/`fd 1`/`rt 90`,
    `setpc red`/`setpc("red")`/`setpencolor red`, `repeat 3 [ fd ]`/`repeat(3) { fd; rt }`/
    `repeat 3 times [...]`, `#` and `//` comments. The result always passes `Program.parse`.
    """
    text = _THINK.sub("", reply)
    for block in reversed([m.group(2) for m in _FENCE.finditer(text)]):
        body = _statements(block)
        if body is None and "\n" in block:  # the first line was a language tag
            body = _statements(block.split("\n", 1)[1])
        if body:
            return str(Program(body))
    loose: list[tuple[int, tuple[Statement, ...]]] = []  # (position in the reply, program)
    for start, run in _command_runs(text):
        body = _statements(run)
        if body:
            loose.append((start, body))
    for m in _INLINE.finditer(text):
        body = _statements(m.group(1))
        if body:
            loose.append((m.start(), body))
    if not loose:
        return None
    loose.sort(key=lambda c: c[0])
    longer = [body for _, body in loose if len(Program(body)) > 1]
    return str(Program(longer[-1] if longer else loose[-1][1]))


def _command_runs(text: str) -> list[tuple[int, str]]:
    """Runs of consecutive lines that hold only commands (blank lines do not end a run)."""
    runs: list[tuple[int, str]] = []
    current: list[str] = []
    start = offset = 0
    for line in text.splitlines(keepends=True):
        command = _command_line(line)
        if command is not None:
            if not current:
                start = offset
            current.append(command)
        elif line.strip() and current:
            runs.append((start, "\n".join(current)))
            current = []
        offset += len(line)
    if current:
        runs.append((start, "\n".join(current)))
    return runs


def _command_line(line: str) -> str | None:
    """The commands of a line made only of commands, maybe after a list marker or a 'label:'."""
    line = _LIST_MARKER.sub("", _COMMENT.sub("", line)).strip()
    for part in (line.rpartition(":")[2], line) if ":" in line else (line,):
        tokens = _tokens(part)
        if tokens and any(kind != "word" or value not in _FILLER for kind, value in tokens):
            return part
    return None


def _tokens(text: str) -> list[tuple[str, str]] | None:
    """Tokens of command text, or None if it holds anything that is not part of a program."""
    out = []
    for m in _TOKEN.finditer(_COMMENT.sub("", text.lower())):
        kind, value = m.lastgroup or "bad", m.group()
        if kind == "bad" or (kind == "word" and value not in _ALIASES and value not in _FILLER
                             and value not in PEN_COLORS):
            return None
        if kind != "skip":
            out.append((kind, value))
    return out


def _statements(text: str) -> tuple[Statement, ...] | None:
    """Parse command text in any accepted variant; None unless all of it is a program."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    pos = 0

    def peek(*kinds: str) -> bool:
        return pos < len(tokens) and tokens[pos][0] in kinds

    def take_number() -> int | None:
        """A number, maybe in parentheses: `3`, `(3)`."""
        nonlocal pos
        paren = peek("lp")
        pos += paren
        if not peek("num"):
            return None
        value = int(tokens[pos][1])
        pos += 1
        if paren:
            if not peek("rp"):
                return None
            pos += 1
        return value

    def block(depth: int) -> list[Statement] | None:
        nonlocal pos
        body: list[Statement] = []
        while pos < len(tokens):
            kind, value = tokens[pos]
            if kind == "close":
                return body if depth > 0 else None
            pos += 1
            word = _ALIASES.get(value) if kind == "word" else None
            if kind == "word" and value in _FILLER:
                continue
            if word in ("fd", "bk", "lt", "rt"):
                if peek("lp") and pos + 1 < len(tokens) and tokens[pos + 1][0] == "rp":
                    pos += 2  # fd()
                elif peek("lp", "num"):
                    arg = take_number()
                    if arg != 1 and not (word in ("lt", "rt") and arg == 90):
                        return None  # a distance or angle the language cannot express
                body.append(Command(word))
            elif word == "setpc":
                closer = {"lp": "rp", "open": "close"}.get(tokens[pos][0]) if pos < len(tokens) else None
                pos += closer is not None
                if not peek("word") or tokens[pos][1] not in PEN_COLORS:
                    return None
                body.append(Command("setpc", tokens[pos][1]))
                pos += 1
                if closer:
                    if not peek(closer):
                        return None
                    pos += 1
            elif word == "repeat":
                times = take_number()
                while peek("word") and tokens[pos][1] in _FILLER:
                    pos += 1
                if times is None or not 1 <= times <= MAX_REPEAT or not peek("open") or depth >= MAX_DEPTH:
                    return None
                pos += 1
                inner = block(depth + 1)
                if inner is None or not peek("close"):
                    return None
                pos += 1
                body.append(Repeat(times, tuple(inner)))
            else:
                return None
        return body if depth == 0 else None

    body = block(0)
    return tuple(body) if body else None
