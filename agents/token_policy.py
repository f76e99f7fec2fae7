"""Token-level policies as agents: roll the policy out in `XLogoMiniEnv`, one episode per candidate.

A token-level policy picks the next program token from the env's observation and action mask,
as an RL agent does. `TokenPolicyAgent` turns one into an `Agent`, so the evaluation harness
scores it like any other agent:

    agent = TokenPolicyAgent(lambda obs, mask: int(np.flatnonzero(mask)[0]))       # one at a time
    agent = TokenPolicyAgent(model_step, batched=True)   # model_step(obs_batch, masks) -> actions

A batched policy gets the observations of all unfinished episodes of a `propose` call as a
dict of stacked arrays (the env's keys, leading batch axis) and their masks as a bool array
(batch x 23), and returns one action per row. The env (gymnasium) is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xlogo_gym.evaluation import Agent, AgentFailure, Candidate
from xlogo_gym.task import Task

#: (observation, action mask) -> action
Policy = Callable[[dict[str, np.ndarray], np.ndarray], int]
#: (stacked observations, masks batch x N_ACTIONS) -> one action per row
BatchedPolicy = Callable[[dict[str, np.ndarray], np.ndarray], Sequence[int]]


class TokenPolicyAgent(Agent):
    """Writes each candidate by stepping `XLogoMiniEnv` with the policy's tokens until the episode ends.

    Args:
        policy: a `Policy`, or a `BatchedPolicy` when `batched` is True.
        batched: call the policy once per step for all episodes of a `propose` call.
        name: the agent's name in reports.
        env_options: keyword arguments of `XLogoMiniEnv` (max_tokens, max_depth, mask_constraints, ...).

    An episode ended by an illegal action gives an AgentFailure naming the token and reason.
    """

    def __init__(self, policy: Policy | BatchedPolicy, batched: bool = False, name: str = "token-policy",
                 env_options: dict[str, Any] | None = None) -> None:
        self.policy: Callable[..., Any] = policy
        self.batched, self.name = batched, name
        self.env_options = {"prompt": False, **(env_options or {})}

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        return self.propose([task], samples)[0]

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        from xlogo_gym.envs.xlogo_mini import XLogoMiniEnv

        if not tasks:
            return []
        episodes = [task for task in tasks for _ in range(samples)]
        envs = [XLogoMiniEnv(tasks=[task], **self.env_options) for task in episodes]
        observations = [env.reset(options={"task": task})[0] for env, task in zip(envs, episodes, strict=True)]
        results: list[Candidate | None] = [None] * len(envs)
        running = list(range(len(envs)))
        while running:
            masks = np.stack([envs[i].action_masks() for i in running])
            if self.batched:
                stacked = {key: np.stack([observations[i][key] for i in running]) for key in observations[0]}
                actions = [int(a) for a in self.policy(stacked, masks)]
            else:
                actions = [int(self.policy(observations[i], mask)) for i, mask in zip(running, masks, strict=True)]
            still = []
            for i, action in zip(running, actions, strict=True):
                observations[i], _, terminated, truncated, info = envs[i].step(action)
                if not (terminated or truncated):
                    still.append(i)
                elif "illegal_action" in info:
                    results[i] = AgentFailure(f"illegal_action: {info['illegal_action']} ({info['illegal_reason']})",
                                              info["program"])
                else:
                    results[i] = envs[i].program
            running = still
        return [[c for c in results[t * samples:(t + 1) * samples] if c is not None] for t in range(len(tasks))]
