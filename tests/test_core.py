"""Unit tests for the rules of SEMANTICS.md: moves, walls, drawing, goals, constraints, strict mode, errors."""

from __future__ import annotations

import copy
import json

import pytest

from xlogo_gym import Program, Task, XLogoError, execute
from xlogo_gym.program import MAX_ACTIONS


def grid(w: int = 3, h: int = 3, turtle: tuple[int, int, int] = (1, 1, 0), **extra) -> dict:
    tiles = [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(h) for x in range(w)]
    task = {"turtle": {"x": turtle[0], "y": turtle[1], "direction": turtle[2]}, "tiles": tiles, "items": [],
            "lines": [], "goal": [], "constraints": []}
    task.update(extra)
    return task


def tile(task: dict, x: int, y: int) -> dict:
    return next(t for t in task["tiles"] if t["x"] == x and t["y"] == y)


def item(name: str, color: str, x: int, y: int, count: int = 1) -> dict:
    return {"x": x, "y": y, "name": name, "color": color, "count": count}


def lit(value: str) -> dict:
    return {"name": value, "neg": 0}


def obj(name: str, *values: str, total: int | None = None) -> dict:
    out = {"name": name, "specs": [[[lit(v)] for v in values]] if name != "concat" else [[[lit(v)]] for v in values]}
    if total is not None:
        out["total_cnt"] = total
    return out


def run(task: dict, text: str, strict: bool = False):
    return execute(Task.from_json(task), Program.parse(text), strict=strict)


# -- moves and crashes ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "reason", "cell"), [
    ("fd\nfd", "OUT_OF_WORLD", (1, -1)),
    ("rt\nfd\nfd", "OUT_OF_WORLD", (3, 1)),
])
def test_leaving_the_grid_crashes_with_reason_and_cell(text: str, reason: str, cell: tuple[int, int]) -> None:
    v = run(grid(), text)
    assert v.crashed and v.crash_reason == reason and v.crash_cell == cell
    assert v.goal_ok is None and v.constraints_ok is None and not v.success


def test_bk_moves_backwards_and_tests_the_opposite_side() -> None:
    task = grid()
    tile(task, 1, 1)["walls"] = {"top": True}
    assert run(task, "fd").crash_reason == "WALL"
    v = run(task, "bk")
    assert not v.crashed and v.trace == [(1, 1), (1, 2)]


def test_one_sided_wall_blocks_only_leaving_its_tile_unless_strict() -> None:
    task = grid()
    tile(task, 1, 0)["walls"] = {"bottom": True}
    assert not run(task, "fd").crashed
    assert run(task, "fd", strict=True).crash_reason == "WALL"


def test_forbidden_missing_and_nonexistent_cells_crash() -> None:
    task = grid()
    tile(task, 1, 0)["allowed"] = False
    assert run(task, "fd").crash_reason == "FORBIDDEN_AREA"
    task = grid()
    task["tiles"].remove(tile(task, 1, 0))
    assert run(task, "fd").crash_reason == "FORBIDDEN_AREA"
    task = grid()
    tile(task, 1, 0)["exist"] = False
    assert run(task, "fd").crash_reason == "GRID_NOT_EXIST"


def test_start_cell_is_never_checked() -> None:
    task = grid()
    tile(task, 1, 1)["allowed"] = False
    assert run(task, "fd").success


def test_crash_stops_the_program_and_skips_goal_and_constraints() -> None:
    task = grid(goal=[obj("find", "strawberry")], items=[item("strawberry", "red", 2, 0)])
    v = run(task, "fd\nfd\nrt\nfd")
    assert v.crashed and v.crash_step == 1 and v.trace == [(1, 1), (1, 0)]


def test_action_limit_is_exactly_one_hundred_thousand() -> None:
    nest = "repeat(10){" * 5 + "rt" + "}" * 5
    assert run(grid(), nest).success
    v = run(grid(), nest + " setpc(red)")
    assert v.crashed and v.crash_reason == "EXCEED_MAX_CALLS" and v.crash_step == MAX_ACTIONS


