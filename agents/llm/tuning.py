"""Fine-tuning LLMs with TRL on the emulator: chat-prompt datasets and the verdict as a reward.

Two parts, for `trl.SFTTrainer` and `trl.GRPOTrainer` (see `examples/trl_sft_grpo.py`):

* `task_dataset(source)`: a `datasets.Dataset` with one row per task, from a suite (any name or
  path `load_suite` reads) or from the generator (`generated_rows`). Columns: `prompt` (the chat
  messages: the env's and the prompted-LLM agent's text prompt, `xlogo_gym.prompt.task_prompt`),
  `completion` (the reference program as the answer the prompt asks for: a fenced code block;
  only when every task has one), `task` (the task's public JSON as a string) and `task_id`. The
  task travels with the row as data: the reward reads it back with `Task.from_json`, and nothing
  in a row is ever run.
* `EmulatorReward` (and the ready-made `emulator_reward`): a function with the signature of TRL's
  `reward_funcs`, `(prompts, completions, **kwargs) -> list[float]`. It pulls the program out of
  each completion with the prompted-LLM agent's lenient extraction (`extract_program`) and
  returns the emulator's verdict, 1.0 or 0.0, plus an optional progress term for failures.

`prompt`/`completion` is TRL's conversational prompt-completion format: SFTTrainer trains on the
completion only, GRPOTrainer samples completions for the prompt and passes the other columns
(`task`) to the reward function. The dataset part needs `datasets` (`pip install "xlogo-gym[trl]"`);
the reward needs nothing beyond the core.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from agents.llm.extract import extract_program
from xlogo_gym.emulator import execute, progress
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import GeneratorConfig, generate_tasks
from xlogo_gym.program import Program
from xlogo_gym.prompt import task_prompt
from xlogo_gym.suite import SuiteEntry, load_suite
from xlogo_gym.task import Task

TRL_INSTALL = 'pip install "xlogo-gym[trl]"'


# -- datasets -------------------------------------------------------------------------------------

def chat_prompt(task: Task, instructions: bool = True) -> list[dict[str, str]]:
    """The chat messages that ask for a program for `task`: one user message with `task_prompt(task)`."""
    return [{"role": "user", "content": task_prompt(task, instructions=instructions)}]


def answer_text(program: Program) -> str:
    """`program` as the answer the prompt asks for: one fenced code block, one command per line."""
    return f"```\n{program}```"


def task_row(entry: SuiteEntry, instructions: bool = True) -> dict[str, Any]:
    """One dataset row (see the module docstring); `completion` is None when the entry has no reference program."""
    return {"task_id": entry.task_id, "prompt": chat_prompt(entry.task, instructions),
            "completion": None if entry.program is None else [{"role": "assistant",
                                                               "content": answer_text(entry.program)}],
            "task": json.dumps(entry.task.to_json(), separators=(",", ":"))}


def generated_entries(count: int, seed: int = 0, config: GeneratorConfig | None = None) -> Iterator[SuiteEntry]:
    """`count` generated tasks with their programs (`xlogo_gym.generator.generate_tasks`: the same stream as
    `xlogo-gym generate --seed SEED`; the default config keeps the evaluation suites' worlds out)."""
    for generated in generate_tasks(seed, count, config):
        yield generated.to_entry()


def task_dataset(source: str | Iterable[SuiteEntry], limit: int | None = None, instructions: bool = True,
                 progress_bar: bool = False) -> Any:
    """A `datasets.Dataset` of chat prompts, one row per task of `source`.

    source: a suite name or path (`xlogo_gym.load_suite`: mini-85, synthetic-1k, a JSONL file, a generated
        dataset directory), or suite entries (e.g. `generated_entries(count, seed)`).
    limit: only the first N tasks.
    instructions: keep the language description and answer format in the prompt (constant across tasks; a
        model fine-tuned without them sees shorter prompts).
    progress_bar: show a progress bar while the rows are built.
    """
    try:
        from datasets import Dataset
    except ImportError as err:
        raise ImportError(f"task_dataset needs the datasets package ({err}); install it with `{TRL_INSTALL}`") from err
    from xlogo_gym.progress import progress_bar as bar

    entries: Iterable[SuiteEntry] = load_suite(source) if isinstance(source, str) else source
    rows = []
    for i, entry in enumerate(bar(entries, desc="tasks", unit="task", disable=not progress_bar)):
        if limit is not None and i >= limit:
            break
        rows.append(task_row(entry, instructions))
    if not rows:
        raise XLogoError("no tasks for the dataset", str(source) if isinstance(source, str) else "source")
    if any(row["completion"] is None for row in rows):
        for row in rows:
            del row["completion"]
    return Dataset.from_list(rows)


# -- the reward -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _task(text: str) -> Task:
    return Task.from_json(json.loads(text), where="task column")


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string, or conversational messages (the assistant's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        return "".join(completion_text(m) for m in completion if not isinstance(m, dict)
                       or m.get("role", "assistant") == "assistant")
    return ""


def progress_share(task: Task, program: Program) -> float:
    """How far a failing `program` gets, 0..1 (`xlogo_gym.emulator.progress`): 0 after a crash or an irreversible
    mistake (a forbidden item, a wrong segment); else the share of the goal done (what is left against what the
    empty program leaves); 1 when the goal holds but a code constraint fails."""
    now = progress(task, program)
    if now.crashed or now.wrong:
        return 0.0
    if now.goal_ok:
        return 1.0
    before = progress(task, Program(())).left
    if before <= 0:
        return 0.0
    return max(0.0, 1.0 - abs(now.left) / before)


class EmulatorReward:
    """A TRL reward function: the emulator's verdict on the program in each completion.

    `reward(prompts, completions, task=[...], **kwargs)` returns one float per completion: 1.0 when
    the extracted program solves its task, else `progress_weight * progress_share(task, program)`
    (0.0 when the completion holds no program, or with the default `progress_weight=0`). `task`
    is the dataset's `task` column (the task JSON as a string, or as a dict), which TRL passes on.

    progress_weight: weight of the progress term, in [0, 1) so that a failure never scores like a success.
    strict: judge with `execute(..., strict=True)` instead of the reference semantics.
    """

    def __init__(self, progress_weight: float = 0.0, strict: bool = False) -> None:
        if not 0.0 <= progress_weight < 1.0:
            raise XLogoError(f"progress_weight must be in [0, 1), got {progress_weight}", "progress_weight")
        self.progress_weight, self.strict = progress_weight, strict
        self.__name__ = "emulator" if progress_weight == 0 else f"emulator+progress{progress_weight:g}"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 task: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
        if completions is None or task is None:
            raise XLogoError("the reward needs the completions and the dataset's task column (task_dataset)",
                             "reward")
        if len(task) != len(completions):
            raise XLogoError(f"{len(completions)} completions for {len(task)} tasks", "reward")
        return [self.score(t, c) for t, c in zip(task, completions, strict=True)]

    def score(self, task: str | dict[str, Any] | Task, completion: Any) -> float:
        """The reward of one completion on one task."""
        if isinstance(task, str):
            task = _task(task)
        elif isinstance(task, dict):
            task = Task.from_json(task, where="task column")
        text = extract_program(completion_text(completion))
        if text is None:
            return 0.0
        program = Program.parse(text)
        if execute(task, program, strict=self.strict).success:
            return 1.0
        if self.progress_weight == 0:
            return 0.0
        return self.progress_weight * progress_share(task, program)


#: The verdict alone (1.0 or 0.0): `GRPOTrainer(..., reward_funcs=[emulator_reward])`.
emulator_reward = EmulatorReward()
