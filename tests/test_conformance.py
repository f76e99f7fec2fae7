"""Every case of the reference conformance file: 100 % agreement on crashed, goal_ok, cons_ok, success."""

from __future__ import annotations

import json

import pytest
from conftest import CONFORMANCE

from xlogo_gym import Program, Task, execute

pytestmark = pytest.mark.skipif(not CONFORMANCE.exists(), reason=f"conformance file absent: {CONFORMANCE}")


def _cases() -> list[dict]:
    with open(CONFORMANCE, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_every_conformance_case_agrees() -> None:
    cases = _cases()
    assert len(cases) == 3548
    disagreements = []
    for case in cases:
        task = Task.from_json(case["task"])
        verdict = execute(task, Program.from_json(case["code"]))
        got = {"crashed": verdict.crashed, "goal_ok": verdict.goal_ok, "cons_ok": verdict.cons_ok,
               "success": verdict.success}
        if got != case["expected"]:
            disagreements.append((case["task"]["id"], got, case["expected"]))
    assert disagreements == []


def test_text_form_matches_reference_printer_and_round_trips() -> None:
    for case in _cases():
        program = Program.from_json(case["code"])
        assert str(program) == case["code_text"]
        assert Program.parse(case["code_text"]) == program
        assert program.to_json() == case["code"]


def test_task_json_round_trips() -> None:
    for case in _cases():
        task = Task.from_json(case["task"])
        again = Task.from_json(task.to_json())
        assert again == task
        assert again.to_json() == task.to_json()
