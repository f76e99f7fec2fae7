"""Skill tags of the XLogoMiniProg benchmark, inferred from a task and its reference program."""

from __future__ import annotations

from xlogo_gym.program import Program
from xlogo_gym.task import Task

LOGIC, MATH, DRAW = "Logic", "Math", "Draw"
BASIC_ACTIONS, LOOPS, VARIABLES, LOOPS_VARIABLES = "Basic Actions", "Loops", "Variables", "Loops+Variables"
CODE_CONSTRAINTS = "Code Constraints"
SKILLS = (BASIC_ACTIONS, LOOPS, VARIABLES, LOOPS_VARIABLES, LOGIC, MATH, DRAW, CODE_CONSTRAINTS)

_LOGIC_GOALS = {"forbid", "findonly", "collectall", "concat"}


def infer_skills(task: Task, program: Program | None) -> list[str]:
    """Tags in SKILLS order: the goal's kind (Logic, Math, Draw), the program's concepts, constraints.

    A program tags Loops (uses repeat), Variables (uses setpc, the pen colour), both
    (Loops+Variables) or neither (Basic Actions). Logic marks goals combining or restricting
    items (forbid, findonly, collectall, concat); Math marks sum goals.
    """
    tags = set()
    names = set(task.goal_names)
    if "draw" in names:
        tags.add(DRAW)
    elif "sum" in names:
        tags.add(MATH)
    if names & _LOGIC_GOALS and "draw" not in names:
        tags.add(LOGIC)
    if program is not None:
        loops, pen = program.block_counts["repeat"] > 0, program.block_counts["setpc"] > 0
        tags.add(LOOPS_VARIABLES if loops and pen else LOOPS if loops else VARIABLES if pen else BASIC_ACTIONS)
    if not task.constraints.effective.is_empty():
        tags.add(CODE_CONSTRAINTS)
    return [s for s in SKILLS if s in tags]
