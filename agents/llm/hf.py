"""A local Hugging Face causal LM as an agent: `xlogo-gym evaluate --agent hf:PATH`.

`HFAgent` sends the prompted-LLM agent's prompt (`xlogo_gym.prompt.task_prompt`, through the
model's chat template when it has one) to a `transformers` model on this machine, generates
for many tasks at once (left-padded batches) and pulls the program out of each reply with the
same lenient extraction as the HTTP agent (`agents.llm.extract.extract_program`). PATH is a
directory written by `save_pretrained` (a full model, or a peft LoRA adapter whose base model
it names), e.g. the output of `examples/trl_sft_grpo.py`. A model served by vLLM (or any
OpenAI-compatible server) needs none of this: `--agent llm:MODEL@http://host:8000/v1`.

Decoding is greedy by default (`temperature=0`). With sampling, the random state is seeded by
the agent's seed and the batch's first task, so a rerun gives the same candidates; they do
depend on how the tasks are batched. Needs torch and transformers (`pip install "xlogo-gym[train]"`).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from agents.llm.extract import extract_program
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import Agent, AgentFailure, Candidate
from xlogo_gym.program import Program
from xlogo_gym.progress import progress_bar
from xlogo_gym.prompt import task_prompt
from xlogo_gym.task import Task

log = logging.getLogger(__name__)

HF_INSTALL = 'pip install "xlogo-gym[train]"'
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class HFConfig:
    """Local transformers model (--agent hf:PATH)."""

    hf_batch_size: int = 16
    """prompts per generate call"""
    hf_max_new_tokens: int = 512
    """reply length limit in tokens"""
    hf_temperature: float = 0.0
    """sampling temperature (0: greedy)"""
    hf_top_p: float = 1.0
    """nucleus sampling threshold"""
    hf_device: str | None = None
    """torch device (None: cuda when available, else cpu)"""
    hf_dtype: str = "auto"
    """weights' dtype: auto, float32, bfloat16 or float16"""
    hf_instructions: bool = True
    """put the language description and answer format in the prompt (--no-hf-instructions for a model
    fine-tuned without them)"""

    def options(self) -> dict[str, Any]:
        """The settings that differ from the defaults, as `HFAgent` keyword arguments (without the `hf_`)."""
        default = HFConfig()
        return {f.name.removeprefix("hf_"): getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}


def reply_candidate(text: str, cut_off: bool = False) -> Candidate:
    """A Program from a model's reply, or an AgentFailure (`empty_reply`, `no_program`) as the HTTP agent gives."""
    if not text.strip():
        return AgentFailure("empty_reply: the reply has no text", text)
    program = extract_program(text)
    if program is None:
        cut = " (cut off at max_new_tokens)" if cut_off else ""
        return AgentFailure(f"no_program: no program found in the reply{cut}", text)
    return Program.parse(program)


