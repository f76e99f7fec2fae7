"""`XLogoTransformerPolicy`: the transformer policy as an sb3-contrib `MaskableActorCriticPolicy`.

The features extractor is the policy itself (`agents.policy.model.PolicyModel`): each Dict
observation of `XLogoMiniEnv` becomes the model's input, the task's words grouped into one bag
per grid cell exactly as `DomainTokenizer.encode` does, then `<prog>` and the tokens written so
far, and the features are the action logits and the value read at the last position. The
actor (`action_net`) and critic (`value_net`) only slice those features, so every weight is the
transformer's: loaded from a supervised checkpoint, the policy gives exactly that model's
action probabilities (under the env's masks), and `save_policy(policy.transformer, ...)`
writes a checkpoint `load_agent` reads.

SB3 evaluates one step per env. Two things keep that cheap, both exact: in rollouts
(`RolloutCache`) each env feeds only its new token against the keys and values cached at its
previous step, batched over the envs; in updates (`policy_outputs`) consecutive steps of one
episode, which `agents.ppo.buffer.EpisodeRolloutBuffer` keeps together, share one forward pass
over the longest prefix. `MaskablePPO(XLogoTransformerPolicy, env, policy_kwargs={"checkpoint":
"default"})` then trains with the library's own loop, callbacks, saving and loading.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from agents.policy.checkpoint import checkpoint_dir
from agents.policy.config import ModelConfig
from agents.policy.model import PolicyModel, build_policy, load_policy
from agents.policy.tokenizer import BAG_WIDTH, EMPTY, DomainTokenizer, Prompt
from xlogo_gym.encoding import MAX_COLS, MAX_ROWS
from xlogo_gym.errors import XLogoError
from xlogo_gym.grammar import N_ACTIONS

OBSERVATION_KEYS = ("task_tokens", "task_cells", "task_length", "program", "program_length")
#: Added by `TurtleTrace`: per program position j (0 = `<prog>`), the words its bag holds beside the
#: token (`DomainTokenizer.program_position`: the turtle's heading, the execution state) and its cell id.
POSITION_KEYS = ("position_words", "position_cells")


class TurtleTrace(gym.Wrapper):
    """Adds `POSITION_KEYS` to `XLogoMiniEnv`'s observations: the program positions' bags as the
    policy's decoder feeds them, for a `turtle_state` tokenizer (execution-guided inputs)."""

    def __init__(self, env: gym.Env, tokenizer: DomainTokenizer) -> None:
        super().__init__(env)
        base = cast(spaces.Dict, env.observation_space)
        length = int(base["program"].shape[0]) + 1  # type: ignore[index]
        self.tokenizer = tokenizer
        self.observation_space = spaces.Dict({
            **base.spaces,
            "position_words": spaces.Box(EMPTY, tokenizer.vocab_size - 1, (length, BAG_WIDTH - 1), np.int32),
            "position_cells": spaces.Box(0, MAX_ROWS * MAX_COLS, (length,), np.int32)})
        self._words = np.full((length, BAG_WIDTH - 1), EMPTY, dtype=np.int32)
        self._cells = np.zeros(length, dtype=np.int32)
        self._prompt: Prompt | None = None

    def _observe(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        base: Any = self.env.unwrapped
        n = int(obs["program_length"][0])
        if self._prompt is None or self._prompt.task is not base.task:
            self._prompt = Prompt(np.zeros((0, BAG_WIDTH), np.int32), np.zeros(0, np.int32), base.task)
        bag, self._cells[n] = self.tokenizer.program_position(EMPTY, self._prompt, base.program)
        self._words[n] = EMPTY
        self._words[n, : len(bag) - 1] = bag[1:]
        return {**obs, "position_words": self._words.copy(), "position_cells": self._cells.copy()}

    def reset(self, **kwargs: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._words.fill(EMPTY)
        self._cells.fill(0)
        return self._observe(obs), info

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._observe(obs), float(reward), terminated, truncated, info


def observation_inputs(obs: dict[str, torch.Tensor], prog_id: int, action_ids: torch.Tensor,
                       positions: bool = False
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Model input for a batch of env observations: ids (B, T, BAG_WIDTH), cells (B, T), attention (B, T)
    and the index of each row's last position (B,). Rows are right-padded to the longest one.

    A task word starts a new bag unless it describes the same grid cell as the word before
    (`DomainTokenizer.encode`'s rule); then come `<prog>` and the program's action tokens. With
    `positions` (a `turtle_state` tokenizer) each program position also holds the words and cell
    of `POSITION_KEYS` (`DomainTokenizer.program_position`).
    """
    tokens, cells = obs["task_tokens"].long(), obs["task_cells"].long()
    batch, width = tokens.shape
    device = tokens.device
    length = obs["task_length"].reshape(batch, -1)[:, 0].long()
    program = obs["program"].reshape(batch, -1).long()
    written = obs["program_length"].reshape(batch, -1)[:, 0].long()
    pos = torch.arange(width, device=device)
    valid = pos < length[:, None]
    previous = torch.nn.functional.pad(cells[:, :-1], (1, 0), value=-1)
    start = valid & ((cells == 0) | (cells != previous))
    bag = start.long().cumsum(1) - 1
    slot = pos - torch.where(start, pos, 0).cummax(1).values
    if bool((slot[valid] >= BAG_WIDTH).any()):
        raise XLogoError(f"a grid cell has more than {BAG_WIDTH} words", "observation.task_tokens")
    bags = start.sum(1)
    total = bags + 1 + written
    steps = int(total.max())
    ids = torch.full((batch, steps, BAG_WIDTH), EMPTY, dtype=torch.long, device=device)
    seq_cells = torch.zeros((batch, steps), dtype=torch.long, device=device)
    b, w = valid.nonzero(as_tuple=True)
    ids[b, bag[b, w], slot[b, w]] = tokens[b, w]
    seq_cells[b, bag[b, w]] = cells[b, w]
    rows = torch.arange(batch, device=device)
    ids[rows, bags, 0] = prog_id
    b, j = (torch.arange(program.shape[1], device=device) < written[:, None]).nonzero(as_tuple=True)
    ids[b, bags[b] + 1 + j, 0] = action_ids[program[b, j]]
    if positions:
        b, j = (torch.arange(program.shape[1] + 1, device=device) <= written[:, None]).nonzero(as_tuple=True)
        ids[b, bags[b] + j, 1:] = obs["position_words"].long()[b, j]
        seq_cells[b, bags[b] + j] = obs["position_cells"].long()[b, j]
    attention = (torch.arange(steps, device=device) < total[:, None]).long()
    return ids, seq_cells, attention, total - 1


def _action_ids(model: PolicyModel) -> torch.Tensor:
    """The vocabulary id of each grammar action (a buffer of the model)."""
    return cast(torch.Tensor, model.action_ids)


def _reads_positions(model: PolicyModel) -> bool:
    """Whether the model's tokenizer puts the turtle's (and the execution) state into program positions."""
    return bool(getattr(model.tokenizer, "turtle_state", False))


def model_inputs(model: PolicyModel, obs: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """`observation_inputs` with the model's tokenizer settings."""
    return observation_inputs(obs, model.tokenizer.prog_id, _action_ids(model), _reads_positions(model))


def prefix_groups(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per row, the index of a row whose sequence contains this row's as a prefix (itself if none).

    Row i+1 *extends* row i when it is the same task with one more program token and the same
    tokens before it: consecutive steps of one episode, as the rollout buffer yields them
    (`EpisodeRolloutBuffer`). A causal model gives row i's outputs at its own last position
    in row i+1's sequence, so each run of extending rows needs one forward pass, not one per step.
    """
    task = torch.cat([obs["task_tokens"], obs["task_cells"]], 1)
    program = obs["program"].reshape(len(task), -1)
    written = obs["program_length"].reshape(len(task), -1)[:, 0].long()
    if len(task) < 2:
        return torch.arange(len(task), device=task.device)
    before = torch.arange(program.shape[1], device=task.device) < written[:-1, None]
    same_prefix = ((program[1:] == program[:-1]) | ~before).all(1)
    extends = (written[1:] == written[:-1] + 1) & (task[1:] == task[:-1]).all(1) & same_prefix
    run = torch.cat([extends.new_zeros(1), ~extends]).long().cumsum(0)
    last_of_run = torch.zeros(int(run[-1]) + 1, dtype=torch.long, device=task.device)
    last_of_run.scatter_reduce_(0, run, torch.arange(len(task), device=task.device), "amax")
    return last_of_run[run]


def policy_outputs(model: PolicyModel, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Action logits (B, N_ACTIONS) and values (B,) at each observation's last position, one forward
    pass per run of consecutive steps of an episode (`prefix_groups`)."""
    cover = prefix_groups(obs)
    heads, back = torch.unique(cover, return_inverse=True)
    ids, cells, attention, last = model_inputs(model, {k: v[heads] for k, v in obs.items()})
    out = model(ids, cells, attention)
    written = obs["program_length"].reshape(len(cover), -1)[:, 0].long()
    position = last[back] - (written[cover] - written)
    return out.logits[back, position], out.values[back, position]


class RolloutCache:
    """Key-value caches of the sequences read at the previous rollout step, keyed by their content.

    During a rollout each env's next observation is its last one plus one token, so a row whose
    prefix was read at the previous step feeds only that token against its cached keys and
    values (left-padded into one batch, as `agents.policy.decode` does); other rows (new
    episodes) read their whole sequence. Only the entries made at the latest step are kept;
    `clear()` must be called whenever the weights change.
    """

    def __init__(self) -> None:
        self.entries: dict[bytes, tuple[tuple[tuple[torch.Tensor, torch.Tensor], ...], int]] = {}

    def clear(self) -> None:
        self.entries = {}

    @staticmethod
    def _keys(obs: dict[str, torch.Tensor]) -> tuple[list[bytes], list[bytes | None]]:
        """Per row, the key of its sequence and of the sequence one token shorter (None at `<prog>`)."""
        task = torch.cat([obs["task_tokens"], obs["task_cells"]], 1).cpu().numpy().astype(np.int64)
        program = obs["program"].reshape(len(task), -1).cpu().numpy().astype(np.int64)
        written = obs["program_length"].reshape(len(task), -1)[:, 0].cpu().numpy().astype(np.int64)
        own: list[bytes] = []
        previous: list[bytes | None] = []
        for row, tokens, n in zip(task, program, written, strict=True):
            head = row.tobytes() + b"|"
            own.append(head + tokens[:n].tobytes())
            previous.append(head + tokens[:n - 1].tobytes() if n > 0 else None)
        return own, previous

    @torch.no_grad()
    def outputs(self, model: PolicyModel, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Action logits (B, N_ACTIONS) and values (B,) at each row's last position, as `policy_outputs`."""
        from transformers import DynamicCache

        own, previous = self._keys(obs)
        batch, device = len(own), model.device
        logits = torch.empty(batch, N_ACTIONS, device=device)
        values = torch.empty(batch, device=device)
        fresh: dict[bytes, tuple[tuple[tuple[torch.Tensor, torch.Tensor], ...], int]] = {}
        hits = [i for i in range(batch) if previous[i] is not None and previous[i] in self.entries]
        misses = torch.as_tensor([i for i in range(batch) if i not in set(hits)], dtype=torch.long)
        if len(misses):
            part = {k: v[misses.to(v.device)] for k, v in obs.items()}
            ids, cells, attention, last = model_inputs(model, part)
            out = model(ids, cells, attention, use_cache=True)
            rows = torch.arange(len(misses), device=device)
            logits[misses], values[misses] = out.logits[rows, last], out.values[rows, last]
            layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
            for j, i in enumerate(misses.tolist()):
                n = int(last[j]) + 1
                fresh[own[i]] = (tuple((k[j:j + 1, :, :n], v[j:j + 1, :, :n]) for k, v in layers), n)
        if hits:
            cached = [self.entries[previous[i]] for i in hits]  # type: ignore[index]
            lengths = torch.as_tensor([n for _, n in cached], device=device)
            longest = int(lengths.max())
            past = []
            for layer in range(len(cached[0][0])):
                k0 = cached[0][0][layer][0]
                keys = k0.new_zeros(len(hits), k0.shape[1], longest, k0.shape[3])
                vals = torch.zeros_like(keys)
                for r, (kv, n) in enumerate(cached):
                    keys[r, :, longest - n:], vals[r, :, longest - n:] = kv[layer][0][0], kv[layer][1][0]
                past.append((keys, vals))
            attention = (torch.arange(longest + 1, device=device) >= longest - lengths[:, None]).long()
            written = obs["program_length"].reshape(batch, -1)[hits, 0].long().to(device)
            token = obs["program"].reshape(batch, -1)[hits].long().to(device)[torch.arange(len(hits)), written - 1]
            step = torch.full((len(hits), 1, BAG_WIDTH), EMPTY, dtype=torch.long, device=device)
            step[:, 0, 0] = _action_ids(model)[token]
            step_cells = torch.zeros(len(hits), 1, dtype=torch.long, device=device)
            if _reads_positions(model):
                rows = torch.arange(len(hits), device=device)
                step[:, 0, 1:] = obs["position_words"][hits].long().to(device)[rows, written]
                step_cells[:, 0] = obs["position_cells"][hits].long().to(device)[rows, written]
            out = model(step, step_cells, attention,
                        lengths[:, None], past_key_values=DynamicCache(past), use_cache=True)
            index = torch.as_tensor(hits, device=device)
            logits[index], values[index] = out.logits[:, -1], out.values[:, -1]
            layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
            for r, i in enumerate(hits):
                n = int(lengths[r]) + 1
                fresh[own[i]] = (tuple((k[r:r + 1, :, longest + 1 - n:], v[r:r + 1, :, longest + 1 - n:])
                                       for k, v in layers), n)
        self.entries = fresh
        return logits, values


class TransformerExtractor(BaseFeaturesExtractor):
    """Features (B, N_ACTIONS + 1): the policy's action logits and value at each observation's last position.

    :param observation_space: the env's Dict space (needs `OBSERVATION_KEYS`)
    :param checkpoint: a policy checkpoint directory or name (`default`, `ppo`) to load, or None
    :param model: `ModelConfig` fields of a freshly initialised policy (used when `checkpoint` is None)
    :param rollout_cache: without gradients and in eval mode (SB3's rollouts), feed each env only its
        new token against a `RolloutCache`
    """

    def __init__(self, observation_space: spaces.Dict, checkpoint: str | None = None,
                 model: dict[str, Any] | None = None, rollout_cache: bool = True) -> None:
        super().__init__(observation_space, N_ACTIONS + 1)
        missing = [k for k in OBSERVATION_KEYS if k not in observation_space.spaces]
        if missing:
            raise XLogoError(f"the observation space lacks {', '.join(missing)} (use XLogoMiniEnv)", "observation")
        self.transformer: PolicyModel = (load_policy(checkpoint_dir(checkpoint)) if checkpoint is not None
                                         else build_policy(ModelConfig.from_dict(model or {})))
        if self.transformer.tokenizer.kind != "domain":
            raise XLogoError("PPO reads the env's task tokens, so it needs the domain tokenizer "
                             f"(this policy's is {self.transformer.tokenizer.kind!r})", checkpoint or "model")
        if _reads_positions(self.transformer) and not set(POSITION_KEYS) <= set(observation_space.spaces):
            raise XLogoError("this policy reads the turtle's state: wrap the env in agents.ppo.policy.TurtleTrace",
                             "observation")
        self.cache = RolloutCache() if rollout_cache else None

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.cache is not None and not self.training and not torch.is_grad_enabled():
            logits, values = self.cache.outputs(self.transformer, observations)
        else:
            logits, values = policy_outputs(self.transformer, observations)
        return torch.cat([logits, values[:, None]], -1)


class _Slice(nn.Module):
    """Features[..., start:stop]: the actor's logits or the critic's value (no weights of its own)."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features[..., self.start:self.stop]


class XLogoTransformerPolicy(MaskableActorCriticPolicy):
    """MaskableActorCriticPolicy whose actor and critic are the transformer's action and value heads.

    :param observation_space: `XLogoMiniEnv`'s Dict observation space
    :param action_space: `Discrete(N_ACTIONS)`
    :param lr_schedule: learning-rate schedule (set by the algorithm)
    :param checkpoint: a supervised (or PPO) policy checkpoint, directory or name, to start from
    :param model: `ModelConfig` fields of a fresh policy, when no checkpoint is given
    :param rollout_cache: reuse each env's keys and values between rollout steps (`RolloutCache`)
    :param kwargs: other `MaskableActorCriticPolicy` arguments (optimizer_class, optimizer_kwargs);
        the network layout arguments are fixed by this class
    """

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Discrete, lr_schedule: Schedule,
                 checkpoint: str | None = None, model: dict[str, Any] | None = None, rollout_cache: bool = True,
                 **kwargs: Any) -> None:
        for fixed in ("net_arch", "features_extractor_class", "features_extractor_kwargs", "share_features_extractor",
                      "ortho_init", "activation_fn"):
            kwargs.pop(fixed, None)
        super().__init__(observation_space, action_space, lr_schedule, net_arch=[], ortho_init=False,
                         features_extractor_class=TransformerExtractor,
                         features_extractor_kwargs={"checkpoint": checkpoint, "model": model,
                                                    "rollout_cache": rollout_cache}, **kwargs)

    @property
    def transformer(self) -> PolicyModel:
        """The wrapped policy model (save it with `agents.policy.model.save_policy`)."""
        return cast(TransformerExtractor, self.features_extractor).transformer

    def set_training_mode(self, mode: bool) -> None:
        """Also empties the rollout cache: SB3 calls this before every rollout and update."""
        cache = cast(TransformerExtractor, self.features_extractor).cache
        if cache is not None:
            cache.clear()
        super().set_training_mode(mode)

    def _build(self, lr_schedule: Schedule) -> None:
        self._build_mlp_extractor()  # empty net_arch: the identity
        self.action_net = _Slice(0, N_ACTIONS)  # type: ignore[assignment]
        self.value_net = _Slice(N_ACTIONS, N_ACTIONS + 1)  # type: ignore[assignment]
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1),  # type: ignore[call-arg]
                                              **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        """Saved with the algorithm: the architecture, not the checkpoint path (the weights are saved too)."""
        data = super()._get_constructor_parameters()
        for key in ("net_arch", "activation_fn", "ortho_init", "features_extractor_class",
                    "features_extractor_kwargs"):
            data.pop(key, None)
        data.update(checkpoint=None, model=asdict(self.transformer.config),
                    rollout_cache=cast(TransformerExtractor, self.features_extractor).cache is not None)
        return data

    def load_transformer(self, directory: str) -> None:
        """Replace the weights with those of a policy checkpoint of the same architecture."""
        loaded = load_policy(checkpoint_dir(directory), self.device)
        if asdict(loaded.config) != asdict(self.transformer.config):
            raise XLogoError("the checkpoint's architecture differs from this policy's", os.fspath(directory))
        self.transformer.load_state_dict(loaded.state_dict())
        self.set_training_mode(self.training)


def transformer_of(algorithm: Any) -> PolicyModel:
    """The transformer of an algorithm (MaskablePPO) whose policy is an XLogoTransformerPolicy."""
    return cast(XLogoTransformerPolicy, algorithm.policy).transformer
