"""Suites by name and path, dataset shards (resume, determinism, de-duplication) and their statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import interrupted_after_first_shard, needs

from xlogo_gym import cli
from xlogo_gym.dataset import write_dataset
from xlogo_gym.dataset_stats import collect_stats
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import (
    FAMILIES,
    GeneratorConfig,
    family_suite,
    generate_tasks,
    is_heldout,
    task_family,
    task_hash,
    world_hash,
)
from xlogo_gym.generator.families import is_dense
from xlogo_gym.skills import SKILLS
from xlogo_gym.suite import SUITES, SuiteEntry, iter_jsonl, load_suite, write_suite
from xlogo_gym.task import Task

SMALL = GeneratorConfig(goal_weights={"find": 1, "draw": 1, "sum": 1})


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_task_is_solved_by_its_reference_program(name: str) -> None:
    entries = load_suite(name)
    assert entries and len({e.task_id for e in entries}) == len(entries)
    for e in entries:
        assert e.program is not None, e.task_id
        verdict = execute(e.task, e.program)
        assert verdict.success, (e.task_id, verdict.explain())
        assert e.skills and set(e.skills) <= set(SKILLS)


def test_synthetic_1k_is_held_out_distinct_and_varied() -> None:
    entries = load_suite("synthetic-1k")
    assert len(entries) == 1000
    assert all(is_heldout(e.task) for e in entries)
    assert all(e.task_id == f"syn-{task_hash(e.task)}" for e in entries)
    stats = collect_stats(entries)
    assert len(stats.tables["goal structure"]) >= 8 and stats.tables["goal structure"]["draw"] > 250
    assert stats.tables["grid size (W x H)"]["3x3"] > 400
    # the default (training) generator never makes any of these tasks, nor any task sharing their worlds
    train = {str(g.task.id) for g in generate_tasks(0, 200)}
    assert train.isdisjoint(e.task_id for e in entries)


def test_synthetic_families_is_stratified_held_out_and_disjoint() -> None:
    entries = load_suite("synthetic-families")  # every reference program solves its task: see the test above
    by_family: dict[str, int] = {}
    for e in entries:
        by_family[task_family(e.task)] = by_family.get(task_family(e.task), 0) + 1
    assert by_family == {family: 50 for family in FAMILIES}
    assert all(is_heldout(e.task) and e.task_id == f"syn-{task_hash(e.task)}" for e in entries)
    assert len({e.task_id for e in entries}) == 700
    worlds = {world_hash(e.task) for e in entries}
    for other in ("mini-85", "synthetic-1k"):
        assert worlds.isdisjoint(world_hash(e.task) for e in load_suite(other)), other
    # training data may exclude it too (its worlds are held out anyway, so nothing changes)
    config = GeneratorConfig(exclude_suites=("mini-85", "synthetic-1k", "synthetic-families"))
    assert [g.task.id for g in generate_tasks(4, 20, config)] == [g.task.id for g in generate_tasks(4, 20)]


def test_family_suite_is_reproducible_from_the_command_line(tmp_path: Path) -> None:
    in_process = [g.to_entry() for g in family_suite(1, 7)]
    assert [task_family(e.task) for e in in_process] == list(FAMILIES)
    out = tmp_path / "families.jsonl"
    assert cli.main(["generate", "--families", "1", "--seed", "7", "--workers", "2", "--suite-out", str(out),
                     "--quiet"]) == 0
    assert [(e.task_id, e.task, str(e.program), e.skills) for e in load_suite(out)] == \
        [(e.task_id, e.task, str(e.program), e.skills) for e in in_process]
    assert cli.main(["generate", "--families", "1", "--out", str(tmp_path / "ds")]) == 2  # needs --suite-out


def _sum_task(total: int, constraints: list) -> Task:
    """3x3, start at the bottom middle, the top-left tile forbidden, 2 + 3 strawberries on 2 of 7 free cells."""
    tiles = [{"x": x, "y": y, "allowed": (x, y) != (0, 0), "walls": {}} for y in range(3) for x in range(3)]
    items = [{"x": 0, "y": 1, "name": "strawberry", "color": "red", "count": 2},
             {"x": 2, "y": 1, "name": "strawberry", "color": "red", "count": 3}]
    return Task.from_json({"turtle": {"x": 1, "y": 2, "direction": 0}, "tiles": tiles, "items": items, "lines": [],
                           "goal": [{"name": "sum", "specs": [[[{"name": "strawberry", "neg": 0}]]],
                                     "total_cnt": total}], "constraints": constraints})


def test_family_table_beside_the_real_families() -> None:
    tasks = [_sum_task(4, [{"exactly": {"fd": 0}}]), _sum_task(5, [{"exactly": {"lt": 2}}]),
             _sum_task(5, [{"at_most": {"all": 3}}])]
    stats = collect_stats(SuiteEntry(str(i), t) for i, t in enumerate(tasks))
    counts = stats.families["sum-classic"]
    assert counts.cells(stats.tasks) == {"tasks": "100.0%", "items": "2.0", "occupancy": "29%", "colours": "1.0",
                                         "strawberries": "5.0", "loop-forcing": "0%", "don't use": "50%",
                                         "target < total": "33%"}
    table = stats.format_families()
    assert table[0].split()[:3] == ["family", "(real", "§12.1)"]
    assert table[1].split()[:2] == ["sum-classic", "100.0%"] and "(0.0%)" in table[1]
    assert table[-1].split()[:3] == ["all", "3", "(85)"] and "50% (67%)" in table[-1]
    assert "(real §12.1)" in stats.format()

    entries = load_suite("synthetic-families")
    stats = collect_stats(entries)
    assert all(stats.families[f].tasks == 50 for f in FAMILIES)
    cells = {f: stats.families[f].cells(stats.tasks) for f in FAMILIES}
    assert cells["find-dense"]["occupancy"] == cells["sum-full"]["occupancy"] == "100%"
    assert cells["sum-four"]["strawberries"] == "10.0" and cells["draw"]["items"] == "0.0"
    assert cells["draw-at_most"]["loop-forcing"] == cells["draw-dont_use"]["don't use"] == "100%"
    dense_logic = collect_stats(e for e in entries if task_family(e.task) in ("find+forbid", "collectall", "concat")
                                and is_dense(e.task))
    assert {f: c.cells(dense_logic.tasks)["occupancy"] for f, c in dense_logic.families.items()} == \
        {"find+forbid": "100%", "collectall": "100%", "concat": "100%"}


def test_load_by_path_suite_file_records_and_dataset_directory(tmp_path: Path) -> None:
    generated = list(generate_tasks(5, 12, SMALL))
    suite_file = tmp_path / "suite.jsonl"
    assert write_suite(str(suite_file), [g.to_entry() for g in generated]) == 12
    from_suite = load_suite(suite_file)
    assert [(e.task_id, e.task, e.program, e.skills) for e in from_suite] == \
        [(g.task.id, g.task, g.program, list(g.skills)) for g in generated]
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(g.to_record()) + "\n" for g in generated))
    assert [(e.task_id, e.task, e.program) for e in load_suite(str(records))] == \
        [(e.task_id, e.task, e.program) for e in from_suite]
    write_dataset(str(tmp_path / "ds"), 12, seed=5, config=SMALL, workers=1, shard_size=5, progress=False)
    assert [e.task_id for e in load_suite(tmp_path / "ds")] == [e.task_id for e in from_suite]


def test_load_reference_format_directory(tmp_path: Path) -> None:
    generated = list(generate_tasks(6, 3, SMALL))
    worlds, goals, constraints, codes = {}, {}, {}, {}
    for i, g in enumerate(generated):
        obj = g.task.to_json()
        goals[str(i)] = obj.pop("goal")
        constraints[str(i)] = obj.pop("constraints")
        worlds[str(i)] = obj
        codes[str(i)] = g.program.to_json()
    for name, data in (("worlds", worlds), ("goals", goals), ("constraints", constraints), ("codes", codes)):
        (tmp_path / f"xlogomini_{name}.json").write_text(json.dumps(data))
    entries = load_suite(tmp_path)
    assert [e.task_id for e in entries] == ["0", "1", "2"]
    assert all(execute(e.task, e.program).success and e.skills for e in entries)


def test_bad_suites_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(XLogoError, match="no suite of that name"):
        load_suite("mini-86")
    bad = tmp_path / "bad.jsonl"
    good = SuiteEntry("a", next(generate_tasks(1, 1, SMALL)).task, None, [])
    write_suite(str(bad), [good])
    bad.write_text(bad.read_text() + '{"task_id": "b", "task": {"turtle": {}}}\n')
    with pytest.raises(XLogoError, match=r"bad\.jsonl:2\.task"):
        load_suite(bad)
    bad.write_text("not json\n")
    with pytest.raises(XLogoError, match=r"bad\.jsonl:1"):
        load_suite(bad)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith("tasks-")}


def test_shards_are_deterministic_resumable_and_deduplicated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = tmp_path / "clean"
    manifest = write_dataset(str(clean), 260, seed=3, config=SMALL, workers=1, shard_size=100, progress=False)
    assert manifest["complete"] and [s["records"] for s in manifest["shards"]] == [100, 100, 60]
    ids = [r["id"] for r, _ in iter_jsonl(str(clean))]
    assert len(ids) == len(set(ids)) == 260
    assert ids == [str(g.task.id) for g in generate_tasks(3, 260, SMALL)]  # the in-process stream, same order

    # interrupt a run after its first shard, then run it again: the same bytes as the clean run
    resumed = tmp_path / "resumed"
    with interrupted_after_first_shard(monkeypatch):
        write_dataset(str(resumed), 260, seed=3, config=SMALL, workers=1, shard_size=100, progress=False)
    assert list(_files(resumed)) == ["tasks-00000.jsonl"]
    assert not [p for p in resumed.iterdir() if p.name.startswith(".tmp-")]
    write_dataset(str(resumed), 260, seed=3, config=SMALL, workers=1, shard_size=100, progress=False)
    assert _files(resumed) == _files(clean)

    # a longer run extends the same stream; other settings are refused
    write_dataset(str(resumed), 300, seed=3, config=SMALL, workers=1, shard_size=100, progress=False)
    assert [r["id"] for r, _ in iter_jsonl(str(resumed))][:260] == ids
    with pytest.raises(XLogoError, match="other settings"):
        write_dataset(str(resumed), 300, seed=4, config=SMALL, workers=1, shard_size=100, progress=False)


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    write_dataset(str(tmp_path / "one"), 300, seed=8, config=SMALL, workers=1, shard_size=120, progress=False)
    write_dataset(str(tmp_path / "two"), 300, seed=8, config=SMALL, workers=2, shard_size=120, progress=False)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


@needs("matplotlib")
def test_cli_generate_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert cli.main(["generate", "--count", "40", "--workers", "1", "--out", str(out), "--quiet",
                     "--goal-weights", "draw=1,find=1"]) == 0
    assert "40 tasks" in capsys.readouterr().out
    suite = tmp_path / "suite.jsonl"
    assert cli.main(["generate", "--count", "5", "--workers", "1", "--suite-out", str(suite), "--quiet"]) == 0
    assert len(load_suite(suite)) == 5
    png = tmp_path / "stats.png"
    assert cli.main(["stats", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "goal structure" in text and "real" in text and png.stat().st_size > 10_000
    assert cli.main(["generate", "--count", "5", "--goal-weights", "draw=x", "--out", str(out)]) == 2
