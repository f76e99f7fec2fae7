"""`xlogo-gym compare REPORT...`: evaluation reports side by side in one Markdown table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.errors import XLogoError


@dataclass
class CompareOptions:
    """Put evaluation reports side by side in one Markdown table."""

    reports: list[str] = field(metadata={POSITIONAL: True})
    """report.json files (or the directories holding them)"""
    labels: list[str] = field(default_factory=list)
    """column titles (default: agent on suite)"""
    out: str | None = None
    """also write the table to this Markdown file"""
    published: bool = False
    """add the published results (marked as such) on the reports' suites, e.g. GPT-4V on xlogominiprog-85"""


def compare(options: CompareOptions) -> int:
    from xlogo_gym.evaluation import REPORT_JSON, Report, compare_markdown, published_summaries
    from xlogo_gym.fileio import write_atomic

    if not options.reports:
        raise XLogoError("name at least one report.json (or a directory holding one)")
    paths = [os.path.join(p, REPORT_JSON) if os.path.isdir(p) else p for p in options.reports]
    if options.labels and len(options.labels) != len(paths):
        raise XLogoError(f"{len(options.labels)} labels for {len(paths)} reports", "--labels")
    summaries = [Report.load(p).summary for p in paths]
    labels = options.labels or [f"{s['agent']} on {s['suite']}" for s in summaries]
    if options.published:
        extra = [p for suite in dict.fromkeys(s["suite"] for s in summaries) for p in published_summaries(suite)]
        summaries += extra
        labels += [p["agent"] for p in extra]
    table = compare_markdown(summaries, labels)
    print(table)
    if options.out:
        write_atomic(options.out, table)
    return 0
