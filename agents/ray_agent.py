"""Evaluation on a Ray cluster: copies of an agent on Ray actors answer the harness's batches together.

`xlogo-gym evaluate --backend ray` wraps the agent named by `--agent` in `RayAgent`: each of
`workers` actors builds its own copy with `agents.registry.make_agent` (a policy loads its
checkpoint once per actor, an `hf:` model once per actor and GPU), and each batch the harness
hands over is split across them; the answers come back in task order. The harness itself
(`xlogo_gym.evaluation.evaluate`) runs unchanged on the driver: it judges the candidates, writes
`partial.jsonl` after every batch and resumes an interrupted run. Every agent here answers a
task the same whatever batch it is in (seeds are per task), so the report equals the local
backend's except for the timings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import Agent, Candidate, TaskByTaskAgent
from xlogo_gym.ray_backend import cluster_cpus, connect, import_ray
from xlogo_gym.task import Task


class _Worker:
    """One copy of the agent, inside a Ray actor."""

    def __init__(self, spec: str, options: dict[str, Any]) -> None:
        from agents.registry import make_agent

        self.agent = make_agent(spec, **options)

    def describe(self) -> tuple[str, bool]:
        """The agent's name and whether it answers one task at a time."""
        return self.agent.name, getattr(type(self.agent), "propose", None) is TaskByTaskAgent.propose

    def propose(self, tasks: Sequence[Task], samples: int) -> list[list[Candidate]]:
        return self.agent.propose(tasks, samples)


class RayAgent(Agent):
    """The agent `make_agent(spec, **options)` copied onto Ray actors.

    spec, options: as for `agents.registry.make_agent` (each actor builds its own copy).
    workers: actors (None: the cluster's CPUs divided by `cpus_per_worker`).
    cpus_per_worker, gpus_per_worker: Ray resources of each actor (a GPU for an `hf:` model).
    address: the cluster to join if Ray is not initialised yet (see `xlogo_gym.ray_backend.connect`).

    `propose` splits the tasks into one part per actor (one task per call for agents that answer task by task,
    such as the search solver, so that the work balances) and returns the answers in task order.
    """

    def __init__(self, spec: str, options: dict[str, Any] | None = None, workers: int | None = None,
                 cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0, address: str | None = None) -> None:
        ray = import_ray()
        connect(address)
        if workers is None:
            workers = max(1, int(cluster_cpus() // max(cpus_per_worker, 1e-9)))
        if workers < 1:
            raise ValueError(f"need at least one Ray worker, got {workers}")
        actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker)(_Worker)
        self.actors = [actor.remote(spec, dict(options or {})) for _ in range(workers)]
        # the first answer also surfaces an error of the agent's construction (a bad checkpoint, a wrong option)
        try:
            self.name, self.task_by_task = ray.get(self.actors[0].describe.remote())
        except ray.exceptions.RayActorError as err:
            self.close()
            lines = [line.strip() for line in str(err).splitlines() if "Error" in line and ":" in line]
            raise XLogoError(f"the agent could not be built on a Ray worker: {lines[-1] if lines else err}",
                             spec) from None
        from ray.util import ActorPool

        self._pool = ActorPool(self.actors)

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        if not tasks:
            return []
        size = 1 if self.task_by_task else math.ceil(len(tasks) / len(self.actors))
        parts = [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]
        answers = self._pool.map(lambda actor, part: actor.propose.remote(part, samples), parts)
        return [candidates for part in answers for candidates in part]

    def close(self) -> None:
        """Stop the actors."""
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
