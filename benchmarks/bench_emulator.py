"""Verdicts per second over the conformance cases, on one core (target: >= 100,000/s).

Tasks and programs are parsed once, as a learner or a search would hold them; each timed
verdict runs the program and checks goal and constraints. Run:
`python benchmarks/bench_emulator.py [--conformance PATH] [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from xlogo_gym import Program, Task, execute

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "spec" / "conformance.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conformance", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with open(args.conformance, encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh]
    # E17/E18 run 100,000 actions each; timing them would measure those two programs alone.
    pairs = [(Task.from_json(c["task"]), Program.from_json(c["code"])) for c in cases
             if c["task"]["id"] not in ("edge-E17", "edge-E18")]
    for task, program in pairs:  # warm-up: compiles each task once, as an env episode would
        execute(task, program)
    start = time.perf_counter()
    for _ in range(args.repeat):
        for task, program in pairs:
            execute(task, program)
    elapsed = time.perf_counter() - start
    n = args.repeat * len(pairs)
    print(f"{n} verdicts in {elapsed:.2f} s: {n / elapsed:,.0f} verdicts/s ({elapsed / n * 1e6:.1f} µs each); "
          f"target 100,000/s -> ratio {n / elapsed / 100_000:.2f}")
    cold = time.perf_counter()
    for c in cases[:500]:
        execute(Task.from_json(c["task"]), Program.from_json(c["code"]))
    per = (time.perf_counter() - cold) / 500
    print(f"including JSON validation and task compilation: {per * 1e6:.0f} µs per case")


if __name__ == "__main__":
    main()