def test_pathological_nesting_crashes_quickly_without_expanding_everything() -> None:
    program = Program.parse("repeat(12){" * 40 + "fd rt" + "}" * 40)
    assert len(program.ops) == MAX_ACTIONS + 1
    v = execute(Task.from_json(grid(1, 1, (0, 0, 0))), program)
    assert v.crashed and v.crash_reason == "OUT_OF_WORLD"
    v = execute(Task.from_json(grid(1, 1, (0, 0, 0))), Program.parse("repeat(12){" * 40 + "rt" + "}" * 40))
    assert v.crash_reason == "EXCEED_MAX_CALLS"


# -- drawing ----------------------------------------------------------------------------------

def line(x1: int, y1: int, x2: int, y2: int, color: str = "#000000") -> dict:
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "color": color}


def draw_task(*lines: dict) -> dict:
    return grid(turtle=(1, 2, 0), lines=list(lines), goal=[{"name": "draw", "specs": [[]]}])


def test_draw_needs_exact_picture_with_colours_and_last_colour_wins() -> None:
    assert run(draw_task(line(1, 2, 1, 0)), "fd\nfd").success
    assert not run(draw_task(line(1, 2, 1, 1)), "fd\nfd").goal_ok
    assert not run(draw_task(line(1, 2, 1, 0)), "fd").goal_ok
    assert run(draw_task(line(1, 2, 1, 1, "#0D47A1")), "setpc(red)\nfd\nsetpc(blue)\nbk").success
    assert not run(draw_task(line(1, 2, 1, 1, "#D60000")), "setpc(red)\nfd\nsetpc(blue)\nbk").goal_ok
    assert run(draw_task(line(1, 2, 1, 1, "#FFFFFF")), "setpc(white)\nfd").success


def test_colour_name_in_a_line_never_matches() -> None:
    assert not run(draw_task(line(1, 2, 1, 1, "red")), "setpc(red)\nfd").goal_ok


def test_verdict_reports_the_drawn_picture() -> None:
    v = run(draw_task(), "setpc(green)\nfd\nrt\nfd")
    assert v.picture == {((1, 1), (1, 2)): "green", ((1, 1), (2, 1)): "green"}


def test_draw_ignores_other_objectives_unless_strict() -> None:
    task = draw_task(line(1, 2, 1, 1))
    task["goal"].insert(0, obj("find", "lemon"))
    task["items"] = [item("lemon", "yellow", 0, 0)]
    assert run(task, "fd").success
    v = run(task, "fd", strict=True)
    assert not v.goal_ok and v.failed_objectives == ["goal[0] find"]


# -- item goals -------------------------------------------------------------------------------

def test_find_counts_passing_over_and_the_start_cell() -> None:
    task = grid(turtle=(1, 2, 0), goal=[obj("find", "strawberry")], items=[item("strawberry", "red", 1, 1)])
    assert run(task, "fd\nfd").success
    task["items"] = [item("strawberry", "red", 1, 2)]
    assert run(task, "").success


def test_colour_and_shape_spec() -> None:
    task = grid(goal=[{"name": "find", "specs": [[[lit("red")], [lit("circle")]]]}],
                items=[item("triangle", "red", 1, 0)])
    assert not run(task, "fd").goal_ok
    task["items"] = [item("circle", "red", 1, 0)]
    assert run(task, "fd").success


def test_catalogue_violation_fails_every_item_goal() -> None:
    task = grid(goal=[obj("find", "lemon")], items=[item("lemon", "yellow", 1, 0), item("strawberry", "blue", 0, 0)])
    assert not run(task, "fd").goal_ok


def test_house_loads_and_counts_as_outside_the_catalogue() -> None:
    task = grid(goal=[obj("find", "lemon")], items=[item("lemon", "yellow", 1, 0), item("house", "red", 0, 0)])
    assert not run(task, "fd").goal_ok
    drawing = draw_task(line(1, 2, 1, 1))
    drawing["items"] = [item("house", "red", 0, 0)]
    assert run(drawing, "fd").success


