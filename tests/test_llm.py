"""The task prompt, program extraction and the prompted-LLM agent against a loopback chat completions server.

The server is a real `ThreadingHTTPServer` on 127.0.0.1 speaking `/v1/chat/completions`; it picks
a canned behaviour (good, garbage, slow, erroring, malformed...) by the prompt it receives, so
the agent's real HTTP client, retries, cache and thread pool are exercised end to end.
"""

from __future__ import annotations

import base64
import io
import json
import random
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from conftest import conformance_cases, needs
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.llm import IMAGE_NOTE, LLMAgent, LLMConfig, extract_program, make_llm_agent
from agents.llm.client import redact
from xlogo_gym import Program, Task, XLogoError, execute
from xlogo_gym.cli import parse
from xlogo_gym.evaluation import AgentFailure, evaluate
from xlogo_gym.program import Command, Repeat
from xlogo_gym.prompt import ANSWER_FORMAT, LANGUAGE, item_words, task_prompt, task_summary
from xlogo_gym.suite import SuiteEntry
from xlogo_gym.world import DIRECTIONS, PEN_COLORS


# -- tasks ----------------------------------------------------------------------------------------
def make_task(turtle: tuple[int, int, int] = (1, 2, 0), cols: int = 3, rows: int = 3, **extra: Any) -> Task:
    tiles = [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(rows) for x in range(cols)]
    obj = {"turtle": {"x": turtle[0], "y": turtle[1], "direction": turtle[2]}, "tiles": tiles, "items": [],
           "lines": [], "goal": [], "constraints": []}
    obj.update(extra)
    return Task.from_json(obj)


def find_strawberry(x: int) -> Task:
    """A 12x3 grid: the turtle at (x, 2) facing north, a strawberry at (x, 0); `fd fd` solves it."""
    return make_task((x, 2, 0), cols=12, items=[{"x": x, "y": 0, "name": "strawberry", "color": "red", "count": 1}],
                     goal=[{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}])


def rich_task() -> Task:
    tiles = [{"x": x, "y": y, "allowed": (x, y) != (2, 1), "walls": {}} for y in range(3) for x in range(4)
             if (x, y) != (3, 0)]
    at = {(t["x"], t["y"]): t for t in tiles}
    at[(0, 0)]["walls"] = {"right": True}
    at[(1, 0)]["walls"] = {"left": True}
    at[(1, 1)]["walls"] = {"bottom": True}  # one-sided
    at[(0, 2)]["walls"] = {"left": True}  # on the border: left out
    items = [{"x": 1, "y": 0, "name": "strawberry", "color": "red", "count": 3},
             {"x": 2, "y": 2, "name": "lemon", "color": "yellow", "count": 1},
             {"x": 3, "y": 1, "name": "circle", "color": "blue", "count": 1},
             {"x": 0, "y": 1, "name": "A", "color": "black", "count": 1}]
    return Task.from_json({
        "turtle": {"x": 0, "y": 2, "direction": 1}, "tiles": tiles, "items": items, "lines": [],
        "goal": [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]},
                 {"name": "forbid", "specs": [[[{"color": "blue", "neg": 0}], [{"name": "circle", "neg": 0}]]]}],
        "constraints": [{"at_most": {"all": 5}, "exactly": {"lt": 1}, "start_by": ["fd", "rt"]}],
        "description": "secret-description"})


