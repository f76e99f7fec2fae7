"""Hostile and broken input (issue 17): no hangs, no tracebacks, no code run from data files, nothing lost.

`benchmarks/probe_hostile.py` replays the same categories and counts the outcomes; these tests keep
each fixed defect fixed.
"""

from __future__ import annotations

import copy
import functools
import json
import operator
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, conformance_cases, needs

from xlogo_gym import Program, Task, XLogoError, execute
from xlogo_gym.cli import main
from xlogo_gym.evaluation import TaskByTaskAgent, evaluate
from xlogo_gym.fileio import safe_file_name
from xlogo_gym.generator import GeneratorConfig, generate_tasks
from xlogo_gym.suite import SuiteEntry, load_suite, suite_entry, suite_line

#: A 3x3 find task with one item and one line, so that every kind of field can be spoilt.
TASK: dict[str, Any] = dict(
    turtle={"x": 0, "y": 2, "direction": 0}, id="t", constraints={"at_most": {"all": 5}},
    tiles=[{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(3) for x in range(3)],
    items=[{"x": 0, "y": 0, "name": "strawberry", "color": "red", "count": 1}],
    lines=[{"x1": 0, "y1": 0, "x2": 1, "y2": 0, "color": "#D60000"}],
    goal=[{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}])
#: A generator configuration whose space holds only a few hundred distinct tasks.
TINY_SPACE = {"size_weights": {"2x1": 1}, "goal_weights": {"find": 1}, "random_size_prob": 0, "max_cols": 2,
              "max_rows": 1, "constraint_weights": {"none": 1}}
DEEP = "[" * 100_000 + "]" * 100_000


def task_with(path: list[Any], value: Any) -> dict[str, Any]:
    """TASK with the value at `path` (keys and indices) replaced."""
    obj = copy.deepcopy(TASK)
    functools.reduce(operator.getitem, path[:-1], obj)[path[-1]] = value
    return obj


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


# -- hangs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("x, y", [(3000, 3000), (10**5, 0), (10**30, 10**30), (64, 0)])
def test_far_coordinates_are_refused_at_once(x: int, y: int) -> None:
    obj = copy.deepcopy(TASK)
    obj["tiles"].append({"x": x, "y": y, "allowed": True, "walls": {}})
    with pytest.raises(XLogoError, match=r"tiles\[9\]: field 'x'|tiles\[9\]: field 'y'"):
        Task.from_json(obj)  # refused while reading, before any table over the cells is built
    for key in ("turtle", "items", "lines"):
        far = task_with([key, "x"] if key == "turtle" else [key, 0, "x" if key == "items" else "x2"], 10**6)
        with pytest.raises(XLogoError, match="outside 0..63"):
            Task.from_json(far)


def test_the_largest_grid_still_runs() -> None:
    obj = copy.deepcopy(TASK)
    obj["tiles"].append({"x": 63, "y": 63, "allowed": True, "walls": {}})
    assert execute(Task.from_json(obj), Program.parse("fd fd")).success


def test_a_generator_space_too_small_stops_with_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(XLogoError, match="too few distinct tasks"):
        for _ in generate_tasks(0, 2000, GeneratorConfig(**TINY_SPACE)):  # type: ignore[arg-type]
            pass
    assert len(list(generate_tasks(0, 300, GeneratorConfig(**TINY_SPACE)))) == 300  # a count it holds
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_SPACE))
    for out in (["--out", str(tmp_path / "data")], ["--suite-out", str(tmp_path / "suite.jsonl")]):
        code, err = run_cli(capsys, "generate", "--count", "2000", "--workers", "1", "--quiet", "--config",
                            str(config), *out)
        assert code == 2 and "too few distinct tasks" in err


def test_a_megabyte_program_parses_and_errors_keep_their_position() -> None:
    # parsing is linear (a quadratic scan took minutes here); benchmarks/probe_hostile.py times it
    assert len(Program.parse("fd rt\n" * 200_000)) == 400_000
    with pytest.raises(XLogoError, match="line 200001, column 1"):
        Program.parse("fd rt\n" * 200_000 + "}")


# -- tracebacks ---------------------------------------------------------------------------------

