"""Code constraints derived from the kept program, and how the task's description states them.

Only the real kinds are made (§12): `at_most.all`, `exactly` on fd/bk/lt/rt/all (0 meaning
"don't use"), and `start_by` prefixes of fd/bk/lt/rt of length 1-3. The kept program always
satisfies them, and `at_most` is only used on programs already folded into loops.
"""

from __future__ import annotations

import random

from xlogo_gym.program import Program
from xlogo_gym.task import CodeConstraint

_WORD = {"fd": "forward", "bk": "backward", "lt": "left-turn", "rt": "right-turn"}
_DONT = {"fd": "without moving forward", "bk": "without moving backward",
         "lt": "without turning left", "rt": "without turning right"}


def derive(rng: random.Random, kind: str, program: Program, combine: bool) -> tuple[CodeConstraint, str, str]:
    """(constraint, phrase that ends the goal sentence, extra sentence); an empty constraint if `kind`
    cannot be stated for this program. `combine` adds a start_by to an at_most or exactly."""
    at_most: tuple[tuple[str, int], ...] = ()
    exactly: tuple[tuple[str, int], ...] = ()
    phrase = ""
    if kind == "at_most" and len(program) >= 2:
        n = len(program) + (1 if rng.random() < 0.15 else 0)
        at_most, phrase = (("all", n),), f" with at most {n} commands"
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
