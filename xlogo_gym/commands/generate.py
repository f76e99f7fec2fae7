"""`generate` and `stats`: write synthetic task datasets and compare distributions with the real tasks."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import TYPE_CHECKING

from xlogo_gym.errors import XLogoError

if TYPE_CHECKING:
    from xlogo_gym.generator import GeneratorConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate verified synthetic tasks (JSONL shards or a suite file)",
                       description="Generate verified tasks: a program first, then a task around its trace. "
                                   "Writes resumable JSONL shards to --out, or one suite file with --suite-out.")
    p.add_argument("--count", type=int, default=10_000, help="number of distinct tasks (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed and settings give the same files")
    p.add_argument("--out", default="generated-tasks", help="dataset directory (default ./generated-tasks)")
    p.add_argument("--suite-out", metavar="FILE", help="write a suite JSONL file instead of shards")
    p.add_argument("--families", type=int, metavar="N",
                   help="with --suite-out: a held-out suite of N tasks of every task family instead of --count "
                        "tasks (xlogo_gym.generator.family_suite; --config, --goal-weights and --heldout do not "
                        "apply)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    p.add_argument("--shard-size", type=int, default=10_000, help="records per shard (default 10000)")
    p.add_argument("--config", metavar="JSON", help="generator settings: a JSON file of GeneratorConfig fields")
    p.add_argument("--goal-weights", metavar="W", help='goal structure weights, e.g. "draw=1,find=2,sum=1"')
    p.add_argument("--heldout", choices=("exclude", "only", "include"),
                   help="held-out tasks: exclude (training, default), only (evaluation suites) or include")
    p.add_argument("--overwrite", action="store_true", help="start afresh if --out holds other settings")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_generate)

    p = sub.add_parser("stats", help="distribution tables of tasks beside the real tasks' statistics")
    p.add_argument("path", help="suite name (mini-85, synthetic-1k, synthetic-families), JSONL file, dataset or "
                                "reference directory")
    p.add_argument("--plot", metavar="PNG", help="also save a figure of the main tables")
    p.add_argument("--limit", type=int, help="read at most this many tasks")
    p.add_argument("--top", type=int, default=12, help="rows per table (default 12)")
    p.set_defaults(run=_stats)


def _config(args: argparse.Namespace) -> GeneratorConfig:
    from xlogo_gym.generator import GeneratorConfig

    settings: dict = {}
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as fh:
                settings = json.load(fh)
        except OSError as err:
            raise XLogoError(f"cannot read: {err.strerror}", args.config) from None
        except json.JSONDecodeError as err:
            raise XLogoError(f"not valid JSON: {err.msg} at line {err.lineno}", args.config) from None
    if args.goal_weights:
        weights = {}
        for part in args.goal_weights.split(","):
            name, _, value = part.partition("=")
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                raise XLogoError(f"expected NAME=WEIGHT, got {part!r}", "--goal-weights") from None
        settings["goal_weights"] = weights
    if args.heldout:
        settings["heldout"] = args.heldout
    return GeneratorConfig.from_json(settings, where=args.config or "settings")


def _generate(args: argparse.Namespace) -> int:
    from xlogo_gym.dataset import stream_records, write_dataset
    from xlogo_gym.generator import FAMILIES
    from xlogo_gym.suite import parse_suite_line, write_suite

    config = _config(args)
    if args.workers < 1:
        raise XLogoError(f"need at least one worker, got {args.workers}", "--workers")
    if args.count < 0:
        raise XLogoError(f"need a count >= 0, got {args.count}", "--count")
    start = time.perf_counter()
    if args.families is not None:
        if not args.suite_out:
            raise XLogoError("a family suite is written with --suite-out FILE", "--families")
        if args.families < 0:
            raise XLogoError(f"need a count per family >= 0, got {args.families}", "--families")
        from tqdm import tqdm

        from xlogo_gym.generator.family_suite import family_suite

        generated = family_suite(args.families, args.seed, workers=args.workers)
        count = write_suite(args.suite_out, (g.to_entry() for g in tqdm(
            generated, total=args.families * len(FAMILIES), unit="task", desc="generate", disable=args.quiet)))
        where = args.suite_out
    elif args.suite_out:
        import itertools

        from tqdm import tqdm

        records = stream_records(args.seed, config, workers=args.workers)
        lines = tqdm(itertools.islice(records, args.count), total=args.count, unit="task", desc="generate",
                     disable=args.quiet)
        try:
            count = write_suite(args.suite_out, (parse_suite_line(line, task_id) for _, task_id, line in lines))
        finally:
            records.close()  # stops the worker processes
        where = args.suite_out
    else:
        manifest = write_dataset(args.out, args.count, args.seed, config, args.workers, args.shard_size,
                                 args.overwrite, progress=not args.quiet)
        count, where = manifest["count"], args.out
    elapsed = time.perf_counter() - start
    print(f"{count} tasks in {where} ({elapsed:.1f} s, {count / max(elapsed, 1e-9):.0f} tasks/s with "
          f"{args.workers} worker{'s' if args.workers != 1 else ''})")
    return 0


def _stats(args: argparse.Namespace) -> int:
    import itertools

    from tqdm import tqdm

    from xlogo_gym.dataset_stats import collect_stats
    from xlogo_gym.suite import iter_suite

    if args.limit is not None and args.limit < 0:
        raise XLogoError(f"need a limit >= 0, got {args.limit}", "--limit")
    entries = itertools.islice(iter_suite(args.path), args.limit)
    stats = collect_stats(tqdm(entries, unit="task", desc="read", total=args.limit, leave=False))
    print(stats.format(top=args.top))
    if args.plot:
        stats.plot(args.plot)
        print(f"figure written to {args.plot}")
    return 0
