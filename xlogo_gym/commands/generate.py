"""`xlogo-gym generate`: write verified synthetic tasks as resumable JSONL shards, or as one suite file."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import read_json
from xlogo_gym.progress import progress_bar

if TYPE_CHECKING:
    from xlogo_gym.generator import GeneratorConfig


@dataclass
class GenerateOptions:
    """Generate verified tasks: a program first, then a task around its trace. Writes resumable JSONL shards to
    --out, or one suite file with --suite-out."""

    count: int = 10_000
    """number of distinct tasks"""
    seed: int = 0
    """random seed; the same seed and settings give the same files"""
    out: str = "generated-tasks"
    """dataset directory"""
    suite_out: str | None = None
    """write a suite JSONL file instead of shards"""
    families: int | None = None
    """with --suite-out: a held-out suite of this many tasks of every task family instead of --count tasks
    (xlogo_gym.generator.family_suite; --config, --goal-weights and --heldout do not apply)"""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """processes (default: all cores); with --backend ray the cluster's CPUs are used instead"""
    backend: str = "local"
    """local (processes on this machine) or ray (Ray tasks over a cluster; the same files: pip install
    "xlogo-gym[ray]")"""
    address: str | None = None
    """with --backend ray: the cluster to join (auto: the one `ray start --head` started; None: RAY_ADDRESS, else
    a local Ray that stops at the end)"""
    shard_size: int = 10_000
    """records per shard"""
    config: str | None = None
    """generator settings: a JSON file of GeneratorConfig fields"""
    goal_weights: str | None = None
    """goal structure weights, e.g. draw=1,find=2,sum=1"""
    heldout: str | None = None
    """held-out tasks: exclude (training, default), only (evaluation suites) or include"""
    overwrite: bool = False
    """start afresh if --out holds other settings"""
    quiet: bool = False
    """no progress bar"""


def _config(options: GenerateOptions) -> GeneratorConfig:
    from xlogo_gym.generator import GeneratorConfig

    settings = read_json(options.config) if options.config else {}
    if options.goal_weights:
        weights = {}
        for part in options.goal_weights.split(","):
            name, _, value = part.partition("=")
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                raise XLogoError(f"expected NAME=WEIGHT, got {part!r}", "--goal-weights") from None
        settings["goal_weights"] = weights
    if options.heldout:
        settings["heldout"] = options.heldout
    return GeneratorConfig.from_json(settings, where=options.config or "settings")


def generate(options: GenerateOptions) -> int:
    import contextlib

    from xlogo_gym.ray_backend import check_backend, cluster_cpus, ray_session

    config = _config(options)
    check_backend(options.backend)
    if options.workers < 1:
        raise XLogoError(f"need at least one worker, got {options.workers}", "--workers")
    if options.count < 0:
        raise XLogoError(f"need a count >= 0, got {options.count}", "--count")
    start = time.perf_counter()
    ray = options.backend == "ray"
    with ray_session(options.address) if ray else contextlib.nullcontext():
        count, where = _generate(options, config)
        plural = "s" if options.workers != 1 else ""
        used = f"Ray ({cluster_cpus()} CPUs)" if ray else f"{options.workers} worker{plural}"
    elapsed = time.perf_counter() - start
    print(f"{count} tasks in {where} ({elapsed:.1f} s, {count / max(elapsed, 1e-9):.0f} tasks/s with {used})")
    return 0


def _generate(options: GenerateOptions, config: GeneratorConfig) -> tuple[int, str]:
    from xlogo_gym.dataset import stream_records, write_dataset
    from xlogo_gym.generator import FAMILIES
    from xlogo_gym.suite import suite_entry, write_suite

    if options.families is not None:
        if not options.suite_out:
            raise XLogoError("a family suite is written with --suite-out FILE", "--families")
        if options.families < 0:
            raise XLogoError(f"need a count per family >= 0, got {options.families}", "--families")
        from xlogo_gym.generator.family_suite import family_suite

        if options.backend == "ray":
            from xlogo_gym.ray_backend import ray_family_suite

            generated = ray_family_suite(options.families, options.seed)
        else:
            generated = family_suite(options.families, options.seed, workers=options.workers)
        count = write_suite(options.suite_out, (g.to_entry() for g in progress_bar(
            generated, total=options.families * len(FAMILIES), unit="task", desc="generate", disable=options.quiet)))
        where = options.suite_out
    elif options.suite_out:
        import itertools

        records = stream_records(options.seed, config, workers=options.workers, wanted=options.count,
                                 backend=options.backend)
        lines = progress_bar(itertools.islice(records, options.count), total=options.count, unit="task",
                             desc="generate", disable=options.quiet)
        try:
            entries = (suite_entry(json.loads(line), task_id) for _, task_id, line in lines)
            count = write_suite(options.suite_out, entries)
        finally:
            records.close()  # stops the worker processes
        where = options.suite_out
    else:
        manifest = write_dataset(options.out, options.count, options.seed, config, options.workers, options.shard_size,
                                 options.overwrite, progress=not options.quiet, backend=options.backend)
        count, where = manifest["count"], options.out
    return count, where