def test_non_utf8_and_deeply_nested_files_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for content, message in ((b'{"turtle": "\xff"}', "not UTF-8"), (DEEP.encode(), "JSON nested too deeply")):
        task, program, suite = tmp_path / "task.json", tmp_path / "program.txt", tmp_path / "suite.jsonl"
        task.write_bytes(content)
        program.write_bytes(b'{"run": ' + content + b"}" if content.startswith(b"[") else b"fd \xff")
        suite.write_bytes(content + b"\n")
        with pytest.raises(XLogoError, match=f"{task}: {message}"):
            Task.from_file(str(task))
        with pytest.raises(XLogoError, match=str(program)):
            Program.from_file(str(program))
        with pytest.raises(XLogoError, match=f"{suite}:1: {message}"):
            load_suite(str(suite))
        code, err = run_cli(capsys, "generate", "--count", "1", "--workers", "1", "--quiet", "--config", str(task),
                            "--out", str(tmp_path / "out"))
        assert code == 2 and f"{task}: {message}" in err
        code, err = run_cli(capsys, "verify", str(task), str(program))
        assert code == 2 and str(task) in err


@pytest.mark.parametrize("path, value, field", [
    (["lines", 0, "color"], [], "task.lines[0]: bad line colour"), (["lines", 0, "color"], {}, "task.lines[0]"),
    (["goal", 0, "specs", 0, 0, 0, "name"], {}, "task.goal[0].specs[0][0][0]: unknown literal value"),
    (["goal", 0, "specs", 0, 0, 0, "name"], [], "task.goal[0].specs[0][0][0]"),
    (["items", 0, "name"], [], "task.items[0]: unknown item name"), (["id"], [], "task: field 'id'"),
    (["id"], {}, "task: field 'id'"),
])
def test_unhashable_values_are_clear_errors(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(XLogoError, match=re.escape(field)):
        Task.from_json(task_with(path, value))


@pytest.mark.parametrize("kind", [[], {}, ["fd"], 3, None])
def test_a_statement_type_that_is_no_string_is_a_clear_error(kind: Any) -> None:
    with pytest.raises(XLogoError, match=r"code.run\[0\]: a statement's 'type'"):
        Program.from_json({"run": [{"type": kind}]})


def test_generate_output_paths_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out in (["--out", str(a_file)], ["--out", "/proc/xlogo-gym-test/out"], ["--suite-out", str(tmp_path)]):
        code, err = run_cli(capsys, "generate", "--count", "1", "--workers", "1", "--quiet", *out)
        assert code == 2 and "error:" in err and out[1] in err, err
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


@pytest.mark.parametrize("weights", [{"find": 1e308, "draw": 1e308}, {"find": float("inf")}])
def test_weights_must_have_a_finite_sum(weights: dict[str, float]) -> None:
    with pytest.raises(XLogoError, match="goal_weights"):
        GeneratorConfig(goal_weights=weights)


# -- silently wrong -----------------------------------------------------------------------------

@pytest.mark.parametrize("digit", ["３", "٣", "۳", "३"])
def test_repeat_counts_are_ascii_digits(digit: str) -> None:
    with pytest.raises(XLogoError, match="line 1, column 1: unexpected text"):
        Program.parse(f"repeat({digit}){{fd}}")
    assert Program.parse("repeat(3){fd}") == Program.parse("repeat( 3 ) { fd }")


def test_a_null_task_id_is_an_error_not_none() -> None:
    for line in ({"task_id": None, "task": TASK}, {"id": None, "task": TASK}, {"task_id": [], "task": TASK},
                 {"task": TASK}):
        with pytest.raises(XLogoError, match=r"line 3\.(task_id|id): .*string"):
            suite_entry(line, "line 3")
    assert suite_entry({"task_id": 7, "task": TASK}, "line").task_id == "7"
    assert Task.from_json(dict(TASK, id=None)).id is None


# -- security -------------------------------------------------------------------------------------

def test_dataset_shards_stay_inside_the_dataset(tmp_path: Path) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_text(suite_line(load_suite("mini-85")[0]) + "\n")
    dataset = tmp_path / "data"
    dataset.mkdir()
    for shard in (str(outside), "../outside.jsonl", "/etc/passwd"):
        (dataset / "manifest.json").write_text(json.dumps({"shards": [{"file": shard}]}))
        with pytest.raises(XLogoError, match=r"manifest.json: shards\[0\]: .* outside the dataset directory"):
            load_suite(str(dataset))
    (dataset / "inside.jsonl").write_text(outside.read_text())
    (dataset / "manifest.json").write_text(json.dumps({"shards": [{"file": "inside.jsonl"}]}))
    assert len(load_suite(str(dataset))) == 1


@pytest.mark.parametrize("task_id, name", [("../../escaped", "_.._escaped"), ("/tmp/abs", "_tmp_abs"), ("..", "task"),
                                           ("mini-061", "mini-061"), ("a b/c", "a_b_c")])
def test_task_ids_become_plain_file_names(task_id: str, name: str) -> None:
    assert safe_file_name(task_id) == name


@needs("PIL")
def test_render_writes_inside_the_folder_whatever_the_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "task.json").write_text(json.dumps(dict(TASK, id="../../escaped")))
    monkeypatch.chdir(work)
    assert main(["render", "task.json"]) == 0
    assert sorted(os.listdir(work)) == ["_.._escaped.png", "task.json"] and os.listdir(tmp_path) == ["work"]


