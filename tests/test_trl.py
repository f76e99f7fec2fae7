"""The TRL path: chat-prompt datasets, the emulator reward with TRL's signature, the `hf:` agent, and
`examples/trl_sft_grpo.py` for a few steps of SFT and GRPO on a tiny random Llama built here (no download)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, needs

from agents.llm.tuning import EmulatorReward, answer_text, completion_text, emulator_reward, progress_share
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.suite import load_suite

#: A plain chat template for the tiny tokenizer (the example gives base models the same one).
TEMPLATE = ("{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}"
            "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}")


def tiny_llama(directory: Path, texts: list[str]) -> Path:
    """A randomly initialised one-layer Llama and a byte-level BPE tokenizer (512 tokens) trained on `texts`,
    saved with `save_pretrained` in `directory`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        unk_token="<unk>")
    tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(directory)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers", reason="needs transformers: pip install \"xlogo-gym[trl]\"")
    pytest.importorskip("tokenizers", reason="needs tokenizers: pip install \"xlogo-gym[trl]\"")
    from agents.llm.tuning import generated_entries
    from xlogo_gym.prompt import task_prompt

    texts = [task_prompt(e.task, instructions=False) + answer_text(e.program) for e in generated_entries(40, 5)
             if e.program is not None]
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"), texts)


# -- the dataset and the reward ---------------------------------------------------------------------

@needs("datasets")
def test_task_dataset_from_a_suite_and_from_the_generator() -> None:
    from agents.llm.tuning import generated_entries, task_dataset
    from xlogo_gym.prompt import task_prompt

    mini = load_suite("mini-85")
    data = task_dataset("mini-85", limit=5)
    assert data.column_names == ["task_id", "prompt", "completion", "task"] and len(data) == 5
    row = data[0]
    assert row["task_id"] == mini[0].task_id
    assert row["prompt"] == [{"role": "user", "content": task_prompt(mini[0].task)}]
    assert row["completion"] == [{"role": "assistant", "content": f"```\n{mini[0].program}```"}]
    assert json.loads(row["task"]) == mini[0].task.to_json()
    generated = task_dataset(generated_entries(4, seed=2), instructions=False)
    assert len(generated) == 4 and "Answer with" not in generated[0]["prompt"][0]["content"]
    without_programs = task_dataset([dataclasses.replace(e, program=None) for e in mini[:2]])
    assert "completion" not in without_programs.column_names
    with pytest.raises(XLogoError, match="no tasks"):
        task_dataset([])


def test_reward_is_the_emulators_verdict_on_the_extracted_program() -> None:
    entries = load_suite("mini-85")[:6]
    tasks = [json.dumps(e.task.to_json()) for e in entries]
    right = [f"Here it is:\n```\n{e.program}```" for e in entries]
    assert emulator_reward(prompts=[""] * 6, completions=right, task=tasks) == [1.0] * 6
    conversational = [[{"role": "assistant", "content": text}] for text in right]
    assert emulator_reward(prompts=None, completions=conversational, task=tasks, trainer_state=None) == [1.0] * 6
    assert emulator_reward(completions=["no idea", "", "repeat(99){ fd }"], task=tasks[:3]) == [0.0, 0.0, 0.0]
    assert emulator_reward(completions=[right[0]], task=[entries[0].task.to_json()]) == [1.0]  # a dict works too
    wrong = next(p for p in ("bk", "lt fd", "rt fd") if not execute(entries[0].task, Program.parse(p)).success)
    assert emulator_reward(completions=[wrong], task=tasks[:1]) == [0.0]
    assert emulator_reward.__name__ == "emulator"
    with pytest.raises(XLogoError, match="task column"):
        emulator_reward(prompts=[""], completions=["fd"])
    with pytest.raises(XLogoError, match=r"\[0, 1\)"):
        EmulatorReward(progress_weight=1.0)
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "ab"


def test_progress_term_gives_partial_credit_below_success() -> None:
    draw = next(e for e in load_suite("mini-85") if e.task_id == "mini-054")  # lt fd fd rt fd fd: a drawing
    half = Program.parse("lt fd fd")
    assert not execute(draw.task, half).success
    share = progress_share(draw.task, half)
    assert 0.0 < share < 1.0
    reward = EmulatorReward(progress_weight=0.5)
    task = json.dumps(draw.task.to_json())
    assert reward(completions=[str(half), str(draw.program), "nothing"], task=[task] * 3) == [0.5 * share, 1.0, 0.0]
    assert reward.__name__ == "emulator+progress0.5"


# -- the hf: agent ----------------------------------------------------------------------------------

