"""The search solver: verified solutions, shortest by block count, constraints, unsolvable tasks, time limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import conformance_cases

from agents.solver import SearchSolver, search, shortest_solution
from xlogo_gym.emulator import execute
from xlogo_gym.evaluation import AgentFailure
from xlogo_gym.program import Command, Program, Repeat, Statement
from xlogo_gym.suite import load_suite
from xlogo_gym.task import Task
from xlogo_gym.world import PEN_COLORS

RED, BLUE = "#D60000", "#0D47A1"


def make_task(cols: int, rows: int, turtle: tuple[int, int, int], goal: list[dict[str, Any]],
              constraints: Any = (), items: tuple[tuple[int, int, str, str, int], ...] = (),
              lines: tuple[tuple[int, int, int, int, str], ...] = ()) -> Task:
    """A task on a fully allowed cols x rows grid; turtle = (x, y, direction)."""
    x, y, d = turtle
    return Task.from_json({
        "turtle": {"x": x, "y": y, "direction": d},
        "tiles": [{"x": i, "y": j, "allowed": True, "walls": {}} for j in range(rows) for i in range(cols)],
        "items": [{"x": i, "y": j, "name": n, "color": c, "count": k} for i, j, n, c, k in items],
        "lines": [{"x1": a, "y1": b, "x2": c, "y2": e, "color": h} for a, b, c, e, h in lines],
        "goal": goal, "constraints": list(constraints) if not isinstance(constraints, dict) else constraints})


def spec(*values: str) -> list[list[dict[str, Any]]]:
    return [[{"name": v, "neg": 0}] for v in values]


FIND_STRAWBERRY = [{"name": "find", "specs": [spec("strawberry")]}]
DRAW = [{"name": "draw", "specs": [[]]}]


# -- a brute-force reference: every program up to a few blocks ---------------------------------
_COMMANDS = [Command(k) for k in ("fd", "bk", "lt", "rt")] + [Command("setpc", c) for c in PEN_COLORS]


def _sequences(blocks: int) -> Iterator[tuple[Statement, ...]]:
    if blocks == 0:
        yield ()
        return
    for first in range(1, blocks + 1):
        for stmt in _statements(first):
            for rest in _sequences(blocks - first):
                yield (stmt, *rest)


def _statements(blocks: int) -> Iterator[Statement]:
    if blocks == 1:
        yield from _COMMANDS
    for body in _sequences(blocks - 1) if blocks >= 2 else ():
        for times in range(2, 13):
            yield Repeat(times, body)


def brute_force_shortest(task: Task, max_blocks: int) -> Program | None:
    """The first successful program in order of block count (loop bodies non-empty), or None."""
    for blocks in range(max_blocks + 1):
        for body in _sequences(blocks):
            if execute(task, Program(body)).success:
                return Program(body)
    return None


# -- hand-made tasks ---------------------------------------------------------------------------

def test_at_most_forces_a_loop_and_the_loop_is_shortest_anyway() -> None:
    corridor = make_task(1, 7, (0, 6, 0), FIND_STRAWBERRY, [{"at_most": {"all": 2}}],
                         items=((0, 0, "strawberry", "red", 1),))
    result = search(corridor)
    assert result.optimal and str(result.program) == "repeat(6){\n  fd\n}\n"
    free = make_task(1, 7, (0, 6, 0), FIND_STRAWBERRY, items=((0, 0, "strawberry", "red", 1),))
    assert len(shortest_solution(free)) == 2  # type: ignore[arg-type]


def test_exactly_all_is_met_with_harmless_padding() -> None:
    task = make_task(3, 3, (1, 2, 0), FIND_STRAWBERRY, [{"exactly": {"all": 4}}],
                     items=((1, 1, "strawberry", "red", 1),))
    program = shortest_solution(task)
    assert program is not None and len(program) == 4 and execute(task, program).success
    assert program.body[0] == Command("fd")


@pytest.mark.parametrize("constraint, check", [
    ({"start_by": ["lt", "rt"]}, lambda p: p.top_level_types[:2] == ["lt", "rt"]),
    ({"exactly": {"fd": 0}}, lambda p: p.block_counts["fd"] == 0),
    ({"at_most": {"repeat": 0, "all": 3}}, lambda p: p.block_counts["repeat"] == 0),
    ({"exactly": {"fd": 1}}, lambda p: p.block_counts["fd"] <= 1 and p.block_counts["repeat"] >= 1),
])
def test_code_constraints_shape_the_program(constraint: dict[str, Any], check: Any) -> None:
    task = make_task(1, 4, (0, 3, 0), FIND_STRAWBERRY, [constraint], items=((0, 0, "strawberry", "red", 1),))
    program = shortest_solution(task)
    assert program is not None and execute(task, program).success and check(program), program


def test_draw_needs_the_right_colours() -> None:
    square = tuple((a, b, c, d, RED) for a, b, c, d in ((0, 0, 1, 0), (1, 0, 1, 1), (1, 1, 0, 1), (0, 1, 0, 0)))
    task = make_task(2, 2, (0, 1, 0), DRAW, lines=square)
    result = search(task)
    assert result.optimal and len(result.program) == 4  # type: ignore[arg-type]  # setpc(red) repeat(4){fd rt}
    two_tone = make_task(3, 1, (0, 0, 1), DRAW, lines=((0, 0, 1, 0, RED), (1, 0, 2, 0, BLUE)))
    assert str(shortest_solution(two_tone)).split() == ["setpc(red)", "fd", "setpc(blue)", "fd"]


GOALS = {
    "collectall": [{"name": "collectall", "specs": [spec("red")]}],
    "sum": [{"name": "sum", "specs": [spec("strawberry")], "total_cnt": 3}],
    "concat": [{"name": "concat", "specs": [spec("A"), spec("B")]}],
    "findonly": [{"name": "findonly", "specs": [spec("red")]}],
    "find+forbid": [*FIND_STRAWBERRY, {"name": "forbid", "specs": [spec("lemon")]}],
}
ITEMS = ((0, 0, "strawberry", "red", 1), (2, 0, "strawberry", "red", 2), (1, 1, "lemon", "yellow", 1),
         (2, 2, "A", "black", 1), (0, 1, "B", "black", 1), (1, 0, "circle", "red", 1))


@pytest.mark.parametrize("goal", sorted(GOALS))
def test_item_goals_are_solved_as_short_as_brute_force(goal: str) -> None:
    task = make_task(3, 3, (2, 1, 3), GOALS[goal], items=ITEMS)
    result = search(task)
    assert result.program is not None and result.optimal and execute(task, result.program).success
    assert brute_force_shortest(task, len(result.program) - 1) is None


@pytest.mark.parametrize("goal, items, constraints, reason", [
    ([{"name": "sum", "specs": [spec("strawberry")], "total_cnt": 9}], ((0, 0, "strawberry", "red", 2),), (),
     "no sequence of moves"),
    ([{"name": "forbid", "specs": [spec("lemon")]}], ((1, 2, "lemon", "yellow", 1),), (), "start cell"),
    (FIND_STRAWBERRY, ((0, 0, "strawberry", "blue", 1),), (), "catalogue"),
    (FIND_STRAWBERRY, ((0, 0, "strawberry", "red", 1),), [{"at_most": {"all": 1}}], "no program of at most 1"),
])
def test_unsolvable_tasks_fail_with_a_reason(goal: list[dict[str, Any]], items: Any, constraints: Any,
                                             reason: str) -> None:
    task = make_task(3, 3, (1, 2, 0), goal, constraints, items=items)
    result = search(task)
    assert result.program is None and result.optimal and reason in result.reason
    [candidate] = SearchSolver().solve(task)
    assert isinstance(candidate, AgentFailure) and reason in candidate.reason


def test_time_limit_returns_the_best_program_so_far() -> None:
    mini = {e.task_id: e for e in load_suite("mini-85")}
    task = mini["mini-064"].task  # a four-colour square: proving the shortest takes seconds
    result = search(task, time_limit=0.05)
    assert not result.optimal  # the limit stopped the search before it proved a shortest program
    assert result.program is None or execute(task, result.program).success


# -- suites --------------------------------------------------------------------------------------

def test_constrained_mini85_tasks_are_solved_within_their_bounds() -> None:
    for entry in load_suite("mini-85"):
        if entry.task.constraints.effective.is_empty() or entry.task_id == "mini-080":  # mini-080: ~1 s alone
            continue
        result = search(entry.task, time_limit=20)
        assert result.program is not None and result.optimal, entry.task_id
        assert execute(entry.task, result.program).success
        assert len(result.program) <= len(entry.program), entry.task_id  # type: ignore[arg-type]


def _solution_cases(limit: int) -> list[tuple[Task, Program]]:
    cases = [(Task.from_json(r["task"]), Program.from_json(r["code"])) for r in conformance_cases()
             if "program=solution" in (r["task"].get("description") or "") and r["expected"]["success"]]
    return cases[:limit]


def test_conformance_solutions_are_never_shorter_than_the_solvers() -> None:
    for task, reference in _solution_cases(250):
        result = search(task, time_limit=20)
        assert result.program is not None and execute(task, result.program).success, task.id
        assert result.optimal and len(result.program) <= len(reference), (task.id, str(result.program))


def test_shortest_agrees_with_brute_force_on_short_solutions() -> None:
    checked = 0
    for task, _ in _solution_cases(400):
        result = search(task, time_limit=20)
        if result.program is None or len(result.program) > 3:
            continue
        assert brute_force_shortest(task, len(result.program) - 1) is None, (task.id, str(result.program))
        checked += 1
    assert checked >= 30
