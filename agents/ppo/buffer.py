"""`EpisodeRolloutBuffer`: PPO minibatches made of whole episode segments, each in step order.

sb3-contrib's buffer draws the steps of a minibatch at random, so the transformer would read a
whole prefix per step. Drawing segments (the consecutive steps of one episode within a rollout)
instead, in step order, lets `XLogoTransformerPolicy` evaluate every step of a segment with one
forward pass over its longest prefix (`agents.ppo.policy.prefix_groups`). The PPO update itself
is MaskablePPO's, unchanged; minibatches hold `batch_size` steps or a few more (segments are
not split) and are shuffled by segment.

`group_advantages` replaces the critic's advantages by a per-task baseline (RLOO, Kool et al.
2019; GRPO, Shao et al. 2024): when the sampler hands each task to several episodes of a
rollout, an episode's advantage is its return minus the mean return of the task's other
episodes, so the signal comes from tasks the policy sometimes solves and sometimes not.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableDictRolloutBufferSamples


class EpisodeRolloutBuffer(MaskableDictRolloutBuffer):
    """A MaskableDictRolloutBuffer whose minibatches are shuffled whole episode segments."""

    def segments(self) -> list[np.ndarray]:
        """Row indices of each segment in the flattened (env-major) buffer: a new one starts at each env's
        first step and wherever the program did not grow by one token (a new episode)."""
        total = self.buffer_size * self.n_envs
        written = self.observations["program_length"].reshape(total)
        rows = np.arange(total)
        starts = (rows % self.buffer_size == 0) | (np.r_[-2, written[:-1]] + 1 != written)
        return np.split(rows, np.flatnonzero(starts)[1:])

    def group_advantages(self, last_dones: np.ndarray) -> float:
        """Per-task leave-one-out advantages (called after the rollout, before `get`); returns the share of
        steps that got one. Every step of a complete episode whose task (its `task_tokens` and
        `task_cells`) has another complete episode in the rollout gets `return - mean(other returns)`;
        other steps (episodes cut by the rollout's ends, tasks played once) get 0. `returns` become
        advantages + values, as GAE leaves them."""
        task = np.concatenate([self.observations["task_tokens"], self.observations["task_cells"]], -1)
        ends = np.concatenate([self.episode_starts[1:], last_dones[None]], 0).astype(bool)
        episodes: dict[bytes, list[tuple[int, int, int, float]]] = {}
        for env in range(self.n_envs):
            start = None
            for step in range(self.buffer_size):
                if self.episode_starts[step, env] or step == 0:
                    start = step if self.observations["program_length"][step, env].item() == 0 else None
                if ends[step, env] and start is not None:
                    total = float(self.rewards[start:step + 1, env].sum())
                    episodes.setdefault(task[start, env].tobytes(), []).append((env, start, step, total))
        self.advantages[:] = 0.0
        for group in episodes.values():
            if len(group) < 2:
                continue
            totals = np.array([total for *_, total in group])
            baselines = (totals.sum() - totals) / (len(group) - 1)
            for (env, start, stop, total), baseline in zip(group, baselines, strict=True):
                self.advantages[start:stop + 1, env] = total - baseline
        self.returns = self.advantages + self.values
        covered = sum(stop + 1 - start for g in episodes.values() if len(g) > 1 for _, start, stop, _ in g)
        return covered / (self.buffer_size * self.n_envs)

    def get(self, batch_size: int | None = None) -> Generator[MaskableDictRolloutBufferSamples, None, None]:  # type: ignore[override]
        assert self.full, "the rollout buffer is not full"
        if not self.generator_ready:  # as the parent: flatten env-major, so each env's steps stay in order
            for key, obs in self.observations.items():
                self.observations[key] = self.swap_and_flatten(obs)
            for name in ("actions", "values", "log_probs", "advantages", "returns", "action_masks"):
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
            self.generator_ready = True
        batch_size = batch_size or self.buffer_size * self.n_envs
        segments = self.segments()
        chosen: list[np.ndarray] = []
        size = 0
        for i in np.random.permutation(len(segments)):
            chosen.append(segments[i])
            size += len(segments[i])
            if size >= batch_size:
                yield self._get_samples(np.concatenate(chosen))
                chosen, size = [], 0
        if chosen:
            yield self._get_samples(np.concatenate(chosen))