def test_findonly_forbid_collectall_sum() -> None:
    items = [item("strawberry", "red", 1, 0, 2), item("lemon", "yellow", 0, 1), item("strawberry", "red", 2, 1, 3)]
    assert run(grid(goal=[obj("findonly", "strawberry")], items=items), "fd").success
    assert not run(grid(goal=[obj("findonly", "strawberry")], items=items), "lt\nfd").goal_ok
    assert not run(grid(goal=[obj("forbid", "lemon")], items=items), "lt\nfd").goal_ok
    assert run(grid(goal=[obj("collectall", "strawberry")], items=items), "fd\nbk\nrt\nfd").success
    assert not run(grid(goal=[obj("collectall", "strawberry")], items=items), "fd").goal_ok
    assert run(grid(goal=[obj("sum", "strawberry", total=5)], items=items), "fd\nbk\nrt\nfd").success
    assert not run(grid(goal=[obj("sum", "strawberry", total=4)], items=items), "fd\nbk\nfd").goal_ok


def test_concat_order_and_single_visit() -> None:
    items = [item("A", "black", 0, 3), item("B", "black", 0, 1)]
    task = grid(1, 5, (0, 4, 0), goal=[obj("concat", "A", "B")], items=items)
    assert run(task, "repeat(3){fd}").success
    assert not run(task, "fd fd bk fd fd").goal_ok
    task["items"] = [item("A", "black", 0, 1), item("B", "black", 0, 3)]
    assert not run(task, "repeat(3){fd}").goal_ok


def test_goal_grouping_quirk_and_strict_all_objectives() -> None:
    task = grid(goal=[obj("find", "lemon"), obj("find", "strawberry")],
                items=[item("strawberry", "red", 1, 0), item("lemon", "yellow", 0, 0)])
    assert run(task, "fd").success
    assert not run(task, "fd", strict=True).success
    assert run(task, "fd lt fd", strict=True).success


# -- constraints ------------------------------------------------------------------------------

@pytest.mark.parametrize(("constraints", "text", "ok", "strict_ok"), [
    ([{"at_most": {"all": 2}}], "repeat(2){fd}", True, True),
    ([{"at_most": {"all": 2}}], "setpc(red) fd fd", False, False),
    ([{"exactly": {"fd": 2}}], "rt bk", True, False),
    ([{"exactly": {"fd": 2}}], "fd rt", False, False),
    ([{"exactly": {"bk": 0}}], "fd bk", False, False),
    ([{"start_by": ["fd", "fd", "rt"]}], "repeat(2){fd} rt", False, False),
    ([{"start_by": ["repeat"]}], "repeat(2){fd} rt", True, True),
    ([{"start_by": ["fd", "rt"]}], "fd", False, False),
    ([{"at_most": {"all": 1}}, {"exactly": {"fd": 0}}], "fd fd", True, False),
    ({"at_most": {"all": 1}}, "fd fd", False, False),
])
def test_constraints(constraints, text: str, ok: bool, strict_ok: bool) -> None:
    task = grid(5, 5, (2, 2, 0), constraints=constraints)
    assert run(task, text).constraints_ok is ok
    assert run(task, text, strict=True).constraints_ok is strict_ok


def test_failed_constraints_are_explained() -> None:
    v = run(grid(5, 5, (2, 2, 0), constraints=[{"at_most": {"all": 2}}]), "fd rt fd")
    assert v.failed_constraints == ["at_most.all: program has 3, at most 2 allowed"]
    assert v.explain() == "used 3 commands, at most 2 allowed"


