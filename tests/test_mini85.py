"""The `mini-85` suite: file format, verified reference solutions, regeneration and the task mix."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xlogo_gym
import xlogo_gym.suite
from xlogo_gym.data import mini85_source as source
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.skills import SKILLS, infer_skills
from xlogo_gym.task import Task


@pytest.fixture(scope="module")
def records() -> list[dict]:
    with open(source.DATA_FILE, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def suite(records: list[dict]) -> list[tuple[Task, Program]]:
    return [(Task.from_json(r["task"], r["task_id"]), Program.parse(r["program"])) for r in records]


def test_file_has_85_tasks_with_unique_ids(records: list[dict]) -> None:
    assert len(records) == 85
    assert [r["task_id"] for r in records] == [f"mini-{i:03d}" for i in range(1, 86)]
    for r in records:
        assert set(r) == {"task_id", "task", "program", "skills"}
        assert r["task"]["id"] == r["task_id"]
        assert r["task"]["description"]
        assert r["program"] == str(Program.parse(r["program"]))  # reference text form
    bodies = {json.dumps({k: v for k, v in r["task"].items() if k not in ("id", "description")}) for r in records}
    assert len(bodies) == 85  # no task twice


def test_descriptions_state_the_constraints(suite: list[tuple[Task, Program]]) -> None:
    for task, _ in suite:
        c, text = task.constraints.effective, task.description or ""
        bound = re.search(r"at most (\d+) commands", text)
        assert dict(c.at_most) == ({"all": int(bound.group(1))} if bound else {}), task.id
        rule = re.search(r"exactly \d+ commands|exactly twice|without using|without turning", text)
        assert bool(rule) == bool(c.exactly), task.id
        assert ("Start with" in text) == bool(c.start_by), task.id
        assert text.startswith({"draw": "Draw", "sum": "Collect exactly", "concat": "Collect the letters",
                                "collectall": "Collect all"}.get(task.goal_names[0], "Find")), task.id


def test_reference_programs_succeed(suite: list[tuple[Task, Program]]) -> None:
    for task, program in suite:
        for strict in (False, True):
            verdict = execute(task, program, strict=strict)
            assert verdict.success, (task.id, strict, verdict.explain())


def test_tasks_are_well_formed_and_solutions_minimal(suite: list[tuple[Task, Program]]) -> None:
    for task, program in suite:
        assert source.problems(task, program) == [], task.id


def test_crashing_variants_fail(suite: list[tuple[Task, Program]]) -> None:
    for task, program in suite:
        w = task.world
        runaway = Program(program.body + Program.parse("fd " * (w.cols + w.rows)).body)
        verdict = execute(task, runaway)
        assert verdict.crashed and not verdict.success, task.id


def test_file_equals_what_the_source_regenerates() -> None:
    with open(source.DATA_FILE, encoding="utf-8") as fh:
        assert fh.read() == source.render(source.build_records())


def test_skills_are_inferred_and_every_tag_occurs(records: list[dict], suite: list[tuple[Task, Program]]) -> None:
    for r, (task, program) in zip(records, suite, strict=True):
        assert r["skills"] == infer_skills(task, program), r["task_id"]
    tags = Counter(tag for r in records for tag in r["skills"])
    assert set(tags) == set(SKILLS)
    assert min(tags.values()) >= 5


def test_mix_mirrors_the_real_tasks(suite: list[tuple[Task, Program]]) -> None:
    """The bounds follow SEMANTICS.md §12, scaled to 85 tasks."""
    tasks, programs = [t for t, _ in suite], [p for _, p in suite]
    mix = source.mix(tasks, programs)
    goal = mix["goal"]
    assert 31 <= goal["draw"] <= 35 and 28 <= goal["find"] <= 34 and 8 <= goal["sum"] <= 11
    assert goal["findonly"] == 2 and goal["concat"] == 2
    assert 2 <= goal["find+forbid"] + goal["find+forbid+forbid"] <= 4 and goal["find+forbid+forbid"] >= 1
    assert 2 <= goal["collectall"] + goal["collectall+forbid"] <= 4 and goal["collectall+forbid"] >= 1
    assert sum(goal.values()) == 85

    kinds = mix["constraint"]
    assert 54 <= kinds["none"] <= 62 and 15 <= kinds["at_most.all"] <= 21 and 3 <= kinds["start_by"] <= 5
    exactly = {k: v for k, v in kinds.items() if k.startswith("exactly.")}
    assert 4 <= sum(exactly.values()) <= 7 and len(exactly) >= 3
    assert set(kinds) <= {"none", "at_most.all", "start_by", *exactly}  # no combined kinds
    constraints = [t.constraints.effective for t in tasks]
    assert {n for c in constraints for _, n in c.at_most} <= set(range(2, 12))
    assert {len(c.start_by) for c in constraints if c.start_by} == {1, 3}
    assert {s for c in constraints for s in c.start_by} <= {"fd", "lt", "rt"}
    assert {0} < {n for c in constraints for _, n in c.exactly}  # "don't use" and a count

    sizes = mix["size"]
    assert 0.5 <= sizes["3x3"] / 85 <= 0.7 and sizes["4x4"] >= 6 and len(sizes) >= 12
    assert {t.world.cols for t in tasks} == set(range(1, 9)) and {t.world.rows for t in tasks} == set(range(1, 6))
    world = mix["world"]
    for feature in ("missing tiles", "forbidden tiles", "walls"):
        assert 0.15 <= world[feature] / 85 <= 0.35, feature
    heading = mix["heading"]
    assert heading["N"] / 85 >= 0.8 and min(heading[d] for d in "ESW") >= 1

    colours = mix["line colour"]
    assert set(colours) == {"black", "red", "green", "blue", "yellow", "white"}
    assert colours.most_common(1)[0][0] == "black"
    items = mix["item"]
    assert set(items) == {"strawberry", "lemon", "circle", "triangle", "rectangle", "cross", "letter"}
    assert {it.count for t in tasks for it in t.world.items if it.name == "strawberry"} == {1, 2, 3, 4}
    assert {it.color for t in tasks for it in t.world.items if it.name == "circle"} >= {"red", "blue", "yellow"}

    assert max(len(p) for p in programs) <= 15 and max(mix["length"]) >= 12
    assert mix["program"]["repeat"] >= 20 and mix["program"]["nested repeat"] >= 2
    assert mix["program"]["setpc"] >= 8 and mix["program"]["bk"] >= 5
    assert all(p.depth() <= 2 for p in programs)
    times = {int(s.split("(")[1].rstrip("){")) for p in programs for s in str(p).split() if s.startswith("repeat(")}
    assert times <= set(range(2, 8)) and 7 in times


def test_grid_art_builds_two_sided_walls_items_and_lines() -> None:
    world = source.parse_grid("""
        s .#>
          g
        x #-.
    """, {}, "lemon", "t")
    assert world["turtle"] == {"x": 2, "y": 0, "direction": 1}
    assert [(t["x"], t["y"], t["allowed"], t["walls"]) for t in world["tiles"]] == [
        (0, 0, True, {}), (1, 0, True, {"right": True}), (2, 0, True, {"left": True}),
        (1, 1, False, {}), (2, 1, True, {})]
    items = [(i["name"], i["color"], i["x"]) for i in world["items"]]
    assert items == [("strawberry", "red", 0), ("lemon", "yellow", 2)]
    assert world["lines"] == [{"x1": 1, "y1": 0, "x2": 1, "y2": 1, "color": "#009624"},
                              {"x1": 1, "y1": 1, "x2": 2, "y2": 1, "color": "#000000"}]


@pytest.mark.parametrize("art, legend, message", [
    (". .\n\n^ .\n#", {}, "odd number of lines"),
    (". ?\n\n^ .", {}, "unknown cell character"),
    (". . .\n\n^ .", {}, "same odd length"),
    (". .", {}, "no turtle"),
    ("^ ^", {}, "second turtle"),
    ("^#x", {}, "joins a missing cell"),
    ("^|.", {}, "unknown join character"),
    ("^ c", {"c": "white circle"}, "not in the item catalogue"),
    ("^ c", {"c": "2 lemon"}, "not in the item catalogue"),
])
def test_bad_grid_art_is_rejected(art: str, legend: dict[str, str], message: str) -> None:
    with pytest.raises(XLogoError, match=message):
        source.parse_grid(art, legend, None, "t")


FIND = (source.find("strawberry"),)


@pytest.mark.parametrize("task, message", [
    (source.TaskSource("Find the strawberry.", ". s", FIND, "fd"), "mini-001: no turtle"),
    (source.TaskSource("Find the strawberry.", "s ^", FIND, "fd"), "mini-001: reference program fails"),
    (source.TaskSource("Find the strawberry.", "^ . s", FIND, "rt fd fd lt"), "a shorter variant also solves it"),
    (source.TaskSource("Find the strawberry.", "^ .", FIND, "rt fd", under="strawberry"), "the empty program"),
    (source.TaskSource("Draw the line.", "^ s", (source.DRAW,), "fd"), "draw tasks have target lines"),
])
def test_bad_task_is_refused_when_building(task: source.TaskSource, message: str) -> None:
    with pytest.raises(XLogoError, match=message):
        source.build_records((task,))


def test_good_task_is_built() -> None:
    good = source.TaskSource("Find the strawberry.", "> s", (source.find("strawberry"),), "fd")
    (record,) = source.build_records((good,))
    assert record["program"] == "fd\n" and record["skills"] == ["Basic Actions"]
    assert record["task"]["goal"] == [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_grid_art_round_trips(data: st.DataObject) -> None:
    cols, rows = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    across, down = st.sampled_from(" #-rgbyw"), st.sampled_from(" #|rgbyw")
    lines = []
    for y in range(rows):
        cells = "^" + "." * (cols - 1) if y == 0 else "." * cols
        lines.append(cells[0] + "".join(data.draw(across) + c for c in cells[1:]))
        if y < rows - 1:
            lines.append(" ".join(data.draw(down) for _ in range(cols)))
    joins = Counter(ch for r, line in enumerate(lines) for c, ch in enumerate(line) if (r + c) % 2)
    task = Task.from_json({**source.parse_grid("\n".join(lines), {}, None, "t"), "goal": [], "constraints": []})
    assert (task.world.cols, task.world.rows, len(task.world.tiles)) == (cols, rows, cols * rows)
    assert sum(flag for t in task.world.tiles for _, flag in t.walls) == 2 * joins["#"]
    assert len(task.world.lines) == sum(n for ch, n in joins.items() if ch not in " #")
    assert not any("one-sided" in p for p in source.problems(task, Program()))


def test_load_suite_reads_the_file() -> None:
    entries = xlogo_gym.load_suite("mini-85")
    assert len(entries) == 85 and all(e.program is not None for e in entries)
    assert all(execute(e.task, e.program).success for e in entries)
