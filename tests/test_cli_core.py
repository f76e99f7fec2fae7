"""`xlogo-gym verify` and `check-suite`, and `load_reference_suite` on a reference-format directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from xlogo_gym import load_reference_suite
from xlogo_gym.cli import main

WORLD = {"turtle": {"x": 0, "y": 1, "direction": 0},
         "tiles": [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(2) for x in range(2)],
         "items": [{"x": 0, "y": 0, "name": "strawberry", "color": "red", "count": 1}], "lines": []}
FIND = [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}]


def write_reference_dir(root: Path) -> Path:
    house = dict(WORLD, items=[{"x": 1, "y": 0, "name": "house", "color": "red", "count": 1}],
                 lines=[{"x1": 0, "y1": 1, "x2": 0, "y2": 0, "color": "#D60000"}])
    files = {
        "xlogomini_worlds.json": {"1a": {"world_json": WORLD}, "1b": {"world_json": json.dumps(WORLD)},
                                  "12a": {"world_json": house}, "13a": {"world_json": WORLD}},
        "xlogomini_goals.json": {"1a": FIND, "1b": FIND, "12a": [{"name": "draw", "specs": [[]]}]},
        "xlogomini_constraints.json": {"1a": [{"at_most": {"all": 1}}], "1b": [], "12a": []},
        "xlogomini_codes.json": {"1a": {"code_json": {"run": [{"type": "fd"}]}},
                                 "1b": {"code_json": {"run": [{"type": "rt"}]}},
                                 "12a": {"code_json": {"run": [{"type": "setpc", "value": "red"}, {"type": "fd"}]}}},
    }
    for name, obj in files.items():
        (root / name).write_text(json.dumps(obj))
    return root


def test_load_reference_suite_skips_ids_without_goal_and_loads_house(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        entries = load_reference_suite(str(write_reference_dir(tmp_path)))
    assert [e.task_id for e in entries] == ["1a", "1b", "12a"]
    assert "13a" in caplog.text
    assert str(entries[2].program) == "setpc(red)\nfd\n"


def test_check_suite_prints_a_table_and_total(tmp_path: Path, capsys) -> None:
    code = main(["check-suite", str(write_reference_dir(tmp_path))])
    out = capsys.readouterr().out
    assert code == 1  # 1b's reference program does not reach the strawberry
    assert "total: 2/3 reference programs succeed" in out
    assert "1b" in out and "goal[0] find" in out


def test_verify_prints_the_verdict(tmp_path: Path, capsys) -> None:
    task = tmp_path / "task.json"
    task.write_text(json.dumps(dict(WORLD, goal=FIND, constraints=[])))
    program = tmp_path / "p.txt"
    program.write_text("fd\nfd\n")
    assert main(["verify", str(task), str(program)]) == 1
    assert "OUT_OF_WORLD" in capsys.readouterr().out
    program.write_text(json.dumps({"run": [{"type": "fd"}]}))
    assert main(["verify", str(task), str(program), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["success"] is True


@pytest.mark.parametrize(("task_obj", "program_text", "fragment"), [
    ("{not json", "fd", "task.json: not valid JSON"),
    (json.dumps(dict(WORLD, goal=FIND)), "fd", "missing field 'constraints'"),
    (json.dumps(dict(WORLD, goal=FIND, constraints=[])), "fd\nrepeat(99){fd}", "p.txt: line 2, column 1"),
])
def test_verify_reports_bad_input_without_a_traceback(tmp_path: Path, capsys, task_obj: str, program_text: str,
                                                      fragment: str) -> None:
    (tmp_path / "task.json").write_text(task_obj)
    (tmp_path / "p.txt").write_text(program_text)
    assert main(["verify", str(tmp_path / "task.json"), str(tmp_path / "p.txt")]) == 2
    assert fragment in capsys.readouterr().err
