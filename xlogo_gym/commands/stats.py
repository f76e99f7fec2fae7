"""`xlogo-gym stats PATH`: distribution tables of tasks beside the real tasks' statistics (SEMANTICS.md §12)."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.errors import XLogoError
from xlogo_gym.progress import progress_bar


@dataclass
class StatsOptions:
    """Distribution tables of tasks (goals, grids, constraints, programs, task families) beside the real tasks'
    statistics."""

    path: str = field(metadata={POSITIONAL: True})
    """suite name (mini-85, synthetic-1k, synthetic-families), JSONL file, dataset or reference directory"""
    plot: str | None = None
    """also save a figure of the main tables (PNG)"""
    limit: int | None = None
    """read at most this many tasks"""
    top: int = 12
    """rows per table"""


def stats(options: StatsOptions) -> int:
    import itertools

    from xlogo_gym.dataset_stats import collect_stats
    from xlogo_gym.suite import iter_suite

    if options.limit is not None and options.limit < 0:
        raise XLogoError(f"need a limit >= 0, got {options.limit}", "--limit")
    entries = itertools.islice(iter_suite(options.path), options.limit)
    stats = collect_stats(progress_bar(entries, unit="task", desc="read", total=options.limit, leave=False))
    print(stats.format(top=options.top))
    if options.plot:
        stats.plot(options.plot)
        print(f"figure written to {options.plot}")
    return 0