@needs("torch", "transformers", "tokenizers")
def test_hf_agent_batches_prompts_and_extracts_programs(tiny_model: Path) -> None:
    import torch

    from agents.llm.hf import HFAgent, reply_candidate
    from agents.registry import make_agent
    from xlogo_gym.evaluation import AgentFailure, evaluate

    entries = load_suite("mini-85")[:5]
    agent = make_agent(f"hf:{tiny_model}", batch_size=2, max_new_tokens=6, instructions=False, progress=False)
    assert isinstance(agent, HFAgent) and agent.name == f"hf:{tiny_model}"
    assert agent.prompt(entries[0].task).startswith("<|user|>\n") and agent.prompt(entries[0].task).endswith(
        "<|assistant|>\n")
    random_replies = agent.propose([e.task for e in entries], samples=2)  # a random model: no program in 6 tokens
    assert [len(c) for c in random_replies] == [2] * 5
    assert all(isinstance(c, AgentFailure) for cands in random_replies for c in cands)

    # a model that answers every prompt with the reference program: batched, left-padded, decoded, extracted
    tokenizer = agent.tokenizer
    answers = {agent.prompt(e.task): answer_text(e.program) + tokenizer.eos_token for e in entries
               if e.program is not None}
    lengths: list[int] = []

    def generate(input_ids: Any, attention_mask: Any, max_new_tokens: int, **options: Any) -> Any:
        assert tokenizer.padding_side == "left" and options["do_sample"] is False
        lengths.append(len(input_ids))
        rows = []
        for ids, mask in zip(input_ids, attention_mask, strict=True):
            prompt = str(tokenizer.decode(ids[mask.bool()]))
            rows.append(ids.tolist() + tokenizer(answers[prompt], add_special_tokens=False)["input_ids"])
        width = max(map(len, rows))
        return torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])

    agent.model.generate = generate  # type: ignore[method-assign]
    report = evaluate(agent, entries, progress=False)
    assert report.summary["success_rate"] == 1.0 and lengths == [2, 2, 1]
    assert isinstance(reply_candidate("```\nfd\n```"), Program)
    cut = reply_candidate("I think the", cut_off=True)
    assert isinstance(cut, AgentFailure) and cut.reason.startswith("no_program") and "cut off" in cut.reason


def test_hf_agent_names_bad_specs(tmp_path: Path) -> None:
    from agents.registry import make_agent

    with pytest.raises(XLogoError, match="hf:PATH"):
        make_agent("hf:")
    if not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):
        pytest.skip("needs torch and transformers")
    with pytest.raises(XLogoError, match="not a model directory"):
        make_agent(f"hf:{tmp_path}")
    with pytest.raises(XLogoError, match="dtype"):
        make_agent(f"hf:{tmp_path}", dtype="int3")


# -- the example: SFT, then GRPO ------------------------------------------------------------------

@needs("trl", "peft", "datasets", "tokenizers", "tyro")
def test_sft_then_grpo_example_on_a_tiny_llama(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "examples" / "trl_sft_grpo.py"), "--model", str(tiny_model), "--out", str(out),
           "--no-instructions", "--lora-rank", "4", "--lora-alpha", "8", "--report-to", "none",
           "--sft-tasks", "8", "--sft-steps", "2", "--sft-batch-size", "4", "--max-length", "512",
           "--grpo-tasks", "4", "--grpo-steps", "2", "--grpo-batch-size", "4", "--num-generations", "2",
           "--max-completion-length", "8", "--eval-limit", "2", "--eval-max-new-tokens", "4"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert [s["stage"] for s in result["stages"]] == ["sft", "grpo"]
    rewards = result["stages"][1]["reward_curve"]
    assert len(rewards) == 2 and all(0 <= r <= 1 for r in rewards)
    assert [s["eval"]["n_tasks"] for s in result["stages"]] == [2, 2]
    for stage in ("sft", "grpo"):  # merged models that `--agent hf:OUT/STAGE` reads
        assert (out / stage / "config.json").is_file() and (out / stage / "tokenizer.json").is_file()
        assert not (out / stage / "adapter_config.json").exists()
    assert "GRPO done" in done.stdout


def test_ci_runs_the_trl_tests() -> None:
    """CI's full install (`.[dev]`) brings the [trl] extra, so the tests above run there instead of skipping."""
    if not os.environ.get("CI") or importlib.util.find_spec("torch") is None:
        pytest.skip("only in CI's full install")
    assert all(importlib.util.find_spec(m) for m in ("trl", "peft", "datasets", "tokenizers")), \
        "CI installs .[dev], which must bring the [trl] extra"
