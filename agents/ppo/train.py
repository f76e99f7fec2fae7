"""PPO fine-tuning of the policy from a supervised checkpoint (`xlogo-gym train-ppo`).

One run: generate a pool of training tasks (the generator's training side: no held-out world,
no task of the evaluation suites), start `MaskablePPO(XLogoTransformerPolicy, ...)` from the
checkpoint, and train on vectorised `XLogoMiniEnv`s (wrapped in `TurtleTrace`, so the policy
gets the execution-guided inputs its decoder feeds) that write programs under the same masks
as the agent decodes with (grammar + code constraints). The reward is the emulator's verdict
(1 for success), minus `kl_coef` times the per-token log-ratio to the frozen supervised policy
(the KL penalty of RL from human feedback, Ziegler et al. 2019), so the policy stays near the
supervised one. The advantages come from the critic (`baseline="value"`, GAE over the
transformer's value head) or, with `baseline="group"`, from a per-task baseline: each drawn task
is played by `group_size` episodes and an episode's advantage is its return minus the mean of the
others' (`EpisodeRolloutBuffer.group_advantages`); no critic is trained then (`vf_coef` 0),
so no value loss reaches the shared trunk. With `curriculum="emulator"` each episode draws its
task with probability

    p = (1 - mix) / N + mix * difficulty / sum(difficulty)

where a task's difficulty is the mean failure rate of its families over the last episodes
(`agents.policy.curriculum`, applied online instead of between rounds).

`OUT/` holds the exported policy (what `load_agent` and `xlogo-gym evaluate --agent OUT` read;
`OUT/best/` the one with the best greedy success on held-out generated tasks), `resume.zip`
(the MaskablePPO state, written atomically every `checkpoint_minutes`; a second run with the
same `out` resumes), `curriculum.json`, `progress.csv` and TensorBoard logs in `OUT/tb`:
success rate, episode length, KL to the supervised policy, PPO's entropy, value loss,
approx. KL and clip fraction, env-steps/s and the time split between rollout and update.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.config import torch_device
from agents.policy.agent import PolicyAgent
from agents.policy.checkpoint import POLICY_NAMES, checkpoint_dir
from agents.policy.config import SFTConfig
from agents.policy.curriculum import failure_rates, sampling_weights
from agents.policy.data import Example, gather_examples
from agents.policy.model import PolicyModel, load_policy, save_policy
from agents.policy.tokenizer import DomainTokenizer
from agents.ppo.buffer import EpisodeRolloutBuffer
from agents.ppo.config import PPOConfig
from agents.ppo.policy import TurtleTrace, XLogoTransformerPolicy, policy_outputs, transformer_of
from xlogo_gym.emulator import execute
from xlogo_gym.envs.xlogo_mini import XLogoMiniEnv
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import AgentFailure
from xlogo_gym.fileio import atomic_path, read_json, write_atomic
from xlogo_gym.generator import canonical_json

log = logging.getLogger(__name__)

RESUME_FILE = "resume.zip"
CURRICULUM_FILE = "curriculum.json"
BEST_DIR = "best"


class OnlineCurriculum:
    """Draws training tasks from a pool, weighted towards the families recent episodes failed.

    `record(index, success)` adds an episode's outcome to a window of the last `window`
    episodes; `refresh()` (once per rollout) turns the window into per-family failure rates
    and the pool's sampling weights (`agents.policy.curriculum`). `mix=0` samples uniformly.
    Each drawn task is handed to `group_size` consecutive episodes (of any env), so that a
    rollout plays it several times (for the group baseline).
    """

    def __init__(self, pool: Sequence[Example], mix: float, window: int, seed: int, group_size: int = 1) -> None:
        self.pool, self.mix, self.group_size = list(pool), mix, group_size
        self.outcomes: deque[tuple[int, bool]] = deque(maxlen=window)
        self.weights = sampling_weights(self.pool, None, 0.0)  # type: ignore[arg-type]
        self.rng = np.random.default_rng(seed)
        self._cumulative = np.cumsum(self.weights)
        self._index, self._left = 0, 0

    def draw(self) -> int:
        if self._left == 0:
            self._index = int(min(np.searchsorted(self._cumulative, self.rng.random() * self._cumulative[-1]),
                                  len(self.pool) - 1))
            self._left = self.group_size
        self._left -= 1
        return self._index

    def record(self, index: int, success: bool) -> None:
        self.outcomes.append((index, success))

    def rates(self) -> dict[str, float]:
        return failure_rates([self.pool[i].families for i, _ in self.outcomes], [ok for _, ok in self.outcomes])

    def refresh(self) -> None:
        if self.mix > 0 and self.outcomes:
            self.weights = sampling_weights(self.pool, self.rates(), self.mix)  # type: ignore[arg-type]
            self._cumulative = np.cumsum(self.weights)

    def state(self) -> dict[str, Any]:
        return {"outcomes": [[i, ok] for i, ok in self.outcomes]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.outcomes.extend((int(i), bool(ok)) for i, ok in state["outcomes"])
        self.refresh()


def make_curriculum(pool: Sequence[Example], config: PPOConfig) -> OnlineCurriculum:
    """The task sampler a run's settings ask for (curriculum mix, window, seed, group size)."""
    return OnlineCurriculum(pool, config.curriculum_mix if config.curriculum == "emulator" else 0.0,
                            config.curriculum_window, config.seed,
                            config.group_size if config.baseline == "group" else 1)


