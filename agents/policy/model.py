"""`PolicyModel`: a `transformers` causal LM over task + program tokens, with action and value heads.

The default is a small Llama (RMSNorm, rotary positions, SwiGLU) trained from scratch on the
domain vocabulary, with a cell-position embedding added to each grid-cell position through
`inputs_embeds`. With `ModelConfig.base_model` set, the same class wraps a pretrained causal LM
from a local path (its tokenizer gains the action tokens; `lora_rank > 0` trains LoRA adapters
with `peft`, plus the new tokens' embedding rows, as in the published Llama3 setting).

Outputs per position: logits over the grammar actions (the LM head's rows of the action tokens)
and a scalar value (for PPO).

`PolicyModel.decoder()` gives what `agents.policy.decode` writes programs with: it reads the prompts
once and then one position per row and step. For the from-scratch Llama that is `LlamaDecoder`,
which runs the model's own weights layer by layer against a preallocated key-value cache, with no
per-call overhead of the generic `transformers` forward (the same arithmetic, so the same outputs up
to float rounding); any other model gets `CachedDecoder`, the generic forward with its cache.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

from agents.policy.config import ModelConfig
from agents.policy.tokenizer import EMPTY, DomainTokenizer, PolicyTokenizer, TextTokenizer, load_tokenizer
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
        self._cache_keyword = _cache_keyword(lm)

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
        """Logits and values at every position; `past_key_values` is the LM's cache of the positions before
        (a `transformers` Cache, passed under the keyword the installed version expects)."""
        cache = {} if past_key_values is None else {self._cache_keyword: past_key_values}
        out = self.lm(inputs_embeds=self.embed(ids, cells), attention_mask=attention_mask,
                      position_ids=position_ids, use_cache=use_cache, output_hidden_states=True, **cache)
        values = self.value_head(out.hidden_states[-1].to(self.value_head.weight.dtype)).squeeze(-1)
        return PolicyOutput(out.logits[..., self.action_ids].float(), values.float(), out.get(self._cache_keyword))

    def decoder(self, use_cache: bool = True) -> PolicyDecoder:
        """Incremental inference for decoding: `LlamaDecoder` where it applies, else `CachedDecoder`."""
        if use_cache and LlamaDecoder.applies(self):
            return LlamaDecoder(self)
        return CachedDecoder(self, use_cache)

    @property
    def device(self) -> torch.device:
        return self.value_head.weight.device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _cache_keyword(lm: Any) -> str:
    """The keyword of the LM's key-value cache: `cache` (transformers 5), `past_key_values` before."""
    base = lm.get_base_model() if hasattr(lm, "get_base_model") else lm
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


Bags = tuple[np.ndarray, np.ndarray]
"""One row's input: bags of token ids (L, BAG_WIDTH), EMPTY-padded, and cell ids (L,)."""


