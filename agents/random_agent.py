"""The random agent: grammatical programs drawn token by token, uniformly among the legal tokens.

A floor for the benchmark. Tokens come from `xlogo_gym.grammar` under the same masks the env
uses, so every program is well formed (loops closed, bodies non-empty, depth and length
bounded); nothing else guides it. Draws are reproducible: the random stream of a task
depends only on the agent's seed and the task itself, not on batching or order.
"""

from __future__ import annotations

import json
import zlib

import numpy as np

from xlogo_gym.evaluation import Candidate, TaskByTaskAgent
from xlogo_gym.grammar import DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, ProgramWriter
from xlogo_gym.program import Program
from xlogo_gym.task import Task


class RandomAgent(TaskByTaskAgent):
    """Uniformly random legal tokens until `<end>`.

    Args:
        seed: base seed; each task's draws are seeded by (seed, task id or content).
        max_tokens: program length limit in tokens, `<end>` included (as in the env).
        max_depth: deepest loop nesting.
    """

    name = "random"

    def __init__(self, seed: int = 0, max_tokens: int = DEFAULT_MAX_TOKENS, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        ProgramWriter(max_tokens, max_depth)  # validates the limits
        self.seed, self.max_tokens, self.max_depth = seed, max_tokens, max_depth

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        rng = np.random.default_rng([self.seed, task_key(task)])
        return [self.sample(rng) for _ in range(samples)]

    def sample(self, rng: np.random.Generator) -> Program:
        """One program, each token uniform among the legal ones."""
        writer = ProgramWriter(self.max_tokens, self.max_depth)
        while not writer.done:
            writer.write(int(rng.choice(np.flatnonzero(writer.mask()))))
        return writer.program()


def task_key(task: Task) -> int:
    """A stable 32-bit key for a task: its id, or its JSON when it has none."""
    text = task.id if task.id is not None else json.dumps(task.to_json(), sort_keys=True)
    return zlib.crc32(text.encode("utf-8"))
