"""Replay hostile and broken inputs against the API and the command line and count the outcomes (issue 17).

    python benchmarks/probe_hostile.py            # every category
    python benchmarks/probe_hostile.py --core     # only the core's (no torch)
    python benchmarks/probe_hostile.py -v         # one line per input

Each input ends as one of: `clear` (an XLogoError, or the command line's `error:` and exit status
2, naming the file or field), `ok` (a bad input handled correctly, e.g. a refused path), `traceback`
(any other exception), `hang` (over TIMEOUT seconds; the probe is stopped by an alarm) or `wrong`
(accepted silently with a wrong result). The figures are printed per group of inputs (hangs: far
coordinates, huge programs, tiny generator spaces; bad-input: bad bytes, deep JSON, wrong types,
output paths, weights; silent: inputs that used to pass with a wrong result; checkpoints: damaged
policy checkpoints; eval-dirs: damaged evaluation folders and bad options; security) and in all.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import json
import operator
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from xlogo_gym import Program, Task, XLogoError, execute

TIMEOUT = 5.0
BASE_TASK: dict[str, Any] = {
    "turtle": {"x": 0, "y": 2, "direction": 0},
    "tiles": [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(3) for x in range(3)],
    "items": [{"x": 0, "y": 0, "name": "strawberry", "color": "red", "count": 1}],
    "lines": [{"x1": 0, "y1": 0, "x2": 1, "y2": 0, "color": "#D60000"}],
    "goal": [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}],
    "constraints": {"at_most": {"all": 5}, "start_by": ["fd"]},
    "id": "probe",
}
BASE_CODE: dict[str, Any] = {"run": [{"type": "repeat", "times": 2, "body": [{"type": "fd"}]},
                                     {"type": "setpc", "value": "red"}]}


class Wrong(Exception):
    """A bad input was accepted and gave a wrong result."""


class Hang(BaseException):
    """The probe ran over TIMEOUT seconds."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(*argv: str) -> None:
    """Run `xlogo-gym ARGV` in-process: exit status 2 with an `error:` line counts as a clear error."""
    from xlogo_gym.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(list(argv))
    if rc == 2 and "error:" in err.getvalue():
        raise XLogoError(err.getvalue().strip().splitlines()[-1])
    if rc != 0:
        raise Wrong(f"exit status {rc} without a clear error: {err.getvalue()[-200:]!r}")


def write(directory: str, name: str, data: str | bytes) -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    return path


def task_with(path: list[Any], value: Any) -> dict[str, Any]:
    """BASE_TASK with the value at `path` (keys and indices) replaced."""
    obj = copy.deepcopy(BASE_TASK)
    functools.reduce(operator.getitem, path[:-1], obj)[path[-1]] = value
    return obj


# -- the cases, by category -----------------------------------------------------------------

Case = tuple[str, str, Callable[[], None]]  # (category, name, function)


