"""Fine-tune a Hugging Face causal LM on generated tasks with TRL: SFT, then GRPO on the emulator's verdict.

    pip install -c constraints-cpu.txt -e ".[trl]"
    python examples/trl_sft_grpo.py --model Qwen/Qwen2.5-0.5B-Instruct --out runs/trl-qwen0.5b --bf16
    xlogo-gym evaluate --agent hf:runs/trl-qwen0.5b/grpo --suite mini-85

Read it top to bottom: the arguments (a dataclass, parsed by `tyro.cli`); the data
(`agents.llm.tuning.task_dataset`: chat prompts of freshly generated tasks, whose worlds never
meet the evaluation suites', with the reference program as the completion and the task JSON in
a column); stage 1, `trl.SFTTrainer` with a peft LoRA adapter on the prompt-completion pairs;
stage 2, `trl.GRPOTrainer` with a new LoRA adapter, `--num-generations` completions per prompt
and the reward `agents.llm.tuning.EmulatorReward` (1 when the program extracted from the
completion solves the task; `--progress-weight` adds partial credit). After each stage the
adapter is merged and the model saved (OUT/sft, OUT/grpo) so that `--agent hf:OUT/grpo` reads it,
and, with `--eval-limit N`, evaluated on the first N tasks of `--eval-suite`
(OUT/results.json). TensorBoard logs go to OUT/sft-run and OUT/grpo-run.

The GPU recipe (model, batch sizes, expected time) is in the README's TRL section; the tests run
this script on a tiny random Llama for a few steps on the CPU.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
import tyro
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

from agents.llm.hf import HFAgent
from agents.llm.tuning import EmulatorReward, generated_entries, task_dataset
from xlogo_gym.evaluation import evaluate
from xlogo_gym.suite import load_suite

#: A plain chat template for base models that come without one.
PLAIN_CHAT_TEMPLATE = ("{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}"
                       "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}")


@dataclass
class Args:
    model: str
    """the causal LM to start from: a local directory or a Hugging Face model id"""
    out: str = "runs/trl"
    """output folder: OUT/sft and OUT/grpo (merged models), OUT/*-run (logs), OUT/results.json"""
    seed: int = 0
    """seed of the data (SFT tasks: SEED, GRPO tasks: SEED + 1) and of training"""
    instructions: bool = True
    """keep the language description and answer format in every prompt (False: shorter prompts; then evaluate
    with --no-hf-instructions)"""
    lora_rank: int = 16
    """LoRA rank of both stages"""
    lora_alpha: int = 32
    """LoRA alpha"""
    bf16: bool = False
    """train in bfloat16 (GPUs)"""
    gradient_checkpointing: bool = False
    """trade compute for memory"""
    report_to: str = "tensorboard"
    """trainer logging: tensorboard, wandb or none"""

    sft_tasks: int = 20_000
    """generated tasks for SFT (0: skip SFT and run GRPO on --model)"""
    sft_steps: int = 1_000
    """SFT optimiser steps"""
    sft_batch_size: int = 16
    """SFT sequences per device and step"""
    sft_grad_accum: int = 1
    """SFT gradient accumulation steps"""
    sft_lr: float = 2e-4
    """SFT learning rate"""
    max_length: int = 2048
    """SFT: longest sequence in tokens (prompt and answer)"""

    grpo_tasks: int = 4_000
    """generated tasks for GRPO (0: skip GRPO)"""
    grpo_steps: int = 300
    """GRPO optimiser steps"""
    grpo_batch_size: int = 16
    """GRPO completions per device and step (a multiple of --num-generations)"""
    grpo_grad_accum: int = 1
    """GRPO gradient accumulation steps"""
    num_generations: int = 8
    """completions per prompt (GRPO's group)"""
    max_completion_length: int = 256
    """GRPO: longest completion in tokens"""
    temperature: float = 1.0
    """GRPO sampling temperature"""
    grpo_lr: float = 1e-5
    """GRPO learning rate"""
    beta: float = 0.0
    """KL penalty to the reference model (0: none, TRL's default)"""
    progress_weight: float = 0.0
    """partial credit for failing programs, in [0, 1) (agents.llm.tuning.progress_share)"""
    use_vllm: bool = False
    """generate GRPO's completions with vLLM (colocated; needs vllm installed)"""

    eval_suite: str = "synthetic-1k"
    """suite of the evaluation after each stage"""
    eval_limit: int = 0
    """evaluate the model after each stage on the first N tasks of --eval-suite (0: no evaluation)"""
    eval_max_new_tokens: int = 256
    """evaluation: reply length limit"""


def lora(args: Args) -> LoraConfig:
    return LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")


def checkpointing(args: Args) -> dict[str, Any]:
    """Gradient checkpointing, only when asked for (the trainers warn about the setting's old name)."""
    return {"gradient_checkpointing": True} if args.gradient_checkpointing else {}


def save_merged(trainer: Any, tokenizer: Any, path: str) -> None:
    """Merge the trained LoRA adapter into the model and save model and tokenizer (`hf:PATH` reads them)."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def run_eval(path: str, args: Args, stage: str) -> dict[str, Any]:
    """Greedy success of the model at `path` on the first --eval-limit tasks of --eval-suite."""
    agent = HFAgent(path, max_new_tokens=args.eval_max_new_tokens, instructions=args.instructions, seed=args.seed,
                    progress=False)
    entries = load_suite(args.eval_suite)[: args.eval_limit]
    report = evaluate(agent, entries, out_dir=os.path.join(args.out, f"eval-{stage}"), resume=False,
                      suite=args.eval_suite, chart=False)
    summary = report.summary
    print(f"{stage}: greedy success {summary['success_rate']:.1%} on {summary['n_tasks']} tasks of "
          f"{args.eval_suite}", flush=True)
    return {"stage": stage, "suite": args.eval_suite, "n_tasks": summary["n_tasks"],
            "success_rate": summary["success_rate"], "failure_modes": summary["failure_modes"]}


def main(args: Args) -> dict[str, Any]:
    os.makedirs(args.out, exist_ok=True)
    print("| argument | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in asdict(args).items()))
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if tokenizer.chat_template is None:
        tokenizer.chat_template = PLAIN_CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    result: dict[str, Any] = {"args": asdict(args), "stages": []}
    current = args.model
    start = time.time()

    if args.sft_tasks > 0:  # stage 1: supervised fine-tuning on reference programs
        data = task_dataset(generated_entries(args.sft_tasks, args.seed), instructions=args.instructions,
                            progress_bar=True).remove_columns(["task", "task_id"])
        model = AutoModelForCausalLM.from_pretrained(current, dtype=dtype)
        sft_config = SFTConfig(output_dir=os.path.join(args.out, "sft-run"), max_steps=args.sft_steps,
                               per_device_train_batch_size=args.sft_batch_size,
                               gradient_accumulation_steps=args.sft_grad_accum, learning_rate=args.sft_lr,
                               lr_scheduler_type="cosine", warmup_steps=min(50, args.sft_steps // 10),
                               logging_steps=max(1, min(10, args.sft_steps // 10)), save_strategy="no",
                               max_length=args.max_length, bf16=args.bf16, seed=args.seed, report_to=args.report_to,
                               **checkpointing(args))
        trainer = SFTTrainer(model=model, args=sft_config, train_dataset=data, processing_class=tokenizer,
                             peft_config=lora(args))
        trainer.train()
        current = os.path.join(args.out, "sft")
        save_merged(trainer, tokenizer, current)
        result["stages"].append({"stage": "sft", "path": current, "minutes": round((time.time() - start) / 60, 2)})
        print(f"SFT done: {current} ({result['stages'][-1]['minutes']:.1f} min)", flush=True)
        del trainer, model
        if args.eval_limit > 0:
            result["stages"][-1]["eval"] = run_eval(current, args, "sft")

    if args.grpo_tasks > 0:  # stage 2: GRPO against the emulator's verdict
        data = task_dataset(generated_entries(args.grpo_tasks, args.seed + 1), instructions=args.instructions,
                            progress_bar=True)
        data = data.remove_columns([c for c in ("completion", "task_id") if c in data.column_names])
        model = AutoModelForCausalLM.from_pretrained(current, dtype=dtype)
        grpo_config = GRPOConfig(output_dir=os.path.join(args.out, "grpo-run"), max_steps=args.grpo_steps,
                                 per_device_train_batch_size=args.grpo_batch_size,
                                 gradient_accumulation_steps=args.grpo_grad_accum, learning_rate=args.grpo_lr,
                                 num_generations=args.num_generations, max_completion_length=args.max_completion_length,
                                 temperature=args.temperature, beta=args.beta,
                                 logging_steps=max(1, min(10, args.grpo_steps // 10)), save_strategy="no",
                                 bf16=args.bf16, seed=args.seed, report_to=args.report_to, use_vllm=args.use_vllm,
                                 vllm_mode="colocate", **checkpointing(args))
        rewards: list[Any] = [EmulatorReward(args.progress_weight)]  # TRL's reward_funcs signature
        grpo = GRPOTrainer(model=model, reward_funcs=rewards, args=grpo_config, train_dataset=data,
                           processing_class=tokenizer, peft_config=lora(args))
        grpo.train()
        curve = [log["reward"] for log in grpo.state.log_history if "reward" in log]
        current = os.path.join(args.out, "grpo")
        save_merged(grpo, tokenizer, current)
        result["stages"].append({"stage": "grpo", "path": current, "reward_curve": curve,
                                 "minutes": round((time.time() - start) / 60, 2)})
        print(f"GRPO done: {current} ({result['stages'][-1]['minutes']:.1f} min); mean reward per logged step: "
              + ", ".join(f"{r:.3f}" for r in curve), flush=True)
        del grpo, model
        if args.eval_limit > 0:
            result["stages"][-1]["eval"] = run_eval(current, args, "grpo")

    result["minutes"] = round((time.time() - start) / 60, 2)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out}/results.json; evaluate with: xlogo-gym evaluate --agent hf:{current} "
          f"--suite mini-85" + ("" if args.instructions else " --no-hf-instructions"))
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