class CurriculumTasks(gym.Wrapper):
    """Each reset plays the task the curriculum draws; each finished episode reports its success."""

    def __init__(self, env: XLogoMiniEnv, curriculum: OnlineCurriculum) -> None:
        super().__init__(env)
        self.curriculum = curriculum
        self.index = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if options:
            return self.env.reset(seed=seed, options=options)
        self.index = self.curriculum.draw()
        return self.env.reset(seed=seed, options={"task": self.curriculum.pool[self.index].task})

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and self.index >= 0:
            self.curriculum.record(self.index, bool(info.get("success")))
        return obs, reward, terminated, truncated, info


def make_vec_env(curriculum: OnlineCurriculum, n_envs: int, reward: str, seed: int,
                 tokenizer: DomainTokenizer) -> DummyVecEnv:
    """`n_envs` envs in this process (the policy's batched forward pass dominates, not the env), whose
    observations carry the program positions' state as `tokenizer` makes it."""
    first = curriculum.pool[0].task

    def make() -> gym.Env:
        return Monitor(TurtleTrace(CurriculumTasks(XLogoMiniEnv(tasks=[first], mask_constraints=True, reward=reward,
                                                                prompt=False), curriculum), tokenizer))

    venv = DummyVecEnv([make] * n_envs)
    venv.seed(seed)
    return venv


