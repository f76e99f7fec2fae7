"""`evaluate` and `compare`: score an agent on a suite, and put reports side by side."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

DEFAULT_OUT = os.path.join("runs", "eval")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score an agent on a suite: Markdown table, report.json and a chart",
                       conflict_handler="resolve",
                       description="Score an agent on a suite. Writes OUT/report.json, OUT/report.md and "
                                   "OUT/skills.png, prints the Markdown table, and resumes an interrupted run.")
    p.add_argument("--agent", required=True,
                   help="solver, random, llm:MODEL[@URL], default, ppo, or a policy checkpoint directory")
    p.add_argument("--suite", required=True, help="mini-85, synthetic-1k, a suite JSONL file, or a directory")
    p.add_argument("--samples", type=int, default=1, metavar="K", help="candidates per task, for pass@k (default 1)")
    p.add_argument("--out", metavar="DIR", help=f"output directory (default {DEFAULT_OUT}/AGENT-SUITE)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N tasks of the suite")
    p.add_argument("--batch-size", type=int, default=64, metavar="B", help="tasks per agent call (default 64)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start over instead of reusing the partial results in OUT")
    p.add_argument("--time-limit", type=float, metavar="S", help="solver: seconds per task (default 10)")
    try:
        from agents.llm import add_llm_arguments
    except ImportError:
        pass
    else:
        add_llm_arguments(p)
    # after the LLM options, whose --seed this one replaces: one seed for every agent
    p.add_argument("--seed", type=int, default=0, help="seed of the random agent, the LLM's sampling and the "
                                                       "policy's sampling (default 0)")
    p.set_defaults(run=_evaluate)

    p = sub.add_parser("compare", help="put evaluation reports side by side in one Markdown table")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="report.json files (or the directories holding them)")
    p.add_argument("--labels", nargs="+", metavar="LABEL", help="column titles (default: agent on suite)")
    p.add_argument("--out", metavar="FILE", help="also write the table to this Markdown file")
    p.set_defaults(run=_compare)


def slug(text: str) -> str:
    """A file-name-safe form of an agent spec or suite name."""
    base = os.path.basename(os.path.normpath(text)) if os.path.sep in text else text
    base = re.sub(r"\.jsonl?$", "", base)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("_") or "run"


def agent_options(args: argparse.Namespace) -> dict[str, Any]:
    """The command-line options that apply to the agent kind of `args.agent`."""
    spec = args.agent
    if spec == "solver":
        return {} if args.time_limit is None else {"time_limit": args.time_limit}
    if spec == "random":
        return {"seed": args.seed}
    if spec.startswith("llm:"):
        from agents.llm import llm_options

        return llm_options(args)
    return {"seed": args.seed}  # a trained policy


def _evaluate(args: argparse.Namespace) -> int:
    from agents.evaluate import evaluate
    from agents.registry import make_agent
    from xlogo_gym.errors import XLogoError
    from xlogo_gym.suite import load_suite

    if args.samples < 1 or args.batch_size < 1 or (args.limit is not None and args.limit < 0):
        raise XLogoError("--samples and --batch-size must be at least 1, --limit at least 0")
    entries = load_suite(args.suite)
    if args.limit is not None:
        entries = entries[: args.limit]
    agent = make_agent(args.agent, **agent_options(args))
    out = args.out or os.path.join(DEFAULT_OUT, f"{slug(args.agent)}-{slug(args.suite)}")
    report = evaluate(agent, entries, args.samples, out, args.batch_size, args.resume, suite=args.suite)
    print(report.markdown())
    print(f"report: {os.path.join(out, 'report.json')}, {os.path.join(out, 'report.md')}, "
          f"{os.path.join(out, 'skills.png')}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from agents.evaluate import REPORT_JSON, Report, compare_markdown
    from xlogo_gym.errors import XLogoError
    from xlogo_gym.fileio import write_atomic

    paths = [os.path.join(p, REPORT_JSON) if os.path.isdir(p) else p for p in args.reports]
    if args.labels is not None and len(args.labels) != len(paths):
        raise XLogoError(f"{len(args.labels)} labels for {len(paths)} reports", "--labels")
    table = compare_markdown([Report.load(p).summary for p in paths], args.labels)
    print(table)
    if args.out:
        write_atomic(args.out, table)
    return 0
