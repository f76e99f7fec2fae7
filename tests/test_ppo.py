"""PPO fine-tuning: the MaskablePPO policy class, its observation encoding, KL, curriculum, `train-ppo`.

Models are tiny and freshly initialised (saved as a checkpoint in a temporary directory);
a few hundred PPO steps run in seconds.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install \"xlogo-gym[train]\"")
pytest.importorskip("gymnasium", reason="needs gymnasium: pip install \"xlogo-gym[train]\"")

import json
import os
from collections.abc import Callable
from dataclasses import asdict

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.policy.agent import load_agent
from agents.policy.config import ModelConfig
from agents.policy.curriculum import task_families
from agents.policy.data import Example
from agents.policy.decode import _left_padded, decode
from agents.policy.model import build_policy, load_policy, save_policy
from agents.policy.tokenizer import DomainTokenizer
from agents.ppo.config import PPOConfig
from agents.ppo.policy import (
    RolloutCache,
    TransformerExtractor,
    TurtleTrace,
    XLogoTransformerPolicy,
    observation_inputs,
    policy_outputs,
    prefix_groups,
)
from agents.ppo.train import OnlineCurriculum, RolloutAdvantages, build_ppo, make_vec_env, train_ppo
from xlogo_gym import XLogoError
from xlogo_gym.cli import main
from xlogo_gym.envs.xlogo_mini import XLogoMiniEnv
from xlogo_gym.generator import generate_tasks

torch.set_num_threads(1)
TINY = ModelConfig(hidden_size=32, layers=2, heads=2, intermediate_size=64, max_positions=160)


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return [Example(g.task, g.program, task_families(g.task, g.program)) for g in generate_tasks(11, 48)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    torch.manual_seed(0)
    directory = str(tmp_path_factory.mktemp("tiny"))
    save_policy(build_policy(TINY), directory)
    return directory


def tiny_config(out: str, checkpoint: str, **changes: object) -> PPOConfig:
    settings = {"out": out, "checkpoint": checkpoint, "envs": 4, "n_steps": 32, "batch_size": 64, "epochs": 1,
                "total_steps": 256, "eval_every": 1, "threads": 1, "device": "cpu", "lr": 1e-3}
    return PPOConfig(**{**settings, **changes})  # type: ignore[arg-type]


def traced(tasks: list, **options: object) -> TurtleTrace:
    """An env whose observations carry the program positions' state, as TINY's tokenizer makes it."""
    tokenizer = DomainTokenizer(TINY.turtle_state, TINY.execution_state)
    return TurtleTrace(XLogoMiniEnv(tasks=tasks, prompt=False, **options), tokenizer)  # type: ignore[arg-type]


def play(env: gym.Env, task: object, actions: list[int]) -> dict[str, np.ndarray]:
    obs, _ = env.reset(options={"task": task})
    for a in actions:
        obs, *_ = env.step(a)
    return obs


def batch(observations: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.stack([o[k] for o in observations])) for k in observations[0]}


def test_observations_become_the_tokenizer_bags_then_the_program(examples: list[Example]) -> None:
    env = XLogoMiniEnv(tasks=[examples[0].task], prompt=False)
    tokenizer = DomainTokenizer(turtle_state=False)
    action_ids = torch.as_tensor(tokenizer.action_ids)
    rows = [(e, [0, 3, 0][: i % 4]) for i, e in enumerate(examples[:12])]
    ids, cells, attention, last = observation_inputs(batch([play(env, e.task, a) for e, a in rows]),
                                                     tokenizer.prog_id, action_ids)
    for row, (e, actions) in enumerate(rows):
        prompt = tokenizer.encode(e.task)
        n = len(prompt)
        assert np.array_equal(ids[row, :n].numpy(), prompt.ids)
        assert np.array_equal(cells[row, :n].numpy(), prompt.cells)
        assert ids[row, n, 0] == tokenizer.prog_id and (ids[row, n, 1:] == -1).all()
        assert ids[row, n + 1:n + 1 + len(actions), 0].tolist() == action_ids[actions].tolist()
        assert int(last[row]) == n + len(actions)
        assert attention[row].sum() == n + 1 + len(actions) and attention[row, : int(last[row]) + 1].all()


def test_consecutive_steps_share_a_forward_pass_with_the_same_outputs(checkpoint: str,
                                                                     examples: list[Example]) -> None:
    model = load_policy(checkpoint)
    env = traced([examples[0].task])
    steps = [(e, [0, 3, 0, 2][:n]) for e in examples[:2] for n in range(5)] + [(examples[0], [1])]
    obs = batch([play(env, e.task, a) for e, a in steps])
    assert prefix_groups(obs).tolist() == [4] * 5 + [9] * 5 + [10]
    with torch.no_grad():
        logits, values = policy_outputs(model, obs)
        one_by_one = [policy_outputs(model, {k: v[i:i + 1] for k, v in obs.items()}) for i in range(len(steps))]
    assert torch.allclose(logits, torch.cat([lg for lg, _ in one_by_one]), atol=1e-5)
    assert torch.allclose(values, torch.cat([v for _, v in one_by_one]), atol=1e-5)


def test_rollout_cache_gives_the_full_forward_outputs(checkpoint: str, examples: list[Example]) -> None:
    model = load_policy(checkpoint)
    envs = [traced([e.task for e in examples], mask_constraints=True) for _ in range(3)]
    current = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
    cache, rng, hits = RolloutCache(), np.random.default_rng(0), 0
    for _ in range(40):
        obs = batch(current)
        hits += sum(p is not None and p in cache.entries for p in cache._keys(obs)[1])
        logits, values = cache.outputs(model, obs)
        with torch.no_grad():
            full_logits, full_values = policy_outputs(model, obs)
        assert torch.allclose(logits, full_logits, atol=1e-4) and torch.allclose(values, full_values, atol=1e-4)
        for i, env in enumerate(envs):
            action = int(rng.choice(np.flatnonzero(env.unwrapped.action_masks())))
            current[i], _, done, truncated, _ = env.step(action)
            if done or truncated:
                current[i] = env.reset()[0]
    assert hits > 60  # most steps fed one token


def test_policy_from_a_checkpoint_has_the_supervised_probabilities(checkpoint: str, examples: list[Example]) -> None:
    env = traced([e.task for e in examples], mask_constraints=True)
    ppo = MaskablePPO(XLogoTransformerPolicy, env, n_steps=16, batch_size=16, device="cpu",
                      policy_kwargs={"checkpoint": checkpoint})
    supervised = load_policy(checkpoint)
    tokenizer = supervised.tokenizer
    assert tokenizer.turtle_state  # type: ignore[attr-defined]
    for e in examples[:6]:
        obs = play(env, e.task, [])
        mask = np.array(env.unwrapped.action_masks())
        probs = ppo.policy.get_distribution(batch([obs]), mask[None]).distribution.probs[0]
        with torch.no_grad():
            logits = supervised(*_left_padded(supervised, [tokenizer.encode(e.task)])).logits[0, -1]
        expected = torch.softmax(logits.masked_fill(~torch.as_tensor(mask), float("-inf")), -1)
        assert torch.allclose(probs, expected, atol=1e-5)
    # greedy actions through the env write the program the agent's greedy decoder writes
    task = examples[0].task
    obs, _ = env.reset(options={"task": task})
    done, written = False, []
    while not done:
        action, _ = ppo.predict(obs, deterministic=True, action_masks=np.array(env.unwrapped.action_masks()))
        written.append(int(action))
        obs, _, done, _, _ = env.step(int(action))
    decoded = decode(supervised, [tokenizer.encode(task)], constraints=[task.constraints.effective])[0]
    assert tuple(written) == decoded.actions


class AssertLegal(BaseCallback):
    """Fails if a sampled action is outside the env's mask; counts the steps checked."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = 0

    def _on_step(self) -> bool:
        masks, actions = self.locals["action_masks"], self.locals["actions"]
        assert masks[np.arange(len(actions)), actions.reshape(-1)].all()
        assert not any("illegal_action" in info for info in self.locals["infos"])
        self.checked += len(actions)
        return True


