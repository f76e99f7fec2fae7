"""`EpisodeRolloutBuffer`: PPO minibatches made of whole episode segments, each in step order.

sb3-contrib's buffer draws the steps of a minibatch at random, so the transformer would read a
whole prefix per step. Drawing segments (the consecutive steps of one episode within a rollout)
instead, in step order, lets `XLogoTransformerPolicy` evaluate every step of a segment with one
forward pass over its longest prefix (`agents.ppo.policy.prefix_groups`). The PPO update itself
is MaskablePPO's, unchanged; minibatches hold `batch_size` steps or a few more (segments are
not split) and are shuffled by segment.
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
