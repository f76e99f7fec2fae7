"""Batched, KV-cached decoding of programs under the grammar masks.

The model's decoder (`PolicyModel.decoder`) first reads every prompt and `<prog>`, and each later
step feeds one action per row against the key-value cache, so a program of n tokens costs n
incremental steps for the whole batch. A row that has written `<end>` leaves the batch (and its
keys and values the cache), so short programs do not pay for long ones. Every step masks the
logits with each row's `xlogo_gym.grammar.ProgramWriter` mask (the env's own rules), so no illegal
token can be chosen and every row ends within `max_tokens`. A program position's bag (the turtle's
and the emulator's state after the program so far) is computed once per prompt and token prefix,
so copies of a prompt that write the same prefix share it.

Selection per row: greedy (temperature 0) or sampling at a temperature. `sample` gives k
candidates per task (the first greedy), `best_of_k` keeps a candidate the emulator verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.policy.model import Bags, PolicyModel, left_padded
from agents.policy.tokenizer import EMPTY, Prompt
from xlogo_gym.emulator import execute
from xlogo_gym.grammar import DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, N_ACTIONS, ConstrainedWriter, ProgramWriter
from xlogo_gym.program import Program
from xlogo_gym.task import CodeConstraint, Task


@dataclass(frozen=True)
class Decoded:
    """One decoded program: its action ids (ending with `<end>`) and the log-probability under the policy."""

    actions: tuple[int, ...]
    program: Program
    logprob: float


def _sequence(model: PolicyModel, prompt: Prompt) -> Bags:
    """The prompt's bags and cell ids followed by the `<prog>` position."""
    bag, cell = model.tokenizer.program_position(model.tokenizer.prog_id, prompt, Program())
    ids = np.full((len(prompt) + 1, prompt.ids.shape[1]), EMPTY, dtype=np.int64)
    ids[:-1] = prompt.ids
    ids[-1, : len(bag)] = bag
    cells = np.zeros(len(prompt) + 1, dtype=np.int64)
    cells[:-1], cells[-1] = prompt.cells, cell
    return ids, cells


def _left_padded(model: PolicyModel, prompts: Sequence[Prompt]) -> tuple[torch.Tensor, ...]:
    """ids (B, L, K), cells, attention mask and position ids for the prompts followed by `<prog>`."""
    return left_padded([_sequence(model, p) for p in prompts], model.device)


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
    tokenizer = model.tokenizer
    n_rows = len(prompts) * copies
    temps = torch.as_tensor(temperature if isinstance(temperature, Sequence) else [temperature] * n_rows,
                            dtype=torch.float32, device=device)
    decoder = model.decoder(use_cache)
    logits = decoder.start([_sequence(model, p) for p in prompts], copies, max_tokens)
    writers = [ProgramWriter(max_tokens, max_depth) if c is None else
               ConstrainedWriter((c,), False, max_tokens, max_depth) for c in constraints or [None] * n_rows]
    logprob = torch.zeros(n_rows, device=device)
    mask_index: dict[tuple[bool, ...], int] = {}  # grammar mask key -> row of `masks`
    masks: list[np.ndarray] = []
    table = torch.zeros(0, N_ACTIONS, dtype=torch.bool, device=device)
    bags: dict[tuple[int, tuple[int, ...]], tuple[list[int], int]] = {}  # (prompt, tokens) -> position bag, cell
    width = prompts[0].ids.shape[1]
    action_ids = tokenizer.action_ids.tolist()
    sampling = bool((temps > 0).any())
    row_generators = None if seeds is None else [torch.Generator(device).manual_seed(int(s)) for s in seeds]

    rows = torch.arange(n_rows, device=device)  # the rows still writing, in the batch's order
    active_rows = list(range(n_rows))
    for _ in range(max_tokens):
        active = [writers[i] for i in active_rows]
        index = []
        for w in active:
            mask_key = w.mask_key()
            j = mask_index.get(mask_key)
            if j is None:
                j = mask_index[mask_key] = len(masks)
                masks.append(w.mask())
            index.append(j)
        if len(masks) > len(table):
            table = torch.from_numpy(np.stack(masks)).to(device)
        legal = table[torch.as_tensor(index, device=device)]
        logits = logits.masked_fill(~legal, float("-inf"))
        log_p = torch.log_softmax(logits, -1)
        choice = logits.argmax(-1)
        hot = temps[rows] > 0 if sampling else None
        if hot is not None and hot.any():
            probs = torch.softmax(logits[hot] / temps[rows][hot, None], -1)
            if row_generators is None:
                choice[hot] = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            else:  # inverse CDF with one uniform per row from the row's own generator
                u = torch.cat([torch.rand(1, generator=row_generators[r], dtype=torch.float64, device=device)
                               for r in rows[hot].tolist()])
                cdf = probs.double().cumsum(-1)
                choice[hot] = (cdf <= (u * cdf[:, -1])[:, None]).sum(-1).clamp(max=probs.shape[-1] - 1)
        logprob[rows] += log_p.gather(-1, choice[:, None]).squeeze(-1)
        choices = choice.tolist()
        for w, a in zip(active, choices, strict=True):
            w.write(a)
        going = [j for j, w in enumerate(active) if not w.done]
        if not going:
            break
        if len(going) < len(active):  # finished rows leave the batch, and their keys and values the cache
            keep = torch.as_tensor(going, device=device)
            rows = rows[keep]
            active_rows = [active_rows[j] for j in going]
            choices = [choices[j] for j in going]
            decoder.keep(keep)
        step = np.full((len(active_rows), width), EMPTY, dtype=np.int64)
        step_cells = np.zeros(len(active_rows), dtype=np.int64)
        for j, (i, a) in enumerate(zip(active_rows, choices, strict=True)):
            writer, prompt = writers[i], i // copies
            key = (prompt, tuple(writer.tokens))
            found = bags.get(key)
            if found is None:
                found = bags[key] = tokenizer.program_position(action_ids[a], prompts[prompt], writer.program())
            bag, step_cells[j] = found
            step[j, : len(bag)] = bag
        logits = decoder.step(torch.from_numpy(step).to(device), torch.from_numpy(step_cells).to(device))
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
