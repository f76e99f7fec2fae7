"""Tokenizers of the policy: a task becomes a prompt of *bags* of token ids, a program its action ids.

Every prompt position holds a bag of up to `BAG_WIDTH` ids (empty slots are -1) whose
embeddings are summed. Two tokenizers share this form:

* `DomainTokenizer` (the default, trained from scratch): the vocabulary is
  `xlogo_gym.encoding.TASK_VOCAB` + `xlogo_gym.grammar.ACTIONS` + `SPECIALS`. The task's
  encoding (`encode_task`) is compacted so that all words describing one grid cell share one
  position (its bag), which also carries the cell id for a cell-position embedding; goal and
  constraint words keep a position each. A 3x3 task takes about 20 positions instead of 40-60.
* `TextTokenizer` (a pretrained causal LM from a local path): the task's text prompt
  (`xlogo_gym.prompt.task_prompt`, the env's `info["prompt"]`) tokenized by the model's own
  tokenizer, one id per bag, with the action tokens and `<prog>` added as special tokens.

Either way the program follows as `<prog> a1 a2 ... <end>`, one action per position. With
`turtle_state` (the domain default) each program position also carries where the turtle is
after the program so far (open loops closed, reference semantics): its heading word
(`turtle:north` ...) in the bag and its cell id, so the model reads the grid around the turtle
by matching cell embeddings instead of simulating the program in its head (execution-guided
decoding). With `execution_state` the bag also holds what the emulator says about the program
so far (`xlogo_gym.emulator.progress`): crashed, goal met, something irreversible went wrong
(a forbidden item, a wrong line), what is left to do (`left:N`: lines to draw, items to collect,
the sum still missing; `left:over` past a sum) and the blocks left under an `at_most.all` or
`exactly.all` limit (`budget:N`). Its words (`STATE_VOCAB`) follow the others in the
vocabulary, so a checkpoint without them keeps its ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from xlogo_gym.emulator import Progress, progress
from xlogo_gym.encoding import MAX_COLS, TASK_VOCAB, encode_task
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import read_json, write_atomic
from xlogo_gym.grammar import ACTIONS
from xlogo_gym.program import Program
from xlogo_gym.task import Task
from xlogo_gym.world import DIRECTIONS

BAG_WIDTH = 12  # a cell has at most 11 words: state, 4 walls, turtle, item, colour, count, 2 lines
EMPTY = -1
SPECIALS = ("<prog>",)
PROG = "<prog>"
TOKENIZER_FILE = "tokenizer.json"
MAX_STATE_NUMBER = 15
#: Execution-state words of a program position (`DomainTokenizer(execution_state=True)`).
STATE_VOCAB: tuple[str, ...] = ("state:crashed", "state:goal-met", "state:wrong", "left:over",
                                *(f"left:{n}" for n in range(MAX_STATE_NUMBER + 1)),
                                *(f"budget:{n}" for n in range(MAX_STATE_NUMBER + 1)))


@dataclass(frozen=True)
class Prompt:
    """A tokenized task: `ids` int32 (length, BAG_WIDTH) with EMPTY slots, `cells` int32 (length,).

    `task` is kept when the program positions need the turtle's state on it.
    """

    ids: np.ndarray
    cells: np.ndarray
    task: Task | None = None

    def __len__(self) -> int:
        return len(self.ids)


class PolicyTokenizer(Protocol):
    kind: str
    vocab_size: int
    action_ids: np.ndarray  # int64 (N_ACTIONS,): the id of each grammar action
    prog_id: int

    def encode(self, task: Task) -> Prompt: ...

    def program_position(self, token: int, prompt: Prompt, program: Program) -> tuple[list[int], int]:
        """The bag and cell id of a program position holding `token`, after `program` was written."""
        ...

    def save(self, directory: str) -> None: ...


def _bags(groups: list[list[int]], cells: list[int], width: int, task: Task | None = None) -> Prompt:
    ids = np.full((len(groups), width), EMPTY, dtype=np.int32)
    for i, group in enumerate(groups):
        ids[i, : len(group)] = group
    return Prompt(ids, np.asarray(cells, dtype=np.int32), task)


def turtle_after(task: Task, program: Program) -> tuple[int, int]:
    """The turtle's cell id (1 + y * MAX_COLS + x) and heading after running `program` on `task`.

    Reference semantics; a crash leaves the turtle where it stood before the failing move.
    """
    state = progress(task, program)
    return _cell_id(task, state.cell), state.heading


def _cell_id(task: Task, cell: int) -> int:
    """The encoding's cell id (1 + y * MAX_COLS + x) of an emulator cell (y * cols + x)."""
    cols = task.world.cols
    return 1 + (cell // cols) * MAX_COLS + cell % cols


def state_words(task: Task, program: Program, state: Progress) -> list[str]:
    """The `STATE_VOCAB` words of a program position (see the module docstring)."""
    words = ["state:crashed"] if state.crashed else []
    if state.goal_ok:
        words.append("state:goal-met")
    if state.wrong:
        words.append("state:wrong")
    words.append("left:over" if state.left < 0 else f"left:{min(state.left, MAX_STATE_NUMBER)}")
    constraint = task.constraints.effective
    limit = dict(constraint.at_most).get("all", dict(constraint.exactly).get("all"))
    if limit is not None:
        words.append(f"budget:{min(max(limit - len(program), 0), MAX_STATE_NUMBER)}")
    return words


class DomainTokenizer:
    """The project's own vocabulary over the task encoding (see the module docstring)."""

    kind = "domain"

    def __init__(self, turtle_state: bool = True, execution_state: bool = False) -> None:
        if execution_state and not turtle_state:
            raise XLogoError("execution_state needs turtle_state", "execution_state")
        self.turtle_state, self.execution_state = turtle_state, execution_state
        self.vocab: tuple[str, ...] = (*TASK_VOCAB, *ACTIONS, *SPECIALS, *(STATE_VOCAB if execution_state else ()))
        self.vocab_size = len(self.vocab)
        self.action_ids = np.arange(len(TASK_VOCAB), len(TASK_VOCAB) + len(ACTIONS), dtype=np.int64)
        self.prog_id = self.vocab.index(PROG)
        self._heading_ids = [self.vocab.index(f"turtle:{d}") for d in DIRECTIONS]
        self._state_id = {word: i for i, word in enumerate(self.vocab) if word in STATE_VOCAB}

    def encode(self, task: Task) -> Prompt:
        enc = encode_task(task)
        groups: list[list[int]] = []
        cells: list[int] = []
        words = enc.tokens[: enc.length].tolist(), enc.cells[: enc.length].tolist()
        for token, cell in zip(*words, strict=True):
            if cell and cells and cells[-1] == cell:
                groups[-1].append(token)
            else:
                groups.append([token])
                cells.append(cell)
        return _bags(groups, cells, BAG_WIDTH, task if self.turtle_state else None)

    def program_position(self, token: int, prompt: Prompt, program: Program) -> tuple[list[int], int]:
        task = prompt.task
        if task is None:
            return [token], 0
        state = progress(task, program)
        bag = [token, self._heading_ids[state.heading]]
        if self.execution_state:
            bag += [self._state_id[w] for w in state_words(task, program, state)]
        return bag, _cell_id(task, state.cell)

    def save(self, directory: str) -> None:
        write_atomic(os.path.join(directory, TOKENIZER_FILE), json.dumps(
            {"kind": self.kind, "vocab": list(self.vocab), "bag_width": BAG_WIDTH, "turtle_state": self.turtle_state,
             "execution_state": self.execution_state}, indent=1))

    @classmethod
    def load(cls, directory: str) -> DomainTokenizer:
        path = os.path.join(directory, TOKENIZER_FILE)
        saved = read_json(path)
        if not isinstance(saved, dict):
            raise XLogoError(f"expected an object, got {type(saved).__name__}", path)
        tokenizer = cls(bool(saved.get("turtle_state", False)), bool(saved.get("execution_state", False)))
        if saved.get("vocab") != list(tokenizer.vocab) or saved.get("bag_width") != BAG_WIDTH:
            raise XLogoError("vocabulary differs from this version's TASK_VOCAB + ACTIONS", path)
        return tokenizer


def action_token(action: str) -> str:
    """The added special token for a grammar action in a pretrained LM's tokenizer."""
    return f"<xlogo:{action}>"


class TextTokenizer:
    """A pretrained LM's tokenizer reading the task's text prompt; the actions are added tokens."""

    kind = "text"

    def __init__(self, hf_tokenizer: Any, max_prompt_tokens: int = 2048) -> None:
        added = [action_token(a) for a in ACTIONS] + list(SPECIALS)
        hf_tokenizer.add_tokens(added, special_tokens=True)
        self.hf = hf_tokenizer
        self.max_prompt_tokens = max_prompt_tokens
        self.vocab_size = len(hf_tokenizer)
        self.action_ids = np.asarray(hf_tokenizer.convert_tokens_to_ids([action_token(a) for a in ACTIONS]),
                                     dtype=np.int64)
        self.prog_id = int(hf_tokenizer.convert_tokens_to_ids(PROG))

    def encode(self, task: Task) -> Prompt:
        from xlogo_gym.prompt import task_prompt

        ids = self.hf(task_prompt(task), add_special_tokens=True)["input_ids"]
        if len(ids) > self.max_prompt_tokens:
            raise XLogoError(f"prompt has {len(ids)} tokens, more than max_prompt_tokens={self.max_prompt_tokens}",
                             task.id or "task")
        return _bags([[i] for i in ids], [0] * len(ids), 1)

    def program_position(self, token: int, prompt: Prompt, program: Program) -> tuple[list[int], int]:
        return [token], 0

    def save(self, directory: str) -> None:
        self.hf.save_pretrained(directory)

    @classmethod
    def load(cls, directory: str) -> TextTokenizer:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(directory))


def load_tokenizer(kind: str, directory: str) -> PolicyTokenizer:
    if kind == DomainTokenizer.kind:
        return DomainTokenizer.load(directory)
    if kind == TextTokenizer.kind:
        return TextTokenizer.load(directory)
    raise XLogoError(f"unknown tokenizer kind {kind!r}", os.path.join(directory, "config.json"))