STRAWBERRIES = [item("strawberry", "red", 1, 0, 3), item("strawberry", "red", 0, 0, 2), item("strawberry", "red", 2, 2)]
#: A vertical black line (1,2)-(1,0) and a horizontal one (1,0)-(2,0): three unit segments.
LINES = [{"x1": 1, "y1": 2, "x2": 1, "y2": 0, "color": "#000000"},
         {"x1": 1, "y1": 0, "x2": 2, "y2": 0, "color": "#000000"}]


@pytest.mark.parametrize(("task", "text", "reasons", "machine"), [
    (grid(items=[item("strawberry", "red", 0, 0)], goal=[obj("find", "strawberry")]), "fd",
     ["did not find the strawberry"], ["goal[0] find"]),
    (grid(items=STRAWBERRIES, goal=[obj("find", "strawberry")]), "rt fd", ["did not find a strawberry"], None),
    (grid(items=STRAWBERRIES, goal=[obj("sum", "strawberry", total=6)]), "fd", ["collected 3 strawberries, needed 6"],
     ["goal[0] sum"]),
    (grid(items=STRAWBERRIES, goal=[obj("sum", "strawberry", total=2)]), "fd",
     ["collected 3 strawberries, needed exactly 2"], None),
    (grid(items=STRAWBERRIES, goal=[obj("collectall", "strawberry")]), "fd", ["collected 1 of 3 strawberries"],
     ["goal[0] collectall"]),
    (grid(items=[item("strawberry", "red", 0, 0), item("lemon", "yellow", 1, 0)],
          goal=[obj("find", "strawberry"), obj("forbid", "lemon")]), "fd lt fd",
     ["touched the forbidden lemon at (1,0)"], ["goal[1] forbid"]),
    (grid(items=[item("lemon", "yellow", 1, 0), item("lemon", "yellow", 0, 1)], goal=[obj("forbid", "lemon")]),
     "fd bk lt fd", ["touched 2 forbidden lemons, at (1,0) and (0,1)"], None),
    (grid(items=[item("strawberry", "red", 1, 0), item("lemon", "yellow", 0, 1)], goal=[obj("findonly", "strawberry")]),
     "lt fd rt fd rt fd", ["also visited a lemon at (0,1), though only strawberries were allowed"], None),
    (grid(items=[item("A", "black", 1, 0), item("B", "black", 2, 0)], goal=[obj("concat", "A", "B")]), "fd",
     ["did not visit the letter B"], None),
    (grid(items=[item("A", "black", 1, 0), item("B", "black", 2, 0)], goal=[obj("concat", "B", "A")]), "fd rt fd",
     ["visited the items out of order: needed a letter B, then a letter A"], None),
    (grid(lines=LINES, goal=[{"name": "draw", "specs": [[]]}]), "fd", ["drew 1 of 3 lines"], ["goal[0] draw"]),
    (grid(lines=LINES, goal=[{"name": "draw", "specs": [[]]}]), "fd rt setpc(red) fd",
     ["drew 1 of 3 lines, 1 in the wrong colour"], None),
    (grid(lines=LINES, goal=[{"name": "draw", "specs": [[]]}]), "lt fd",
     ["drew 0 of 3 lines, and 1 line that is not in the drawing"], None),
    (grid(constraints=[{"at_most": {"all": 2}}]), "fd rt fd", ["used 3 commands, at most 2 allowed"],
     ["at_most.all: program has 3, at most 2 allowed"]),
    (grid(constraints=[{"at_most": {"fd": 1}}]), "fd rt fd", ["used 2 fd commands, at most 1 allowed"], None),
    (grid(constraints=[{"exactly": {"fd": 0}}]), "rt fd", ["used fd, which is not allowed"],
     ["exactly.fd: program has 1, needs exactly 0"]),
    (grid(constraints=[{"exactly": {"all": 3}}]), "fd", ["used 1 command, exactly 3 needed"], None),
    (grid(constraints=[{"start_by": ["fd", "lt"]}]), "rt fd", ["must start with fd, lt, but starts with rt, fd"],
     ["start_by: program starts with ['rt', 'fd'], must start with ['fd', 'lt']"]),
    (grid(items=[item("strawberry", "red", 0, 0)], goal=[obj("find", "strawberry")],
          constraints=[{"at_most": {"all": 1}}]), "fd bk",
     ["did not find the strawberry", "used 2 commands, at most 1 allowed"], None),
])
def test_verdicts_say_why_in_sentences(task: dict, text: str, reasons: list[str], machine: list[str] | None) -> None:
    from xlogo_gym.rendering import verdict_line

    v = run(task, text)
    assert v.reasons == reasons and v.explain() == "; ".join(reasons)
    assert verdict_line(v)[0] == "Verdict: " + "; ".join(reasons)  # the frames' caption
    if machine is not None:  # the machine-readable fields keep their form
        assert v.failed_objectives + v.failed_constraints == machine


