"""Token-level program writing: the action vocabulary and grammar masks.

Shared by the Gym env, the random agent and the policy's decoder, so that every writer of
programs token by token obeys the same rules. A partial program is always *completable*:

* `}` closes the innermost open loop, and only one whose body is not empty;
* `<end>` is legal only with no loop open;
* `repeat(N)` opens a loop only below `max_depth`;
* every token leaves room, within `max_tokens` (all tokens, `<end>` included), to close the
  open loops and end, so every reachable state has at least one legal action.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from xlogo_gym.errors import XLogoError
from xlogo_gym.program import MAX_REPEAT, Command, Program, Repeat, Statement
from xlogo_gym.world import PEN_COLORS

REPEAT_COUNTS = tuple(range(2, MAX_REPEAT + 1))
ACTIONS: tuple[str, ...] = ("fd", "bk", "lt", "rt", *(f"setpc({c})" for c in PEN_COLORS),
                            *(f"repeat({n})" for n in REPEAT_COUNTS), "}", "<end>")
N_ACTIONS = len(ACTIONS)
ACTION_INDEX = {name: i for i, name in enumerate(ACTIONS)}
SETPC_FIRST = ACTION_INDEX["setpc(black)"]
REPEAT_FIRST = ACTION_INDEX["repeat(2)"]
CLOSE = ACTION_INDEX["}"]
END = ACTION_INDEX["<end>"]
COMMAND_ACTIONS = range(0, REPEAT_FIRST)  # fd, bk, lt, rt, setpc(*)
REPEAT_ACTIONS = range(REPEAT_FIRST, CLOSE)

DEFAULT_MAX_TOKENS = 40
DEFAULT_MAX_DEPTH = 3


def _mask(commands: bool, repeats: bool, close: bool, end: bool) -> np.ndarray:
    mask = np.zeros(N_ACTIONS, dtype=bool)
    mask[:REPEAT_FIRST] = commands
    mask[REPEAT_FIRST:CLOSE] = repeats
    mask[CLOSE] = close
    mask[END] = end
    mask.flags.writeable = False
    return mask


#: The 16 possible masks, indexed by (commands, repeats, close, end); shared and read-only.
_MASKS = {(a, b, c, d): _mask(a, b, c, d) for a in (False, True) for b in (False, True)
          for c in (False, True) for d in (False, True)}


class ProgramWriter:
    """Builds a program token by token under the grammar; `mask()` lists the legal next tokens."""

    __slots__ = ("max_tokens", "max_depth", "tokens", "_stack", "_body", "done")

    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        if max_tokens < 1 or max_depth < 0:
            raise XLogoError(f"need max_tokens >= 1 and max_depth >= 0, got {max_tokens} and {max_depth}")
        self.max_tokens, self.max_depth = max_tokens, max_depth
        self.tokens: list[int] = []
        self._stack: list[tuple[int, list[Statement]]] = []  # (repeat count, enclosing body)
        self._body: list[Statement] = []
        self.done = False

    @property
    def depth(self) -> int:
        return len(self._stack)

    def mask_key(self) -> tuple[bool, bool, bool, bool]:
        """Which token groups are legal: (commands, repeat(N), `}`, `<end>`)."""
        if self.done:
            return (False, False, False, False)
        depth = len(self._stack)
        left = self.max_tokens - len(self.tokens)  # tokens still allowed, <end> included
        body_empty = depth > 0 and not self._body
        # after a command: `depth` closes and <end> remain to be written
        commands = left - 1 >= depth + 1
        # after repeat(N): one body statement, depth + 1 closes and <end>
        repeats = depth < self.max_depth and left - 1 >= depth + 3
        close = depth > 0 and not body_empty
        return (commands, repeats, close, depth == 0)

    def mask(self) -> np.ndarray:
        """Boolean array over ACTIONS (read-only, shared between writers)."""
        return _MASKS[self.mask_key()]

    def write(self, action: int) -> None:
        """Append one token; an illegal token raises XLogoError naming it."""
        if not 0 <= action < N_ACTIONS:
            raise XLogoError(f"action {action!r} is outside 0..{N_ACTIONS - 1}")
        if not self.mask()[action]:
            raise XLogoError(f"token {ACTIONS[action]!r} is not legal after {self.text()!r}")
        self.tokens.append(action)
        if action == END:
            self.done = True
        elif action == CLOSE:
            times, outer = self._stack.pop()
            outer.append(Repeat(times, tuple(self._body)))
            self._body = outer
        elif action >= REPEAT_FIRST:
            self._stack.append((REPEAT_COUNTS[action - REPEAT_FIRST], self._body))
            self._body = []
        elif action >= SETPC_FIRST:
            self._body.append(Command("setpc", PEN_COLORS[action - SETPC_FIRST]))
        else:
            self._body.append(Command(ACTIONS[action]))

    def program(self) -> Program:
        """The program written so far, with open loops closed."""
        body = self._body
        for times, outer in reversed(self._stack):
            body = [*outer, Repeat(times, tuple(body))]
        return Program(tuple(body))

    def text(self) -> str:
        return " ".join(ACTIONS[t] for t in self.tokens)


def program_to_actions(program: Program) -> list[int]:
    """The token sequence that writes `program`, ending with `<end>`.

    Raises XLogoError for what the vocabulary cannot write: `repeat(1)` and empty loop bodies.
    """
    out: list[int] = []

    def emit(stmts: Iterable[Statement]) -> None:
        for s in stmts:
            if isinstance(s, Repeat):
                if s.times < 2 or not s.body:
                    raise XLogoError(f"repeat({s.times}) with {len(s.body)} statements has no token form")
                out.append(REPEAT_FIRST + s.times - 2)
                emit(s.body)
                out.append(CLOSE)
            elif s.kind == "setpc":
                out.append(SETPC_FIRST + PEN_COLORS.index(s.color or "black"))
            else:
                out.append(ACTION_INDEX[s.kind])

    emit(program.body)
    out.append(END)
    return out


def actions_to_program(actions: Iterable[int], max_tokens: int = 10**6, max_depth: int = 10**3) -> Program:
    """Write `actions` with a ProgramWriter (checking the grammar) and return the program."""
    writer = ProgramWriter(max_tokens, max_depth)
    for a in actions:
        writer.write(int(a))
    return writer.program()
