"""`PolicyModel`: a `transformers` causal LM over task + program tokens, with action and value heads.

The default is a small Llama (RMSNorm, rotary positions, SwiGLU) trained from scratch on the
domain vocabulary, with a cell-position embedding added to each grid-cell position through
`inputs_embeds`. With `ModelConfig.base_model` set, the same class wraps a pretrained causal LM
from a local path (its tokenizer gains the action tokens; `lora_rank > 0` trains LoRA adapters
with `peft`, plus the new tokens' embedding rows, as in the published Llama3 setting).

Outputs per position: logits over the grammar actions (the LM head's rows of the action tokens)
and a scalar value (for PPO).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any, NamedTuple

import torch
from torch import nn

from agents.policy.config import ModelConfig
from agents.policy.tokenizer import DomainTokenizer, PolicyTokenizer, TextTokenizer, load_tokenizer
from xlogo_gym.encoding import MAX_COLS, MAX_ROWS
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import atomic_path, read_json, sha256_file, write_atomic

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1


class PolicyOutput(NamedTuple):
    logits: torch.Tensor  # (B, T, N_ACTIONS)
    values: torch.Tensor  # (B, T)
    past_key_values: Any


class PolicyModel(nn.Module):
    """A causal LM whose next-token head is read at the action tokens, plus a value head."""

    def __init__(self, lm: Any, config: ModelConfig, tokenizer: PolicyTokenizer, hidden_size: int) -> None:
        super().__init__()
        self.lm = lm
        self.config = config
        self.tokenizer = tokenizer
        self.cell_embed = nn.Embedding(1 + MAX_ROWS * MAX_COLS, hidden_size) if tokenizer.kind == "domain" else None
        if self.cell_embed is not None:  # the scale of the token embeddings, so as not to drown the words
            nn.init.normal_(self.cell_embed.weight, std=lm.get_input_embeddings().weight.std().item())
        self.value_head = nn.Linear(hidden_size, 1)
        self.register_buffer("action_ids", torch.as_tensor(tokenizer.action_ids), persistent=False)

    def embed(self, ids: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """Sum the embeddings of each position's bag (ids (B, T, K), -1 empty) plus its cell embedding."""
        weight = self.lm.get_input_embeddings().weight
        flat = ids.reshape(-1, ids.shape[-1])
        x = nn.functional.embedding_bag(flat.clamp(min=0), weight, mode="sum",
                                        per_sample_weights=(flat >= 0).to(weight.dtype))
        x = x.reshape(*ids.shape[:-1], weight.shape[1])
        if self.cell_embed is not None:
            x = x + self.cell_embed(cells).to(x.dtype)
        return x

    def forward(self, ids: torch.Tensor, cells: torch.Tensor, attention_mask: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, past_key_values: Any = None,
                use_cache: bool = False) -> PolicyOutput:
        out = self.lm(inputs_embeds=self.embed(ids, cells), attention_mask=attention_mask,
                      position_ids=position_ids, past_key_values=past_key_values, use_cache=use_cache,
                      output_hidden_states=True)
        values = self.value_head(out.hidden_states[-1].to(self.value_head.weight.dtype)).squeeze(-1)
        return PolicyOutput(out.logits[..., self.action_ids].float(), values.float(), out.past_key_values)

    @property
    def device(self) -> torch.device:
        return self.value_head.weight.device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_policy(config: ModelConfig, tokenizer: PolicyTokenizer | None = None) -> PolicyModel:
    """A freshly initialised policy (from scratch, or around the pretrained LM at `base_model`).

    `tokenizer`: a saved one to reuse (else made from the config).
    """
    if config.base_model is None:
        from transformers import LlamaConfig, LlamaForCausalLM

        tokenizer = tokenizer or DomainTokenizer(config.turtle_state, config.execution_state)
        lm_config = LlamaConfig(
            vocab_size=tokenizer.vocab_size, hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
            num_hidden_layers=config.layers, num_attention_heads=config.heads, num_key_value_heads=config.heads,
            max_position_embeddings=config.max_positions, attention_dropout=config.dropout,
            tie_word_embeddings=True, pad_token_id=0, bos_token_id=None, eos_token_id=None)
        return PolicyModel(LlamaForCausalLM(lm_config), config, tokenizer, config.hidden_size)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not os.path.isdir(config.base_model):
        raise XLogoError("not a directory with a pretrained causal LM", config.base_model)
    tokenizer = tokenizer or TextTokenizer(AutoTokenizer.from_pretrained(config.base_model))
    lm: Any = AutoModelForCausalLM.from_pretrained(config.base_model)
    hidden_size = int(lm.get_input_embeddings().weight.shape[1])
    old_vocab = lm.get_input_embeddings().weight.shape[0]
    if tokenizer.vocab_size > old_vocab:
        _add_token_rows(lm, tokenizer.vocab_size)
    if config.lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        # the new tokens' rows (input embedding and, if untied, the LM head) train with the adapters
        new_ids = [*tokenizer.action_ids.tolist(), tokenizer.prog_id]
        tables = {lm.get_input_embeddings(), lm.get_output_embeddings()}
        names = [name.rsplit(".", 1)[-1] for name, module in lm.named_modules() if module in tables]
        if lm.get_output_embeddings().weight is lm.get_input_embeddings().weight:
            names = names[:1]
        lm = get_peft_model(lm, LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                                           lora_dropout=config.lora_dropout, target_modules="all-linear",
                                           trainable_token_indices={name: new_ids for name in names}))
    return PolicyModel(lm, config, tokenizer, hidden_size)


