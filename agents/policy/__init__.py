"""The transformer policy: tokenizer, model, batched KV-cached decoding, SFT training, curriculum, agent.

Everything here imports torch but `checkpoint` (the shipped checkpoints by name); import
`agents.policy.agent.load_agent` (or this package's `load_agent`, which imports it on first use)
only where the policy is needed.
"""

from __future__ import annotations

from typing import Any


def load_agent(path_or_name: str = "default", **options: Any) -> Any:
    """`agents.policy.agent.load_agent`, imported on first use (torch is heavy)."""
    from agents.policy.agent import load_agent as load

    return load(path_or_name, **options)
