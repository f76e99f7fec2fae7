"""Harness overhead per task (target: under 1 ms), with an agent that returns the reference programs.

Everything but the agent is timed: judging each candidate with the emulator, the records,
`partial.jsonl` and the report files. The chart (matplotlib) is a fixed cost per run and is
timed apart. Run: `python benchmarks/bench_harness.py [--suite synthetic-1k] [--samples 1]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence

from xlogo_gym.emulator import compile_task
from xlogo_gym.evaluation import Agent, Candidate, evaluate, plot_skills
from xlogo_gym.suite import SuiteEntry, load_suite
from xlogo_gym.task import Task


class ReferencePrograms(Agent):
    """Answers each task with its suite's reference program, instantly."""

    name = "reference"

    def __init__(self, entries: Sequence[SuiteEntry]) -> None:
        self.programs = {id(e.task): e.program for e in entries}

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        return [[self.programs[id(t)]] * samples for t in tasks]  # type: ignore[list-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="synthetic-1k")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; the fastest is reported")
    args = parser.parse_args()
    entries = [e for e in load_suite(args.suite) if e.program is not None]
    agent = ReferencePrograms(entries)
    for task in (e.task for e in entries):  # compile every task once, as the agent's own run would have
        compile_task(task)
    n = len(entries)
    for label, to_disk in (("in memory", False), ("with partial.jsonl, report.json and report.md", True)):
        best = float("inf")
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                report = evaluate(agent, entries, args.samples, out if to_disk else None, progress=False,
                                  chart=False, suite=args.suite)
                elapsed = time.perf_counter() - start - report.summary["agent_seconds"]
            best = min(best, elapsed)
        assert report.summary["success_rate"] == 1.0
        print(f"{args.suite}, {n} tasks x {args.samples} candidates, {label}: "
              f"{best / n * 1e3:.3f} ms per task (target < 1 ms -> ratio {best / n * 1e3:.2f})")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        plot_skills(report.summary, f"{out}/skills.png")
        print(f"skills.png: {time.perf_counter() - start:.2f} s once per run")


if __name__ == "__main__":
    main()