@torch.no_grad()
def action_logprobs(model: PolicyModel, observations: dict[str, np.ndarray], actions: np.ndarray,
                    masks: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Log-probabilities of `actions` under `model` with the logits masked, for flat batches of observations
    (consecutive steps of an episode share one forward pass)."""
    out = np.empty(len(actions), dtype=np.float32)
    device = model.device
    for start in range(0, len(actions), chunk):
        part = {k: torch.as_tensor(v[start:start + chunk], device=device) for k, v in observations.items()}
        logits, _ = policy_outputs(model, part)
        legal = torch.as_tensor(masks[start:start + chunk], device=device, dtype=torch.bool)
        log_p = torch.log_softmax(logits.masked_fill(~legal, float("-inf")), -1)
        taken = torch.as_tensor(actions[start:start + chunk], device=device, dtype=torch.long)
        out[start:start + chunk] = log_p.gather(-1, taken[:, None]).squeeze(-1).cpu().numpy()
    return out


class RolloutAdvantages(BaseCallback):
    """After each rollout: the per-token log-ratio to the frozen supervised policy, logged as
    `rollout/kl_supervised` (its mean estimates KL(policy || supervised) per token) and, with
    `kl_coef > 0`, subtracted from the rewards (times `kl_coef`); then the advantages are recomputed
    with the critic (`baseline="value"`: GAE) or the per-task group baseline (`baseline="group"`:
    `EpisodeRolloutBuffer.group_advantages`). With `skip_uniform` (group baseline only) the tasks whose
    episodes all earned the same verdict reward are left out: no KL pass, no advantage, no update."""

    def __init__(self, reference: PolicyModel, kl_coef: float, baseline: str, skip_uniform: bool = False) -> None:
        super().__init__()
        self.reference, self.kl_coef, self.baseline = reference.eval(), kl_coef, baseline
        self.skip_uniform = skip_uniform and baseline == "group"
        self.seconds = 0.0  # spent here, in all
        for p in self.reference.parameters():
            p.requires_grad_(False)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        started = time.perf_counter()
        buffer = self.model.rollout_buffer  # type: ignore[attr-defined]
        groups = buffer.task_groups(self.locals["dones"]) if self.baseline == "group" else []
        self.logger.record("rollout/grouped_tasks", len(groups))
        if self.skip_uniform:
            groups = [group for group in groups if not buffer.uniform(group)]
            self.logger.record("rollout/informative_tasks", len(groups))
        flat = buffer.swap_and_flatten  # env-major: the steps of each episode in order
        rows = np.arange(buffer.n_envs * buffer.buffer_size)
        if self.skip_uniform:  # env-major row of each step of the kept episodes
            rows = np.array([env * buffer.buffer_size + step for group in groups for env, start, stop in group
                             for step in range(start, stop + 1)], dtype=np.int64)
        ratio = np.zeros(buffer.n_envs * buffer.buffer_size, dtype=np.float32)
        if len(rows):
            reference = action_logprobs(self.reference, {k: flat(v)[rows] for k, v in buffer.observations.items()},
                                        flat(buffer.actions).reshape(-1)[rows], flat(buffer.action_masks)[rows])
            ratio[rows] = flat(buffer.log_probs).reshape(-1)[rows] - reference
            self.logger.record("rollout/kl_supervised", float(ratio[rows].mean()))
        ratio = ratio.reshape(buffer.n_envs, buffer.buffer_size).T
        if self.kl_coef > 0:
            buffer.rewards -= self.kl_coef * ratio
        if self.baseline == "group":
            buffer.skip_zero_advantage = self.skip_uniform
            self.logger.record("rollout/grouped_steps", buffer.group_advantages(groups))
        elif self.kl_coef > 0:
            with torch.no_grad():
                last = self.model.policy.predict_values(  # type: ignore[operator]
                    obs_as_tensor(self.locals["new_obs"], self.model.device))
            buffer.compute_returns_and_advantage(last_values=last, dones=self.locals["dones"])
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        self.logger.record("time/kl_s", elapsed)


def rollout_advantages(config: PPOConfig, reference: PolicyModel) -> RolloutAdvantages:
    """The advantage callback a run's settings ask for (uniform groups skipped only where that is exact
    but for the KL term: no entropy bonus, no critic)."""
    skip = config.skip_uniform and config.ent_coef == 0 and config.value_coef == 0
    return RolloutAdvantages(reference, config.kl_coef, config.baseline, skip)


def greedy_outcomes(model: PolicyModel, tasks: Sequence[Any]) -> np.ndarray:
    """Per task, whether the policy solves it greedily as the agent decodes it (constrained masks)."""
    agent = PolicyAgent(model, batch_size=256)
    was_training = model.training
    candidates = agent.propose(tasks, 1)
    model.train(was_training)
    return np.array([not isinstance(c[0], AgentFailure) and execute(t, c[0]).success
                     for t, c in zip(tasks, candidates, strict=True)], dtype=bool)


class TrainingMonitor(BaseCallback):
    """Success rate, illegal actions, env-steps/s and the rollout/update split; greedy evaluation with the
    churn since the previous one (held-out tasks gained and lost), checkpoints, the progress bar and the
    time limit."""

    def __init__(self, config: PPOConfig, curriculum: OnlineCurriculum, eval_tasks: Sequence[Any],
                 training: dict[str, Any], started: float) -> None:
        super().__init__()
        self.config, self.curriculum, self.eval_tasks, self.training = config, curriculum, eval_tasks, training
        self.started = started
        self.success: deque[bool] = deque(maxlen=1000)
        self.illegal = 0
        self.rollouts = 0
        self.stopped = False
        self.rollout_seconds = self.update_seconds = 0.0  # in all (evaluations and checkpoints excluded)
        self.best = float(training.get("best_greedy_success", -1.0))
        self.solved: np.ndarray | None = None  # per evaluation task, at the latest evaluation
        self.rollout_start = self.rollout_end = self.last_checkpoint = time.monotonic()
        self.bar: Any = None

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=self.config.total_steps, initial=self.num_timesteps, desc="train-ppo", unit="step")

    def _on_rollout_start(self) -> None:
        now = time.monotonic()
        if self.rollouts:
            self.update_seconds += now - self.rollout_end
            self.logger.record("time/update_s", now - self.rollout_end)
        self.rollout_start = now

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
            if done:
                self.success.append(bool(info.get("success")))
                self.illegal += "illegal_action" in info
        self.bar.update(self.training_env.num_envs)
        limit = self.config.time_limit_minutes
        self.stopped = limit is not None and time.monotonic() - self.started > 60 * limit
        return not self.stopped

    def _on_rollout_end(self) -> None:
        now = time.monotonic()
        elapsed = now - self.rollout_start  # the RolloutAdvantages callback before this one included
        self.rollout_seconds += elapsed
        steps = self.config.n_steps * self.training_env.num_envs
        self.rollouts += 1
        self.curriculum.refresh()
        record = self.logger.record
        record("time/rollout_s", elapsed)
        record("time/rollout_steps_per_s", steps / elapsed)
        if self.success:
            record("rollout/success_rate", float(np.mean(self.success)))
            self.bar.set_postfix(success=f"{np.mean(self.success):.3f}")
        record("rollout/illegal_actions", self.illegal)
        if self.curriculum.mix > 0 and self.curriculum.outcomes:
            for family, rate in self.curriculum.rates().items():
                record(f"curriculum/failure/{family}", rate)
        if self.rollouts % self.config.eval_every == 0:
            self.evaluate()
        if now - self.last_checkpoint > 60 * self.config.checkpoint_minutes:
            self.checkpoint()
        self.rollout_end = time.monotonic()

    def evaluate(self) -> float:
        started = time.monotonic()
        transformer = transformer_of(self.model)
        solved = greedy_outcomes(transformer, self.eval_tasks)
        rate = float(solved.mean())
        entry = {"steps": self.num_timesteps, "greedy_success": rate,
                 "minutes": round((time.monotonic() - self.started) / 60, 2)}
        if self.solved is not None:
            entry.update(gained=int((solved & ~self.solved).sum()), lost=int((~solved & self.solved).sum()))
            self.logger.record("eval/gained", entry["gained"])
            self.logger.record("eval/lost", entry["lost"])
        self.solved = solved
        self.logger.record("eval/greedy_success", rate)
        self.logger.record("time/eval_s", time.monotonic() - started)
        self.training.setdefault("history", []).append(entry)
        if rate > self.best:
            self.best = self.training["best_greedy_success"] = rate
            save_policy(transformer, os.path.join(self.config.out, BEST_DIR),
                        {**self.training, "steps": self.num_timesteps})
        return rate

    def checkpoint(self) -> None:
        out = self.config.out
        with atomic_path(os.path.join(out, RESUME_FILE), suffix=".zip") as tmp:
            self.model.save(tmp)
        write_atomic(os.path.join(out, CURRICULUM_FILE),
                     json.dumps({**self.curriculum.state(), "training": self.training,
                                 "num_timesteps": self.num_timesteps}))
        save_policy(transformer_of(self.model), out, {**self.training, "steps": self.num_timesteps})
        self.last_checkpoint = time.monotonic()

    def _on_training_end(self) -> None:
        if self.rollouts and not self.stopped:  # the update after the last rollout
            self.update_seconds += time.monotonic() - self.rollout_end
        self.bar.close()


def gather_tasks(config: PPOConfig) -> tuple[list[Example], list[Example]]:
    """The training pool and the evaluation tasks: generated, disjoint, no evaluation-suite task."""
    sft = SFTConfig(seed=config.seed, generate=config.pool, exclude_suites=config.exclude_suites)
    pool = gather_examples(sft)
    seen = {canonical_json(e.task) for e in pool}
    evaluation = [e for e in gather_examples(replace(sft, seed=config.seed + 1, generate=config.eval_tasks))
                  if canonical_json(e.task) not in seen]
    return pool, evaluation


def build_ppo(config: PPOConfig, venv: DummyVecEnv, device: str) -> MaskablePPO:
    """MaskablePPO over `venv` from the checkpoint (architecture, tokenizer, weights); the value head starts at
    zero (supervised training leaves it untrained). Group advantages are not normalised per minibatch: they
    are already in reward units and zero for tasks played once or always solved (or always failed), which
    normalising would turn into a push towards whatever was sampled. `MaskablePPO.load` of its saves reads
    the checkpoint again."""
    ppo = MaskablePPO(
        XLogoTransformerPolicy, venv, learning_rate=config.lr, n_steps=config.n_steps, batch_size=config.batch_size,
        n_epochs=config.epochs, gamma=config.gamma, gae_lambda=config.gae_lambda, clip_range=config.clip_range,
        ent_coef=config.ent_coef, vf_coef=config.value_coef, max_grad_norm=config.max_grad_norm,
        target_kl=config.target_kl or None, normalize_advantage=config.baseline == "value", seed=config.seed,
        device=device, policy_kwargs={"checkpoint": config.checkpoint}, rollout_buffer_class=EpisodeRolloutBuffer)
    head = transformer_of(ppo).value_head
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    return ppo


def train_ppo(config: PPOConfig, pool: Sequence[Example] | None = None,
              eval_tasks: Sequence[Example] | None = None) -> dict[str, Any]:
    """Run (or resume) PPO; returns the final figures. `pool` / `eval_tasks` override the generated ones."""
    if config.checkpoint not in POLICY_NAMES:  # recorded absolute, so a resume from another folder finds it
        config = replace(config, checkpoint=os.path.abspath(config.checkpoint))
    torch.set_num_threads(config.threads)
    started = time.monotonic()
    device = torch_device(config.device)
    os.makedirs(config.out, exist_ok=True)
    if pool is None or eval_tasks is None:
        pool, eval_tasks = gather_tasks(config)
    if not pool or not eval_tasks:
        raise XLogoError("no training or evaluation tasks", "pool")
    curriculum = make_curriculum(pool, config)
    venv = make_vec_env(curriculum, config.envs, config.reward, config.seed,
                        DomainTokenizer.load(checkpoint_dir(config.checkpoint)))
    training: dict[str, Any] = {"method": "ppo", "config": config.to_json(),
                                "started_from": os.path.abspath(checkpoint_dir(config.checkpoint))}
    resume = os.path.join(config.out, RESUME_FILE)
    ppo = build_ppo(config, venv, device)
    if os.path.exists(resume):
        # never MaskablePPO.load: it unpickles the zip's data, so a crafted file in --out would run code; the
        # weights and optimiser state come from its .pth files (read with weights_only), the rest from JSON
        state = read_json(os.path.join(config.out, CURRICULUM_FILE))
        if not isinstance(state, dict) or not isinstance(state.get("num_timesteps"), int) \
                or not isinstance(state.get("training"), dict):
            raise XLogoError("not the curriculum state of a train-ppo run (remove resume.zip to start over)",
                             os.path.join(config.out, CURRICULUM_FILE))
        try:
            ppo.set_parameters(resume, exact_match=True, device=device)
        except (ValueError, RuntimeError, KeyError, OSError) as err:
            raise XLogoError(f"not a resume file of train-ppo ({type(err).__name__}: {err}); remove it to start "
                             "over", resume) from None
        curriculum.load_state(state)
        ppo.num_timesteps = state["num_timesteps"]
        training = state["training"]
        log.info("resumed at step %d", ppo.num_timesteps)
    ppo.set_logger(configure(os.path.join(config.out, "tb"), ["tensorboard", "csv"]))
    tasks = [e.task for e in eval_tasks]
    monitor = TrainingMonitor(config, curriculum, tasks, training, started)
    if ppo.num_timesteps == 0:
        write_atomic(os.path.join(config.out, "ppo_config.json"), json.dumps(config.to_json()))
        monitor.solved = greedy_outcomes(transformer_of(ppo), tasks)
        before = float(monitor.solved.mean())
        training["history"] = [{"steps": 0, "greedy_success": before, "minutes": 0.0}]
        training["best_greedy_success"] = monitor.best = before
        save_policy(transformer_of(ppo), os.path.join(config.out, BEST_DIR), {**training, "steps": 0})
        log.info("greedy success on %d held-out generated tasks before PPO: %.3f", len(tasks), before)
    reference = load_policy(checkpoint_dir(config.checkpoint), device)
    callbacks = CallbackList([rollout_advantages(config, reference), monitor])
    ppo.learn(config.total_steps - ppo.num_timesteps, callback=callbacks, reset_num_timesteps=False)
    final = monitor.evaluate()
    monitor.checkpoint()
    minutes = (time.monotonic() - started) / 60
    return {"steps": ppo.num_timesteps, "finished": ppo.num_timesteps >= config.total_steps,
            "greedy_success_before": training["history"][0]["greedy_success"], "greedy_success": final,
            "best_greedy_success": monitor.best, "minutes": round(minutes, 2)}
