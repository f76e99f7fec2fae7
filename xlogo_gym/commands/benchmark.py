"""`xlogo-gym benchmark download`: fetch the real XLogoMiniProg benchmark (see `xlogo_gym.benchmark`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlogo_gym.benchmark import benchmark_dir, download_benchmark
from xlogo_gym.cli import FLAG, POSITIONAL
from xlogo_gym.errors import XLogoError


@dataclass
class BenchmarkOptions:
    """Download the four public asset files of the XLogoOnline-Mini tasks, check their sha256 and cache them
    (XLOGO_GYM_HOME, default the user cache directory); then the suites xlogominiprog-85 and
    xlogominiprog-92 load by name."""

    action: str = field(metadata={POSITIONAL: True})
    """what to do: download (fetch and install), or where (print the directory)"""
    source: str | None = field(default=None, metadata={FLAG: "from"})
    """install from a local directory holding the four xlogomini_*.json files instead"""
    url: str | None = None
    """mirror: replaces everything before /src/ of the download URLs (also XLOGO_GYM_BENCHMARK_URL)"""


def benchmark(options: BenchmarkOptions) -> int:
    if options.action == "where":
        print(benchmark_dir())
        return 0
    if options.action != "download":
        raise XLogoError(f"unknown action {options.action!r} (expected download or where)", "benchmark")
    directory = download_benchmark(options.source, options.url)
    print(f"installed in {directory}; evaluate with: xlogo-gym evaluate --agent default --suite xlogominiprog-85")
    return 0