def test_verdict_sentences_for_strict_exactly_crashes_and_success() -> None:
    v = run(grid(constraints=[{"exactly": {"lt": 1}}]), "fd", strict=True)
    assert v.reasons == ["used no lt command, exactly 1 needed"]
    assert run(grid(), "fd fd").explain() == "crashed: left the grid at (1,-1) at action 1"
    assert run(grid(), "fd").reasons == [] and run(grid(), "fd").explain() == "success"


def test_block_counts_follow_the_text() -> None:
    p = Program.parse("setpc(red) repeat(3){ fd repeat(2){ lt } }")
    assert p.block_counts == {"fd": 1, "bk": 0, "lt": 1, "rt": 0, "setpc": 1, "repeat": 2, "all": 5}


# -- invalid input ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda t: t.pop("goal"), "missing field 'goal'"),
    (lambda t: t.update(goal=None), "task.goal"),
    (lambda t: t.update(constraints=None), "task.constraints"),
    (lambda t: t.update(goal=[{"name": "reach", "specs": [[]]}]), "unknown objective 'reach'"),
    (lambda t: t.update(goal=[{"name": "find", "specs": []}]), "task.goal[0].specs"),
    (lambda t: t.update(goal=[{"name": "sum", "specs": [[[lit("red")]]]}]), "total_cnt"),
    (lambda t: t.update(goal=[{"name": "find", "specs": [[[{"name": "red", "neg": 1}]]]}]), "negated"),
    (lambda t: t.update(goal=[{"name": "find", "specs": [[[{"count": 2}]]]}]), "task.goal[0].specs[0][0][0]"),
    (lambda t: t.update(goal=[{"name": "find", "specs": [[[lit("white")]]]}]), "unknown literal value 'white'"),
    (lambda t: t.update(goal=[{"name": "findonly", "specs": [[[lit("red")], [lit("circle")]]]}]), "one clause"),
    (lambda t: t.update(lines=[line(0, 0, 1, 1)]), "diagonal"),
    (lambda t: t.update(lines=[line(0, 0, 1, 0, "#d60000")]), "task.lines[0]"),
    (lambda t: t.update(lines=[line(0, 0, 5, 0)]), "outside the 3x3 grid"),
    (lambda t: t.update(items=[item("movablebox", "red", 0, 0)]), "task.items[0]"),
    (lambda t: t.update(items=[item("strawberry", "white", 0, 0)]), "unknown item colour"),
    (lambda t: t.update(items=[item("strawberry", "red", 0, 0, 5)]), "count"),
    (lambda t: t["turtle"].update(direction=4), "task.turtle"),
    (lambda t: t["turtle"].update(x=3), "outside"),
    (lambda t: t.update(tiles=[]), "must not be empty"),
    (lambda t: t.update(constraints=[{"at_most": {"fd": 1}, "exactly": {"fd": 1}}]), "both"),
    (lambda t: t.update(constraints=[{"start_by": ["jump"]}]), "start_by"),
])
def test_invalid_tasks_raise_a_clear_error(mutate, fragment: str) -> None:
    task = grid()
    mutate(task)
    with pytest.raises(XLogoError, match=None) as err:
        Task.from_json(task)
    assert fragment in str(err.value)


