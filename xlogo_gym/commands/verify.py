"""`xlogo-gym verify TASK PROGRAM`: run a program on a task and print the emulator's verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.emulator import execute
from xlogo_gym.program import Program
from xlogo_gym.task import Task


@dataclass
class VerifyOptions:
    """Run a program on a task and print the verdict; the exit status is 0 on success, 1 otherwise."""

    task: str = field(metadata={POSITIONAL: True})
    """task JSON file (world keys + goal + constraints)"""
    program: str = field(metadata={POSITIONAL: True})
    """program file: plain text, or code JSON ({"run": [...]})"""
    strict: bool = False
    """strict semantics instead of the reference quirks"""
    json: bool = False
    """print the verdict as JSON"""


def verify(options: VerifyOptions) -> int:
    verdict = execute(Task.from_file(options.task), Program.from_file(options.program), strict=options.strict)
    if options.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        crash = f" crash_reason={verdict.crash_reason}" if verdict.crashed else ""
        print(f"success={verdict.success} crashed={verdict.crashed}{crash} goal_ok={verdict.goal_ok} "
              f"cons_ok={verdict.constraints_ok}")
        print(verdict.explain())  # in sentences: "did not find the strawberry", "crashed: left the grid ..."
    return 0 if verdict.success else 1
