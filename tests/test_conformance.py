"""Every case of the reference conformance file: 100 % agreement on crashed, goal_ok, cons_ok, success."""

from __future__ import annotations

import gzip
import hashlib

from conftest import CONFORMANCE, ROOT, conformance_cases

from xlogo_gym import Program, Task, execute

#: The spec's copy, beside the project on the developers' machines and in CI.
SPEC_COPY = ROOT.parent / "shared" / "spec" / "conformance.jsonl"


def test_the_shipped_cases_are_the_specs() -> None:
    with gzip.open(CONFORMANCE, "rb") as fh:
        shipped = fh.read()
    assert hashlib.sha256(shipped).hexdigest() == "27b20b9f63dd95339920c18761f64a209c26d333edbba3bc6fa84cb0df046ccb"
    if SPEC_COPY.exists():
        assert SPEC_COPY.read_bytes() == shipped


def test_every_conformance_case_agrees() -> None:
    cases = conformance_cases()
    assert len(cases) == 3548
    disagreements = []
    for case in cases:
        task = Task.from_json(case["task"])
        verdict = execute(task, Program.from_json(case["code"]))
        got = {"crashed": verdict.crashed, "goal_ok": verdict.goal_ok, "cons_ok": verdict.constraints_ok,
               "success": verdict.success}
        if got != case["expected"]:
            disagreements.append((case["task"]["id"], got, case["expected"]))
    assert disagreements == []


def test_text_form_matches_reference_printer_and_round_trips() -> None:
    for case in conformance_cases():
        program = Program.from_json(case["code"])
        assert str(program) == case["code_text"]
        assert Program.parse(case["code_text"]) == program
        assert program.to_json() == case["code"]


def test_task_json_round_trips() -> None:
    for case in conformance_cases():
        task = Task.from_json(case["task"])
        again = Task.from_json(task.to_json())
        assert again == task
        assert again.to_json() == task.to_json()