class PolicyDecoder(Protocol):
    """Incremental inference over a batch of rows: `start` reads the prompts, each `step` one position per row.

    Rows are the prompts' `copies` (row r reads prompt r // copies); `keep(rows)` drops the other rows.
    Every call returns the action logits (rows, N_ACTIONS) at each row's newest position.
    """

    def start(self, sequences: Sequence[Bags], copies: int = 1, max_new: int = 64) -> torch.Tensor:
        """Read the prompts (each followed by `<prog>`); at most `max_new` steps follow."""
        ...

    def step(self, ids: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """ids (rows, BAG_WIDTH) and cells (rows,): the next position of every row."""
        ...

    def keep(self, rows: torch.Tensor) -> None: ...


def left_padded(sequences: Sequence[Bags], device: torch.device) -> tuple[torch.Tensor, ...]:
    """ids (B, L, K), cells, attention mask and position ids of the sequences, left-padded to the longest."""
    length, width = max(len(s[0]) for s in sequences), sequences[0][0].shape[1]
    ids = np.full((len(sequences), length, width), EMPTY, dtype=np.int64)
    cells = np.zeros((len(sequences), length), dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.int64)
    for row, (bags, cell_ids) in enumerate(sequences):
        ids[row, length - len(bags):] = bags
        cells[row, length - len(bags):] = cell_ids
        mask[row, length - len(bags):] = 1
    t = [torch.from_numpy(a).to(device) for a in (ids, cells, mask)]
    positions = (t[2].cumsum(-1) - 1).clamp(min=0)
    return t[0], t[1], t[2], positions


class CachedDecoder:
    """`PolicyDecoder` through `PolicyModel.forward` and the LM's own cache (any model); without
    `use_cache` every step reads the whole sequence again."""

    def __init__(self, model: PolicyModel, use_cache: bool = True) -> None:
        self.model, self.use_cache = model, use_cache
        self.cache: Any = None

    def start(self, sequences: Sequence[Bags], copies: int = 1, max_new: int = 64) -> torch.Tensor:
        self.ids, self.cells, self.attention, self.positions = left_padded(sequences, self.model.device)
        out = self.model(self.ids, self.cells, self.attention, self.positions, use_cache=self.use_cache)
        self.cache = out.past_key_values
        if copies > 1:
            self.ids, self.cells, self.attention, self.positions = (
                t.repeat_interleave(copies, 0) for t in (self.ids, self.cells, self.attention, self.positions))
            if self.use_cache:
                self.cache.batch_repeat_interleave(copies)
        return out.logits[:, -1].repeat_interleave(copies, 0)

    def keep(self, rows: torch.Tensor) -> None:
        self.attention, self.positions = self.attention[rows], self.positions[rows]
        if self.use_cache:
            self.cache.batch_select_indices(rows)
        else:
            self.ids, self.cells = self.ids[rows], self.cells[rows]

    def step(self, ids: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        self.attention = torch.cat([self.attention, self.attention.new_ones(len(ids), 1)], 1)
        self.positions = torch.cat([self.positions, self.positions[:, -1:] + 1], 1)
        if self.use_cache:
            out = self.model(ids[:, None], cells[:, None], self.attention, self.positions[:, -1:],
                             past_key_values=self.cache, use_cache=True)
            self.cache = out.past_key_values
        else:
            self.ids, self.cells = torch.cat([self.ids, ids[:, None]], 1), torch.cat([self.cells, cells[:, None]], 1)
            out = self.model(self.ids, self.cells, self.attention, self.positions)
        return out.logits[:, -1]


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """LlamaRMSNorm's arithmetic (float32): weight * x / sqrt(mean(x^2) + eps)."""
    if hasattr(nn.functional, "rms_norm"):  # torch >= 2.4: the same arithmetic in one call
        return nn.functional.rms_norm(x, weight.shape, weight, eps)
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def _rotary(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Llama's rotary embedding of x (..., head_dim): x * cos + rotate_half(x) * sin, with the sign of
    rotate_half folded into `signed_sin` (the same products, so the same floats)."""
    return x * cos + x.roll(x.shape[-1] // 2, -1) * signed_sin


class _Chunk:
    """Keys and values of a run of consecutive rows, left-padded to the run's longest prompt.

    keys, values: per layer (rows, heads, capacity, head_dim); bias (rows, 1, 1, capacity): 0 where a
    row's keys are, -inf on its padding; `column`: where the next position goes. The capacity grows by
    `GROW` columns when full. Rows that finish stay (and are computed with a zero query, their outputs
    unused) until `COMPACT` of them have finished, so the run's tensors are not copied at every step
    where one row ends. `live`: the indices of the rows still writing (None: all of them); `size`: how many.
    """

    COMPACT = 0.5
    GROW = 16

    __slots__ = ("keys", "values", "bias", "column", "live", "size")

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor], bias: torch.Tensor,
                 column: int) -> None:
        self.keys, self.values, self.bias, self.column = keys, values, bias, column
        self.live: torch.Tensor | None = None
        self.size = len(bias)

    @property
    def capacity(self) -> int:
        return self.bias.shape[-1]

    def select(self, rows: torch.Tensor | None, capacity: int) -> None:
        """Keep the physical `rows` (in this order; None: all) in tensors of `capacity` columns."""
        c = self.column

        def moved(old: torch.Tensor) -> torch.Tensor:
            new = old.new_empty(len(old) if rows is None else len(rows), *old.shape[1:-2], capacity, old.shape[-1])
            if rows is None:
                new[..., :c, :] = old[..., :c, :]
            else:
                torch.index_select(old[..., :c, :], 0, rows, out=new[..., :c, :])
            return new

        self.keys, self.values = [moved(k) for k in self.keys], [moved(v) for v in self.values]
        bias = self.bias.new_zeros(len(self.bias) if rows is None else len(rows), 1, 1, capacity)
        bias[..., :c] = self.bias[..., :c] if rows is None else self.bias[rows, ..., :c]
        self.bias, self.live, self.size = bias, None, len(bias)

    def keep(self, local: list[int], headroom: int) -> None:
        """Keep the live rows at `local` (indices among the live rows, ascending)."""
        rows = torch.as_tensor(local, device=self.bias.device)
        if self.live is not None:
            rows = self.live[rows]
        if len(self.bias) - len(rows) >= self.COMPACT * len(self.bias):
            self.select(rows, self.column + min(self.GROW, headroom))
        else:
            self.live, self.size = rows, len(rows)

    @classmethod
    def merge(cls, chunks: list[_Chunk], headroom: int) -> _Chunk:
        """One chunk of the live rows of `chunks`, right-aligned at their latest column (fewer calls per step)."""
        column = max(c.column for c in chunks)
        capacity = column + min(cls.GROW, headroom)
        first = chunks[0].keys[0]
        total, heads, dim = sum(c.size for c in chunks), first.shape[1], first.shape[3]
        keys = [first.new_zeros(total, heads, capacity, dim) for _ in chunks[0].keys]
        values = [first.new_zeros(total, heads, capacity, dim) for _ in chunks[0].keys]
        bias = first.new_full((total, 1, 1, capacity), float("-inf"))
        bias[..., column:] = 0
        start = 0
        for c in chunks:
            rows = slice(None) if c.live is None else c.live
            end, lo = start + c.size, column - c.column
            for merged, own in (*zip(keys, c.keys, strict=True), *zip(values, c.values, strict=True)):
                merged[start:end, :, lo:column] = own[rows, :, :c.column]
            bias[start:end, :, :, lo:column] = c.bias[rows, :, :, :c.column]
            start = end
        return cls(keys, values, bias, column)

    def attend(self, layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
        """Write this step's keys and values (rows, heads, head_dim) and attend with the queries."""
        c = self.column
        if self.live is not None:  # finished rows get zeros
            q, k, v = (torch.zeros(len(self.bias), *t.shape[1:], dtype=t.dtype, device=t.device).index_copy_(
                0, self.live, t) for t in (q, k, v))
        keys, values = self.keys[layer], self.values[layer]
        keys[:, :, c], values[:, :, c] = k, v
        scores = torch.matmul(q[:, :, None], keys[:, :, :c + 1].transpose(-1, -2))
        weights = torch.softmax(scores * scale + self.bias[..., :c + 1], -1)
        out = torch.matmul(weights, values[:, :, :c + 1])[:, :, 0]
        return out if self.live is None else out[self.live]


def _fused_weights(model: PolicyModel) -> tuple[list[tuple[torch.Tensor, ...]], torch.Tensor]:
    """Per layer (input norm, q|k|v projection, o projection, post-attention norm, gate|up projection, down
    projection), and the LM head's rows of the action tokens: kept with the model until a weight changes
    (in place, which bumps its version, or replaced)."""
    lm = model.lm
    weights = [p for layer in lm.model.layers for p in layer.parameters()] + [lm.get_output_embeddings().weight]
    key = tuple((p.data_ptr(), p._version) for p in weights)
    cached = model.__dict__.get("_fused_weights")
    if cached is None or cached[0] != key:
        layers: list[tuple[torch.Tensor, ...]] = []
        with torch.no_grad():
            for layer in lm.model.layers[: lm.config.num_hidden_layers]:
                attention, mlp = layer.self_attn, layer.mlp
                layers.append((
                    layer.input_layernorm.weight,
                    torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight]),
                    attention.o_proj.weight, layer.post_attention_layernorm.weight,
                    torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]), mlp.down_proj.weight))
            head = lm.get_output_embeddings().weight[model.action_ids]
        cached = model.__dict__["_fused_weights"] = (key, (layers, head))
    fused: tuple[list[tuple[torch.Tensor, ...]], torch.Tensor] = cached[1]
    return fused


