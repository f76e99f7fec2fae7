"""Batched, KV-cached decoding of programs under the grammar masks.

Prompts are left-padded into one batch; the first forward pass reads every prompt and `<prog>`,
and each later step feeds one action per row against the key-value cache, so a program of n
tokens costs n incremental steps for the whole batch. A row that has written `<end>` leaves the
batch (and its keys and values the cache), so short programs do not pay for long ones. Every step
masks the logits with each row's `xlogo_gym.grammar.ProgramWriter` mask (the env's own rules), so
no illegal token can be chosen and every row ends within `max_tokens`.

Selection per row: greedy (temperature 0) or sampling at a temperature. `sample` gives k
candidates per task (the first greedy), `best_of_k` keeps a candidate the emulator verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.policy.model import PolicyModel
from agents.policy.tokenizer import EMPTY, Prompt
from xlogo_gym.emulator import execute
from xlogo_gym.grammar import DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, ConstrainedWriter, ProgramWriter
from xlogo_gym.program import Program
from xlogo_gym.task import CodeConstraint, Task


@dataclass(frozen=True)
class Decoded:
    """One decoded program: its action ids (ending with `<end>`) and the log-probability under the policy."""

    actions: tuple[int, ...]
    program: Program
    logprob: float


def _left_padded(model: PolicyModel, prompts: Sequence[Prompt]) -> tuple[torch.Tensor, ...]:
    """ids (B, L, K), cells, attention mask and position ids for the prompts followed by `<prog>`."""
    width = prompts[0].ids.shape[1]
    length = 1 + max(len(p) for p in prompts)
    ids = np.full((len(prompts), length, width), EMPTY, dtype=np.int64)
    cells = np.zeros((len(prompts), length), dtype=np.int64)
    mask = np.zeros((len(prompts), length), dtype=np.int64)
    for row, p in enumerate(prompts):
        start = length - 1 - len(p)
        ids[row, start:-1] = p.ids
        cells[row, start:-1] = p.cells
        bag, cells[row, -1] = model.tokenizer.program_position(model.tokenizer.prog_id, p, Program())
        ids[row, -1, : len(bag)] = bag
        mask[row, start:] = 1
    t = [torch.from_numpy(a).to(model.device) for a in (ids, cells, mask)]
    positions = (t[2].cumsum(-1) - 1).clamp(min=0)
    return t[0], t[1], t[2], positions


@torch.no_grad()
def decode(model: PolicyModel, prompts: Sequence[Prompt], temperature: float | Sequence[float] = 0.0, *,
           constraints: Sequence[CodeConstraint | None] | None = None, max_tokens: int = DEFAULT_MAX_TOKENS,
           max_depth: int = DEFAULT_MAX_DEPTH, use_cache: bool = True, copies: int = 1,
           generator: torch.Generator | None = None, seeds: Sequence[int] | None = None) -> list[Decoded]:
    """Decode `copies` programs per prompt, all rows in one batch (per-row temperatures; 0 is greedy).

    Row r writes for prompt r // copies; the prompts are read once and their keys and values
    shared by their copies. `temperature` and `constraints` are per row (or one temperature for
    all): `constraints[r]` (a task's `constraints.effective`) makes row r write with a
    `ConstrainedWriter`, whose masks also keep that code constraint satisfiable. With `seeds`
    (one per row) row r samples from a generator of its own seeded `seeds[r]`, so what it draws
    depends on nothing else in the batch (`generator` is then unused).
    """
    if not prompts:
        return []
    device = model.device
    n_rows = len(prompts) * copies
    temps = torch.as_tensor(temperature if isinstance(temperature, Sequence) else [temperature] * n_rows,
                            dtype=torch.float32, device=device)
    ids, cells, attention, positions = _left_padded(model, prompts)
    out = model(ids, cells, attention, positions, use_cache=use_cache)
    if copies > 1:
        ids, cells, attention, positions = (t.repeat_interleave(copies, 0) for t in (ids, cells, attention, positions))
        out = out._replace(logits=out.logits[:, -1:].repeat_interleave(copies, 0))
        if use_cache:
            out.past_key_values.batch_repeat_interleave(copies)
        prompts = [p for p in prompts for _ in range(copies)]
    writers = [ProgramWriter(max_tokens, max_depth) if c is None else
               ConstrainedWriter((c,), False, max_tokens, max_depth) for c in constraints or [None] * n_rows]
    logprob = torch.zeros(n_rows, device=device)
    masks: dict[tuple[bool, ...], torch.Tensor] = {}  # per grammar mask key
    row_generators = None if seeds is None else [torch.Generator(device).manual_seed(int(s)) for s in seeds]

    def legal_row(w: ProgramWriter) -> torch.Tensor:
        key = w.mask_key()
        if key not in masks:
            masks[key] = torch.tensor(w.mask(), device=device)
        return masks[key]

    rows = torch.arange(len(prompts), device=device)  # the rows still writing, in the batch's order
    for _ in range(max_tokens):
        active = [writers[i] for i in rows.tolist()]
        legal = torch.stack([legal_row(w) for w in active])
        logits = out.logits[:, -1].masked_fill(~legal, float("-inf"))
        log_p = torch.log_softmax(logits, -1)
        choice = logits.argmax(-1)
        hot = temps[rows] > 0
        if hot.any():
            probs = torch.softmax(logits[hot] / temps[rows][hot, None], -1)
            if row_generators is None:
                choice[hot] = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            else:  # inverse CDF with one uniform per row from the row's own generator
                u = torch.cat([torch.rand(1, generator=row_generators[r], dtype=torch.float64, device=device)
                               for r in rows[hot].tolist()])
                cdf = probs.double().cumsum(-1)
                choice[hot] = (cdf <= (u * cdf[:, -1])[:, None]).sum(-1).clamp(max=probs.shape[-1] - 1)
        logprob[rows] += log_p.gather(-1, choice[:, None]).squeeze(-1)
        for w, a in zip(active, choice.tolist(), strict=True):
            w.write(a)
        going = torch.tensor([not w.done for w in active], device=device)
        if not going.any():
            break
        if not going.all():  # finished rows leave the batch, and their keys and values the cache
            keep = going.nonzero().squeeze(-1)
            rows, choice, attention, positions = rows[keep], choice[keep], attention[keep], positions[keep]
            if use_cache:
                out.past_key_values.batch_select_indices(keep)
            else:
                ids, cells = ids[keep], cells[keep]
        step = np.full((len(rows), 1, ids.shape[-1]), EMPTY, dtype=np.int64)
        step_cells = np.zeros((len(rows), 1), dtype=np.int64)
        for j, (i, a) in enumerate(zip(rows.tolist(), choice.tolist(), strict=True)):
            bag, step_cells[j, 0] = model.tokenizer.program_position(int(model.tokenizer.action_ids[a]), prompts[i],
                                                                      writers[i].program())
            step[j, 0, : len(bag)] = bag
        step_ids, new_cells = torch.from_numpy(step).to(device), torch.from_numpy(step_cells).to(device)
        attention = torch.cat([attention, attention.new_ones(len(rows), 1)], 1)
        positions = torch.cat([positions, positions[:, -1:] + 1], 1)
        if use_cache:
            out = model(step_ids, new_cells, attention, positions[:, -1:], past_key_values=out.past_key_values,
                        use_cache=True)
        else:
            ids, cells = torch.cat([ids, step_ids], 1), torch.cat([cells, new_cells], 1)
            out = model(ids, cells, attention, positions)
    return [Decoded(tuple(w.tokens), w.program(), float(lp))
            for w, lp in zip(writers, logprob.tolist(), strict=True)]


def decode_batched(model: PolicyModel, prompts: Sequence[Prompt], temperature: float | Sequence[float] = 0.0, *,
                   constraints: Sequence[CodeConstraint | None] | None = None, batch_size: int = 256,
                   copies: int = 1, seeds: Sequence[int] | None = None, **options: Any) -> list[Decoded]:
    """`decode` in batches of about `batch_size` rows whose prompts have similar lengths; results in
    input order (`copies` rows per prompt, and `seeds` one per row, as in `decode`)."""
    n_rows = len(prompts) * copies
    temps = list(temperature) if isinstance(temperature, Sequence) else [temperature] * n_rows
    rows = list(constraints or [None] * n_rows)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[Decoded | None] = [None] * n_rows
    per_batch = max(1, batch_size // copies)
    for start in range(0, len(order), per_batch):
        chunk = order[start:start + per_batch]
        chunk_rows = [i * copies + j for i in chunk for j in range(copies)]
        decoded = decode(model, [prompts[i] for i in chunk], [temps[r] for r in chunk_rows],
                         constraints=[rows[r] for r in chunk_rows], copies=copies,
                         seeds=None if seeds is None else [seeds[r] for r in chunk_rows], **options)
        for r, d in zip(chunk_rows, decoded, strict=True):
            results[r] = d
    return results  # type: ignore[return-value]


def sample(model: PolicyModel, prompts: Sequence[Prompt], k: int = 1, temperature: float = 1.0, *,
           constraints: Sequence[CodeConstraint | None] | None = None, **options: Any) -> list[list[Decoded]]:
    """k candidates per prompt: the first greedy, the others sampled at `temperature` (the prompt is
    read once for all k)."""
    rows = constraints or [None] * len(prompts)
    flat = decode_batched(model, prompts, [0.0 if j == 0 else temperature for _ in prompts for j in range(k)],
                          constraints=[c for c in rows for _ in range(k)], copies=k, **options)
    return [flat[i * k:(i + 1) * k] for i in range(len(prompts))]


def select_verified(task: Task, candidates: Sequence[Decoded]) -> Decoded:
    """The first candidate the emulator verifies on `task`, else the likeliest one."""
    for c in candidates:
        if execute(task, c.program).success:
            return c
    return max(candidates, key=lambda c: c.logprob)


def best_of_k(model: PolicyModel, tasks: Sequence[Task], k: int = 16, temperature: float = 1.0,
              **options: Any) -> list[Decoded]:
    """Best-of-k with emulator verification: per task, k candidates (greedy first), a verified one if any."""
    candidates = sample(model, [model.tokenizer.encode(t) for t in tasks], k, temperature,
                        constraints=[t.constraints.effective for t in tasks], **options)
    return [select_verified(t, c) for t, c in zip(tasks, candidates, strict=True)]
