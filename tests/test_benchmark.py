"""`download_benchmark` against a loopback HTTP server with made-up asset files, and the benchmark suites."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import needs

from xlogo_gym import Task, XLogoError
from xlogo_gym import benchmark as bm
from xlogo_gym.benchmark import REFERENCE_FILES
from xlogo_gym.cli import main
from xlogo_gym.evaluation import Candidate, TaskByTaskAgent, evaluate
from xlogo_gym.suite import load_suite

WORLD = {"turtle": {"x": 0, "y": 1, "direction": 0},
         "tiles": [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(2) for x in range(2)],
         "items": [{"x": 0, "y": 0, "name": "strawberry", "color": "red", "count": 1}], "lines": []}
FIND = [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]}]
EXTRA = ("40b", "110")  # an id outside the 85, and one without a goal


def made_up_assets() -> dict[str, bytes]:
    """The four files, by asset name: every benchmark id plus EXTRA, each the same small find task."""
    ids = (*bm.BENCHMARK_IDS, *EXTRA)
    files = {"worlds": {i: {"world_json": WORLD} for i in ids},
             "goals": {i: FIND for i in ids if i != "110"},
             "constraints": {i: [] for i in ids if i != "110"},
             "codes": {i: {"code_json": {"run": [{"type": "fd"}]}} for i in ids}}
    return {name: json.dumps(obj).encode() for name, obj in files.items()}


class AssetServer(ThreadingHTTPServer):
    """Serves `files` (URL path -> bytes); the first request of a path in `broken` ends mid-transfer."""

    def __init__(self, files: dict[str, bytes], broken: set[str]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files, self.broken, self.requests = files, set(broken), Counter[str]()


class Handler(BaseHTTPRequestHandler):
    server: AssetServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.server.requests[self.path] += 1
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.server.broken:
            self.server.broken.discard(self.path)
            self.wfile.write(body[: len(body) // 2])  # then the connection closes early
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def local_copy(root: Path, assets: dict[str, bytes]) -> Path:
    """The asset files in a folder, as `--from` reads them."""
    local = root / "copy"
    local.mkdir()
    for name, data in assets.items():
        (local / REFERENCE_FILES[name]).write_bytes(data)
    return local


@pytest.fixture
def assets() -> dict[str, bytes]:
    return made_up_assets()


@pytest.fixture
def checksums(assets: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in assets.items()}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XLOGO_GYM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XLOGO_GYM_BENCHMARK_URL", raising=False)
    return tmp_path / "home"


def serve(assets: dict[str, bytes], broken: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> AssetServer:
    files = {f"/mirror/{bm.ASSET_DIR}/{REFERENCE_FILES[name]}": data for name, data in assets.items()
             if name not in skip}
    server = AssetServer(files, {f"/mirror/{bm.ASSET_DIR}/{REFERENCE_FILES[name]}" for name in broken})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def running() -> Iterator[list[AssetServer]]:
    servers: list[AssetServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def base_url(server: AssetServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/mirror"


def test_download_retries_a_broken_transfer_and_installs_checked_files(assets, checksums, running, home) -> None:
    server = serve(assets, broken=("goals",))
    running.append(server)
    assert not bm.is_installed()
    with pytest.raises(XLogoError, match="benchmark download"):
        load_suite("xlogominiprog-85")
    directory = bm.download_benchmark(base_url=base_url(server), checksums=checksums, progress=False)
    assert bm.is_installed() and directory == bm.benchmark_dir()
    for name, data in assets.items():
        assert (Path(directory) / REFERENCE_FILES[name]).read_bytes() == data
    assert server.requests[f"/mirror/{bm.ASSET_DIR}/{REFERENCE_FILES['goals']}"] == 2  # broken, then retried
    bm.download_benchmark(base_url=base_url(server), checksums=checksums, progress=False)  # already there
    assert sum(server.requests.values()) == 5
    suite = load_suite("xlogominiprog-85")
    assert [e.task_id for e in suite] == list(bm.BENCHMARK_IDS)
    assert all(e.program is not None for e in suite)
    assert all(e.skills for e in suite)
    seen: list[object] = []

    class Recorder(TaskByTaskAgent):  # the harness hands agents tasks, never the reference programs
        def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
            seen.append(task)
            return ["fd"]

    report = evaluate(Recorder(), suite, out_dir=str(home / "eval"), suite="xlogominiprog-85", progress=False,
                      chart=False)
    assert report.summary["success_rate"] == 1.0
    assert main(["compare", str(home / "eval"), "--published", "--out", str(home / "table.md")]) == 0
    table = (home / "table.md").read_text()
    assert "| success | 100.0% | 20.0% | 2.4% |" in table and "GPT-4V (published)" in table and "ACL 2025" in table
    assert all(isinstance(t, Task) and "code" not in json.dumps(t.to_json()) for t in seen)
    assert len(load_suite("xlogominiprog-92")) == len(bm.BENCHMARK_IDS) + 1  # 40b; 110 has no goal


@needs("gymnasium")
def test_the_env_serves_the_85_once_installed(assets, checksums, tmp_path) -> None:
    import gymnasium as gym

    import xlogo_gym  # noqa: F401 - registers the env ids

    local = local_copy(tmp_path, assets)
    bm.download_benchmark(source_dir=str(local), checksums=checksums, progress=False)
    assert gym.make("XLogo-MiniProg-v0").unwrapped.task_ids == list(bm.BENCHMARK_IDS)


def test_the_url_variable_points_at_a_mirror(assets, checksums, running, monkeypatch) -> None:
    server = serve(assets)
    running.append(server)
    monkeypatch.setenv("XLOGO_GYM_BENCHMARK_URL", base_url(server))
    bm.download_benchmark(checksums=checksums, progress=False)
    assert bm.is_installed()


def test_a_checksum_mismatch_names_the_file_and_both_hashes(assets, checksums, running) -> None:
    server = serve(assets)
    running.append(server)
    wrong = dict(checksums, constraints="0" * 64)
    with pytest.raises(XLogoError) as err:
        bm.download_benchmark(base_url=base_url(server), checksums=wrong, progress=False)
    assert "xlogomini_constraints.json" in str(err.value) and "0" * 64 in str(err.value)
    assert checksums["constraints"] in str(err.value)
    assert not bm.is_installed()


def test_http_errors_and_no_network_are_clear(assets, checksums, running) -> None:
    server = serve(assets, skip=("codes",))
    running.append(server)
    with pytest.raises(XLogoError, match="HTTP error 404") as err:
        bm.download_benchmark(base_url=base_url(server), checksums=checksums, progress=False)
    assert "xlogomini_codes.json" in str(err.value)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    running.clear()
    with pytest.raises(XLogoError, match="attempts"):
        bm.download_benchmark(base_url=f"http://127.0.0.1:{port}/mirror", checksums=checksums, progress=False)


def test_install_from_a_local_copy_is_checked_the_same_way(assets, checksums, tmp_path) -> None:
    local = local_copy(tmp_path, assets)
    bm.download_benchmark(source_dir=str(local), checksums=checksums, progress=False)
    assert bm.is_installed()
    (local / REFERENCE_FILES["worlds"]).write_bytes(b"{}")
    shutil.rmtree(bm.benchmark_dir())
    with pytest.raises(XLogoError, match="checksum mismatch"):
        bm.download_benchmark(source_dir=str(local), checksums=checksums, progress=False)
    with pytest.raises(XLogoError, match="not found"):
        bm.download_benchmark(source_dir=str(tmp_path / "nowhere"), checksums=checksums, progress=False)