# -- generate: temp files and workers --------------------------------------------------------------

def test_generate_removes_temp_files_of_a_killed_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "data"
    out.mkdir()
    (out / ".tmp-abc123").write_text("left by a SIGKILL")
    (out / ".tmp-def.part").write_text("x")
    assert main(["generate", "--count", "5", "--workers", "1", "--quiet", "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["manifest.json", "tasks-00000.jsonl"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_do_not_outlive_a_killed_generate(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "xlogo_gym.cli", "generate", "--count", "1000000", "--workers", "2",
                             "--quiet", "--out", str(tmp_path / "data")], cwd=ROOT, stderr=subprocess.PIPE)

    def children() -> list[int]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == proc.pid:
                found.append(int(pid))
        return found

    deadline = time.monotonic() + 30
    while len(children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = children()
    assert len(workers) >= 2
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    def alive(pid: int) -> bool:  # a zombie waiting for its new parent to reap it counts as gone
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
        except OSError:
            return False

    deadline = time.monotonic() + 5
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)
    assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]


# -- evaluation folders ------------------------------------------------------------------------------

class Echo(TaskByTaskAgent):
    """Answers `fd` for every task; its name carries a setting."""

    def __init__(self, name: str = "echo") -> None:
        self.name = name

    def solve(self, task: Task, samples: int = 1) -> list[Any]:
        return ["fd"] * samples


def test_a_corrupt_partial_or_run_file_is_a_clear_error(tmp_path: Path) -> None:
    entries = [SuiteEntry(f"t{i}", Task.from_json(TASK), None, []) for i in range(3)]
    evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False)
    partial = tmp_path / "partial.jsonl"
    lines = partial.read_text().splitlines()
    for bad in ("[1]", '{"task_id": []}', "not json", '"x"'):
        partial.write_text("\n".join([lines[0], bad, lines[1]]) + "\n")
        with pytest.raises(XLogoError, match=f"{partial}:2: not a task record"):
            evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False)
    partial.write_bytes(lines[0].encode() + b"\n\xff\xfe\n" + lines[1].encode() + b"\n")
    with pytest.raises(XLogoError, match=f"{partial}:2"):
        evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False)
    partial.write_text(lines[0] + "\n" + lines[1][:40])  # a last line cut off mid-write is dropped
    assert evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False).summary["n_tasks"] == 3
    for run in ("{", "[]", b"\xff"):
        (tmp_path / "run.json").write_bytes(run if isinstance(run, bytes) else run.encode())
        with pytest.raises(XLogoError, match="run.json"):
            evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False)
    assert evaluate(Echo(), entries, out_dir=str(tmp_path), resume=False, progress=False, chart=False)


def test_a_resume_with_other_settings_refuses(tmp_path: Path) -> None:
    entries = [SuiteEntry("t", Task.from_json(TASK), None, [])]
    evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False, settings={"seed": 1})
    with pytest.raises(XLogoError, match="holds a run of .*seed.*--no-resume"):
        evaluate(Echo(), entries, out_dir=str(tmp_path), progress=False, chart=False, settings={"seed": 2})
    evaluate(Echo(), entries, out_dir=str(tmp_path), resume=False, progress=False, chart=False, settings={"seed": 2})
    assert json.loads((tmp_path / "run.json").read_text())["seed"] == 2


