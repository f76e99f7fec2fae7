"""Property tests: printing then parsing gives the program back; no input raises anything but XLogoError."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from xlogo_gym import Program, Task, XLogoError, execute
from xlogo_gym.program import Command, Repeat
from xlogo_gym.world import PEN_COLORS

commands = st.one_of(st.sampled_from([Command(k) for k in ("fd", "bk", "lt", "rt")]),
                     st.sampled_from(PEN_COLORS).map(lambda c: Command("setpc", c)))
statements = st.recursive(commands, lambda inner: st.builds(
    Repeat, st.integers(1, 12), st.lists(inner, max_size=4).map(tuple)), max_leaves=20)
programs = st.lists(statements, max_size=8).map(lambda body: Program(tuple(body)))

TASK = Task.from_json({
    "turtle": {"x": 1, "y": 1, "direction": 0},
    "tiles": [{"x": x, "y": y, "allowed": (x, y) != (2, 2), "walls": {}} for y in range(3) for x in range(3)],
    "items": [{"x": 0, "y": 0, "name": "strawberry", "color": "red", "count": 2}],
    "lines": [], "goal": [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}],
    "constraints": [{"at_most": {"all": 6}}]})


@given(programs)
def test_print_then_parse_gives_the_program_back(program: Program) -> None:
    assert Program.parse(str(program)) == program
    assert Program.from_json(json.loads(json.dumps(program.to_json()))) == program


@given(programs)
def test_any_program_gets_a_verdict(program: Program) -> None:
    v = execute(TASK, program)
    assert v.success == (not v.crashed and bool(v.goal_ok) and bool(v.constraints_ok))


_text_alphabet = st.sampled_from(list("fdbkltrsepcat(){}0123456789 \n\t;,xyzRED") + ["repeat", "setpc", "fd", "red"])


@given(st.lists(_text_alphabet, max_size=40).map("".join) | st.text(max_size=60))
@settings(max_examples=300)
def test_random_text_parses_or_raises_xlogo_error(text: str) -> None:
    try:
        program = Program.parse(text)
    except XLogoError:
        return
    execute(TASK, program)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 20) | st.sampled_from(["fd", "repeat", "red", "top", "x", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "times", "body", "value", "run", "x", "y", "name", "color", "count", "walls",
                         "allowed", "specs", "neg", "at_most", "start_by", "all"]), inner, max_size=4),
    max_leaves=25)


@given(json_values)
@settings(max_examples=300)
def test_random_code_json_loads_or_raises_xlogo_error(obj) -> None:
    try:
        Program.from_json(obj)
    except XLogoError:
        pass


def _task_like(draw) -> dict:
    base = TASK.to_json()
    key = draw(st.sampled_from(sorted(base)))
    base[key] = draw(json_values)
    return base


@given(st.data())
@settings(max_examples=300)
def test_random_task_json_loads_or_raises_xlogo_error(data) -> None:
    obj = _task_like(data.draw)
    try:
        task = Task.from_json(obj)
    except XLogoError:
        return
    execute(task, Program.parse("fd lt fd"))
