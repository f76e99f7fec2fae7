"""The Ray backend on a local Ray (2 CPUs): generation byte-identical to the local backend and resumable,
evaluation with the same report, and the RLlib example for one iteration."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, interrupted_after_first_shard, needs

from xlogo_gym.dataset import write_dataset
from xlogo_gym.errors import XLogoError
from xlogo_gym.suite import load_suite, write_suite

TIMINGS = ("agent_seconds", "harness_seconds", "seconds_per_task")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    try:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    except Exception as err:  # Ray's daemons must start within 30 s: on a machine busy with other work they may not
        if os.environ.get("CI"):
            raise
        pytest.skip(f"a local Ray did not start (a busy machine?): {err}")
    try:
        yield ray
    finally:
        ray.shutdown()


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.name.startswith(".")}


def _cli(*argv: str) -> tuple[int, str]:
    from xlogo_gym.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@needs("ray")
def test_ray_map_keeps_the_order_of_the_jobs(local_ray: Any) -> None:
    from xlogo_gym.ray_backend import ray_map

    assert list(ray_map(json.dumps, range(-9, 0), window=3)) == [str(i) for i in range(-9, 0)]
    endless = ray_map(json.dumps, iter(int, 1))  # an endless stream: a bounded window, and closing cancels the rest
    assert [next(endless) for _ in range(5)] == ["0"] * 5
    endless.close()


@needs("ray")
def test_ray_generation_is_byte_identical_and_resumes(local_ray: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    local, ray_dir, mixed = tmp_path / "local", tmp_path / "ray", tmp_path / "mixed"
    write_dataset(str(local), 620, seed=3, workers=1, shard_size=250, progress=False)

    # a Ray run interrupted after its first shard, then run again: the same bytes as the local run
    with interrupted_after_first_shard(monkeypatch):
        write_dataset(str(ray_dir), 620, seed=3, shard_size=250, progress=False, backend="ray")
    assert [p for p in _files(ray_dir) if p.startswith("tasks-")] == ["tasks-00000.jsonl"]
    write_dataset(str(ray_dir), 620, seed=3, shard_size=250, progress=False, backend="ray")
    assert _files(ray_dir) == _files(local)  # the shards and the manifest

    # either backend resumes the other's run
    write_dataset(str(mixed), 250, seed=3, workers=1, shard_size=250, progress=False)
    write_dataset(str(mixed), 620, seed=3, shard_size=250, progress=False, backend="ray")
    assert _files(mixed) == _files(local)


@needs("ray", "tyro")
def test_generate_command_with_ray(local_ray: Any, tmp_path: Path) -> None:
    for backend in ("local", "ray"):
        code, out = _cli("generate", "--count", "300", "--seed", "4", "--shard-size", "120", "--workers", "1",
                         "--out", str(tmp_path / f"ds-{backend}"), "--backend", backend, "--quiet")
        assert code == 0 and "300 tasks in" in out
        code, out = _cli("generate", "--count", "40", "--seed", "4", "--suite-out", str(tmp_path / f"{backend}.jsonl"),
                         "--workers", "1", "--backend", backend, "--quiet")
        assert code == 0
        code, out = _cli("generate", "--families", "1", "--seed", "4", "--workers", "1", "--backend", backend,
                         "--suite-out", str(tmp_path / f"families-{backend}.jsonl"), "--quiet")
        assert code == 0
    assert "with Ray (2 CPUs)" in out
    assert _files(tmp_path / "ds-ray") == _files(tmp_path / "ds-local")
    for name in ("{}.jsonl", "families-{}.jsonl"):
        assert (tmp_path / name.format("ray")).read_bytes() == (tmp_path / name.format("local")).read_bytes()


def test_missing_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from xlogo_gym.ray_backend import check_backend

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else find_spec(name, *a))
    with pytest.raises(XLogoError, match=r"xlogo-gym\[ray\]"):
        check_backend("ray")
    with pytest.raises(XLogoError, match="local, ray"):
        check_backend("spark")
    check_backend("local")


def _report(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    report = json.loads((path / "report.json").read_text())
    summary = {k: v for k, v in report["summary"].items() if k not in TIMINGS}
    return summary, [{k: v for k, v in t.items() if k != "seconds"} for t in report["tasks"]]


@needs("ray", "tyro", "matplotlib", "torch")
def test_ray_evaluation_gives_the_local_report_and_resumes(local_ray: Any, tmp_path: Path) -> None:
    suite = tmp_path / "tiny.jsonl"
    write_suite(str(suite), load_suite("mini-85")[:8])
    ray_options = ["--backend", "ray", "--workers", "2", "--batch-size", "4"]
    # the random agent answers task by task (one task per Ray call), with 3 samples each
    local, ray_dir = tmp_path / "random-local", tmp_path / "random-ray"
    assert _cli("evaluate", "--agent", "random", "--suite", str(suite), "--samples", "3", "--out", str(local))[0] == 0
    # an interrupted Ray run (its first tasks only), then the whole suite: the tasks done are not run again
    code, _ = _cli("evaluate", "--agent", "random", "--suite", str(suite), "--samples", "3", "--out", str(ray_dir),
                   "--limit", "3", *ray_options)
    assert code == 0 and len((ray_dir / "partial.jsonl").read_text().splitlines()) == 3
    code, out = _cli("evaluate", "--agent", "random", "--suite", str(suite), "--samples", "3", "--out", str(ray_dir),
                     *ray_options)
    assert code == 0 and "| 8 | 3 |" in out
    assert _report(ray_dir) == _report(local)
    # the shipped policy decodes a batch at once (4 tasks per call, split over the two actors)
    local, ray_dir = tmp_path / "default-local", tmp_path / "default-ray"
    assert _cli("evaluate", "--agent", "default", "--suite", str(suite), "--out", str(local))[0] == 0
    assert _cli("evaluate", "--agent", "default", "--suite", str(suite), "--out", str(ray_dir), *ray_options)[0] == 0
    assert _report(ray_dir) == _report(local)
    # an agent that cannot be built on the workers is a clear error
    with pytest.raises(XLogoError, match="unknown agent 'nope'"):
        from agents.ray_agent import RayAgent

        RayAgent("nope", workers=1)


@needs("ray", "tyro", "torch", "pandas", "pyarrow", "tree", "lz4", "ormsgpack", "scipy", "tensorboardX")
def test_rllib_example_one_iteration(tmp_path: Path) -> None:
    script = ROOT / "examples" / "rllib_ppo.py"
    cmd = [sys.executable, str(script), "--level", "1", "--iterations", "1", "--train-batch-size", "128",
           "--minibatch-size", "64", "--epochs", "1", "--hidden", "32", "--eval-episodes", "3", "--num-cpus", "1",
           "--out", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a Ray of its own
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "level1-seed0" / "results.json").read_text())
    assert result["env"] == "XLogo-Mini-Level1-v0" and result["steps"] >= 128 and len(result["curve"]) == 1
    assert 0.0 <= result["greedy_success"] <= 1.0 and os.path.isdir(result["checkpoint"])
    assert "greedy success" in done.stdout


def test_ci_runs_the_ray_tests() -> None:
    """CI's full install (`.[dev]`) brings Ray and RLlib's requirements, so the tests above run there instead of
    skipping; its numpy-only base install skips them."""
    import importlib.util

    if not os.environ.get("CI") or importlib.util.find_spec("torch") is None:
        pytest.skip("only in CI's full install")
    assert all(importlib.util.find_spec(m) for m in ("ray", "pandas", "pyarrow", "tree", "ormsgpack")), \
        "CI installs .[dev], which must bring the [ray] and [rllib] extras"
