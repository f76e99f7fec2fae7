"""`xlogo-gym evaluate`: score an agent on a suite with the harness (`xlogo_gym.evaluation`)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from agents.llm.config import LLMConfig
from agents.llm.hf import HFConfig
from xlogo_gym.errors import XLogoError

DEFAULT_OUT = os.path.join("runs", "eval")


@dataclass
class EvaluateOptions:
    """Score an agent on a suite. Writes OUT/report.json, OUT/report.md and OUT/skills.png, prints the Markdown
    table, and resumes an interrupted run."""

    agent: str
    """solver, random, llm:MODEL[@URL], hf:PATH (a local transformers model), default, ppo, or a policy checkpoint
    directory"""
    suite: str
    """mini-85, synthetic-1k, a suite JSONL file, or a directory"""
    samples: int = 1
    """candidates per task, for pass@k"""
    out: str | None = None
    """output directory (None: runs/eval/AGENT-SUITE)"""
    limit: int | None = None
    """only the first N tasks of the suite"""
    batch_size: int = 64
    """tasks per agent call"""
    resume: bool = True
    """reuse the partial results in OUT (--no-resume: start over)"""
    time_limit: float | None = None
    """solver: seconds per task (None: 10)"""
    seed: int = 0
    """seed of the random agent, the LLM's sampling and the policy's sampling"""
    llm: LLMConfig = field(default_factory=LLMConfig)
    """LLM agent (--agent llm:MODEL or llm:MODEL@URL)"""
    hf: HFConfig = field(default_factory=HFConfig)
    """local transformers model (--agent hf:PATH)"""
    backend: str = "local"
    """local (this process) or ray (copies of the agent on Ray actors over a cluster; the same report:
    pip install "xlogo-gym[ray]")"""
    address: str | None = None
    """with --backend ray: the cluster to join (auto: the one `ray start --head` started; None: RAY_ADDRESS, else
    a local Ray)"""
    workers: int | None = None
    """with --backend ray: copies of the agent on Ray actors (None: one per cluster CPU)"""
    worker_gpus: float = 0.0
    """with --backend ray: GPUs per copy of the agent (e.g. 1 for an hf: model on GPU nodes)"""


def slug(text: str) -> str:
    """A file-name-safe form of an agent spec or suite name."""
    base = os.path.basename(os.path.normpath(text)) if os.path.sep in text else text
    base = re.sub(r"\.jsonl?$", "", base)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("_") or "run"


def agent_options(options: EvaluateOptions) -> dict[str, Any]:
    """The options that apply to the agent kind of `options.agent`."""
    spec = options.agent
    if spec == "solver":
        return {} if options.time_limit is None else {"time_limit": options.time_limit}
    if spec.startswith("llm:"):
        return {**options.llm.options(), "seed": options.seed}
    if spec.startswith("hf:"):
        return {**options.hf.options(), "seed": options.seed}
    return {"seed": options.seed}  # the random agent or a trained policy


def evaluate(options: EvaluateOptions) -> int:
    import importlib.util

    from agents.llm.hf import HF_INSTALL
    from agents.registry import make_agent
    from xlogo_gym.evaluation import Agent
    from xlogo_gym.evaluation import evaluate as run
    from xlogo_gym.ray_backend import check_backend
    from xlogo_gym.suite import load_suite

    if options.samples < 1 or options.batch_size < 1 or (options.limit is not None and options.limit < 0):
        raise XLogoError("--samples and --batch-size must be at least 1, --limit at least 0")
    if options.seed < 0:
        raise XLogoError(f"must be a non-negative integer, got {options.seed}", "--seed")
    if options.time_limit is not None and not (math.isfinite(options.time_limit) and options.time_limit > 0):
        raise XLogoError(f"must be a positive number of seconds, got {options.time_limit}", "--time-limit")
    check_backend(options.backend)
    if options.workers is not None and options.workers < 1:
        raise XLogoError(f"need at least one worker, got {options.workers}", "--workers")
    if options.agent.startswith("hf:") and not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):
        raise XLogoError(f"the hf: agent needs torch and transformers: {HF_INSTALL}", "--agent")
    entries = load_suite(options.suite)
    if options.limit is not None:
        entries = entries[: options.limit]
    # an LLM run where no request reaches the server stops with an error instead of writing a 0 % report
    unreachable = {"stop_if_unreachable": True} if options.agent.startswith("llm:") else {}
    agent: Agent
    if options.backend == "ray":  # copies of the agent on Ray actors; the harness runs here as usual
        from agents.ray_agent import RayAgent

        agent = RayAgent(options.agent, {**agent_options(options), **unreachable}, options.workers,
                         gpus_per_worker=options.worker_gpus, address=options.address)
    else:
        agent = make_agent(options.agent, **agent_options(options), **unreachable)
    out = options.out or os.path.join(DEFAULT_OUT, f"{slug(options.agent)}-{slug(options.suite)}")
    # the agent's options (seed, time limit, LLM settings) change its results: a resume with others refuses
    report = run(agent, entries, options.samples, out, options.batch_size, options.resume, suite=options.suite,
                 settings={"options": agent_options(options)})
    print(report.markdown())
    print(f"report: {os.path.join(out, 'report.json')}, {os.path.join(out, 'report.md')}, "
          f"{os.path.join(out, 'skills.png')}")
    return 0