class AfterRollout(BaseCallback):
    """Calls `check(callback)` after each rollout, once the advantages are final."""

    def __init__(self, check: Callable[[BaseCallback], None]) -> None:
        super().__init__()
        self.check = check

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.check(self)


def test_training_respects_masks_and_kl_starts_at_zero(checkpoint: str, examples: list[Example],
                                                       tmp_path: object) -> None:
    config = tiny_config(str(tmp_path), checkpoint, kl_coef=0.1, baseline="value")
    assert config.value_coef == 0.5 and tiny_config("", "").value_coef == 0.0
    curriculum = OnlineCurriculum(examples, 0.5, 256, 0)
    ppo = build_ppo(config, make_vec_env(curriculum, config.envs, "sparse", 0, DomainTokenizer.load(checkpoint)), "cpu")
    assert torch.all(ppo.policy.transformer.value_head.weight == 0)
    kl, legal = RolloutAdvantages(load_policy(checkpoint), config.kl_coef, config.baseline), AssertLegal()
    seen: list[float] = []
    watch = AfterRollout(lambda callback: seen.append(callback.logger.name_to_value["rollout/kl_supervised"]))
    ppo.learn(256, callback=CallbackList([kl, legal, watch]))
    assert legal.checked >= 256
    assert abs(seen[0]) < 1e-5  # the first rollout's policy is the supervised one
    assert len(curriculum.outcomes) > 0
    buffer = ppo.rollout_buffer  # minibatches are whole episode segments, each in step order
    written = buffer.observations["program_length"].reshape(-1)
    segments = buffer.segments()
    assert sum(len(s) for s in segments) == 128 and all((np.diff(written[s]) == 1).all() for s in segments)
    batches = [b.observations["program_length"].reshape(-1).numpy() for b in buffer.get(48)]
    assert sum(len(b) for b in batches) == 128 and all(len(b) >= 48 for b in batches[:-1])


