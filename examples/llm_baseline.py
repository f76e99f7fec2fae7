"""Run the prompted-LLM baseline against a local OpenAI-compatible server and score it.

Start a server, for example one of

    vllm serve Qwen/Qwen2.5-7B-Instruct                       # http://localhost:8000/v1
    llama-server -m qwen2.5-7b-instruct-q4_k_m.gguf --port 8080  # http://localhost:8080/v1
    ollama serve && ollama pull qwen2.5:7b                     # http://localhost:11434/v1

then

    python examples/llm_baseline.py --model Qwen/Qwen2.5-7B-Instruct TASK.json [TASK.json ...]
    python examples/llm_baseline.py --model qwen2.5:7b --base-url http://localhost:11434/v1 \
        --samples 5 --temperature 0.8 path/to/reference_dir

A directory argument is read as a reference-format suite (xlogomini_{worlds,goals,...}.json).
Replies are cached, so running the same command again costs no requests. Add `--vision` for
models that read images. `--show-prompt` prints the first task's prompt and exits.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field

from agents.llm import LLMConfig, make_llm_agent
from xlogo_gym import Task, execute, load_reference_suite
from xlogo_gym.cli import POSITIONAL, parse
from xlogo_gym.evaluation import AgentFailure
from xlogo_gym.prompt import task_prompt


@dataclass
class Options:
    """Run the prompted-LLM baseline against a local OpenAI-compatible server and score it."""

    tasks: list[str] = field(metadata={POSITIONAL: True})
    """task JSON files or reference-format directories"""
    samples: int = 1
    """candidates per task (pass@k)"""
    seed: int = 0
    """sampling seed of the first request per task"""
    show_prompt: bool = False
    """print the first prompt and exit"""
    llm: LLMConfig = field(default_factory=LLMConfig)
    """the LLM agent"""


def load_tasks(paths: list[str]) -> list[Task]:
    tasks: list[Task] = []
    for path in paths:
        if os.path.isdir(path):
            tasks += [entry.task for entry in load_reference_suite(path)]
        else:
            tasks.append(Task.from_file(path))
    return tasks


def main() -> None:
    options = parse(Options, sys.argv[1:], prog="examples/llm_baseline.py")
    if not options.llm.model or not options.tasks:
        raise SystemExit("--model and at least one task file or directory are required")
    tasks = load_tasks(options.tasks)
    if options.show_prompt:
        print(task_prompt(tasks[0]))
        return
    agent = make_llm_agent("llm", **options.llm.options(), seed=options.seed)
    candidates = agent.propose(tasks, samples=options.samples)

    solved, failures = 0, Counter[str]()
    for task, cands in zip(tasks, candidates, strict=True):
        ok = False
        for c in cands:
            if isinstance(c, AgentFailure):
                failures[c.reason.split(":")[0]] += 1
            else:
                ok = ok or execute(task, c).success
        solved += ok
        print(f"{task.id or '-':<12} {'solved' if ok else 'failed'}")
    print(f"{agent.name}: pass@{options.samples} = {solved}/{len(tasks)} = {solved / len(tasks):.1%}")
    if failures:
        print("agent failures:", ", ".join(f"{reason} {n}" for reason, n in failures.most_common()))


if __name__ == "__main__":
    main()
