"""Training examples for the policy: verified (task, program) pairs, their encoding and batches.

Examples come from JSONL records (generator shards, suites or `conformance.jsonl`, read by
`xlogo_gym.suite.iter_jsonl`) with a `task` and a program (`Program.from_record`). Every pair is
checked with the emulator: only programs that solve their task are kept. Tasks whose world is
an evaluation suite's, whatever their id, are left out, and so are the generator's
evaluation-only (held-out) worlds (`xlogo_gym.generator.training_exclusion`).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.policy.config import SFTConfig
from agents.policy.curriculum import task_families
from agents.policy.tokenizer import EMPTY, PolicyTokenizer
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import canonical_json, suite_worlds, training_exclusion
from xlogo_gym.grammar import DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS, N_ACTIONS, ProgramWriter, program_to_actions
from xlogo_gym.program import Program
from xlogo_gym.progress import progress_bar
from xlogo_gym.suite import iter_jsonl
from xlogo_gym.task import Task

log = logging.getLogger(__name__)

IGNORE = -100
#: Every grammar mask key (commands, repeats, `}`, `<end>`) has a row index in the legal-action table.
MASK_KEYS = tuple(itertools.product((False, True), repeat=4))
_KEY_INDEX = {key: i for i, key in enumerate(MASK_KEYS)}
_KEY_MASKS: dict[int, np.ndarray] = {}  # filled from ProgramWriter.mask() as keys are met


@dataclass(frozen=True)
class Example:
    """A task with a program that solves it, and its curriculum families."""

    task: Task
    program: Program
    families: tuple[str, ...]


def make_examples(pairs: Iterable[tuple[Task, Program, dict[str, Any]]], exclude: frozenset[str] = frozenset(),
                  max_tokens: int = DEFAULT_MAX_TOKENS, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Example]:
    """Keep the pairs whose program solves the task and fits the grammar limits.

    Dropped: tasks kept out of training (`xlogo_gym.generator.training_exclusion`: the held-out
    bucket, and the worlds in `exclude`, from `suite_worlds`), duplicates.
    """
    kept, dropped = [], Counter[str]()
    seen: set[str] = set()
    for task, program, record in progress_bar(pairs, desc="examples", unit="task", leave=False):
        key = canonical_json(task)
        excluded = training_exclusion(task, exclude)
        if excluded is not None:
            dropped[excluded] += 1
        elif key in seen:
            dropped["duplicate task"] += 1
        elif not execute(task, program).success:
            dropped["program fails its task"] += 1
        else:
            try:
                actions = program_to_actions(program)
            except XLogoError:
                dropped["program has no token form"] += 1
                continue
            if len(actions) > max_tokens or program.depth() > max_depth:
                dropped["program too long or deep"] += 1
                continue
            seen.add(key)
            kept.append(Example(task, program, task_families(task, program, record)))
    for reason, n in dropped.items():
        log.info("dropped %d examples: %s", n, reason)
    return kept


def load_examples(paths: Sequence[str], exclude: frozenset[str] = frozenset(),
                  limit: int | None = None) -> list[Example]:
    """Examples from JSONL records (see the module docstring)."""

    def pairs() -> Iterator[tuple[Task, Program, dict[str, Any]]]:
        for record, where in itertools.islice(iter_jsonl(paths), limit):
            expected = record.get("expected")
            if isinstance(expected, dict) and not expected.get("success", True):
                continue  # a conformance case whose program is not a solution
            program = Program.from_record(record, where)
            if program is None:
                raise XLogoError("record has no program (program, code or code_text)", where)
            yield Task.from_json(record["task"], f"{where}.task"), program, record

    return make_examples(pairs(), exclude)


@dataclass(frozen=True)
class Encoded:
    """One example as arrays: the input sequence (prompt, `<prog>`, actions but the last) and targets."""

    ids: np.ndarray  # int16 (length, K)
    cells: np.ndarray  # int16 (length,)
    targets: np.ndarray  # int8 (n,) action indices, predicted from position prompt_length onwards
    legal: np.ndarray  # int8 (n,) row of the legal-action table at each target

    def __len__(self) -> int:
        return len(self.ids)


def encode_example(tokenizer: PolicyTokenizer, example: Example) -> Encoded:
    prompt = tokenizer.encode(example.task)
    actions = program_to_actions(example.program)
    writer = ProgramWriter(max_tokens=10**6, max_depth=10**3)
    fed = np.full((len(actions), prompt.ids.shape[1]), EMPTY, dtype=np.int16)
    cells = np.zeros(len(actions), dtype=np.int16)
    legal = []
    token = tokenizer.prog_id
    for i, a in enumerate(actions):  # position i holds the token before action i and predicts it
        bag, cells[i] = tokenizer.program_position(token, prompt, writer.program())
        fed[i, : len(bag)] = bag
        index = _KEY_INDEX[writer.mask_key()]
        _KEY_MASKS.setdefault(index, writer.mask())
        legal.append(index)
        writer.write(a)
        token = int(tokenizer.action_ids[a])
    return Encoded(np.concatenate([prompt.ids.astype(np.int16), fed]),
                   np.concatenate([prompt.cells.astype(np.int16), cells]),
                   np.asarray(actions, dtype=np.int8), np.asarray(legal, dtype=np.int8))


def legal_table() -> torch.Tensor:
    """(len(MASK_KEYS), N_ACTIONS) bool: the grammar's legal actions per mask key (unmet keys: all)."""
    table = torch.ones(len(MASK_KEYS), N_ACTIONS, dtype=torch.bool)
    for index, mask in _KEY_MASKS.items():
        table[index] = torch.from_numpy(mask.copy())
    return table


def collate(batch: Sequence[Encoded]) -> dict[str, torch.Tensor]:
    """Right-padded tensors: ids (B, T, K), cells, targets (B, T; IGNORE off the program) and legal rows."""
    length = max(len(e) for e in batch)
    width = batch[0].ids.shape[1]
    ids = np.full((len(batch), length, width), EMPTY, dtype=np.int64)
    cells = np.zeros((len(batch), length), dtype=np.int64)
    targets = np.full((len(batch), length), IGNORE, dtype=np.int64)
    legal = np.zeros((len(batch), length), dtype=np.int64)
    for row, e in enumerate(batch):
        n, start = len(e), len(e) - len(e.targets)
        ids[row, :n], cells[row, :n] = e.ids, e.cells
        targets[row, start:n], legal[row, start:n] = e.targets, e.legal
    return {k: torch.from_numpy(v) for k, v in (("ids", ids), ("cells", cells), ("targets", targets),
                                                ("legal", legal))}


def length_bucketed_batches(rng: np.random.Generator, weights: np.ndarray, lengths: np.ndarray,
                            batch_size: int, count: int) -> list[np.ndarray]:
    """`count` batches drawn with probability ∝ weights, grouped by length (less padding), in random order."""
    drawn = rng.choice(len(weights), size=batch_size * count, p=weights / weights.sum())
    drawn = drawn[np.argsort(lengths[drawn], kind="stable")]
    batches = [drawn[i * batch_size:(i + 1) * batch_size] for i in range(count)]
    return [batches[i] for i in rng.permutation(count)]


def gather_examples(config: SFTConfig) -> list[Example]:
    """The run's examples: read from `data`, or generated; tasks of the excluded suites' worlds left out."""
    exclude = suite_worlds(config.exclude_suites)
    if config.data:
        return load_examples(config.data, exclude, config.limit)
    from xlogo_gym.generator import generate_tasks

    generated = generate_tasks(config.seed, config.generate)
    return make_examples(((g.task, g.program, g.to_record()) for g in generated), exclude)
