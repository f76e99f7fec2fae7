"""The command line: `verify`, `check-suite`, every command's options, and `load_reference_suite`."""

from __future__ import annotations

import inspect
import json
import logging
import sys
import typing
from pathlib import Path

import pytest

from xlogo_gym import load_reference_suite
from xlogo_gym.cli import commands, main, parse

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
    out = capsys.readouterr().out
    assert "crash_reason=OUT_OF_WORLD" in out and "crashed: left the grid at (0,-1) at action 1" in out
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


# -- the command line itself -------------------------------------------------------------------

def test_help_lists_the_core_and_the_registered_commands(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("verify", "check-suite", "generate", "stats", "render", "play", "evaluate", "compare", "train-sft",
                 "train-ppo"):
        assert f"\n  {name} " in out
    assert main([]) == 2 and main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


#: (command, argv, the options expected); each is read by tyro and, with tyro hidden, by argparse.
COMMAND_LINES = [
    ("verify", ["t.json", "p.txt", "--json"], {"task": "t.json", "program": "p.txt", "strict": False, "json": True}),
    ("render", ["mini-061", "--suite", "mini-85", "--solution", "--out", "run.gif"],
     {"task": "mini-061", "program": None, "suite": "mini-85", "solution": True, "out": "run.gif", "tile": 48}),
    ("render", ["t.json", "fd rt fd", "--fps", "2.5"], {"program": "fd rt fd", "fps": 2.5}),
    ("render", ["mini-061", "--suite", "mini-85", "fd fd"],
     {"task": "mini-061", "program": "fd fd", "suite": "mini-85"}),
    ("render", ["--out", "r.png", "mini-061", "--suite", "mini-85", "fd fd", "--strict"],
     {"task": "mini-061", "program": "fd fd", "out": "r.png", "strict": True}),
    ("play", ["--suite", "synthetic-1k", "--task-id", "x"], {"task": None, "suite": "synthetic-1k", "task_id": "x"}),
    ("generate", ["--count", "5", "--heldout", "only", "--quiet"], {"count": 5, "heldout": "only", "quiet": True}),
    ("compare", ["a/report.json", "b", "--labels", "A", "B"],
     {"reports": ["a/report.json", "b"], "labels": ["A", "B"]}),
    ("evaluate", ["--agent", "llm:m", "--suite", "mini-85", "--no-resume", "--limit", "3", "--no-cache",
                  "--task-description", "--seed", "4"],
     {"agent": "llm:m", "limit": 3, "resume": False, "seed": 4, "llm.cache": False, "llm.task_description": True}),
    ("train-sft", ["--data", "runs/data-v3", "--init-from", "default", "--no-execution-state", "--seed", "0",
                   "--steps", "16000", "--rounds", "8", "--batch-size", "64", "--lr", "5e-4", "--threads", "1",
                   "--curriculum", "emulator", "--eval-every", "1000", "--checkpoint-minutes", "4", "--out", "runs/x"],
     {"data": ["runs/data-v3"], "init_from": "default", "model.execution_state": False, "model.turtle_state": True,
      "steps": 16000, "lr": 5e-4, "threads": 1, "curriculum": "emulator", "checkpoint_minutes": 4.0, "out": "runs/x",
      "exclude_suites": ["synthetic-1k", "mini-85", "synthetic-families"]}),
    ("train-sft", ["--exclude-suites", "--lora-rank", "16", "--time-limit-minutes", "54"],
     {"exclude_suites": [], "model.lora_rank": 16, "time_limit_minutes": 54.0}),
    ("train-ppo", ["--checkpoint", "default", "--total-steps", "2000000", "--baseline", "value"],
     {"checkpoint": "default", "total_steps": 2_000_000, "baseline": "value", "seed": 1, "out": "runs/ppo"}),
]


@pytest.mark.parametrize(("command", "argv", "expected"), COMMAND_LINES)
def test_options_come_from_the_dataclass(command: str, argv: list[str], expected: dict, monkeypatch) -> None:
    function = commands()[command].function()
    options_type = typing.get_type_hints(function)[next(iter(inspect.signature(function).parameters))]
    read = parse(options_type, argv)
    monkeypatch.setitem(sys.modules, "tyro", None)  # a base install: argparse reads the same options
    assert parse(options_type, argv) == read and type(read) is options_type
    for key, value in expected.items():
        got = read
        for part in key.split("."):
            got = getattr(got, part)
        assert got == value, key
