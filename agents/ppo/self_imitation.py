"""Self-imitation (SIL, Oh et al. 2018): the policy also imitates its own good episodes, replayed.

PPO learns from each rollout once, through a clipped ratio and a small learning rate; a task the
policy solves in one of four samples moves its greedy program only slowly. `SelfImitation` keeps
the successful episodes whose advantage was positive (better than the task's other episodes, or
than the critic expected) in a replay of the last `capacity` such episodes and, after every PPO
update, takes `batches` gradient steps of

    loss = - mean over replayed steps of  min(advantage, 1) * log pi(action | observation)

(the masked log-probability, as PPO's) with its own Adam optimiser. Only the emulator's verdict
decides what is imitated: no reference program is used. The replay is not saved with the run:
a resumed run starts it empty.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, cast

import numpy as np
import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import obs_as_tensor

Episode = dict[str, Any]


class SelfImitation(BaseCallback):
    """Collects positive successful episodes at each rollout's end; imitates a replay of them after each update.

    Must come after `RolloutAdvantages` in the callback list (it reads the final advantages) and
    before `TrainingMonitor` (so its time counts as update time).
    """

    def __init__(self, lr: float, batches: int, batch_size: int, capacity: int, max_grad_norm: float,
                 seed: int) -> None:
        super().__init__()
        self.lr, self.batches, self.batch_size, self.max_grad_norm = lr, batches, batch_size, max_grad_norm
        self.replay: deque[Episode] = deque(maxlen=capacity)
        self.rng = np.random.default_rng(seed)
        self.optimizer: torch.optim.Optimizer | None = None
        self.success: np.ndarray | None = None  # (n_steps, n_envs): the step ended a solved episode
        self.seconds = 0.0

    def _on_rollout_start(self) -> None:
        if self.replay and self.num_timesteps > 0:
            self.imitate()
        buffer = self.model.rollout_buffer  # type: ignore[attr-defined]
        self.success = np.zeros((buffer.buffer_size, buffer.n_envs), dtype=bool)

    def _on_step(self) -> bool:
        buffer = self.model.rollout_buffer  # type: ignore[attr-defined]
        assert self.success is not None
        for env, (done, info) in enumerate(zip(self.locals["dones"], self.locals["infos"], strict=True)):
            self.success[buffer.pos, env] = bool(done and info.get("success"))
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer  # type: ignore[attr-defined]
        assert self.success is not None
        added = 0
        for env in range(buffer.n_envs):
            start = None
            for step in range(buffer.buffer_size):
                if buffer.observations["program_length"][step, env].item() == 0:
                    start = step
                if self.success[step, env] and start is not None:
                    advantage = float(buffer.advantages[start, env])
                    if advantage > 0:
                        rows = slice(start, step + 1)
                        self.replay.append({
                            "observations": {k: v[rows, env].copy() for k, v in buffer.observations.items()},
                            "actions": buffer.actions[rows, env].copy(),
                            "action_masks": buffer.action_masks[rows, env].copy(),
                            "weight": min(advantage, 1.0)})
                        added += 1
                    start = None
        self.logger.record("self_imitation/episodes_added", added)
        self.logger.record("self_imitation/replay", len(self.replay))

    def minibatch(self) -> Episode:
        """Whole episodes drawn from the replay, each in step order, until `batch_size` steps."""
        chosen: list[Episode] = []
        size = 0
        for i in self.rng.permutation(len(self.replay)):
            chosen.append(self.replay[i])
            size += len(chosen[-1]["actions"])
            if size >= self.batch_size:
                break
        return {"observations": {k: np.concatenate([e["observations"][k] for e in chosen])
                                 for k in chosen[0]["observations"]},
                "actions": np.concatenate([e["actions"] for e in chosen]),
                "action_masks": np.concatenate([e["action_masks"] for e in chosen]),
                "weight": np.concatenate([np.full(len(e["actions"]), e["weight"], np.float32) for e in chosen])}

    def imitate(self) -> None:
        """`batches` gradient steps on the weighted negative log-likelihood of replayed steps."""
        started = time.perf_counter()
        policy = cast(MaskableActorCriticPolicy, self.model.policy)
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(policy.parameters(), lr=self.lr)
        policy.set_training_mode(True)
        losses = []
        device = policy.device
        for _ in range(self.batches):
            batch = self.minibatch()
            _, log_prob, _ = policy.evaluate_actions(
                obs_as_tensor(batch["observations"], device),  # type: ignore[arg-type]  # Dict observations
                torch.as_tensor(batch["actions"], device=device).long().flatten(),
                action_masks=batch["action_masks"])
            loss = -(torch.as_tensor(batch["weight"], device=device) * log_prob).mean()
            self.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
            self.optimizer.step()
            losses.append(loss.item())
        policy.set_training_mode(False)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        self.logger.record("self_imitation/loss", float(np.mean(losses)))
        self.logger.record("time/self_imitation_s", elapsed)