# -- task_prompt ----------------------------------------------------------------------------------
def test_prompt_mentions_the_world_goal_and_constraints() -> None:
    task = rich_task()
    prompt = task_prompt(task)
    assert prompt.startswith(LANGUAGE) and prompt.rstrip().endswith(ANSWER_FORMAT.rstrip())
    assert "Grid: 4 columns x 3 rows." in prompt
    assert "(0,2) turtle facing east" in prompt and "starts at (0,2) facing east" in prompt
    for phrase in ("red strawberry (count 3)", "yellow lemon", "blue circle", "black letter A"):
        assert phrase in prompt
    assert "(2,1) forbidden" in prompt and "(3,0) missing" in prompt
    assert "between (0,0) and (1,0)" in prompt
    assert "one-way on the bottom side of (1,1)" in prompt and "left side of (0,2)" not in prompt
    assert "- visit a cell with a strawberry" in prompt
    assert "- never visit a cell with a blue circle" in prompt
    for words in ("at most 5 blocks in total", "exactly 1 lt block", "starts with the top-level statements fd, rt"):
        assert words in prompt
    assert "secret-description" not in prompt and "secret-description" in task_prompt(task, description=True)


def test_prompt_is_deterministic_and_built_from_the_json() -> None:
    task = rich_task()
    again = Task.from_json(json.loads(json.dumps(task.to_json())))
    assert task_prompt(task) == task_prompt(again) == task_prompt(rich_task())
    short = task_prompt(task, instructions=False)
    assert LANGUAGE not in short and "```" not in short and short in task_prompt(task)
    assert task_summary(task).startswith("4x3, turtle (0,2) east; goal: visit a cell with a strawberry;")


def test_prompt_lists_the_target_drawing_with_later_lines_winning() -> None:
    lines = [{"x1": 1, "y1": 2, "x2": 1, "y2": 0, "color": "#000000"},
             {"x1": 1, "y1": 1, "x2": 1, "y2": 0, "color": "#D60000"},
             {"x1": 1, "y1": 1, "x2": 2, "y2": 1, "color": "#FFFFFF"}]
    task = make_task(lines=lines, goal=[{"name": "draw", "specs": [[]]}], constraints=[{"at_most": {"all": 0}}])
    prompt = task_prompt(task)
    assert "- black: (1,1)-(1,2)\n- red: (1,0)-(1,1)\n- white: (1,1)-(2,1)" in prompt
    assert "draw exactly the target drawing" in prompt and "use no blocks at all" in prompt
    assert "A cell counts as visited" not in prompt  # item-goal wording only for item goals


@pytest.mark.parametrize(("goal", "words"), [
    ({"name": "findonly", "specs": [[[{"name": "lemon"}]]]}, "visit a cell with a lemon, and no cell with any other"),
    ({"name": "collectall", "specs": [[[{"color": "red"}, {"color": "blue"}]]]},
     "visit every cell with an item that is red or blue"),
    ({"name": "sum", "specs": [[[{"name": "strawberry"}]]], "total_cnt": 4}, "must be exactly 4"),
    ({"name": "concat", "specs": [[[{"name": "A"}]], [[{"name": "B"}]]]},
     "visit a cell with a letter A, then a cell with a letter B, in this order"),
    ({"name": "find", "specs": [[[{"name": "noname"}]]]}, "visit an empty cell"),
    ({"name": "find", "specs": [[[{"color": "orange"}]]]}, "visit a cell with an orange item"),
])
def test_prompt_words_every_objective(goal: dict, words: str) -> None:
    assert words in task_prompt(make_task(goal=[goal]))


def test_prompt_covers_every_conformance_task() -> None:
    tasks = [Task.from_json(c["task"]) for c in conformance_cases()]
    for task in tasks:
        prompt = task_prompt(task)
        t = task.world.turtle
        assert f"({t.x},{t.y}) turtle facing {DIRECTIONS[t.direction]}" in prompt
        items = {(i.x, i.y): i for i in task.world.items}  # the last item on a cell is the one that counts
        assert all(f"({x},{y}) " in prompt and item_words(i) in prompt for (x, y), i in items.items())
        assert prompt.count("Row y=") == task.world.rows
        if "draw" in task.goal_names:
            for line in task.world.lines:
                for a, b in line.segments():
                    assert f"({a[0]},{a[1]})-({b[0]},{b[1]})" in prompt


