"""The prompted-LLM baseline: any OpenAI-compatible chat completions endpoint solves tasks from their text prompt.

Three parts: `client` (`LLMAgent`: requests, retries, the reply cache, `make_llm_agent` from an
`llm:MODEL[@URL]` spec), `extract` (`extract_program`: the program in a free-form reply) and
`config` (`LLMConfig`: the agent's settings as command-line options).
"""

from __future__ import annotations

from agents.llm.client import IMAGE_NOTE, LLMAgent, make_llm_agent, png_data_url
from agents.llm.config import DEFAULT_BASE_URL, LLMConfig, default_cache_dir
from agents.llm.extract import extract_program

__all__ = ["DEFAULT_BASE_URL", "IMAGE_NOTE", "LLMAgent", "LLMConfig", "default_cache_dir", "extract_program",
           "make_llm_agent", "png_data_url"]
