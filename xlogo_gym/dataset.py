"""Generated datasets: JSONL shards written in parallel, resumable and de-duplicated.

A dataset directory holds `tasks-00000.jsonl`, `tasks-00001.jsonl`, ... (SHARD_SIZE records
each, the last one possibly shorter) and `manifest.json` (format, generator version, seed,
generator settings, and per shard its file, record count, sha256 and the stream position where
it ends). A record is one line::

    {"id": "syn-<task hash>", "goal_type": "find+forbid", "skills": [...], "features": {...},
     "program": {"text": "...", "json": {"run": [...]}}, "task": {...public task JSON...}}

Determinism: the stream is cut into chunks of CHUNK_SIZE tasks, each seeded by (seed, chunk),
and read back in chunk order, so the output does not depend on the number of workers. Tasks
equal up to id and description (`task_hash`) are kept once. Every shard and the manifest are
written to a temporary file and renamed, so an interrupted run leaves only finished shards; a
re-run with the same settings keeps them and continues from the recorded position, giving
byte-identical files (temporary files an interrupted run left behind are removed). Memory stays
flat: one shard buffer and a set of 64-bit ids. Settings whose space holds too few distinct tasks
for `count` raise XLogoError instead of running forever (`xlogo_gym.generator.core.Exhaustion`),
and worker processes exit with their parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import TEMP_PREFIX, read_json, sha256_file, write_atomic
from xlogo_gym.generator import CHUNK_SIZE, GENERATOR_VERSION, GeneratorConfig, generate_chunk
from xlogo_gym.generator.core import Exhaustion
from xlogo_gym.progress import progress_bar
from xlogo_gym.suite import DATASET_MANIFEST, iter_jsonl

FORMAT_VERSION = 1
SHARD_SIZE = 10_000
SHARD_NAME = "tasks-{:05d}.jsonl"
_SHARD_FILE = re.compile(r"tasks-\d{5}\.jsonl")

#: A stream position: (chunk index, index of the task inside the chunk).
Position = tuple[int, int]


def _chunk_lines(job: tuple[int, int, GeneratorConfig]) -> list[tuple[str, str]]:
    """Worker: the (id, record line) pairs of one chunk."""
    seed, chunk, config = job
    return [(str(g.task.id), json.dumps(g.to_record())) for g in generate_chunk(seed, chunk, config)]


def _worker_init(parent: int) -> None:
    """A worker ignores Ctrl-C (the parent stops the pool) and exits as soon as its parent is gone, so a killed
    run leaves no workers behind that go on computing and fail writing to the closed pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _chunks(seed: int, config: GeneratorConfig, first: int, workers: int,
            backend: str = "local") -> Iterator[list[tuple[str, str]]]:
    """Chunk results in chunk order from `first` on, computed by `workers` processes (1: in-process), or with
    `backend="ray"` by Ray tasks over the cluster (`xlogo_gym.ray_backend`)."""
    if backend == "ray":
        import itertools

        from xlogo_gym.ray_backend import ray_map

        yield from ray_map(_chunk_lines, ((seed, chunk, config) for chunk in itertools.count(first)))
        return
    if workers <= 1:
        chunk = first
        while True:
            yield _chunk_lines((seed, chunk, config))
            chunk += 1
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    with ctx.Pool(workers, initializer=_worker_init, initargs=(os.getpid(),)) as pool:
        pending: deque[Any] = deque()
        chunk = first
        while True:
            while len(pending) < 2 * workers:  # a bounded window: never queue the endless stream
                pending.append(pool.apply_async(_chunk_lines, ((seed, chunk, config),)))
                chunk += 1
            yield pending.popleft().get()


def stream_records(seed: int, config: GeneratorConfig, start: Position = (0, 0), workers: int = 1,
                   seen: set[int] | None = None, wanted: int | None = None, backend: str = "local",
                   ) -> Generator[tuple[Position, str, str], None, None]:
    """Distinct records from `start` on: (position after this record, id, JSON line).

    `seen` holds the 64-bit ids already emitted (it is updated); duplicates are skipped. `wanted`
    (None: endless) is how many records the caller will take: a configuration too small to give
    them raises XLogoError instead of running forever (see `xlogo_gym.generator.core.Exhaustion`).
    `backend="ray"` computes the chunks as Ray tasks (the same records).
    """
    seen = set() if seen is None else seen
    exhaustion = Exhaustion(wanted)
    chunk, offset = start
    for lines in _chunks(seed, config, chunk, workers, backend):
        for index in range(offset, len(lines)):
            task_id, line = lines[index]
            key = int(task_id[4:], 16)
            exhaustion.draw(key not in seen)
            if key in seen:
                continue
            seen.add(key)
            yield ((chunk, index + 1) if index + 1 < len(lines) else (chunk + 1, 0)), task_id, line
        chunk, offset = chunk + 1, 0