def test_the_answer_format_example_is_a_program() -> None:
    assert extract_program(ANSWER_FORMAT) == "fd\nrepeat(2){\n  rt\n  fd\n}\nsetpc(red)\nbk\n"


# -- extract_program ------------------------------------------------------------------------------
@pytest.mark.parametrize(("reply", "program"), [
    ("```\nfd\nrt\n```", "fd\nrt\n"),
    ("Sure!\n```logo\nFD\nrepeat 3 [ fd rt ]\n```\nThat works.", "fd\nrepeat(3){\n  fd\n  rt\n}\n"),
    ("Not this: ```python\nprint(1)\n``` but ```\nfd\n```", "fd\n"),
    ("Draft:\n```\nfd\n```\nFixed:\n```\nbk\nbk\n```\nDone.", "bk\nbk\n"),
    ("The program is `repeat(3){fd rt}`.\n\nTurn left.", "repeat(3){\n  fd\n  rt\n}\n"),
    ("Use `fd` to move:\nfd\nfd\nrt", "fd\nfd\nrt\n"),
    ("The program `fd fd rt` works because `rt` turns right", "fd\nfd\nrt\n"),
    ("Answer: forward, forward, right", "fd\nfd\nrt\n"),
    ("1. fd\n2. fd\n3. turn right", "fd\nfd\nrt\n"),
    ("Step 1: fd\nStep 2: rt", "fd\nrt\n"),
    ("repeat(3) { fd; rt }", "repeat(3){\n  fd\n  rt\n}\n"),
    ("REPEAT 3 [FORWARD RIGHT 90] SETPC RED FD", "repeat(3){\n  fd\n  rt\n}\nsetpc(red)\nfd\n"),
    ('setpc("blue")\nfd(1)\nrepeat 2 times [ bk ]', "setpc(blue)\nfd\nrepeat(2){\n  bk\n}\n"),
    ("<think>```\nbk\n```</think>\n```\nfd\n```", "fd\n"),
    ("```\nfd  # go up\nrt // turn\n```", "fd\nrt\n"),
    ("```fd rt```", "fd\nrt\n"),
    ("Here:\n```\nfd\nrt\n", "fd\nrt\n"),  # reply cut inside the block
])
def test_extract_program_variants(reply: str, program: str) -> None:
    assert extract_program(reply) == program


@pytest.mark.parametrize("reply", ["", "I have no idea.", "fd 100", "repeat 13 [fd]", "```\nrepeat(2){\n  fd\n```",
                                   "setpc(purple)", "The turtle moves forward and then right."])
def test_extract_program_gives_none_without_a_program(reply: str) -> None:
    assert extract_program(reply) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*"fdbkltrpeasc(){}[]` \n:;,.#123", "repeat", "```", "setpc(red)", "<think>"]))
       .map("".join))
def test_extract_program_never_raises(reply: str) -> None:
    program = extract_program(reply)
    assert program is None or str(Program.parse(program)) == program


def test_deep_nesting_is_refused_not_a_crash() -> None:
    assert extract_program("repeat 2 [" * 5000 + "fd" + "]" * 5000) is None
    assert extract_program("repeat 2 [" * 50 + "fd" + "]" * 50) is not None


commands = st.sampled_from([Command(k) for k in ("fd", "bk", "lt", "rt")] + [Command("setpc", c) for c in PEN_COLORS])
programs = st.builds(Program, st.lists(st.recursive(
    commands, lambda inner: st.builds(Repeat, st.integers(1, 12), st.lists(inner, max_size=3).map(tuple)),
    max_leaves=8), min_size=1, max_size=6).map(tuple))
prose = st.text(st.characters(exclude_characters="`~", codec="utf-8"), max_size=80)
WORDS = ("the", "turtle", "should", "I", "think", "we", "need", "to", "go", "left", "right", "forward", "then",
         "is", "a", "grid", "with", "red", "lemon", "3", "it", "(1,2)", "so", "answer", "below", "=")