def test_group_baseline_compares_episodes_of_one_task(checkpoint: str, examples: list[Example],
                                                       tmp_path: object) -> None:
    config = tiny_config(str(tmp_path), checkpoint, group_size=4, n_steps=128)  # room for whole episodes
    curriculum = OnlineCurriculum(examples, 0.0, 256, 0, group_size=4)
    ppo = build_ppo(config, make_vec_env(curriculum, config.envs, "sparse", 0, DomainTokenizer.load(checkpoint)), "cpu")
    grouped: list[float] = []

    def check(callback: BaseCallback) -> None:
        grouped.append(callback.logger.name_to_value["rollout/grouped_steps"])
        buffer = callback.model.rollout_buffer  # type: ignore[attr-defined]
        rewards, advantages = buffer.rewards.copy(), buffer.advantages.copy()
        starts, written = buffer.episode_starts, buffer.observations["program_length"][..., 0]
        for env in range(buffer.n_envs):  # constant along an episode, zero where no group was formed
            for step in range(1, buffer.buffer_size):
                if not starts[step, env]:
                    assert advantages[step, env] == advantages[step - 1, env] or written[step, env] == 0
        # the advantages of a task's complete episodes sum to zero (leave-one-out baseline)
        assert abs(advantages[written == 0].sum()) < 1e-4 * max(1.0, abs(rewards).sum())

    ppo.learn(512, callback=CallbackList([RolloutAdvantages(load_policy(checkpoint), 0.0, "group"),
                                          AfterRollout(check)]))
    assert grouped[0] > 0 and all(0 <= g <= 1 for g in grouped)
    fresh = OnlineCurriculum(examples, 0.0, 256, 1, group_size=4)
    draws = [fresh.draw() for _ in range(12)]
    assert draws[:4] == [draws[0]] * 4 and draws[4:8] == [draws[4]] * 4
    with pytest.raises(XLogoError, match="group_size"):
        PPOConfig(baseline="group", group_size=1)


def test_uniform_groups_leave_the_update(checkpoint: str, examples: list[Example], tmp_path: object) -> None:
    config = tiny_config(str(tmp_path), checkpoint, group_size=4, n_steps=128, reward="shaped")
    curriculum = OnlineCurriculum(examples, 0.0, 256, 0, group_size=4)
    ppo = build_ppo(config, make_vec_env(curriculum, config.envs, "shaped", 0, DomainTokenizer.load(checkpoint)), "cpu")
    checked: list[int] = []

    def check(callback: BaseCallback) -> None:
        buffer = callback.model.rollout_buffer  # type: ignore[attr-defined]
        every = buffer.task_groups(callback.locals["dones"])
        assert callback.logger.name_to_value["rollout/grouped_tasks"] == len(every)
        for group in every:  # a task whose episodes' returns are all equal gets no advantage
            totals = {float(buffer.rewards[start:stop + 1, env].sum()) for env, start, stop in group}
            assert buffer.uniform(group) == (len(totals) == 1)
            if buffer.uniform(group):
                assert not any(buffer.advantages[start:stop + 1, env].any() for env, start, stop in group)
        batches = list(buffer.get(64))
        assert all(b.advantages.abs().sum() > 0 for b in batches) or len(batches) == 1
        checked.append(len(batches))

    ppo.learn(512, callback=CallbackList([RolloutAdvantages(load_policy(checkpoint), 0.0, "group", skip_uniform=True),
                                          AfterRollout(check)]))
    assert checked