@needs("matplotlib")  # evaluate draws its skills chart
def test_evaluate_refuses_bad_values_and_another_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = tmp_path / "one.jsonl"
    suite.write_text(suite_line(load_suite("mini-85")[0]) + "\n")
    base = ["evaluate", "--suite", str(suite), "--out", str(tmp_path / "run")]
    for extra, field in ((["--agent", "random", "--seed", "-7"], "--seed"),
                         (["--agent", "solver", "--time-limit", "-1"], "--time-limit"),
                         (["--agent", "solver", "--time-limit", "nan"], "--time-limit")):
        code, err = run_cli(capsys, *base, *extra)
        assert code == 2 and f"error: {field}" in err
    assert main([*base, "--agent", "random", "--seed", "1"]) == 0
    code, err = run_cli(capsys, *base, "--agent", "random", "--seed", "2")
    assert code == 2 and "holds a run of" in err
    assert main([*base, "--agent", "random", "--seed", "2", "--no-resume"]) == 0


@pytest.mark.parametrize("field, value", [("seed", -7), ("threads", 0), ("time_limit_minutes", float("nan")),
                                          ("time_limit_minutes", -1.0), ("checkpoint_minutes", float("inf"))])
def test_training_settings_refuse_bad_values(field: str, value: Any) -> None:
    from agents.policy.config import SFTConfig
    from agents.ppo.config import PPOConfig

    for config in (SFTConfig, PPOConfig):
        with pytest.raises(XLogoError, match=f"^{field}: must"):
            config(**{field: value})


# -- fuzzing ------------------------------------------------------------------------------------------

def mutate(rnd: random.Random, value: Any, depth: int = 0) -> Any:
    """A random change somewhere in a JSON value: another type, a deleted or added key, a huge number."""
    odd = [None, True, 0, -1, 2**70, 1.5, float("nan"), "", "x", "fd", "#D60000", [], {}, [[]], {"a": []}]
    if isinstance(value, dict) and value and rnd.random() < 0.8:
        key = rnd.choice(list(value))
        out = dict(value)
        roll = rnd.random()
        if roll < 0.1:
            del out[key]
        elif roll < 0.15:
            out[rnd.choice(["x", "type", "run", "neg", "exist", "value"])] = rnd.choice(odd)
        else:
            out[key] = mutate(rnd, value[key], depth + 1)
        return out
    if isinstance(value, list) and value and rnd.random() < 0.8:
        out_list = list(value)
        i = rnd.randrange(len(out_list))
        roll = rnd.random()
        if roll < 0.1:
            del out_list[i]
        elif roll < 0.2:
            out_list.append(copy.deepcopy(out_list[i]))
        else:
            out_list[i] = mutate(rnd, out_list[i], depth + 1)
        return out_list
    return rnd.choice(odd)


def test_fuzzing_the_core_raises_nothing_but_xlogo_error() -> None:
    """Mutated conformance tasks and programs; XLOGO_FUZZ_SECONDS=600 (and XLOGO_FUZZ_SEED) fuzz for longer."""
    rnd = random.Random(int(os.environ.get("XLOGO_FUZZ_SEED", "17")))
    cases = conformance_cases()
    deadline = time.monotonic() + float(os.environ.get("XLOGO_FUZZ_SECONDS", "4"))
    runs = 0
    while time.monotonic() < deadline:
        case = rnd.choice(cases)
        task_json, code = mutate(rnd, case["task"]), mutate(rnd, case["code"]) if rnd.random() < 0.5 else case["code"]
        text = str(Program.from_json(case["code"]))
        text = "".join(rnd.choice(["", "}", "repeat(", "３", "\x00", " ", "{"]) + c for c in text) \
            if rnd.random() < 0.3 else text
        for build, value in ((Task.from_json, task_json), (Program.from_json, code), (Program.parse, text)):
            try:
                build(value)  # type: ignore[operator]
            except XLogoError:
                pass
        try:
            execute(Task.from_json(task_json), Program.from_json(code))
        except XLogoError:
            pass
        runs += 1
    print(f"{runs} fuzzed inputs")
    assert runs > 100
