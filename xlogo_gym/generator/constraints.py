"""Code constraints derived from the kept program, and how the task's description states them.

Only the real kinds are made (§12): `at_most.all`, `exactly` on fd/bk/lt/rt/all (0 meaning
"don't use"), and `start_by` prefixes of fd/bk/lt/rt of length 1-3. The kept program always
satisfies them, and `at_most` is only used on programs already folded into loops.

"Don't use" sets (`DONT_USE`) are chosen before the program is final: `avoid` mirrors the
program (see `programs.mirror`) so that it uses none of the banned commands.
"""

from __future__ import annotations

import random

from xlogo_gym.generator.programs import mirror
from xlogo_gym.program import Program
from xlogo_gym.task import CodeConstraint

#: "Don't use" sets of exactly-0 constraints and their weights: mostly fd, or fd and a turn, as in the
#: real "draw without fd" tasks that force bk and the other turn (§12.1).
DONT_USE = {("fd",): 3, ("fd", "rt"): 2, ("fd", "lt"): 2, ("bk",): 1, ("lt",): 1, ("rt",): 1}
_DONT_USE_SETS = list(DONT_USE)
_DONT_USE_CUM = [sum(list(DONT_USE.values())[:i + 1]) for i in range(len(DONT_USE))]

_WORD = {"fd": "forward", "bk": "backward", "lt": "left-turn", "rt": "right-turn"}
_DONT = {"fd": "without moving forward", "bk": "without moving backward",
         "lt": "without turning left", "rt": "without turning right"}


def choose_banned(rng: random.Random) -> tuple[str, ...]:
    """A random "don't use" set of DONT_USE."""
    return rng.choices(_DONT_USE_SETS, cum_weights=_DONT_USE_CUM)[0]


def avoid(program: Program, direction: int, banned: tuple[str, ...]) -> tuple[Program, int] | None:
    """The exact image of (program, start direction) that uses no command of `banned`, or None if none does
    (a program that uses both fd and bk cannot drop either, nor one with both turns a turn)."""
    counts = program.block_counts
    moves = turns = False
    for block in banned:
        other = {"fd": "bk", "bk": "fd", "lt": "rt", "rt": "lt"}[block]
        if counts[block] and counts[other]:
            return None
        if counts[block]:
            if block in ("fd", "bk"):
                moves = True
            else:
                turns = True
    image = mirror(program, direction, moves, turns) if moves or turns else (program, direction)
    return image if not any(image[0].block_counts[b] for b in banned) else None


def derive(rng: random.Random, kind: str, program: Program, combine: bool, banned: tuple[str, ...] = (),
           ) -> tuple[CodeConstraint, str, str]:
    """(constraint, phrase that ends the goal sentence, extra sentence); an empty constraint if `kind`
    cannot be stated for this program. `combine` adds a start_by to an at_most or exactly. `banned`: an
    "exactly" constraint says "don't use" these commands (count 0 each; the program must avoid them)."""
    at_most: tuple[tuple[str, int], ...] = ()
    exactly: tuple[tuple[str, int], ...] = ()
    phrase = ""
    if kind == "at_most" and len(program) >= 2:
        n = len(program) + (1 if rng.random() < 0.15 else 0)
        at_most, phrase = (("all", n),), f" with at most {n} commands"
    elif kind == "exactly" and banned:
        exactly = tuple((b, 0) for b in banned)
        phrase = " " + " and ".join(_DONT[b] for b in banned)
    elif kind == "exactly":
        exactly, phrase = _exactly(rng, program)
    start = _start_by(rng, program) if kind == "start_by" or (combine and (at_most or exactly)) else ()
    sentence = f" Start with {', '.join(start)}." if start else ""
    return CodeConstraint(at_most, exactly, start), phrase, sentence


def constraint_kind(constraint: CodeConstraint) -> str:
    """"none", or the kinds a constraint object uses joined by "+" (e.g. "at_most+start_by")."""
    kinds = [k for k, v in (("at_most", constraint.at_most), ("exactly", constraint.exactly),
                            ("start_by", constraint.start_by)) if v]
    return "+".join(kinds) or "none"


def _exactly(rng: random.Random, program: Program) -> tuple[tuple[tuple[str, int], ...], str]:
    counts = program.block_counts
    r = rng.random()
    unused = [b for b in ("lt", "rt", "bk", "fd") if counts[b] == 0]
    used = [b for b in ("fd", "rt", "lt", "bk") if counts[b] > 0]
    if r < 0.4 and unused:
        # "don't use" the turn the program avoids, when it turns the other way, else any unused one
        other = [b for b in unused if b in ("lt", "rt") and counts["lt" if b == "rt" else "rt"] > 0]
        block = rng.choice(other or unused)
        return ((block, 0),), " " + _DONT[block]
    if r < 0.8 and used:
        block = rng.choice(used)
        n = counts[block]
        return ((block, n),), f" with exactly {n} {_WORD[block]} command{'s' if n != 1 else ''}"
    n = len(program)
    return (("all", n),), f" with exactly {n} command{'s' if n != 1 else ''}"


def _start_by(rng: random.Random, program: Program) -> tuple[str, ...]:
    top = program.top_level_types
    length = rng.choices((1, 3, 2), weights=(55, 35, 10))[0]
    prefix = tuple(top[:length])
    if len(prefix) < length or any(t not in _WORD for t in prefix):
        return ()
    return prefix
