"""The settings of the prompted-LLM agent, as a dataclass: `xlogo-gym evaluate` builds its LLM options from it.

Its defaults are `LLMAgent`'s; `LLMConfig.options()` gives the settings that differ from them,
as keyword arguments of `make_llm_agent`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://localhost:8000/v1"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/xlogo-gym/llm`, by default `~/.cache/xlogo-gym/llm`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "xlogo-gym" / "llm"


@dataclass
class LLMConfig:
    """LLM agent (--agent llm:MODEL or llm:MODEL@URL)."""

    base_url: str | None = None
    """OpenAI-compatible API root (None: http://localhost:8000/v1; llama.cpp http://localhost:8080/v1, Ollama
    http://localhost:11434/v1)"""
    model: str | None = None
    """model name (instead of llm:MODEL)"""
    api_key_env: str = "OPENAI_API_KEY"
    """environment variable with the API key"""
    vision: bool = False
    """attach a PNG image of each task"""
    task_description: bool = False
    """also show each task's free-text description in the prompt"""
    concurrency: int = 8
    """requests in flight at once"""
    cache_dir: str | None = None
    """reply cache (None: $XDG_CACHE_HOME/xlogo-gym/llm, by default ~/.cache/xlogo-gym/llm)"""
    cache: bool = True
    """read and write the reply cache"""
    temperature: float = 0.0
    """sampling temperature"""
    max_tokens: int = 2048
    """reply length limit"""
    timeout: float = 120.0
    """seconds per attempt"""
    max_retries: int = 4
    """retries on timeouts, 429 and 5xx"""

    def options(self) -> dict[str, Any]:
        """The settings that differ from the defaults, as `LLMAgent` keyword arguments."""
        default = LLMConfig()
        return {("description" if f.name == "task_description" else f.name): getattr(self, f.name)
                for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}