def collector(cases: list[Case]) -> Callable[[str, str], Callable[[Callable[[], None]], Callable[[], None]]]:
    """A decorator factory: `@add(category, name)` appends the function to `cases`."""
    def add(category: str, name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
        def wrap(fn: Callable[[], None]) -> Callable[[], None]:
            cases.append((category, name, fn))
            return fn
        return wrap
    return add


def core_cases(tmp: str) -> list[Case]:
    cases: list[Case] = []
    add = collector(cases)

    # 1. hangs from small files
    for x, y in ((3000, 3000), (10**5, 0), (0, 10**5), (10**30, 10**30), (2**63, 1)):
        def far_tile(x: int = x, y: int = y) -> None:
            obj = copy.deepcopy(BASE_TASK)
            obj["tiles"].append({"x": x, "y": y, "allowed": True, "walls": {}})
            execute(Task.from_json(obj), Program.parse("fd"))
        add("hangs", f"tile at ({x}, {y})")(far_tile)

    def far_task_file() -> None:
        obj = copy.deepcopy(BASE_TASK)
        obj["tiles"].append({"x": 10**5, "y": 10**5, "allowed": True, "walls": {}})
        cli("verify", write(tmp, "far.json", json.dumps(obj)), write(tmp, "fd.txt", "fd"))
    add("hangs", "verify a task with a far tile")(far_task_file)

    for size in (10**5, 10**6):
        def big_program(size: int = size) -> None:
            text = "fd " * (size // 3)
            Program.parse(text + "}")  # a parse error at the very end
        add("hangs", f"parse {size // 1000} kB of program text")(big_program)

    def big_program_file() -> None:
        cli("verify", write(tmp, "task.json", json.dumps(BASE_TASK)), write(tmp, "big.txt", "rt lt " * 170_000 + "x"))
    add("hangs", "verify a 1 MB program file")(big_program_file)

    def tiny_space() -> None:
        from xlogo_gym.generator import GeneratorConfig, generate_tasks

        config = GeneratorConfig(size_weights={"2x1": 1}, goal_weights={"find": 1}, random_size_prob=0,
                                 max_cols=2, max_rows=1, constraint_weights={"none": 1})
        for _ in generate_tasks(0, 2000, config):
            pass
    add("hangs", "generate 2000 tasks from a 2x1 find-only space")(tiny_space)

    def tiny_space_cli() -> None:
        config = {"size_weights": {"2x1": 1}, "goal_weights": {"find": 1}, "random_size_prob": 0, "max_cols": 2,
                  "max_rows": 1, "constraint_weights": {"none": 1}}
        cli("generate", "--count", "2000", "--workers", "1", "--quiet", "--config",
            write(tmp, "tiny.json", json.dumps(config)), "--out", os.path.join(tmp, "tiny-out"))
    add("hangs", "xlogo-gym generate --count 2000 on a 2x1 find-only space")(tiny_space_cli)

    # 3. tracebacks instead of errors: non-UTF-8, deep nesting, unhashable values
    bad_bytes = b'{"turtle": "\xff\xfe"}'

    def non_utf8_task() -> None:
        Task.from_file(write(tmp, "bad-task.json", bad_bytes))
    add("bad-input", "non-UTF-8 task file")(non_utf8_task)

    def non_utf8_program() -> None:
        Program.from_file(write(tmp, "bad-prog.txt", b"fd \xff rt"))
    add("bad-input", "non-UTF-8 program file")(non_utf8_program)

    def non_utf8_suite() -> None:
        from xlogo_gym.suite import load_suite

        load_suite(write(tmp, "bad-suite.jsonl", b'{"task_id": "\xff"}\n'))
    add("bad-input", "non-UTF-8 suite line")(non_utf8_suite)

    def non_utf8_config() -> None:
        cli("generate", "--count", "1", "--workers", "1", "--quiet", "--config",
            write(tmp, "bad-config.json", bad_bytes), "--out", os.path.join(tmp, "gen-bad-config"))
    add("bad-input", "non-UTF-8 --config")(non_utf8_config)

    def non_utf8_verify() -> None:
        cli("verify", write(tmp, "bad-task2.json", bad_bytes), write(tmp, "fd.txt", "fd"))
    add("bad-input", "verify a non-UTF-8 task file")(non_utf8_verify)

    deep = "[" * 100_000 + "]" * 100_000
    for name, text in (("task file", deep), ("program file", '{"run": ' + deep + "}")):
        def deep_file(name: str = name, text: str = text) -> None:
            path = write(tmp, "deep.json", text)
            (Task.from_file if name == "task file" else Program.from_file)(path)
        add("bad-input", f"deeply nested JSON {name}")(deep_file)

    def deep_suite() -> None:
        from xlogo_gym.suite import load_suite

        load_suite(write(tmp, "deep.jsonl", deep + "\n"))
    add("bad-input", "deeply nested JSON suite line")(deep_suite)

    def deep_config() -> None:
        cli("generate", "--count", "1", "--workers", "1", "--quiet", "--config", write(tmp, "deep-config.json", deep),
            "--out", os.path.join(tmp, "gen-deep"))
    add("bad-input", "deeply nested JSON --config")(deep_config)

    def deep_code_json() -> None:
        obj: Any = {"type": "fd"}
        for _ in range(50_000):
            obj = {"type": "repeat", "times": 2, "body": [obj]}
        Program.from_json({"run": [obj]})
    add("bad-input", "50,000 nested repeats in code JSON")(deep_code_json)

    string_fields = [
        ["lines", 0, "color"], ["items", 0, "name"], ["items", 0, "color"], ["goal", 0, "name"],
        ["goal", 0, "specs", 0, 0, 0, "name"], ["constraints", "start_by", 0], ["turtle", "direction"],
        ["tiles", 0, "allowed"], ["tiles", 0, "walls"], ["goal", 0, "specs", 0, 0, 0, "neg"], ["goal", 0, "specs"],
        ["constraints", "at_most", "all"], ["id"],
    ]
    for path in string_fields:
        for value in ([], {}, [[]], 1.5, None):
            def unhashable(path: list[Any] = path, value: Any = value) -> None:
                task = Task.from_json(task_with(path, value))
                if path == ["id"] and value is None:
                    if task.id is not None:
                        raise Wrong(f"a null id became {task.id!r}")
                    return
                if (path, value) in ((["goal", 0, "specs", 0, 0, 0, "neg"], None), (["tiles", 0, "walls"], {}),
                                     (["goal", 0, "specs"], [[]])):
                    return  # valid: a null neg means 0, no walls, a spec without clauses
                raise Wrong(f"accepted {value!r} at {path}")
            add("bad-input", f"task {'.'.join(map(str, path))} = {json.dumps(value)}")(unhashable)

    for key, value in (("type", []), ("type", {}), ("type", ["fd"]), ("value", []), ("value", {}), ("times", []),
                       ("times", "2"), ("body", {}), ("times", 2.0)):
        def bad_statement(key: str = key, value: Any = value) -> None:
            code = copy.deepcopy(BASE_CODE)
            target = code["run"][1] if key == "value" else code["run"][0]
            target[key] = value
            Program.from_json(code)
            raise Wrong(f"accepted {key} = {value!r}")
        add("bad-input", f"statement {key} = {json.dumps(value)}")(bad_statement)

    def record_program_list() -> None:
        from xlogo_gym.suite import suite_entry

        suite_entry({"task_id": "a", "task": BASE_TASK, "program": {"json": []}}, "line")
    add("bad-input", "suite line program.json = []")(record_program_list)

    # 3. command-line values
    gen = ["generate", "--workers", "1", "--quiet"]

    def out_is_file() -> None:
        cli(*gen, "--count", "1", "--out", write(tmp, "a-file", "x"))
    add("bad-input", "generate --out FILE")(out_is_file)

    def out_unwritable() -> None:
        cli(*gen, "--count", "1", "--out", "/proc/xlogo-probe/out")
    add("bad-input", "generate --out in an unwritable place")(out_unwritable)

    def suite_out_dir() -> None:
        cli(*gen, "--count", "1", "--suite-out", tmp)
    add("bad-input", "generate --suite-out DIRECTORY")(suite_out_dir)

    for weights in ({"find": 1e308, "draw": 1e308}, {"find": 1e308, "draw": 1e308, "sum": 1e308}):
        def huge_weights(weights: dict[str, float] = weights) -> None:
            cli(*gen, "--count", "3", "--config", write(tmp, "inf.json", json.dumps({"goal_weights": weights})),
                "--out", os.path.join(tmp, "gen-inf"), "--overwrite")
        add("bad-input", f"generate with goal weights summing to infinity ({len(weights)})")(huge_weights)

    def infinity_literal() -> None:
        cli(*gen, "--count", "3", "--config", write(tmp, "inf2.json", '{"bk_weight": Infinity}'),
            "--out", os.path.join(tmp, "gen-inf2"))
    add("bad-input", "generate with an Infinity literal")(infinity_literal)

    def goal_weights_inf() -> None:
        cli(*gen, "--count", "3", "--goal-weights", "find=inf,draw=1", "--out", os.path.join(tmp, "gen-inf3"))
    add("bad-input", "generate --goal-weights find=inf")(goal_weights_inf)

    def negative_seed() -> None:
        cli(*gen, "--count", "3", "--seed", "-7", "--out", os.path.join(tmp, "gen-neg"))
    add("bad-input", "generate --seed -7")(negative_seed)

    def temp_files() -> None:
        out = tempfile.mkdtemp(dir=tmp)
        write(out, ".tmp-abc123", "left behind by a SIGKILL")
        cli("generate", "--count", "2", "--workers", "1", "--quiet", "--out", out)
        if any(name.startswith(".tmp-") for name in os.listdir(out)):
            raise Wrong("generate kept the temporary files of a killed run")
    add("silent", "generate into a folder holding temp files of a killed run")(temp_files)

    # 4. silently wrong
    for digits in ("３", "٣", "۳", "३"):
        def odd_digit(digits: str = digits) -> None:
            Program.parse(f"repeat({digits}){{fd}}")
            raise Wrong(f"repeat({digits}) parsed")
        add("silent", f"repeat({digits})")(odd_digit)

    def null_task_id() -> None:
        from xlogo_gym.suite import suite_entry

        if suite_entry({"task_id": None, "task": BASE_TASK}, "line").task_id == "None":
            raise Wrong("a null task_id became 'None'")
    add("silent", "suite line with a null task_id")(null_task_id)

    # 7. security: paths from data files
    def manifest_escape() -> None:
        from xlogo_gym.suite import load_suite, suite_line

        outside = os.path.join(tmp, "outside.jsonl")
        entry = load_suite("mini-85")[0]
        with open(outside, "w", encoding="utf-8") as fh:
            fh.write(suite_line(entry) + "\n")
        for shard in (outside, "../outside.jsonl"):
            dataset = tempfile.mkdtemp(dir=tmp)
            write(dataset, "manifest.json", json.dumps({"shards": [{"file": shard}]}))
            try:
                load_suite(dataset)
            except XLogoError:
                continue
            raise Wrong(f"read shard {shard!r} outside the dataset")
    add("silent", "dataset manifest pointing outside its folder")(manifest_escape)

    for task_id in ("../../escaped", "/tmp/xlogo-probe-abs", "..", "a/b"):
        def render_escape(task_id: str = task_id) -> None:
            obj = dict(BASE_TASK, id=task_id)
            work = tempfile.mkdtemp(dir=tmp)
            path = write(work, "task.json", json.dumps(obj))
            here = os.getcwd()
            os.chdir(work)
            try:
                cli("render", path)
            except XLogoError as err:
                if "No module named" in str(err):
                    return
            finally:
                os.chdir(here)
            inside = {os.path.join(dp, f) for dp, _, fs in os.walk(work) for f in fs}
            if not any(p.endswith(".png") for p in inside):
                raise Wrong(f"render wrote outside the folder for id {task_id!r}")
        add("silent", f"render a task whose id is {task_id!r}")(render_escape)
    return cases


def agent_cases(tmp: str) -> list[Case]:
    """Cases that need torch: checkpoints, evaluation folders, resume files, the LLM agent."""
    cases: list[Case] = []
    add = collector(cases)

    from agents.policy.checkpoint import checkpoint_dir

    suite = os.path.join(tmp, "two.jsonl")
    from xlogo_gym.suite import DATA_DIR

    with open(os.path.join(DATA_DIR, "mini-85.jsonl"), encoding="utf-8") as fh:
        lines = [next(fh), next(fh)]
    with open(suite, "w", encoding="utf-8") as fh:
        fh.writelines(lines)

    def corrupt(name: str, change: Callable[[str], None]) -> str:
        directory = os.path.join(tmp, "ckpt-" + name)
        shutil.copytree(checkpoint_dir("default"), directory)
        change(directory)
        return directory

    def config_edit(edit: Callable[[Any], Any]) -> Callable[[str], None]:
        def change(directory: str) -> None:
            path = os.path.join(directory, "config.json")
            with open(path, encoding="utf-8") as fh:
                obj = json.load(fh)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(edit(obj), fh)
        return change

    def weights_edit(edit: Callable[[bytes], bytes]) -> Callable[[str], None]:
        def change(directory: str) -> None:
            path = os.path.join(directory, "model.safetensors")
            with open(path, "rb") as fh:
                data = fh.read()
            with open(path, "wb") as fh:
                fh.write(edit(data))
        return change

    def set_model(key: str, value: Any) -> Callable[[Any], Any]:
        def edit(obj: Any) -> Any:
            obj["model"][key] = value
            return obj
        return edit

    def drop(key: str) -> Callable[[Any], Any]:
        def edit(obj: Any) -> Any:
            del obj[key]
            return obj
        return edit

    def flip(data: bytes) -> bytes:
        middle = len(data) // 2
        return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 4096]) + data[middle + 4096:]

    changes: dict[str, Callable[[str], None]] = {
        "truncated weights": weights_edit(lambda d: d[: len(d) // 2]),
        "empty weights": weights_edit(lambda d: b""),
        "weights with a garbage header": weights_edit(lambda d: b"\xff" * 16 + d[16:]),
        "config.json a list": config_edit(lambda o: [o]),
        "config.json without model": config_edit(drop("model")),
        "config.json without tokenizer": config_edit(drop("tokenizer")),
        "config.json model a list": config_edit(lambda o: dict(o, model=[])),
        "hidden_size a string": config_edit(set_model("hidden_size", "256")),
        "hidden_size 64 (mismatched sizes)": config_edit(set_model("hidden_size", 64)),
        "heads 7 (does not divide)": config_edit(set_model("heads", 7)),
        "layers -1": config_edit(set_model("layers", -1)),
        "non-UTF-8 config.json": lambda d: write(d, "config.json", b'{"format_version": 1, "\xff": 1}'),
        "deeply nested config.json": lambda d: write(d, "config.json", "[" * 100_000 + "]" * 100_000),
        "tokenizer.json a list": lambda d: write(d, "tokenizer.json", "[]"),
    }
    from agents.policy.model import load_policy, save_policy

    default = load_policy(checkpoint_dir("default"))  # imports and first build outside the timed cases
    saved = os.path.join(tmp, "saved")
    save_policy(load_policy(checkpoint_dir("default")), saved)  # records the weights' sha256

    def flipped_saved() -> None:
        directory = os.path.join(tmp, "ckpt-flipped-saved")
        shutil.copytree(saved, directory)
        path = os.path.join(directory, "model.safetensors")
        with open(path, "rb") as fh:
            data = bytearray(fh.read())
        data[len(data) // 2] ^= 0x01  # one bit of one weight: a finite value, only the checksum sees it
        with open(path, "wb") as fh:
            fh.write(data)
        load_policy(directory)
        raise Wrong("a saved checkpoint with a flipped bit loaded")
    add("silent", "load a saved checkpoint with one flipped bit")(flipped_saved)

    for name, change in changes.items():
        def corrupt_checkpoint(name: str = name, change: Callable[[str], None] = change) -> None:
            load_policy(corrupt(name.replace(" ", "-"), change))
            raise Wrong(f"a checkpoint with {name} loaded")
        add("checkpoints", f"load a checkpoint with {name}")(corrupt_checkpoint)

    def flipped() -> None:
        load_policy(corrupt("flipped", weights_edit(flip)))
        raise Wrong("a checkpoint with flipped bytes loaded")
    add("silent", "load a checkpoint with flipped weight bytes")(flipped)

    def flipped_cli() -> None:
        directory = corrupt("flipped-cli", weights_edit(flip))
        cli("evaluate", "--agent", directory, "--suite", suite, "--out", os.path.join(tmp, "eval-flip"))
        raise Wrong("evaluate ran a checkpoint with flipped bytes")
    add("silent", "evaluate a checkpoint with flipped weight bytes")(flipped_cli)

    def evaluate_cli(*extra: str, out: str = "eval") -> None:
        cli("evaluate", "--agent", "random", "--suite", suite, "--out", os.path.join(tmp, out), *extra)

    for name, content in (("run.json", "{"), ("run.json", "[]"), ("run.json", b"\xff"),
                          ("partial.jsonl", '[1]\n{"a": 1}\n'), ("partial.jsonl", '{"task_id": []}\n'),
                          ("partial.jsonl", b'\xff\n'), ("partial.jsonl", '"x"\n')):
        def corrupt_eval(name: str = name, content: str | bytes = content) -> None:
            out = tempfile.mkdtemp(dir=tmp)
            evaluate_cli(out=out)
            write(out, name, content)
            evaluate_cli(out=out)
        add("eval-dirs", f"resume with a corrupt {name}: {content[:8]!r}")(corrupt_eval)

    def sampling_and_batches() -> None:
        from agents.policy.agent import PolicyAgent
        from xlogo_gym.suite import load_suite

        tasks = [e.task for e in load_suite(suite)]
        whole = PolicyAgent(default, temperature=1.0).propose(tasks, samples=4)
        alone = [PolicyAgent(default, temperature=1.0).propose([t], samples=4)[0] for t in tasks[::-1]][::-1]
        if [[str(c) for c in cs] for cs in whole] != [[str(c) for c in cs] for cs in alone]:
            raise Wrong("sampled candidates depend on the batch")
    add("silent", "policy samples of a task decoded alone or in a batch")(sampling_and_batches)

    def other_seed() -> None:
        out = tempfile.mkdtemp(dir=tmp)
        evaluate_cli("--seed", "1", out=out)
        evaluate_cli("--seed", "2", out=out)
        raise Wrong("a rerun with another --seed reused the old results")
    add("silent", "rerun into the same folder with another --seed")(other_seed)

    for args in (("--seed", "-7"), ("--seed", "-7", "--agent", "default"), ("--time-limit", "-1"),
                 ("--time-limit", "nan"), ("--time-limit", "inf"), ("--samples", "0")):
        def bad_value(args: tuple[str, ...] = args) -> None:
            agent = "solver" if "--time-limit" in args else "random"
            rest = list(args)
            if "--agent" in rest:
                i = rest.index("--agent")
                agent = rest[i + 1]
                del rest[i:i + 2]
            out = tempfile.mkdtemp(dir=tmp)
            cli("evaluate", "--agent", agent, "--suite", suite, "--out", out, *rest)
            if args[0] == "--seed":
                return  # a negative seed is a seed like any other
            raise Wrong(f"accepted {' '.join(args)}")
        add("eval-dirs", f"evaluate {' '.join(args)}")(bad_value)

    def sft_resume_pickle() -> None:
        import torch

        import agents.policy.train_sft as sft

        marker = os.path.join(tmp, "pwned")
        out = tempfile.mkdtemp(dir=tmp)

        class Evil:
            def __reduce__(self) -> tuple[Any, ...]:
                return (open, (marker, "w"))

        torch.save({"config": Evil()}, os.path.join(out, "resume.pt"))
        # what train-sft reads a resume.pt with (before issue 17: torch.load with weights_only=False)
        load = getattr(sft, "load_resume_state", None) or (lambda p, d: torch.load(p, map_location=d,
                                                                                   weights_only=False))
        with contextlib.suppress(XLogoError):
            load(os.path.join(out, "resume.pt"), "cpu")
        if os.path.exists(marker):
            raise Wrong("a crafted resume.pt ran code")
    add("security", "train-sft resume.pt that runs code")(sft_resume_pickle)

    def llm_cache_url() -> None:
        from agents.llm import LLMAgent

        a = LLMAgent("m", base_url="http://a.example/v1", cache_dir=tmp)
        b = LLMAgent("m", base_url="http://b.example/v1", cache_dir=tmp)
        payload = a.payload(a.messages(Task.from_json(BASE_TASK)))
        if a.cache_key(payload) == b.cache_key(payload):
            raise Wrong("two servers share a cache key")
    add("security", "LLM cache shared by two servers")(llm_cache_url)

    def secret_in_body() -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from agents.llm import LLMAgent
        from xlogo_gym.evaluation import evaluate
        from xlogo_gym.suite import SuiteEntry

        class Echo(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                body = json.dumps({"error": f"bad key, you sent {self.headers.get('Authorization')}"}).encode()
                self.send_response(401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        os.environ["XLOGO_PROBE_KEY"] = "sk-probe-secret-123456"
        try:
            agent = LLMAgent("m", base_url=f"http://127.0.0.1:{httpd.server_address[1]}/v1",
                             api_key_env="XLOGO_PROBE_KEY", cache_dir=tmp, progress=False, max_retries=0)
            out = tempfile.mkdtemp(dir=tmp)
            evaluate(agent, [SuiteEntry("t", Task.from_json(BASE_TASK))], out_dir=out, progress=False, chart=False)
        finally:
            httpd.shutdown()
            httpd.server_close()
        for name in ("report.json", "partial.jsonl"):
            with open(os.path.join(out, name), encoding="utf-8") as fh:
                if "sk-probe-secret" in fh.read():
                    raise Wrong(f"the API key was stored in {name}")
    add("security", "API key echoed in an error body")(secret_in_body)
    return cases


def run(cases: list[Case], verbose: bool) -> Counter[tuple[str, str]]:
    outcomes: Counter[tuple[str, str]] = Counter()
    for category, name, fn in cases:
        start = time.perf_counter()
        detail = ""
        try:
            with deadline(TIMEOUT):
                fn()
            outcome = "ok"
        except XLogoError as err:
            outcome, detail = "clear", str(err)
        except Wrong as err:
            outcome, detail = "wrong", str(err)
        except Hang:
            outcome = "hang"
        except (Exception, RecursionError) as err:  # noqa: BLE001 - counting what escapes is the point
            outcome, detail = "traceback", f"{type(err).__name__}: {err}"
        outcomes[(category, outcome)] += 1
        if verbose:
            print(f"{outcome:<9} {time.perf_counter() - start:5.2f}s  {category:<10} {name}  {detail[:150]}")
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--core", action="store_true", help="only the core's cases (no torch)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per input")
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        cases = core_cases(tmp) + ([] if args.core else agent_cases(tmp))
        outcomes = run(cases, args.verbose)
    kinds = ("clear", "ok", "traceback", "hang", "wrong")
    categories = list(dict.fromkeys(c for c, _, _ in cases))
    print(f"{'category':<12}" + "".join(f"{k:>10}" for k in kinds))
    for category in categories:
        print(f"{category:<12}" + "".join(f"{outcomes[(category, k)]:>10}" for k in kinds))
    totals = {k: sum(n for (_, o), n in outcomes.items() if o == k) for k in kinds}
    print(f"{'all':<12}" + "".join(f"{totals[k]:>10}" for k in kinds) + f"   ({len(cases)} inputs)")
    return 0 if totals["traceback"] + totals["hang"] + totals["wrong"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