@pytest.mark.parametrize(("text", "fragment"), [
    ("fd\nrepeat(13){ fd }", "line 2, column 1"),
    ("fd fd\n  jump", "line 2, column 3"),
    ("repeat(2){ fd", "never closed"),
    ("fd }", "without an open repeat"),
    ("setpc(purple)", "unknown pen colour"),
    ("repeat(0){fd}", "outside 1..12"),
])
def test_program_syntax_errors_name_the_position(text: str, fragment: str) -> None:
    with pytest.raises(XLogoError) as err:
        Program.parse(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(("code", "fragment"), [
    ({"run": [{"type": "jump"}]}, "code.run[0]"),
    ({"run": [{"type": "fd", "x": 1}]}, "exactly the keys"),
    ({"run": [{"type": "repeat", "times": 13, "body": []}]}, "1..12"),
    ({"run": [{"type": "repeat", "times": 2.0, "body": []}]}, "integer"),
    ({"program": []}, '"run"'),
])
def test_bad_code_json_raises_a_clear_error(code: dict, fragment: str) -> None:
    with pytest.raises(XLogoError) as err:
        Program.from_json(code)
    assert fragment in str(err.value)


def test_errors_are_value_errors_and_inputs_are_not_mutated() -> None:
    task = grid(goal=[obj("find", "lemon")], items=[item("lemon", "yellow", 1, 0)])
    before = copy.deepcopy(task)
    Task.from_json(task)
    assert task == before
    assert issubclass(XLogoError, ValueError)


def test_to_json_round_trip_keeps_extra_keys() -> None:
    task = grid(id="t1", description="Find nothing.", rows=3)
    out = Task.from_json(task).to_json()
    assert out["id"] == "t1" and out["rows"] == 3
    assert json.loads(json.dumps(out)) == out


def test_progress_follows_a_program_as_it_grows() -> None:
    from xlogo_gym.emulator import progress

    fruit = [item("strawberry", "red", 1, 0, 2), item("strawberry", "red", 2, 0, 3), item("strawberry", "red", 2, 1),
             item("lemon", "yellow", 0, 1)]
    task = Task.from_json(grid(goal=[obj("sum", "strawberry", total=5), obj("forbid", "lemon")], items=fruit))
    for text, left, goal_ok in (("", 5, False), ("fd", 3, False), ("fd rt fd", 0, True), ("fd rt fd rt fd", -1, False)):
        state = progress(task, Program.parse(text))
        assert (state.left, state.goal_ok, state.wrong, state.crashed) == (left, goal_ok, False, False), text
        assert state.goal_ok == execute(task, Program.parse(text)).goal_ok
    crash = progress(task, Program.parse("fd rt fd lt fd"))  # the last fd leaves the grid
    assert crash.crashed and not crash.goal_ok and (crash.cell, crash.heading) == (2, 0)
    lemon = progress(task, Program.parse("lt fd"))
    assert lemon.wrong and not lemon.goal_ok and lemon.left == 5


def test_progress_counts_the_lines_left_and_wrong_ones() -> None:
    from xlogo_gym.emulator import progress

    task = Task.from_json(grid(goal=[{"name": "draw", "specs": [[]]}],
                               lines=[line(1, 1, 1, 0), line(1, 0, 2, 0, "#D60000")]))
    assert progress(task, Program.parse("")).left == 2
    first = progress(task, Program.parse("fd"))
    assert (first.left, first.wrong, first.goal_ok) == (1, False, False)
    black = progress(task, Program.parse("fd rt fd"))  # the second line in the wrong colour
    assert (black.left, black.wrong) == (1, True)
    done = progress(task, Program.parse("fd rt setpc(red) fd"))
    assert (done.left, done.wrong, done.goal_ok) == (0, False, True)
    assert done.goal_ok == execute(task, Program.parse("fd rt setpc(red) fd")).goal_ok