def _add_token_rows(lm: Any, vocab_size: int) -> None:
    """Grow the embeddings to `vocab_size`; new rows start at the mean of the old ones (deterministic, so
    a checkpoint that stores only the trained rows and adapters rebuilds the same model)."""
    old = lm.get_input_embeddings().weight.shape[0]
    lm.resize_token_embeddings(vocab_size, mean_resizing=False)
    with torch.no_grad():
        for table in {lm.get_input_embeddings().weight, lm.get_output_embeddings().weight}:
            table[old:] = table[:old].mean(0)


def policy_state(model: PolicyModel) -> dict[str, torch.Tensor]:
    """The saved weights. From scratch: every parameter; pretrained: the trained ones (the rest is the base)."""
    everything = model.config.base_model is None
    return {name: p.detach().contiguous() for name, p in model.named_parameters() if everything or p.requires_grad}


def load_policy_state(model: PolicyModel, state: dict[str, torch.Tensor], where: str) -> None:
    expected = policy_state(model)
    missing, unexpected = expected.keys() - state.keys(), state.keys() - expected.keys()
    if missing or unexpected:
        raise XLogoError(f"weights do not fit the model: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}", where)
    model.load_state_dict(state, strict=False)


def init_from_checkpoint(model: PolicyModel, directory: str) -> None:
    """Start `model` from the weights of a saved policy of the same architecture whose vocabulary is a
    prefix of the model's (e.g. one without `execution_state`): the rows of the words it lacks start
    at zero, so they change nothing until trained."""
    from safetensors.torch import load_file

    path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise XLogoError("no weights file to start from", path)
    saved = load_file(path)
    for name, own in policy_state(model).items():
        old = saved.get(name)
        if old is None or old.shape == own.shape:
            continue
        if old.shape[1:] != own.shape[1:] or old.shape[0] > own.shape[0]:
            raise XLogoError(f"{name} has shape {tuple(old.shape)}, the model needs {tuple(own.shape)}", path)
        grown = torch.zeros_like(own)
        grown[: old.shape[0]] = old
        saved[name] = grown
    load_policy_state(model, saved, path)


def save_policy(model: PolicyModel, directory: str, training: dict[str, Any] | None = None) -> None:
    """Write model.safetensors, config.json and the tokenizer into `directory` (file by file, atomically)."""
    from safetensors.torch import save_file

    os.makedirs(directory, exist_ok=True)
    state = {k: v.cpu() for k, v in policy_state(model).items()}
    with atomic_path(os.path.join(directory, WEIGHTS_FILE)) as tmp:
        save_file(state, tmp, metadata={"format": "pt"})
        digest = sha256_file(tmp)
    config = {"format_version": FORMAT_VERSION, "tokenizer": model.tokenizer.kind, "model": asdict(model.config),
              "parameters": model.num_parameters(), "weights_sha256": digest, "training": training or {}}
    write_atomic(os.path.join(directory, CONFIG_FILE), json.dumps(config, indent=2) + "\n")
    model.tokenizer.save(directory)


def read_config(directory: str) -> dict[str, Any]:
    path = os.path.join(directory, CONFIG_FILE)
    config = read_json(path)
    if not isinstance(config, dict):
        raise XLogoError(f"expected an object, got {type(config).__name__}", path)
    if config.get("format_version") != FORMAT_VERSION:
        raise XLogoError(f"format_version {config.get('format_version')!r} is not {FORMAT_VERSION}", path)
    if not isinstance(config.get("model"), dict) or not isinstance(config.get("tokenizer"), str):
        raise XLogoError("needs 'model' (an object) and 'tokenizer' (a string)", path)
    return config


def load_policy(directory: str, device: str | torch.device = "cpu") -> PolicyModel:
    """Load a policy saved by `save_policy`, in eval mode."""
    from safetensors.torch import load_file

    config = read_config(directory)
    path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise XLogoError("no weights file", path)
    if "weights_sha256" in config and sha256_file(path) != config["weights_sha256"]:
        raise XLogoError(f"the weights do not match the sha256 recorded in {CONFIG_FILE}: the file is damaged", path)
    try:
        state = load_file(path)
    except Exception as err:  # safetensors raises its own SafetensorError (and others) on a damaged file
        raise XLogoError(f"not a readable safetensors file ({type(err).__name__}: {err})", path) from None
    bad = next((name for name, tensor in state.items() if tensor.is_floating_point() and
                not bool(torch.isfinite(tensor).all())), None)
    if bad is not None:
        raise XLogoError(f"tensor {bad} holds NaN or infinite values: the file is damaged", path)
    where = os.path.join(directory, CONFIG_FILE)
    model_config = ModelConfig.from_dict(config["model"], where)
    try:
        model = build_policy(model_config, load_tokenizer(config["tokenizer"], directory))
    except Exception as err:  # transformers validates the architecture with errors of its own
        if isinstance(err, XLogoError):
            raise
        raise XLogoError(f"'model' does not describe a policy: {type(err).__name__}: {err}", where) from None
    try:
        load_policy_state(model, state, path)
    except RuntimeError as err:  # tensor sizes that do not fit the configured architecture
        raise XLogoError(f"weights do not fit the model of {CONFIG_FILE}: {str(err).splitlines()[-1][:300]}",
                         path) from None
    return model.to(device).eval()
