"""Token-level program writing: the action vocabulary and grammar masks.

Shared by the Gym env, the random agent and the policy's decoder, so that every writer of
programs token by token obeys the same rules. A partial program is always *completable*:

* `}` closes the innermost open loop, and only one whose body is not empty;
* `<end>` is legal only with no loop open;
* `repeat(N)` opens a loop only below `max_depth`;
* every token leaves room, within `max_tokens` (all tokens, `<end>` included), to close the
  open loops and end, so every reachable state has at least one legal action.

`ConstrainedWriter` also keeps the program completable under a task's code constraints
(at_most, exactly, start_by), by an exact memoised search over an abstract writer state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from xlogo_gym.errors import XLogoError
from xlogo_gym.program import MAX_REPEAT, Command, Program, Repeat, Statement
from xlogo_gym.task import CodeConstraint
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

    def illegal_reason(self, action: int) -> str | None:
        """None if `action` is legal now, else why not: `done`, `syntax` (a `}` without an open
        loop or closing an empty body, `<end>` inside a loop), `depth` (nesting limit), `length`
        (no room left within `max_tokens`) or `constraint` (ConstrainedWriter only)."""
        if self.mask()[action]:
            return None
        if self.done:
            return "done"
        depth = len(self._stack)
        if action == END:
            grammatical = depth == 0
        elif action == CLOSE:
            grammatical = depth > 0 and bool(self._body)
        elif action >= REPEAT_FIRST and depth >= self.max_depth:
            return "depth"
        else:
            grammatical = True
        if not grammatical:
            return "syntax"
        return "constraint" if _MASKS[ProgramWriter.mask_key(self)][action] else "length"


#: Token groups the constraint search distinguishes (all setpc colours, all repeat counts alike).
GROUPS = ("fd", "bk", "lt", "rt", "setpc", "repeat", "}", "<end>")
_G_SETPC, _G_REPEAT, _G_CLOSE, _G_END = 4, 5, 6, 7
GROUP_OF = tuple(a if a < SETPC_FIRST else _G_SETPC if a < REPEAT_FIRST else _G_REPEAT if a < CLOSE
                 else _G_CLOSE if a == CLOSE else _G_END for a in range(N_ACTIONS))
_ACCEPT = "accept"
#: Abstract writer state: (tokens left, depth, innermost body empty, top-level statements written
#: (capped at the start_by length), counts of the constrained blocks).
_State = tuple[int, int, bool, int, tuple[int, ...]]


class ConstraintPlan:
    """Which token groups keep a partial program completable under code constraints.

    The constraints are those `emulator.constraint_failures` checks: `at_most` bounds,
    `exactly` bounds (in reference mode a block type absent from the program is not checked,
    except `all`) and a `start_by` prefix of top-level statement types. `feasible(state)`
    answers exactly, by a depth-first search memoised per abstract state; plans are shared
    between writers through `constraint_plan`.
    """

    def __init__(self, constraints: tuple[CodeConstraint, ...], strict: bool, max_tokens: int,
                 max_depth: int) -> None:
        self.max_depth = max_depth
        hi: dict[str, int] = {}
        exact: dict[str, set[int]] = {}
        start: dict[int, set[str]] = {}
        for c in constraints:
            for block, n in (*c.at_most, *c.exactly):
                hi[block] = min(hi.get(block, n), n)
            for block, n in c.exactly:
                exact.setdefault(block, set()).add(n)
            for i, t in enumerate(c.start_by):
                start.setdefault(i, set()).add(t)
        self.blocks = tuple(hi)
        self.hi = tuple(hi[b] for b in self.blocks)
        self.exact = tuple(frozenset(exact.get(b, ())) for b in self.blocks)
        self.zero_ok = tuple(not strict and b != "all" for b in self.blocks)
        # a start_by position two constraint objects disagree on can never be met (None)
        self.start = tuple(next(iter(ts)) if len(ts) == 1 else None for _, ts in sorted(start.items()))
        self.initial: _State = (max_tokens, 0, False, 0, (0,) * len(self.blocks))
        self._feasible: dict[_State, bool] = {}
        self._masks: dict[_State, np.ndarray] = {}
        self._groups: dict[_State, tuple[bool, ...]] = {}
        self.satisfiable = self.feasible(self.initial)

    def _accepts(self, counts: tuple[int, ...], top: int) -> bool:
        if top < len(self.start):
            return False
        for n, exact, zero_ok in zip(counts, self.exact, self.zero_ok, strict=True):
            if exact and not (n == 0 and zero_ok) and exact != {n}:
                return False
        return True

    def advance(self, state: _State, group: int) -> _State | str | None:
        """The state after writing a token of `group`; `_ACCEPT` after a valid `<end>`; None if illegal."""
        left, depth, empty, top, counts = state
        if left < 1:
            return None
        if group == _G_END:
            return _ACCEPT if depth == 0 and self._accepts(counts, top) else None
        if group == _G_CLOSE:
            return (left - 1, depth - 1, False, top, counts) if depth > 0 and not empty else None
        if group == _G_REPEAT and depth >= self.max_depth:
            return None
        block = GROUPS[group]
        if depth == 0 and top < len(self.start):
            if self.start[top] != block:
                return None
            top += 1
        if self.blocks:
            new = []
            for b, n, hi in zip(self.blocks, counts, self.hi, strict=True):
                if b == block or b == "all":
                    n += 1
                    if n > hi:
                        return None
                new.append(n)
            counts = tuple(new)
        if group == _G_REPEAT:
            return (left - 1, depth + 1, True, top, counts)
        return (left - 1, depth, False, top, counts)

    def feasible(self, state: _State) -> bool:
        """Whether some token sequence completes `state` into a program meeting the constraints."""
        memo = self._feasible
        if state in memo:
            return memo[state]
        # iterative depth-first search: (state, next group to try)
        stack: list[list] = [[state, 0]]
        while stack:
            frame = stack[-1]
            here, group = frame
            result = None
            while group < len(GROUPS):
                nxt = self.advance(here, group)
                group += 1
                if nxt is None:
                    continue
                if isinstance(nxt, str) or memo.get(nxt):  # accepted, or known to be completable
                    result = True
                    break
                if nxt not in memo:
                    frame[1] = group - 1  # come back to this group once `nxt` is decided
                    stack.append([nxt, 0])
                    break
            else:
                result = False
            if result is not None:
                memo[here] = result
                stack.pop()
        return memo[state]

    def groups(self, state: _State) -> tuple[bool, ...]:
        """Per group of GROUPS: whether a token of it keeps the program completable."""
        found = self._groups.get(state)
        if found is None:
            found = tuple(nxt is _ACCEPT or (nxt is not None and self.feasible(nxt))  # type: ignore[arg-type]
                          for nxt in (self.advance(state, g) for g in range(len(GROUPS))))
            self._groups[state] = found
        return found

    def mask(self, state: _State) -> np.ndarray:
        """Boolean array over ACTIONS (read-only, cached per state)."""
        mask = self._masks.get(state)
        if mask is None:
            groups = self.groups(state)
            mask = np.array([groups[g] for g in GROUP_OF], dtype=bool)
            mask.flags.writeable = False
            self._masks[state] = mask
        return mask


@lru_cache(maxsize=1024)
def constraint_plan(constraints: tuple[CodeConstraint, ...], strict: bool, max_tokens: int,
                    max_depth: int) -> ConstraintPlan:
    """A shared, memoised plan for these constraints and limits."""
    return ConstraintPlan(constraints, strict, max_tokens, max_depth)


class ConstrainedWriter(ProgramWriter):
    """A ProgramWriter whose masks also keep the task's code constraints satisfiable.

    `constraints` are the objects that must all hold: `(task.constraints.effective,)` for the
    reference semantics, `task.constraints.entries` with `strict=True`. If they cannot be met
    within `max_tokens` and `max_depth` at all, `enforced` is False and the writer masks by the
    grammar alone (every reachable state still has a legal action). `mask_key()` is then the
    base 4-tuple, else one flag per group of GROUPS.
    """

    __slots__ = ("plan", "_state")

    def __init__(self, constraints: Sequence[CodeConstraint], strict: bool = False,
                 max_tokens: int = DEFAULT_MAX_TOKENS, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        super().__init__(max_tokens, max_depth)
        self.plan = constraint_plan(tuple(constraints), strict, max_tokens, max_depth)
        self._state: _State = self.plan.initial

    @property
    def enforced(self) -> bool:
        return self.plan.satisfiable

    def mask_key(self) -> tuple[bool, ...]:  # type: ignore[override]
        if not self.plan.satisfiable:
            return super().mask_key()
        if self.done:
            return (False,) * len(GROUPS)
        return self.plan.groups(self._state)

    def mask(self) -> np.ndarray:
        if not self.plan.satisfiable:
            return super().mask()
        if self.done:
            return _MASKS[(False, False, False, False)]
        return self.plan.mask(self._state)

    def write(self, action: int) -> None:
        super().write(action)
        if self.plan.satisfiable and not self.done:
            self._state = self.plan.advance(self._state, GROUP_OF[action])  # type: ignore[assignment]


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