class HFAgent(Agent):
    """Solve tasks with a local causal LM, batched.

    path: a `save_pretrained` directory (or anything `from_pretrained` accepts) of a causal LM or of a peft
        adapter (`adapter_config.json`); its tokenizer is read from the same place.
    batch_size: prompts per `generate` call.
    max_new_tokens, temperature, top_p: decoding (temperature 0: greedy).
    seed: seed of the sampling (see the module docstring).
    device: torch device (None: cuda when available, else cpu); dtype: auto, float32, bfloat16 or float16.
    instructions, description: what `task_prompt` includes (the language and answer format; the task's text).
    progress: show a progress bar in `propose`.
    """

    def __init__(self, path: str, batch_size: int = HFConfig.hf_batch_size,
                 max_new_tokens: int = HFConfig.hf_max_new_tokens, temperature: float = HFConfig.hf_temperature,
                 top_p: float = HFConfig.hf_top_p, seed: int = 0, device: str | None = None,
                 dtype: str = HFConfig.hf_dtype, instructions: bool = HFConfig.hf_instructions,
                 description: bool = False, progress: bool = True) -> None:
        if not path:
            raise XLogoError("an hf: agent needs a model directory: hf:PATH", "agent")
        if batch_size < 1 or max_new_tokens < 1 or temperature < 0 or not 0 < top_p <= 1:
            raise XLogoError("need batch_size >= 1, max_new_tokens >= 1, temperature >= 0 and 0 < top_p <= 1, "
                             f"got {batch_size}, {max_new_tokens}, {temperature} and {top_p}", "hf agent")
        if dtype not in _DTYPES:
            raise XLogoError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}", "hf agent")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise ImportError(f"the hf: agent needs torch and transformers ({err}); install them with "
                              f"`{HF_INSTALL}`") from err
        self.path, self.batch_size, self.max_new_tokens = path, batch_size, max_new_tokens
        self.temperature, self.top_p, self.seed = temperature, top_p, seed
        self.instructions, self.description, self.progress = instructions, description, progress
        self.name = f"hf:{path}"
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "config.json")) \
                and not os.path.isfile(os.path.join(path, "adapter_config.json")):
            raise XLogoError("not a model directory (no config.json or adapter_config.json)", path)
        try:
            if os.path.isfile(os.path.join(path, "adapter_config.json")):
                from peft import AutoPeftModelForCausalLM

                model = AutoPeftModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
            else:
                model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
            tokenizer = AutoTokenizer.from_pretrained(path)
        except OSError as err:
            raise XLogoError(f"cannot load the model: {err}", path) from None
        self.model = model.to(self.device).eval()
        tokenizer.padding_side = "left"  # generation continues every prompt at the same position
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.chat = bool(getattr(tokenizer, "chat_template", None))

    def prompt(self, task: Task) -> str:
        """The model's input text for `task`: the prompt in the chat template, or the bare prompt without one."""
        text = task_prompt(task, instructions=self.instructions, description=self.description)
        if not self.chat:
            return text
        rendered = self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True)
        return str(rendered)

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        """`samples` candidates per task (greedy decoding gives one, repeated)."""
        if samples > 1 and self.temperature == 0:
            log.warning("%s: greedy decoding gives one candidate per task; set a temperature for %d samples",
                        self.name, samples)
        out: list[list[Candidate]] = []
        with progress_bar(total=len(tasks), desc=self.name, unit="task", disable=not self.progress) as bar:
            for start in range(0, len(tasks), self.batch_size):
                batch = tasks[start:start + self.batch_size]
                out += self._generate(batch, samples)
                bar.update(len(batch))
        return out

    def _generate(self, tasks: Sequence[Task], samples: int) -> list[list[Candidate]]:
        import torch

        sample = self.temperature > 0
        n = samples if sample else 1
        inputs = self.tokenizer([self.prompt(t) for t in tasks], return_tensors="pt", padding=True,
                                add_special_tokens=not self.chat).to(self.device)
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": sample,
                                   "num_return_sequences": n, "pad_token_id": self.tokenizer.pad_token_id}
        if sample:
            options.update(temperature=self.temperature, top_p=self.top_p)
            first = tasks[0].id or task_prompt(tasks[0])
            torch.manual_seed(zlib.crc32(f"{self.seed}:{first}".encode()))
        else:  # no sampling knobs: transformers warns about ones that do nothing
            options.update(temperature=None, top_p=None, top_k=None)
        with torch.no_grad():
            generated = self.model.generate(**inputs, **options)
        replies = generated[:, inputs["input_ids"].shape[1]:]
        eos = self.tokenizer.eos_token_id
        texts = self.tokenizer.batch_decode(replies, skip_special_tokens=True)
        candidates = []
        for row, text in zip(replies, texts, strict=True):
            cut_off = len(row) >= self.max_new_tokens and (eos is None or not bool((row == eos).any()))
            candidates.append(reply_candidate(text, cut_off))
        return [candidates[i * n:(i + 1) * n] * (samples if not sample else 1) for i in range(len(tasks))]


def make_hf_agent(spec: str, **options: Any) -> HFAgent:
    """The agent of `hf:PATH` with `HFAgent` keywords (None counts as not given)."""
    kind, _, path = spec.partition(":")
    if kind != "hf" or not path:
        raise XLogoError(f"not an hf agent spec: {spec!r} (expected hf:PATH)", "agent")
    return HFAgent(path, **{k: v for k, v in options.items() if v is not None})