@settings(max_examples=60, deadline=None)
@given(programs, prose, prose, st.sampled_from(["", "logo", "python", "text"]))
def test_a_fenced_program_in_any_prose_is_recovered(program: Program, before: str, after: str, tag: str) -> None:
    assert extract_program(f"{before}\n```{tag}\n{program}```\n{after}") == str(program)


@settings(max_examples=60, deadline=None)
@given(programs, st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), max_size=4),
       st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), max_size=4))
def test_program_lines_between_prose_lines_are_recovered(program: Program, before: list, after: list) -> None:
    def sentences(lines: list[list[str]]) -> list[str]:
        return [" ".join(["Well,", *words]) + "." for words in lines]  # "well" is no command word

    reply = "\n".join([*sentences(before), str(program), *sentences(after)])
    assert extract_program(reply) == str(program)


@settings(max_examples=60, deadline=None)
@given(programs, st.randoms(use_true_random=False))
def test_logo_style_variants_are_normalised(program: Program, rnd: random.Random) -> None:
    words = {"fd": ["fd", "forward", "FD", "Forward", "fd()", "fd 1"], "bk": ["bk", "back", "BACKWARD"],
             "lt": ["lt", "left", "LT", "turn left", "lt 90"], "rt": ["rt", "right", "Right", "rt(90)"]}

    def render(body: tuple) -> str:
        out = []
        for s in body:
            if isinstance(s, Repeat):
                header = rnd.choice([f"repeat {s.times} [", f"REPEAT({s.times}) {{", f"repeat {s.times} times ["])
                close = "]" if header.endswith("[") else "}"
                out.append(f"{header} {render(s.body)} {close}")
            elif s.kind == "setpc":
                out.append(rnd.choice([f"setpc {s.color}", f'setpc("{s.color}")', f"SETPENCOLOR {s.color.upper()}"]))
            else:
                out.append(rnd.choice(words[s.kind]))
        return rnd.choice([" ", "; ", ", ", "\n"]).join(out)

    assert extract_program(f"```\n{render(program.body)}\n```") == str(program)