def test_curriculum_draws_failing_families_more_often(examples: list[Example]) -> None:
    curriculum = OnlineCurriculum(examples, 0.9, 1000, 0)
    assert np.allclose(curriculum.weights, 1 / len(examples))
    family = "goal:draw" if any("goal:draw" in e.families for e in examples) else examples[0].families[0]
    for i, e in enumerate(examples):
        curriculum.record(i, family not in e.families)
    curriculum.refresh()
    hard = np.array([family in e.families for e in examples])
    assert 0 < hard.sum() < len(examples)
    assert curriculum.weights[hard].mean() > curriculum.weights[~hard].mean()
    draws = [curriculum.draw() for _ in range(2000)]
    assert np.mean(hard[draws]) > hard.mean()


def test_train_ppo_exports_resumes_and_round_trips(checkpoint: str, examples: list[Example], tmp_path: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = str(tmp_path)
    config = tiny_config(out, checkpoint, reward="shaped")  # rewards that differ within a group, so weights move
    result = train_ppo(config, examples[:40], examples[40:])
    assert result["steps"] >= 256 and result["finished"]
    for name in ("resume.zip", "model.safetensors", "config.json", "curriculum.json", "best/model.safetensors",
                 "tb/progress.csv"):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, "tb", "progress.csv"), encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    for key in ("rollout/success_rate", "rollout/kl_supervised", "train/entropy_loss", "train/value_loss",
                "time/fps", "time/rollout_s", "time/update_s", "eval/greedy_success"):
        assert key in header, key
    # the exported policy is what the agent loads; the saved MaskablePPO gives the same probabilities
    agent = load_agent(out)
    assert agent.propose([examples[40].task])[0][0] is not None
    loaded = MaskablePPO.load(os.path.join(out, "resume.zip"), device="cpu")
    exported = load_policy(out)
    env = traced([examples[41].task], mask_constraints=True)
    obs = batch([play(env, examples[41].task, [0])])
    mask = np.array(env.unwrapped.action_masks())[None]
    probs = loaded.policy.get_distribution(obs, mask).distribution.probs
    fresh = MaskablePPO(XLogoTransformerPolicy, env, device="cpu", policy_kwargs={"checkpoint": out})
    assert torch.allclose(probs, fresh.policy.get_distribution(obs, mask).distribution.probs, atol=1e-6)
    assert not torch.equal(exported.lm.get_input_embeddings().weight,
                           load_policy(checkpoint).lm.get_input_embeddings().weight)  # training changed it
    # a second run with more steps resumes where the first stopped, from another folder with a relative
    # --checkpoint, and never unpickles the zip's data: a crafted entry there runs no code
    import base64
    import pickle
    import zipfile

    marker = os.path.join(out, "ran")

    class Evil:
        def __reduce__(self) -> tuple:
            return (open, (marker, "w"))

    resume = os.path.join(out, "resume.zip")
    with zipfile.ZipFile(resume) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    data = json.loads(members["data"])
    data["policy_class"] = {":type:": "<class 'type'>", ":serialized:": base64.b64encode(pickle.dumps(Evil())).decode()}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(resume, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    monkeypatch.chdir(os.path.dirname(checkpoint))
    again = train_ppo(tiny_config(out, os.path.basename(checkpoint), total_steps=384), examples[:40], examples[40:])
    assert not os.path.exists(marker)
    assert 384 <= again["steps"] < 384 + 256
    assert again["greedy_success_before"] == result["greedy_success_before"]


def test_cli_runs_and_rejects_bad_settings(checkpoint: str, examples: list[Example], tmp_path: object,
                                          capsys: pytest.CaptureFixture) -> None:
    out = os.path.join(str(tmp_path), "run")
    code = main(["train-ppo", "--out", out, "--checkpoint", checkpoint, "--pool", "24", "--eval-tasks", "4",
                 "--exclude-suites", "--total-steps", "128", "--envs", "4", "--n-steps", "32", "--batch-size", "64",
                 "--epochs", "1", "--threads", "1", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    result = json.loads(printed[: printed.rindex("}") + 1])
    assert result["steps"] == 128
    assert os.path.exists(os.path.join(out, "model.safetensors"))
    with pytest.raises(XLogoError, match="curriculum"):
        PPOConfig(curriculum="hardest")
    with pytest.raises(XLogoError, match="lacks program"):
        TransformerExtractor(spaces.Dict({k: v for k, v in XLogoMiniEnv(tasks=[examples[0].task], prompt=False)
                                          .observation_space.spaces.items() if k != "program"}), model=asdict(TINY))
