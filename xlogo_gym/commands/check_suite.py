"""`xlogo-gym check-suite DIRECTORY`: run every reference solution of a reference-format directory."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.emulator import execute
from xlogo_gym.suite import load_reference_suite


@dataclass
class CheckSuiteOptions:
    """Run every reference solution of a directory holding the four public xlogomini_*.json files and print a
    table; the exit status is 0 when all succeed."""

    directory: str = field(metadata={POSITIONAL: True})
    """directory with xlogomini_{worlds,goals,constraints,codes}.json"""
    strict: bool = False
    """strict semantics instead of the reference quirks"""


def check_suite(options: CheckSuiteOptions) -> int:
    entries = load_reference_suite(options.directory)
    rows, solved, checked = [], 0, 0
    for entry in entries:
        if entry.program is None:
            rows.append((entry.task_id, "-", "-", "no reference program"))
            continue
        v = execute(entry.task, entry.program, strict=options.strict)
        checked += 1
        solved += v.success
        failing = "" if v.success else ("crash" if v.crashed else ", ".join(v.failed_objectives + v.failed_constraints))
        rows.append((entry.task_id, "yes" if v.success else "no", v.crash_reason or "", failing))
    width = max((len(r[0]) for r in rows), default=4)
    print(f"{'id':<{width}}  success  crash reason      failing part")
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:<7}  {r[2]:<16}  {r[3]}")
    print(f"total: {solved}/{checked} reference programs succeed ({len(entries)} tasks loaded)")
    return 0 if solved == checked else 1