def write_dataset(out: str, count: int, seed: int = 0, config: GeneratorConfig | None = None, workers: int = 2,
                  shard_size: int = SHARD_SIZE, overwrite: bool = False, progress: bool = True,
                  backend: str = "local") -> dict[str, Any]:
    """Write `count` distinct verified tasks to shards in `out`, resuming what a previous run finished.

    `backend="ray"` computes the chunks as Ray tasks over the cluster (`xlogo_gym.ray_backend`) instead of
    `workers` local processes; the files are byte-identical either way, and either resumes the other's run.

    Returns the manifest. Raises XLogoError if `out` holds a dataset made with other settings
    (unless `overwrite`, which starts it afresh).
    """
    if not isinstance(count, int) or count < 0:
        raise XLogoError(f"count must be a non-negative integer, got {count!r}", "count")
    if not isinstance(shard_size, int) or shard_size < 1:
        raise XLogoError(f"shard size must be a positive integer, got {shard_size!r}", "shard_size")
    if backend not in ("local", "ray"):
        raise XLogoError(f"expected the backend local or ray, got {backend!r}", "backend")
    config = config or GeneratorConfig()
    settings = {"format": FORMAT_VERSION, "generator": GENERATOR_VERSION, "seed": seed, "shard_size": shard_size,
                "chunk_size": CHUNK_SIZE, "config": config.to_json()}
    if os.path.exists(out) and not os.path.isdir(out):
        raise XLogoError("is a file; a dataset is written to a directory", out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise XLogoError(f"cannot create the dataset directory: {err.strerror}", out) from None
    manifest_path = os.path.join(out, DATASET_MANIFEST)
    old = _read_manifest(manifest_path)
    if old is not None and not overwrite and old.get("settings") != settings:
        raise XLogoError("holds a dataset made with other settings (seed, shard size, generator version or "
                         "config); choose another directory or overwrite it", out)
    shards = _finished_shards(out, old, shard_size, count) if old is not None and not overwrite else []
    stale = [s.get("file") for s in old["shards"][len(shards):]] if old is not None else []
    for name in os.listdir(out):
        if (name in stale and _SHARD_FILE.fullmatch(name)) or name.startswith(TEMP_PREFIX):
            os.unlink(os.path.join(out, name))  # shards to be rewritten, temp files of an interrupted run
    seen: set[int] = set()
    for record, _ in iter_jsonl(os.path.join(out, shard["file"]) for shard in shards):
        seen.add(int(record["id"][4:], 16))
    manifest = {"settings": settings, "count": len(seen), "complete": False, "shards": shards}
    write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
    done = len(seen)
    if done >= count:
        manifest["complete"] = True
        write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
        return manifest

    position: Position = tuple(shards[-1]["end"]) if shards else (0, 0)  # type: ignore[assignment]
    buffer: list[str] = []
    stream = stream_records(seed, config, position, workers, seen, count - done, backend)
    with progress_bar(total=count, initial=done, unit="task", desc="generate", disable=not progress) as bar:
        try:
            for position, _, line in stream:
                buffer.append(line)
                done += 1
                bar.update(1)
                if len(buffer) == shard_size or done == count:
                    name, text = SHARD_NAME.format(len(shards)), "".join(ln + "\n" for ln in buffer)
                    write_atomic(os.path.join(out, name), text)
                    shards.append({"file": name, "records": len(buffer),
                                   "sha256": hashlib.sha256(text.encode()).hexdigest(), "end": list(position)})
                    manifest.update(count=done, complete=done == count)
                    write_atomic(manifest_path, json.dumps(manifest, indent=1) + "\n")
                    buffer = []
                if done == count:
                    break
        finally:
            stream.close()
    return manifest


def _read_manifest(path: str) -> dict[str, Any] | None:
    if not os.path.exists(path):
        return None
    try:
        manifest = read_json(path)
    except XLogoError as err:
        raise XLogoError(f"unreadable dataset manifest ({err}); remove it or choose another directory", path) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("shards"), list):
        raise XLogoError("not a dataset manifest of xlogo-gym", path)
    return manifest


def _finished_shards(out: str, manifest: dict[str, Any], shard_size: int, count: int) -> list[dict[str, Any]]:
    """The leading full shards of `manifest` that are intact on disk and within `count`."""
    keep: list[dict[str, Any]] = []
    for shard in manifest["shards"]:
        path = os.path.join(out, shard.get("file", ""))
        if shard.get("records") != shard_size or (len(keep) + 1) * shard_size > count \
                or not os.path.isfile(path) or sha256_file(path) != shard.get("sha256"):
            break
        keep.append(shard)
    return keep
