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
episodes, so the signal comes from tasks the policy sometimes solves and sometimes not. With
`skip_uniform`, tasks whose episodes all earned the same verdict reward carry no signal: their
advantages are zero and `get` leaves their segments out of the update, which then costs only
what the informative tasks cost (the dynamic sampling of DAPO, Yu et al. 2025). With no entropy
bonus and no critic, as the group baseline trains, their loss would be exactly zero anyway.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableDictRolloutBufferSamples

#: One complete episode in the rollout buffer: (env, first step, last step).
Episode = tuple[int, int, int]


class EpisodeRolloutBuffer(MaskableDictRolloutBuffer):
    """A MaskableDictRolloutBuffer whose minibatches are shuffled whole episode segments."""

    #: `get` leaves out segments whose advantages are all zero (set by the group baseline's callback).
    skip_zero_advantage = False

    def segments(self) -> list[np.ndarray]:
        """Row indices of each segment in the flattened (env-major) buffer: a new one starts at each env's
        first step and wherever the program did not grow by one token (a new episode)."""
        total = self.buffer_size * self.n_envs
        written = self.observations["program_length"].reshape(total)
        rows = np.arange(total)
        starts = (rows % self.buffer_size == 0) | (np.r_[-2, written[:-1]] + 1 != written)
        return np.split(rows, np.flatnonzero(starts)[1:])

    def task_groups(self, last_dones: np.ndarray) -> list[list[Episode]]:
        """The complete episodes of each task (its `task_tokens` and `task_cells`) played at least twice in the
        rollout (episodes cut by the rollout's ends are left out)."""
        task = np.concatenate([self.observations["task_tokens"], self.observations["task_cells"]], -1)
        ends = np.concatenate([self.episode_starts[1:], last_dones[None]], 0).astype(bool)
        episodes: dict[bytes, list[Episode]] = {}
        for env in range(self.n_envs):
            start = None
            for step in range(self.buffer_size):
                if self.episode_starts[step, env] or step == 0:
                    start = step if self.observations["program_length"][step, env].item() == 0 else None
                if ends[step, env] and start is not None:
                    episodes.setdefault(task[start, env].tobytes(), []).append((env, start, step))
        return [group for group in episodes.values() if len(group) > 1]

    def uniform(self, group: list[Episode]) -> bool:
        """Whether all episodes of a group have the same return (call it before the KL penalty changes them)."""
        return len({self._total(e) for e in group}) == 1

    def _total(self, episode: Episode) -> float:
        env, start, stop = episode
        return float(self.rewards[start:stop + 1, env].sum())

    def group_advantages(self, groups: list[list[Episode]]) -> float:
        """Per-task leave-one-out advantages (called after the rollout, before `get`) over `task_groups`;
        returns the share of steps that got one. Every step of an episode of a group gets
        `return - mean(other returns)`; other steps get 0. `returns` become advantages + values, as GAE
        leaves them."""
        self.advantages[:] = 0.0
        for group in groups:
            totals = np.array([self._total(e) for e in group])
            baselines = (totals.sum() - totals) / (len(group) - 1)
            for (env, start, stop), total, baseline in zip(group, totals, baselines, strict=True):
                self.advantages[start:stop + 1, env] = total - baseline
        self.returns = self.advantages + self.values
        covered = sum(stop + 1 - start for group in groups for _, start, stop in group)
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
        if self.skip_zero_advantage:  # keep one, so that the update still runs (with a zero loss)
            segments = [s for s in segments if self.advantages[s].any()] or segments[:1]
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
