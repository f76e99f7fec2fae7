"""The agent interface: anything that maps tasks to candidate programs.

Every agent, from the search solver to a prompted LLM or the transformer policy, answers
`propose(tasks, samples)` with up to `samples` candidates per task; the evaluation harness
scores them with the emulator (pass@k). Agents that can batch work across tasks (a neural
policy decoding many tasks at once) override `propose`; simple ones implement `solve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlogo_gym.program import Program
from xlogo_gym.task import Task


@dataclass(frozen=True)
class AgentFailure:
    """A candidate the agent could not produce (timeout, HTTP error, no program in the reply)."""

    reason: str
    raw: str = ""


#: A candidate: a Program, program text (parsed by the harness: parse errors are a failure
#: mode of their own), or an AgentFailure.
Candidate = Program | str | AgentFailure


class Agent:
    """Base class. Subclasses set `name` and implement `solve` or override `propose`."""

    name: str = "agent"

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        """Up to `samples` candidate programs for one task."""
        raise NotImplementedError

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        """Candidates for each task, in order. Override to batch across tasks."""
        return [self.solve(task, samples) for task in tasks]
