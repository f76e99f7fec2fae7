"""Agents by name: `make_agent("solver")`, `"random"`, `"llm:MODEL[@URL]"`, `"hf:PATH"`, `"default"`, `"ppo"` or a
checkpoint.

Each kind is imported only when asked for (the policy needs torch, the LLM agent nothing
heavy), so `make_agent("random")` stays cheap.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from agents.policy.checkpoint import POLICY_NAMES
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import Agent

AGENT_SPECS = "solver, random, llm:MODEL[@URL], hf:PATH, default, ppo, or a policy checkpoint directory"


def make_agent(spec: str, **options: Any) -> Agent:
    """The agent named by `spec`; `options` are keyword arguments of its constructor.

    | spec | agent |
    |------|-------|
    | `solver` | `agents.solver.SearchSolver` (time_limit, max_body, max_depth) |
    | `random` | `agents.random_agent.RandomAgent` (seed, max_tokens, max_depth) |
    | `llm:MODEL`, `llm:MODEL@URL` | `agents.llm.make_llm_agent` (see `agents.llm.LLMAgent`) |
    | `hf:PATH` | `agents.llm.hf.make_hf_agent` (a local transformers model, see `agents.llm.hf.HFAgent`) |
    | `default`, `ppo`, a directory | `agents.policy.load_agent` (a trained transformer policy) |
    """
    if spec == "solver":
        from agents.solver import SearchSolver

        return _build(SearchSolver, spec, options)
    if spec == "random":
        from agents.random_agent import RandomAgent

        return _build(RandomAgent, spec, options)
    if spec.startswith("llm:"):
        from agents.llm import make_llm_agent

        return _build(make_llm_agent, spec, options, spec)
    if spec.startswith("hf:"):
        from agents.llm.hf import make_hf_agent

        return _build(make_hf_agent, spec, options, spec)
    if spec in POLICY_NAMES or os.path.isdir(spec):
        from agents.policy import load_agent

        return _build(load_agent, spec, options, spec)
    raise XLogoError(f"unknown agent {spec!r} (expected {AGENT_SPECS})", "agent")


def _build(factory: Callable[..., Any], spec: str, options: dict[str, Any], *args: Any) -> Agent:
    try:
        inspect.signature(factory).bind(*args, **options)
    except TypeError as err:
        raise XLogoError(f"wrong options for agent {spec!r}: {err}", "agent") from None
    agent: Agent = factory(*args, **options)
    return agent
