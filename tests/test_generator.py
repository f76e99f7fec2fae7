"""The synthetic task generator: verified, natural, reproducible, configurable, and held-out aware."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import (
    FAMILIES,
    GOAL_STRUCTURES,
    GeneratorConfig,
    canonical_json,
    generate_task,
    generate_tasks,
    is_heldout,
    loop_free_bound,
    task_family,
    task_hash,
    world_hash,
)
from xlogo_gym.generator.programs import compact, is_natural
from xlogo_gym.program import Command, Program, Repeat
from xlogo_gym.suite import write_suite
from xlogo_gym.task import Task
from xlogo_gym.world import LINE_HEX


def _check(g, config: GeneratorConfig) -> None:
    """Everything a generated task promises, checked independently of the generator."""
    task = Task.from_json(json.loads(json.dumps(g.task.to_json())))  # the public JSON is valid and complete
    assert task == g.task
    program = Program.from_json(json.loads(json.dumps(g.program.to_json())))
    assert program == g.program == Program.parse(str(g.program))
    verdict = execute(task, program)
    assert verdict.success, (verdict.explain(), task.to_json(), str(program))
    assert not execute(task, Program()).success, "the empty program must not solve a task"
    assert is_natural(program), str(program)
    assert config.min_blocks <= len(program) <= config.max_blocks
    assert len(program.ops) <= config.max_actions
    assert task.world.cols <= config.max_cols and task.world.rows <= config.max_rows
    assert all(item.in_catalogue() for item in task.world.items)
    assert g.goal_type == "+".join(task.goal_names)
    assert task.id == f"syn-{task_hash(task)}"
    assert task.description and task.description.endswith(".")
    if config.heldout != "include":
        assert is_heldout(task) == (config.heldout == "only")


def test_default_tasks_verify_and_cover_the_real_variety() -> None:
    config = GeneratorConfig()
    tasks = list(generate_tasks(11, 1200, config))
    for g in tasks:
        _check(g, config)
    goal = Counter(g.goal_type for g in tasks)
    assert set(goal) == set(GOAL_STRUCTURES)
    assert 0.3 < goal["draw"] / len(tasks) < 0.5 and 0.2 < goal["find"] / len(tasks) < 0.4
    kinds = Counter(g.features["constraint"] for g in tasks)
    assert {"none", "at_most", "exactly", "start_by"} <= set(kinds)
    assert 0.55 < kinds["none"] / len(tasks) < 0.8
    sizes = Counter((g.task.world.cols, g.task.world.rows) for g in tasks)
    assert sizes.most_common(1)[0][0] == (3, 3) and sizes[(4, 4)] > 0.05 * len(tasks)
    assert all(sum(1 for g in tasks if g.features[k]) > 0.1 * len(tasks) for k in ("missing", "forbidden", "walls"))
    colours = {LINE_HEX[line.color] for g in tasks for line in g.task.world.lines}
    assert colours == {"black", "red", "green", "blue", "yellow", "white"}
    assert any(g.program.depth() == 2 for g in tasks) and any(g.program.block_counts["repeat"] for g in tasks)
    assert max(len(g.program) for g in tasks) >= 14
    directions = Counter(g.task.world.turtle.direction for g in tasks)
    assert directions[0] > 0.6 * len(tasks) and len(directions) == 4
    totals = [o.total_cnt for g in tasks for o in g.task.goal if o.name == "sum"]
    assert max(totals) > 10 and min(totals) >= 1
    shapes = Counter(len(spec) for g in tasks for o in g.task.goal for spec in o.specs)
    assert shapes[1] and shapes[2]  # one literal, and colour AND shape


@pytest.mark.parametrize("structure", GOAL_STRUCTURES)
def test_each_goal_structure_alone(structure: str) -> None:
    config = GeneratorConfig(goal_weights={structure: 1})
    rng = random.Random(structure)
    for _ in range(25):
        g = generate_task(rng, config)
        _check(g, config)
        assert g.goal_type == structure
        if structure == "concat":
            assert len(g.task.goal[0].specs) >= 2
        if structure == "sum":
            assert 1 <= g.task.goal[0].total_cnt <= config.max_sum_total


@pytest.mark.parametrize("kind", ["at_most", "exactly", "start_by"])
def test_constraints_hold_for_the_kept_program_and_are_described(kind: str) -> None:
    config = GeneratorConfig(constraint_weights={kind: 1})
    rng = random.Random(kind)
    for _ in range(25):
        g = generate_task(rng, config)
        _check(g, config)
        effective = g.task.constraints.effective
        if kind == "at_most" and effective.at_most:
            (block, n), = effective.at_most
            assert block == "all" and n >= len(g.program) >= 2
            assert f"with at most {n} commands" in g.task.description
            assert compact(g.program) == g.program  # already folded into loops
        if effective.start_by:
            assert tuple(g.program.top_level_types[:len(effective.start_by)]) == effective.start_by
            assert "Start with" in g.task.description


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_constrained_programs_can_be_one_loop(share: float) -> None:
    """Most real constrained tasks repeat one pattern: `whole_loop_prob` makes their program one loop."""
    config = GeneratorConfig(constraint_weights={"at_most": 1, "exactly": 1}, whole_loop_prob=share)
    rng = random.Random(7)
    whole = []
    for _ in range(30):
        g = generate_task(rng, config)
        _check(g, config)
        loops = [s for s in g.program.body if isinstance(s, Repeat)]
        whole.append(len(loops) == 1 and g.program.body[-1] is loops[0]
                     and all(isinstance(s, Command) and s.kind == "setpc" for s in g.program.body[:-1]))
    assert all(whole) if share == 1.0 else sum(whole) < len(whole) / 2


def test_descriptions_read_like_the_real_tasks() -> None:
    rng = random.Random(3)
    seen: dict[str, str] = {}
    while len(seen) < len(GOAL_STRUCTURES):
        g = generate_task(rng, GeneratorConfig(constraint_weights={"none": 1}))
        seen.setdefault(g.goal_type, str(g.task.description))
    assert seen["draw"].startswith("Draw the picture")
    assert seen["find"].startswith("Find ")
    assert seen["sum"].startswith("Collect exactly ")
    assert "without stepping on" in seen["find+forbid"]
    assert seen["concat"].startswith("Collect ")


def test_line_order_is_no_cue_to_the_solution() -> None:
    rng = random.Random(8)
    by_rows = GeneratorConfig(goal_weights={"draw": 1}, line_order={"rows": 1})
    for g in (generate_task(rng, by_rows) for _ in range(20)):
        keys = [(ln.y1, ln.x1, ln.y2, ln.x2) for ln in g.task.world.lines]
        assert keys == sorted(keys) and all((y1, x1) < (y2, x2) for y1, x1, y2, x2 in keys)
    as_drawn = GeneratorConfig(goal_weights={"draw": 1}, line_order={"drawing": 1})
    for g in (generate_task(rng, as_drawn) for _ in range(20)):
        first = g.task.world.lines[0]
        assert (first.x1, first.y1) == (g.task.world.turtle.x, g.task.world.turtle.y)


def test_robustness_settings_reach_beyond_the_real_data() -> None:
    config = GeneratorConfig(size_weights={"8x6": 1, "5x5": 1}, loop_prob_items=1, loop_prob_draw=1, max_blocks=20,
                             max_actions=80, mean_moves_find=6, heldout="include")
    rng = random.Random(5)
    tasks = [generate_task(rng, config) for _ in range(40)]
    for g in tasks:
        _check(g, config)
    assert max(g.task.world.cols for g in tasks) == 8 and max(g.task.world.rows for g in tasks) >= 5
    assert max(len(g.program) for g in tasks) > 12


def test_same_seed_same_tasks_other_seed_other_tasks() -> None:
    first = [g.to_record() for g in generate_tasks(42, 60)]
    again = [g.to_record() for g in generate_tasks(42, 60)]
    other = [g.to_record() for g in generate_tasks(43, 60)]
    assert first == again
    assert len({r["id"] for r in first}) == 60  # de-duplicated
    assert {r["id"] for r in first}.isdisjoint(r["id"] for r in other[:10]) or first != other
    rng_a, rng_b = random.Random(9), random.Random(9)
    assert generate_task(rng_a).to_record() == generate_task(rng_b).to_record()


def test_heldout_tasks_only_in_evaluation_streams() -> None:
    assert not any(is_heldout(g.task) for g in generate_tasks(0, 300))
    only = GeneratorConfig(heldout="only")
    rng = random.Random(1)
    for _ in range(5):
        _check(generate_task(rng, only), only)


def test_worlds_of_excluded_suites_are_never_generated(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    first = list(generate_tasks(21, 30, GeneratorConfig(exclude_suites=())))
    seen = tmp_path / "seen.jsonl"
    write_suite(str(seen), [g.to_entry() for g in first])
    again = list(generate_tasks(21, 30, GeneratorConfig(exclude_suites=(str(seen),))))
    assert {world_hash(g.task) for g in first}.isdisjoint(world_hash(g.task) for g in again)
    with caplog.at_level("WARNING"):
        generate_task(random.Random(0), GeneratorConfig(exclude_suites=(str(tmp_path / "absent.jsonl"),)))
    assert "absent.jsonl" in caplog.text


def test_canonical_identity_ignores_id_description_and_layout() -> None:
    g = generate_task(random.Random(4))
    obj = g.task.to_json()
    shuffled = dict(obj, id="other", description="whatever", tiles=list(reversed(obj["tiles"])),
                    items=list(reversed(obj["items"])))
    twin = Task.from_json(shuffled)
    assert task_hash(twin) == task_hash(g.task) and canonical_json(twin) == canonical_json(g.task)
    moved = Task.from_json(dict(obj, turtle=dict(obj["turtle"], direction=(obj["turtle"]["direction"] + 1) % 4)))
    assert task_hash(moved) != task_hash(g.task)


@pytest.mark.parametrize("settings_, field", [
    ({"goal_weights": {"jump": 1}}, "goal_weights"),
    ({"goal_weights": {"find": 0}}, "goal_weights"),
    ({"goal_weights": {"find": -1}}, "goal_weights"),
    ({"size_weights": {"3by3": 1}}, "size_weights"),
    ({"size_weights": {"9x9": 1}}, "size_weights"),
    ({"size_weights": {"7x3": 1}, "max_cols": 6}, "size_weights"),
    ({"max_rows": 0}, "max_rows"),
    ({"min_blocks": 5, "max_blocks": 4}, "max_blocks"),
    ({"loop_prob_items": 1.5}, "loop_prob_items"),
    ({"whole_loop_prob": -0.1}, "whole_loop_prob"),
    ({"wall_prob": float("nan")}, "wall_prob"),
    ({"direction_weights": (1, 2, 3)}, "direction_weights"),
    ({"repeat_weights": {1: 1}}, "repeat_weights"),
    ({"pen_weights": {"purple": 1}}, "pen_weights"),
    ({"heldout": "maybe"}, "heldout"),
    ({"constraint_weights": {"never": 1}}, "constraint_weights"),
    ({"max_sum_total": True}, "max_sum_total"),
    ({"dense_prob": 1.5}, "dense_prob"),
    ({"dense_find_prob": -0.2}, "dense_find_prob"),
    ({"loop_forcing_prob": "high"}, "loop_forcing_prob"),
    ({"dont_use_prob": float("inf")}, "dont_use_prob"),
    ({"sum_layout": {"square": 1}}, "sum_layout"),
    ({"sum_layout": {"four": 0}}, "sum_layout"),
])
def test_bad_settings_name_the_field(settings_: dict, field: str) -> None:
    with pytest.raises(XLogoError, match=field):
        GeneratorConfig(**settings_)


def test_settings_json_round_trip_and_unknown_keys() -> None:
    config = GeneratorConfig(goal_weights={"sum": 2, "draw": 1}, repeat_weights={2: 1, 12: 0.5})
    assert GeneratorConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    with pytest.raises(XLogoError, match="unknown setting 'colour'"):
        GeneratorConfig.from_json({"colour": 1})
    with pytest.raises(XLogoError, match="count"):
        next(generate_tasks(0, -1))


def test_impossible_settings_give_up_with_a_clear_error() -> None:
    config = GeneratorConfig(size_weights={"2x1": 1}, random_size_prob=0, min_blocks=12, heldout="include")
    with pytest.raises(XLogoError, match="loosen"):
        generate_task(random.Random(0), config)


_COMMANDS = st.sampled_from([Command("fd"), Command("bk"), Command("lt"), Command("rt"), Command("setpc", "red")])
_STATEMENTS = st.recursive(_COMMANDS, lambda inner: st.builds(
    lambda times, body: Repeat(times, tuple(body)), st.integers(2, 4), st.lists(inner, min_size=1, max_size=3)),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(_STATEMENTS, max_size=12))
def test_compact_keeps_the_behaviour_and_never_grows(body: list) -> None:
    program = Program(tuple(body))
    folded = compact(program)
    assert folded.ops == program.ops
    assert len(folded) <= len(program)
    assert compact(folded, min_saving=1) == compact(folded)


def test_compact_folds_runs() -> None:
    assert str(compact(Program.parse("fd fd fd fd rt"))) == "repeat(4){\n  fd\n}\nrt\n"
    assert str(compact(Program.parse("fd rt fd rt fd rt"))) == "repeat(3){\n  fd\n  rt\n}\n"
    assert compact(Program.parse("fd fd rt")) == Program.parse("fd fd rt")  # no saving


def _free(task: Task) -> set[tuple[int, int]]:
    start = (task.world.turtle.x, task.world.turtle.y)
    return {(t.x, t.y) for t in task.world.tiles if t.allowed and (t.x, t.y) != start}


@pytest.mark.parametrize("structure", ["find+forbid", "find+forbid+forbid", "collectall", "collectall+forbid",
                                       "concat"])
def test_dense_logic_worlds_fill_every_free_cell(structure: str) -> None:
    config = GeneratorConfig(goal_weights={structure: 1}, dense_prob=1, size_weights={"3x3": 1, "4x4": 1},
                             random_size_prob=0)
    rng = random.Random(structure)
    palettes = Counter()
    for _ in range(30):
        g = generate_task(rng, config)
        _check(g, config)
        task = g.task
        assert {(i.x, i.y) for i in task.world.items} == _free(task), task.to_json()
        assert execute(task, g.program).success and not execute(task, Program()).success
        assert g.features["dense"] and task_family(task) == g.features["family"]
        names = {i.name for i in task.world.items}
        palettes["circles" if names == {"circle"} and len({i.color for i in task.world.items}) > 3 else
                 "shapes" if names <= {"circle", "cross", "rectangle", "triangle"} else "mixed"] += 1
        for o in task.goal:  # with only circles, "circle" alone would name every item
            if names == {"circle"}:
                assert all(any(v != "circle" for clause in spec for v in clause) for spec in o.specs)
    assert palettes["shapes"] and (structure.startswith("collectall") or palettes["circles"])


def test_dense_find_worlds_and_sparse_findonly() -> None:
    config = GeneratorConfig(goal_weights={"find": 1, "findonly": 1}, dense_find_prob=1, dense_prob=1,
                             size_weights={"3x3": 1}, random_size_prob=0, constraint_weights={"none": 1})
    rng = random.Random(2)
    for _ in range(30):
        g = generate_task(rng, config)
        _check(g, config)
        if g.goal_type == "find":
            assert {(i.x, i.y) for i in g.task.world.items} == _free(g.task)
            assert g.features["family"] == "find-dense"
        else:
            assert not g.features["dense"] and g.features["family"] == "findonly"


@pytest.mark.parametrize("layout", ["four", "full"])
def test_sum_layouts_like_the_real_ones(layout: str) -> None:
    config = GeneratorConfig(goal_weights={"sum": 1}, sum_layout={layout: 1}, size_weights={"3x3": 1},
                             random_size_prob=0)
    rng = random.Random(layout)
    for _ in range(30):
        g = generate_task(rng, config)
        _check(g, config)
        items = g.task.world.items
        total = g.task.goal[0].total_cnt
        assert {i.name for i in items} == {"strawberry"}
        assert total < sum(i.count for i in items)
        visited = set(execute(g.task, g.program).trace)
        assert total == sum(i.count for i in items if (i.x, i.y) in visited)
        if layout == "four":
            assert sorted(i.count for i in items) == [1, 2, 3, 4] and g.features["family"] == "sum-four"
        else:
            assert {(i.x, i.y) for i in items} == _free(g.task) and g.features["family"] == "sum-full"


def test_at_most_limits_force_a_loop() -> None:
    config = GeneratorConfig(constraint_weights={"at_most": 1}, loop_forcing_prob=1,
                             goal_weights={"draw": 3, "find": 2, "find+forbid": 1, "findonly": 1})
    rng = random.Random(12)
    for _ in range(60):
        g = generate_task(rng, config)
        _check(g, config)
        (block, limit), = g.task.constraints.effective.at_most
        assert block == "all" and limit >= 2
        assert loop_free_bound(g.task) > limit and g.features["loop_forcing"]
        assert g.program.block_counts["repeat"] > 0  # the only solutions within the limit use loops
        if g.goal_type in ("draw", "find"):
            assert g.features["family"] == g.goal_type + "-at_most"


def test_long_loops_repeat_longer_patterns() -> None:
    def widest_body(program: Program) -> int:
        return max((len(s.body) for s in program.body if isinstance(s, Repeat)), default=0)

    means = []
    for long_loop_prob in (0.0, 1.0):
        config = GeneratorConfig(goal_weights={"draw": 1}, constraint_weights={"at_most": 1}, loop_forcing_prob=1,
                                 long_loop_prob=long_loop_prob)
        rng = random.Random(0)
        tasks = [generate_task(rng, config) for _ in range(60)]
        for g in tasks:
            _check(g, config)
            assert g.features["family"] == "draw-at_most"
        means.append(sum(widest_body(g.program) for g in tasks) / len(tasks))
    assert means[1] > means[0] + 0.1


def test_loop_free_bound_by_hand() -> None:
    tiles = [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(3) for x in range(3)]
    task = Task.from_json({"turtle": {"x": 0, "y": 2, "direction": 0}, "tiles": tiles,
                           "items": [{"x": 2, "y": 0, "name": "lemon", "color": "yellow", "count": 1}],
                           "lines": [], "goal": [{"name": "find", "specs": [[[{"name": "lemon", "neg": 0}]]]}],
                           "constraints": [{"at_most": {"all": 4}}]})
    assert loop_free_bound(task) == 5  # fd fd rt fd fd
    assert task_family(task) == "find-at_most"


def test_dont_use_constraints_ban_commands_the_program_avoids() -> None:
    config = GeneratorConfig(constraint_weights={"exactly": 1}, dont_use_prob=1)
    rng = random.Random(13)
    banned_sets = Counter()
    for _ in range(60):
        g = generate_task(rng, config)
        _check(g, config)
        exactly = g.task.constraints.effective.exactly
        assert exactly and all(n == 0 for _, n in exactly)
        counts = g.program.block_counts
        assert all(counts[block] == 0 for block, _ in exactly), (exactly, str(g.program))
        assert "without" in g.task.description
        banned_sets[tuple(b for b, _ in exactly)] += 1
        if g.goal_type in ("draw", "find"):
            assert g.features["family"] == g.goal_type + "-dont_use"
    assert banned_sets[("fd",)] and len(banned_sets) >= 3


def test_families_in_the_default_mix() -> None:
    tasks = list(generate_tasks(5, 3000))
    families = Counter(g.features["family"] for g in tasks)
    assert set(families) == set(FAMILIES), families
    for g in tasks[:500]:
        assert g.features["family"] == task_family(g.task)
    goal = Counter(g.goal_type for g in tasks)
    assert 0.3 < goal["draw"] / len(tasks) < 0.5 and 0.2 < goal["find"] / len(tasks) < 0.4
    logic = [g for g in tasks if g.goal_type in ("find+forbid", "find+forbid+forbid", "collectall",
                                                   "collectall+forbid", "concat")]
    assert sum(g.features["dense"] for g in logic) > 0.5 * len(logic)
    at_most = [g for g in tasks if g.task.constraints.effective.at_most]
    assert sum(g.features["loop_forcing"] for g in at_most) > 0.7 * len(at_most)