# -- the loopback chat completions server ---------------------------------------------------------
class Loopback:
    """Canned behaviours per prompt; the k-th request for a prompt uses behaviour k (the last one repeats).

    A behaviour is ("reply", [texts]) (one choice per text, at most n), ("sleep", seconds, [texts]),
    ("status", code, headers[, body]) ($AUTH in the body: the request's Authorization header) or ("raw", body bytes).
    """

    def __init__(self) -> None:
        self.behaviours: dict[str, list[tuple]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.loopback = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def on(self, task: Task, *behaviours: tuple) -> Task:
        self.behaviours[task_prompt(task)] = list(behaviours)
        return task

    def count(self, task: Task) -> int:
        return sum(r["prompt"] == task_prompt(task) for r in self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        loop: Loopback = self.server.loopback  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = body["messages"][-1]["content"]
        text = content if isinstance(content, str) else content[0]["text"]
        prompt = next((p for p in loop.behaviours if p in text), None)
        with loop.lock:
            index = sum(r["prompt"] == prompt for r in loop.requests)
            loop.requests.append({"prompt": prompt, "body": body, "path": self.path, "time": time.monotonic(),
                                  "auth": self.headers.get("Authorization")})
            loop.in_flight += 1
            loop.max_in_flight = max(loop.max_in_flight, loop.in_flight)
        try:
            if self.path != "/v1/chat/completions" or prompt is None:
                return self._send(404, b'{"error": "unknown path or prompt"}')
            behaviours = loop.behaviours[prompt]
            kind, *args = behaviours[min(index, len(behaviours) - 1)]
            if kind == "sleep":
                time.sleep(args[0])
                kind, args = "reply", args[1:]
            if kind == "reply":
                choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                           for i, t in enumerate(args[0][: body.get("n", 1)])]
                self._send(200, json.dumps({"object": "chat.completion", "model": body["model"],
                                            "choices": choices}).encode())
            elif kind == "status":
                body = b'{"error": {"message": "canned failure"}}' if len(args) < 3 else args[2]
                if b"$AUTH" in body:  # a server that echoes the request's Authorization header
                    body = body.replace(b"$AUTH", (self.headers.get("Authorization") or "").encode())
                self._send(args[0], body, args[1] if len(args) > 1 else {})
            else:
                self._send(200, args[0])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout)
        finally:
            with loop.lock:
                loop.in_flight -= 1

    def _send(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[Loopback]:
    loop = Loopback()
    yield loop
    loop.close()


def agent_for(server: Loopback, cache_dir: Any, **kw: Any) -> LLMAgent:
    options = {"timeout": 0.3, "max_retries": 2, "backoff": 0.01, "concurrency": 8, "progress": False, **kw}
    return LLMAgent("test-model", base_url=server.url, cache_dir=cache_dir, **options)


GOOD = "The turtle faces north, so:\n```\nfd\nfd\n```"


def test_end_to_end_every_behaviour_becomes_a_candidate(server: Loopback, tmp_path: Any) -> None:
    cases = {
        "good": server.on(find_strawberry(0), ("reply", [GOOD])),
        "prose": server.on(find_strawberry(1), ("reply", ["Let me think.\n\nFORWARD\nforward\n\nThat is it."])),
        "logo": server.on(find_strawberry(2), ("reply", ["Answer: `repeat 2 [ fd ]`"])),
        "wrong": server.on(find_strawberry(3), ("reply", ["```\nrt\nfd\n```"])),
        "garbage": server.on(find_strawberry(4), ("reply", ["I cannot help with that. 42!!"])),
        "slow": server.on(find_strawberry(5), ("sleep", 1.0, [GOOD])),
        "flaky": server.on(find_strawberry(6), ("status", 500), ("status", 503), ("reply", [GOOD])),
        "rate": server.on(find_strawberry(7), ("status", 429, {"Retry-After": "0.25"}), ("reply", [GOOD])),
        "malformed": server.on(find_strawberry(8), ("raw", b'{"choices": [tru')),
        "empty": server.on(find_strawberry(9), ("reply", [""])),
        "refused": server.on(find_strawberry(10), ("status", 400)),
        "nochoices": server.on(find_strawberry(11), ("raw", b'{"choices": []}')),
    }
    names = list(cases)
    results = dict(zip(names, agent_for(server, tmp_path).propose([cases[n] for n in names]), strict=True))
    assert all(len(c) == 1 for c in results.values())
    got = {name: c[0] for name, c in results.items()}

    programs = {name: c for name, c in got.items() if isinstance(c, Program)}
    assert set(programs) == {"good", "prose", "logo", "flaky", "rate", "wrong"}
    assert {name for name, p in programs.items() if execute(cases[name], p).success} == set(programs) - {"wrong"}
    failures = {name: c for name, c in got.items() if isinstance(c, AgentFailure)}
    reasons = {name: c.reason for name, c in failures.items()}
    assert set(reasons) == {"garbage", "slow", "malformed", "empty", "refused", "nochoices"}
    assert reasons["garbage"].startswith("no_program") and failures["garbage"].raw == "I cannot help with that. 42!!"
    assert reasons["slow"].startswith("timeout") and "3 attempts" in reasons["slow"]
    assert reasons["malformed"].startswith("malformed_response")
    assert reasons["empty"].startswith("empty_reply") and reasons["nochoices"].startswith("empty_reply")
    assert reasons["refused"].startswith("http_error: HTTP 400")

    assert server.count(cases["slow"]) == 3  # 1 + max_retries
    assert server.count(cases["flaky"]) == 3
    assert server.count(cases["malformed"]) == 1 and server.count(cases["refused"]) == 1  # not retried
    rate = [r["time"] for r in server.requests if r["prompt"] == task_prompt(cases["rate"])]
    assert len(rate) == 2 and rate[1] - rate[0] >= 0.2  # Retry-After honoured (backoff alone is 0.01 s)
    request = next(r for r in server.requests if r["prompt"] == task_prompt(cases["good"]))
    assert request["path"] == "/v1/chat/completions" and request["body"]["model"] == "test-model"
    assert request["body"]["messages"] == [{"role": "user", "content": task_prompt(cases["good"])}]
    assert request["body"]["temperature"] == 0.0 and "n" not in request["body"]


def test_cache_answers_reruns_without_requests(server: Loopback, tmp_path: Any) -> None:
    good = [server.on(find_strawberry(x), ("reply", [GOOD])) for x in range(3)]
    bad = server.on(find_strawberry(5), ("raw", b"not json"))
    first = agent_for(server, tmp_path).propose([*good, bad])
    assert len(server.requests) == 4 and len(list(tmp_path.glob("*.json"))) == 3
    second = agent_for(server, tmp_path).propose([*good, bad])
    assert second == first
    assert len(server.requests) == 5 and server.count(bad) == 2  # failures are not cached
    agent_for(server, tmp_path, cache=False).propose(good[:1])
    assert server.count(good[0]) == 2
    agent_for(server, tmp_path, temperature=0.5).propose(good[:1])  # another payload, another key
    assert server.count(good[0]) == 3


def test_requests_run_concurrently(server: Loopback, tmp_path: Any) -> None:
    tasks = [server.on(find_strawberry(x), ("sleep", 0.15, [GOOD])) for x in range(6)]
    results = agent_for(server, tmp_path, timeout=5.0, concurrency=6).propose(tasks)
    assert all(isinstance(c[0], Program) and execute(t, c[0]).success for t, c in zip(tasks, results, strict=True))
    assert server.max_in_flight >= 2


def test_samples_use_n_and_top_up_when_the_server_returns_fewer(server: Loopback, tmp_path: Any) -> None:
    honours_n = server.on(find_strawberry(0), ("reply", ["```fd fd```", "```fd```", "```bk```"]))
    partial = server.on(find_strawberry(1), ("reply", ["```fd fd```", "```rt```"]))
    ignores_n = server.on(find_strawberry(2), ("reply", ["```fd fd```"]))
    results = agent_for(server, tmp_path, temperature=0.7).propose([honours_n, partial, ignores_n], samples=3)
    assert [[str(p) for p in c] for c in results] == [["fd\nfd\n", "fd\n", "bk\n"], ["fd\nfd\n", "rt\n", "fd\nfd\n"],
                                                      ["fd\nfd\n"] * 3]
    assert (server.count(honours_n), server.count(partial), server.count(ignores_n)) == (1, 2, 3)
    bodies = [r["body"] for r in server.requests if r["prompt"] == task_prompt(ignores_n)]
    assert [b.get("n", 1) for b in bodies] == [3, 2, 1] and sorted(b["seed"] for b in bodies) == [0, 1, 2]
    one_each = agent_for(server, tmp_path / "other", temperature=0.7, use_n=False).propose([honours_n], samples=2)
    assert len(one_each[0]) == 2 and server.count(honours_n) == 3


def test_a_failed_request_fails_the_remaining_samples(server: Loopback, tmp_path: Any) -> None:
    task = server.on(find_strawberry(0), ("status", 401))
    candidates = agent_for(server, tmp_path).solve(task, samples=3)
    assert len(candidates) == 3 and all(isinstance(c, AgentFailure) and "HTTP 401" in c.reason for c in candidates)


def test_unreachable_server_is_a_connection_error(tmp_path: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = LLMAgent("m", base_url=f"http://127.0.0.1:{port}/v1", timeout=0.3, max_retries=1, backoff=0.01,
                     cache_dir=tmp_path, progress=False)
    (candidate,) = agent.solve(find_strawberry(0))
    assert isinstance(candidate, AgentFailure) and candidate.reason.startswith("connection_error")
    assert "2 attempts" in candidate.reason


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_stop_if_unreachable_raises_only_before_the_server_ever_answered(server: Loopback, tmp_path: Any) -> None:
    url = _closed_port_url()
    agent = LLMAgent("m", base_url=url, max_retries=0, cache_dir=tmp_path, progress=False, stop_if_unreachable=True)
    with pytest.raises(XLogoError, match=f"could not connect to {url}/chat/completions: all 2 requests failed"):
        agent.propose([find_strawberry(0), find_strawberry(1)])
    task = server.on(find_strawberry(0), ("reply", [GOOD]))
    agent = agent_for(server, tmp_path, cache=False, max_retries=0, stop_if_unreachable=True)
    assert isinstance(agent.solve(task)[0], Program)
    server.close()  # the server goes away mid-run: the failures are recorded, as without the option
    (candidate,) = agent.solve(task)
    assert isinstance(candidate, AgentFailure) and candidate.reason.startswith("connection_error")


def test_evaluate_without_a_server_fails_and_writes_no_report(tmp_path: Any, capsys: Any) -> None:
    from xlogo_gym.cli import main

    url, out = _closed_port_url(), tmp_path / "run"
    code = main(["evaluate", "--agent", f"llm:m@{url}", "--suite", "mini-85", "--limit", "3", "--max-retries", "0",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    assert code != 0
    assert f"could not connect to {url}/chat/completions" in capsys.readouterr().err
    assert not (out / "report.json").exists() and not (out / "report.md").exists()


def test_api_key_comes_from_the_named_variable(server: Loopback, tmp_path: Any, monkeypatch: Any) -> None:
    task = server.on(find_strawberry(0), ("reply", [GOOD]))
    monkeypatch.setenv("XLOGO_TEST_KEY", "sk-test")
    agent_for(server, tmp_path, api_key_env="XLOGO_TEST_KEY").solve(task)
    monkeypatch.delenv("XLOGO_TEST_KEY")
    agent_for(server, tmp_path, api_key_env="XLOGO_TEST_KEY", cache=False).solve(task)
    assert [r["auth"] for r in server.requests] == ["Bearer sk-test", None]
    assert "sk-test" not in "".join(p.read_text() for p in tmp_path.glob("*.json"))


def test_error_bodies_that_echo_the_key_are_redacted(server: Loopback, tmp_path: Any, monkeypatch: Any) -> None:
    task = server.on(find_strawberry(0), ("status", 401, {}, b'{"error": "bad key sk-secret-42 in $AUTH"}'))
    monkeypatch.setenv("XLOGO_TEST_KEY", "sk-secret-42")
    (candidate,) = agent_for(server, tmp_path, api_key_env="XLOGO_TEST_KEY").solve(task)
    assert isinstance(candidate, AgentFailure) and "HTTP 401" in candidate.reason
    assert "sk-secret" not in candidate.reason + candidate.raw and "Bearer [redacted]" in candidate.raw
    report = evaluate(agent_for(server, tmp_path, api_key_env="XLOGO_TEST_KEY"),
                      [SuiteEntry("t", task, None, [])], out_dir=str(tmp_path / "run"), progress=False, chart=False)
    stored = (tmp_path / "run" / "report.json").read_text() + (tmp_path / "run" / "partial.jsonl").read_text()
    assert report.summary["n_tasks"] == 1 and "sk-secret" not in stored and "[redacted]" in stored
    assert redact("Authorization: bearer abc.DEF_1-2 and key5", ["key5"]) == \
        "Authorization: bearer [redacted] and [redacted]"


def test_the_reply_cache_is_keyed_on_the_server(server: Loopback, tmp_path: Any) -> None:
    task = server.on(find_strawberry(0), ("reply", [GOOD]))
    agent = agent_for(server, tmp_path)
    other = LLMAgent("test-model", base_url="http://127.0.0.1:9/v1", cache_dir=tmp_path, progress=False)
    payload = agent.payload(agent.messages(task))
    assert agent.cache_key(payload) != other.cache_key(payload)
    agent.solve(task)
    (candidate,) = other.solve(task)  # the other server's reply is not reused: it is unreachable
    assert isinstance(candidate, AgentFailure) and candidate.reason.startswith("connection_error")


@needs("PIL")
def test_vision_attaches_a_png_of_the_task(server: Loopback, tmp_path: Any, monkeypatch: Any) -> None:
    image = np.zeros((6, 10, 3), np.uint8)
    image[2:4, 3:7] = (214, 0, 0)
    rendering = types.ModuleType("xlogo_gym.rendering")
    rendering.render_rgb = lambda task: image  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xlogo_gym.rendering", rendering)
    task = server.on(find_strawberry(0), ("reply", [GOOD]))
    agent = agent_for(server, tmp_path, vision=True)
    assert agent.name == "llm:test-model+vision"
    (candidate,) = agent.solve(task)
    assert isinstance(candidate, Program)
    text, picture = server.requests[0]["body"]["messages"][0]["content"]
    assert text == {"type": "text", "text": f"{task_prompt(task)}\n{IMAGE_NOTE}"}
    url = picture["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    assert np.array_equal(decoded, image)


# -- construction from the command line -----------------------------------------------------------
def test_make_llm_agent_reads_the_spec_and_options(tmp_path: Any) -> None:
    agent = make_llm_agent("llm:qwen2.5:7b@http://127.0.0.1:11434/v1", concurrency=3, vision=None)
    assert (agent.model, agent.base_url, agent.concurrency, agent.vision) == (
        "qwen2.5:7b", "http://127.0.0.1:11434/v1", 3, False)
    assert make_llm_agent("llm:gpt-4o").model == "gpt-4o"
    assert make_llm_agent("llm", model="m").model == "m"
    described = make_llm_agent("llm:m", description=True).messages(rich_task())[0]["content"]
    assert "secret-description" in described
    config = parse(LLMConfig, ["--base-url", "http://h:1/v1", "--concurrency", "2", "--cache-dir", str(tmp_path),
                               "--no-cache", "--temperature", "0.5"])
    options = config.options()
    assert options == {"base_url": "http://h:1/v1", "concurrency": 2, "cache": False, "cache_dir": str(tmp_path),
                       "temperature": 0.5}
    agent = make_llm_agent("llm:m", **options)
    assert (agent.url, agent.cache, agent.temperature) == ("http://h:1/v1/chat/completions", False, 0.5)
    for spec, kw in (("random", {}), ("llm:", {}), ("llm:a", {"model": "b"}),
                     ("llm:a@http://x/v1", {"base_url": "http://y/v1"})):
        with pytest.raises(XLogoError):
            make_llm_agent(spec, **kw)


def test_reply_text_is_recovered_from_content_parts(server: Loopback, tmp_path: Any) -> None:
    task = server.on(find_strawberry(0), ("raw", json.dumps({"choices": [{"message": {"content": [
        {"type": "text", "text": "```\nfd\n"}, {"type": "text", "text": "fd\n```"}]}, "finish_reason": "stop"}]})
        .encode()))
    (candidate,) = agent_for(server, tmp_path).solve(task)
    assert str(candidate) == "fd\nfd\n"
    cut = server.on(find_strawberry(1), ("raw", json.dumps({"choices": [{"message": {"content": "Let me think"},
                                                                         "finish_reason": "length"}]}).encode()))
    (failure,) = agent_for(server, tmp_path).solve(cut)
    assert isinstance(failure, AgentFailure) and "cut off at max_tokens" in failure.reason


def test_think_sections_do_not_hide_the_answer() -> None:
    reply = "<think>maybe `fd rt`? or\n```\nbk\nbk\n```</think>\nFinal answer:\n```\nfd\nfd\n```"
    assert extract_program(reply) == "fd\nfd\n"
