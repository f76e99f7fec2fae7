"""Search solver on the suites: success, proven-shortest share, mean/max seconds per task, lengths.

Targets: every `mini-85` task and at least 99 % of `synthetic-1k` solved, under 1 s per task
on average. Lists every task left unsolved (with the reason) or not proven shortest within
the time limit. `--out FILE` writes each task's solution and its length (the minimal length
where `optimal` is true) as JSON lines. Run:
`python benchmarks/bench_solver.py [--suite mini-85 --suite synthetic-1k] [--time-limit 10] [--limit N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from tqdm import tqdm

from agents.solver import DEFAULT_TIME_LIMIT, search
from xlogo_gym.emulator import execute
from xlogo_gym.suite import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", help="suite name or path (repeatable; default both suites)")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds per task")
    parser.add_argument("--limit", type=int, help="only the first N tasks of each suite")
    parser.add_argument("--out", help="write one JSON line per task: suite, task_id, program, blocks, optimal")
    args = parser.parse_args()
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    for suite in args.suite or ["mini-85", "synthetic-1k"]:
        entries = load_suite(suite)[: args.limit]
        wall, cpu, unsolved, unproven, shorter, longer = [], [], [], [], 0, 0
        for entry in tqdm(entries, desc=suite, unit="task"):
            w0, c0 = time.perf_counter(), time.process_time()
            result = search(entry.task, args.time_limit)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            if result.program is None:
                unsolved.append(f"{entry.task_id}: {result.reason}")
            else:
                assert execute(entry.task, result.program).success, entry.task_id
                if entry.program is not None:
                    shorter += len(result.program) < len(entry.program)
                    longer += len(result.program) > len(entry.program)
            if not result.optimal:
                unproven.append(entry.task_id)
            if out is not None:
                out.write(json.dumps({"suite": suite, "task_id": entry.task_id, "optimal": result.optimal,
                                      "blocks": None if result.program is None else len(result.program),
                                      "program": None if result.program is None else str(result.program),
                                      "reason": result.reason or None}) + "\n")
        n = len(entries)
        print(f"{suite}: solved {n - len(unsolved)}/{n} ({100 * (n - len(unsolved)) / n:.1f}%), "
              f"proven shortest {n - len(unproven)}/{n}; seconds per task: mean {statistics.mean(wall):.3f}, "
              f"median {statistics.median(wall):.3f}, max {max(wall):.2f} (CPU mean {statistics.mean(cpu):.3f}); "
              f"vs reference programs: shorter {shorter}, longer {longer}; time limit {args.time_limit:g} s")
        for line in unsolved:
            print(f"  unsolved {line}")
        if unproven:
            print(f"  not proven shortest within the time limit: {', '.join(unproven)}")
    if out is not None:
        out.close()


if __name__ == "__main__":
    main()
