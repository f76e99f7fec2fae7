"""`PolicyAgent`: the transformer policy behind the `Agent` interface, and `load_agent`."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from agents.policy.checkpoint import POLICY_NAMES, checkpoint_dir
from agents.policy.decode import sample, select_verified
from agents.policy.model import PolicyModel, load_policy
from agents.policy.tokenizer import Prompt
from agents.random_agent import task_key
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import Agent, AgentFailure, Candidate
from xlogo_gym.grammar import DEFAULT_MAX_TOKENS
from xlogo_gym.task import CodeConstraint, Task


class PolicyAgent(Agent):
    """Decodes programs with the policy, many tasks per batch.

    Each of the `samples` candidates of a task is one decoded program; the first is greedy and
    the others are sampled at `temperature`. With `best_of=k > 1` every candidate is instead the
    best of k decoded programs verified by the emulator (best-of-k, the first group holding the
    greedy program). With `constrained` (the default) decoding also masks tokens that would make
    the task's code constraints unsatisfiable (`xlogo_gym.grammar.ConstrainedWriter`). Tasks the
    encoding cannot hold (grids over 8 x 8) get an AgentFailure. The draws of a task depend only on
    `seed` and the task (`task_key`), never on the batch it is decoded in, so a resumed evaluation
    equals an uninterrupted one.
    """

    def __init__(self, model: PolicyModel, *, temperature: float = 1.0, best_of: int = 1, constrained: bool = True,
                 batch_size: int = 256, max_tokens: int = DEFAULT_MAX_TOKENS, seed: int = 0,
                 name: str = "policy") -> None:
        if best_of < 1:
            raise XLogoError(f"best_of must be at least 1, got {best_of}", "best_of")
        self.model, self.temperature, self.best_of, self.constrained = model.eval(), temperature, best_of, constrained
        self.batch_size, self.max_tokens, self.name = batch_size, max_tokens, name
        self.seed = seed

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        prompts: list[Prompt] = []
        constraints: list[CodeConstraint | None] = []
        failures: dict[int, AgentFailure] = {}
        for i, task in enumerate(tasks):
            try:
                prompts.append(self.model.tokenizer.encode(task))
                constraints.append(task.constraints.effective if self.constrained else None)
            except XLogoError as err:
                failures[i] = AgentFailure(f"task cannot be encoded: {err}")
        k = samples * self.best_of
        keys = [task_key(task) for i, task in enumerate(tasks) if i not in failures]
        seeds = [int(np.random.SeedSequence([self.seed, key, j]).generate_state(1, np.uint64)[0] >> 1)
                 for key in keys for j in range(k)]
        draws = sample(self.model, prompts, k, self.temperature, constraints=constraints,
                       batch_size=self.batch_size, max_tokens=self.max_tokens, seeds=seeds)
        out: list[list[Candidate]] = []
        encoded = iter(draws)
        for i, task in enumerate(tasks):
            if i in failures:
                out.append([failures[i]] * samples)
                continue
            drawn = next(encoded)
            groups = [drawn[j * self.best_of:(j + 1) * self.best_of] for j in range(samples)]
            out.append([(select_verified(task, g) if self.best_of > 1 else g[0]).program for g in groups])
        return out

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        return self.propose([task], samples)[0]


def load_agent(path_or_name: str = "default", *, device: str = "cpu", **options: object) -> PolicyAgent:
    """A PolicyAgent from a named checkpoint or a directory written by `train-sft`; options go to PolicyAgent."""
    directory = checkpoint_dir(path_or_name)
    if not os.path.isdir(directory):
        if path_or_name in POLICY_NAMES:
            raise XLogoError(f"no `{path_or_name}` policy ships with this version of xlogo-gym (train one with "
                             f"`xlogo-gym train-{'ppo' if path_or_name == 'ppo' else 'sft'} --out DIR` and pass "
                             "`--agent DIR`)", path_or_name)
        raise XLogoError("no policy checkpoint here (train one with `xlogo-gym train-sft`)", directory)
    name = f"policy:{path_or_name}" if path_or_name in POLICY_NAMES else f"policy:{os.path.basename(directory)}"
    return PolicyAgent(load_policy(directory, device), name=name, **options)  # type: ignore[arg-type]