class LlamaDecoder:
    """`PolicyDecoder` for the from-scratch Llama: its layers run directly on the model's weights.

    The same arithmetic as `LlamaForCausalLM` (RMSNorm, rotary positions, attention, SwiGLU), with
    what the generic forward spends on a small model cut away: each run of about `CHUNK_ROWS`
    consecutive rows (`decode_batched` sorts the prompts by length) keeps its keys and values in
    tensors preallocated for the whole program (`_Chunk`), left-padded only to that run's longest
    prompt, so a step writes one column instead of concatenating the cache; the query, key and
    value projections are one matrix product, and so are the gate and up projections; the last
    layer reads the prompts only at their last position; the LM head is computed for the action
    tokens only, the value head not at all. Once at most `MERGE_ROWS` rows are left they share one chunk.
    The weights are read when the decoder is made (`_fused_weights`): make a new one after changing them.
    """

    CHUNK_ROWS = 32
    """a run of rows grows to at least this many rows before a longer prompt starts a new one"""
    CHUNK_SLACK = 1.15
    """a run's rows are at most this much shorter than its longest prompt (once it has CHUNK_ROWS rows)"""
    MERGE_ROWS = 32
    """the rows still writing share one chunk once there are at most this many"""
    BLOCK = 512
    """prompts are read in blocks of about this many positions, each through all the layers"""

    @staticmethod
    def applies(model: PolicyModel) -> bool:
        """Whether `model` is the plain from-scratch Llama this class reproduces (in eval mode or without dropout)."""
        lm = model.lm
        if model.config.base_model is not None or type(lm).__name__ != "LlamaForCausalLM" or \
                not hasattr(getattr(lm.model, "rotary_emb", None), "inv_freq"):
            return False
        cfg = lm.config
        rope = getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {}
        return (rope.get("rope_type", rope.get("type", "default")) == "default"
                and cfg.num_key_value_heads == cfg.num_attention_heads and cfg.hidden_act == "silu"
                and not cfg.attention_bias and not getattr(cfg, "mlp_bias", False)
                and getattr(cfg, "pretraining_tp", 1) == 1
                and getattr(cfg, "head_dim", None) in (None, cfg.hidden_size // cfg.num_attention_heads)
                and lm.get_input_embeddings().weight.dtype == torch.float32
                and (not model.training or cfg.attention_dropout == 0))

    def __init__(self, model: PolicyModel) -> None:
        lm = model.lm
        cfg = lm.config
        self.model = model
        self.heads, self.eps = cfg.num_attention_heads, cfg.rms_norm_eps
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.layers, self.head = _fused_weights(model)
        self.norm = lm.model.norm.weight
        self.rotary = lm.model.rotary_emb
        self.chunks: list[_Chunk] = []
        self.positions = torch.zeros(0, dtype=torch.long)
        self.steps_left = 0

    def _angles(self, length: int) -> None:
        """cos and signed sin tables of positions 0..length-1 (as LlamaRotaryEmbedding computes them)."""
        device = self.model.device
        freqs = torch.arange(length, device=device, dtype=torch.float32)[:, None] * \
            self.rotary.inv_freq.to(device=device, dtype=torch.float32)
        scaling = getattr(self.rotary, "attention_scaling", 1.0)
        self.cos = torch.cat((freqs, freqs), -1).cos() * scaling
        self.sin = torch.cat((-freqs, freqs), -1).sin() * scaling  # sin(-a) = -sin(a) exactly

    def _mlp(self, x: torch.Tensor, layer: tuple[torch.Tensor, ...]) -> torch.Tensor:
        f = nn.functional
        gate, up = f.linear(_rms_norm(x, layer[3], self.eps), layer[4]).chunk(2, -1)
        return x + f.linear(f.silu(gate, inplace=True).mul_(up), layer[5])

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(_rms_norm(x, self.norm, self.eps), self.head)

    def _runs(self, sequences: Sequence[Bags], copies: int) -> list[list[int]]:
        """Consecutive prompts grouped into runs (see CHUNK_ROWS and CHUNK_SLACK)."""
        runs: list[list[int]] = []
        low = high = 0
        for i, (bags, _) in enumerate(sequences):
            n = len(bags)
            if runs and (len(runs[-1]) * copies < self.CHUNK_ROWS or
                         max(high, n) <= self.CHUNK_SLACK * min(low, n)):
                runs[-1].append(i)
                low, high = min(low, n), max(high, n)
            else:
                runs.append([i])
                low = high = n
        return runs

    @torch.no_grad()
    def start(self, sequences: Sequence[Bags], copies: int = 1, max_new: int = 64) -> torch.Tensor:
        """Read the prompts: every position of every prompt in one matrix (no padding) for the matrix
        products; the attention per group of consecutive prompts of one length, whose keys and values
        go into their run's `_Chunk`."""
        device, heads, dim = self.model.device, self.heads, self.head_dim
        hidden = heads * dim
        lengths = [len(s[0]) for s in sequences]
        self._angles(max(lengths) + max_new + 1)
        self.steps_left = max_new
        ids = torch.from_numpy(np.concatenate([s[0] for s in sequences])).to(device)
        cells = torch.from_numpy(np.concatenate([s[1] for s in sequences])).to(device)
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths])).to(device)
        ends = np.cumsum(lengths)
        last = torch.from_numpy(ends - 1).to(device)
        x = self.model.embed(ids, cells)
        cos, sin = self.cos[positions][:, None], self.sin[positions][:, None]  # (positions, 1, dim)
        self.chunks = []
        groups = []  # (first prompt, prompts, length, chunk, first row in the chunk)
        for run in self._runs(sequences, copies):
            width = max(lengths[i] for i in run)
            capacity = width + min(max_new, _Chunk.GROW)
            chunk = _Chunk([x.new_empty(len(run), heads, capacity, dim) for _ in self.layers],
                           [x.new_empty(len(run), heads, capacity, dim) for _ in self.layers],
                           torch.zeros(len(run), 1, 1, capacity, device=device), width)
            j = 0
            while j < len(run):
                n, end = lengths[run[j]], j + 1
                while end < len(run) and lengths[run[end]] == n:
                    end += 1
                groups.append((run[j], end - j, n, chunk, j))
                if n < width:  # left padding: finite keys and values, masked out
                    chunk.bias[j:end, :, :, :width - n] = float("-inf")
                    for t in (*chunk.keys, *chunk.values):
                        t[j:end, :, :width - n] = 0
                j = end
            self.chunks.append(chunk)
        causal = {n: torch.full((n, n), float("-inf"), device=device).triu(1) for n in set(lengths)}
        # blocks of whole groups of about BLOCK positions go through all the layers in turn (cache-sized)
        hidden_last = x.new_empty(len(sequences), hidden)
        block: list[tuple[int, int, int, _Chunk, int]] = []
        for g, group in enumerate(groups):
            block.append(group)
            if g + 1 == len(groups) or sum(rows * n for _, rows, n, _, _ in block) >= self.BLOCK:
                first, stop = block[0][0], block[-1][0] + block[-1][1]
                span = slice(int(ends[first] - lengths[first]), int(ends[stop - 1]))
                hidden_last[first:stop] = self._read(x[span], cos[span], sin[span], last[first:stop] - span.start,
                                                     block, causal)
                block = []
        if copies > 1:
            for chunk in self.chunks:
                chunk.select(torch.arange(chunk.size, device=device).repeat_interleave(copies), chunk.capacity)
        self.positions = (last.diff(prepend=last.new_full((1,), -1)) - 1).repeat_interleave(copies)
        return self._logits(hidden_last).repeat_interleave(copies, 0)

    def _read(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, last: torch.Tensor,
              groups: list[tuple[int, int, int, _Chunk, int]], causal: dict[int, torch.Tensor]) -> torch.Tensor:
        """All layers over a block of whole prompts (`groups`, whose positions `x` holds); writes their keys
        and values into the chunks and returns the last layer's output at the prompts' last positions."""
        f = nn.functional
        heads, dim = self.heads, self.head_dim
        hidden = heads * dim
        final = len(self.layers) - 1
        first_prompt = groups[0][0]
        for i, layer in enumerate(self.layers):
            h = _rms_norm(x, layer[0], self.eps)
            if i < final:
                qkv = f.linear(h, layer[1]).view(-1, 3, heads, dim)
                qk = _rotary(qkv[:, :2], cos[:, None], sin[:, None])
                q, k, v = qk[:, 0], qk[:, 1], qkv[:, 2]
            else:  # the last layer: keys and values everywhere, the rest at each prompt's last position only
                kv = f.linear(h, layer[1][hidden:]).view(-1, 2, heads, dim)
                k, v = _rotary(kv[:, 0], cos, sin), kv[:, 1]
                q = _rotary(f.linear(h[last], layer[1][:hidden]).view(-1, heads, dim), cos[last], sin[last])
            out = torch.empty_like(q)
            start = 0
            for first, rows, n, chunk, row in groups:
                span, start = slice(start, start + rows * n), start + rows * n
                k_g = k[span].view(rows, n, heads, dim).transpose(1, 2)
                v_g = v[span].view(rows, n, heads, dim).transpose(1, 2)
                chunk.keys[i][row:row + rows, :, chunk.column - n:chunk.column] = k_g
                chunk.values[i][row:row + rows, :, chunk.column - n:chunk.column] = v_g
                if i < final:
                    q_g = q[span].view(rows, n, heads, dim).transpose(1, 2)
                    scores = torch.matmul(q_g, k_g.transpose(-1, -2)) * self.scale + causal[n]
                    out[span] = torch.matmul(torch.softmax(scores, -1), v_g).transpose(1, 2).reshape(-1, heads, dim)
                else:
                    at = slice(first - first_prompt, first - first_prompt + rows)
                    scores = torch.matmul(q[at, :, None], k_g.transpose(-1, -2)) * self.scale
                    out[at] = torch.matmul(torch.softmax(scores, -1), v_g)[:, :, 0]
            if i == final:
                x = x[last]
            x = self._mlp(x + f.linear(out.view(len(out), hidden), layer[2]), layer)
        return x

    @torch.no_grad()
    def keep(self, rows: torch.Tensor) -> None:
        self.positions = self.positions[rows]
        wanted = rows.tolist()
        kept, start, j = [], 0, 0
        for chunk in self.chunks:
            end, first = start + chunk.size, j
            while j < len(wanted) and wanted[j] < end:
                j += 1
            if j - first < chunk.size:
                if j == first:
                    start = end
                    continue
                chunk.keep([r - start for r in wanted[first:j]], self.steps_left)
            kept.append(chunk)
            start = end
        if len(kept) > 1 and len(wanted) <= self.MERGE_ROWS:
            kept = [_Chunk.merge(kept, self.steps_left)]
        self.chunks = kept

    @torch.no_grad()
    def step(self, ids: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        f = nn.functional
        rows, heads, dim = len(ids), self.heads, self.head_dim
        self.positions = self.positions + 1
        x = self.model.embed(ids, cells)
        cos, sin = self.cos[self.positions][:, None, None], self.sin[self.positions][:, None, None]
        bounds = np.cumsum([0] + [c.size for c in self.chunks]).tolist()
        for chunk in self.chunks:
            if chunk.column == chunk.capacity:
                chunk.select(chunk.live, chunk.column + min(_Chunk.GROW, self.steps_left))
        for i, layer in enumerate(self.layers):
            qkv = f.linear(_rms_norm(x, layer[0], self.eps), layer[1]).view(rows, 3, heads, dim)
            q, k = _rotary(qkv[:, :2], cos, sin).unbind(1)
            v = qkv[:, 2]
            if len(self.chunks) == 1:
                out = self.chunks[0].attend(i, q, k, v, self.scale)
            else:
                out = torch.cat([c.attend(i, q[a:b], k[a:b], v[a:b], self.scale)
                                 for c, a, b in zip(self.chunks, bounds, bounds[1:], strict=False)])
            x = self._mlp(x + f.linear(out.reshape(rows, heads * dim), layer[2]), layer)
        for chunk in self.chunks:
            chunk.column += 1
        self.steps_left -= 1
        return self._logits(x)


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
