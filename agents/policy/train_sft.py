"""Supervised fine-tuning of the policy on verified (task, program) pairs (`xlogo-gym train-sft`).

One run: load or generate examples, hold some out, train with AdamW (warm-up, cosine decay)
on the program tokens only, the logits masked by the grammar, in `rounds`; with the emulator
curriculum every round after the first resamples the data towards the failing families (see
`curriculum.py`). Logs go to TensorBoard (`OUT/tb`): loss, token accuracy, learning rate,
samples/s, held-out success measured by the emulator, curriculum weights. `OUT/resume.pt`
(written atomically every `checkpoint_minutes`) lets an interrupted run continue where it
stopped; `OUT/` also holds the exported policy (model.safetensors, config.json, tokenizer).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from agents.config import torch_device
from agents.policy.config import SFTConfig
from agents.policy.curriculum import failure_rates, sampling_weights
from agents.policy.data import (
    IGNORE,
    Encoded,
    Example,
    collate,
    encode_example,
    gather_examples,
    legal_table,
    length_bucketed_batches,
)
from agents.policy.decode import decode_batched
from agents.policy.model import (
    PolicyModel,
    build_policy,
    init_from_checkpoint,
    load_policy_state,
    policy_state,
    save_policy,
)
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import atomic_path

log = logging.getLogger(__name__)

RESUME_FILE = "resume.pt"
BUCKET_BATCHES = 32  # batches drawn together and grouped by length


def success_rate(model: PolicyModel, examples: Sequence[Example]) -> list[bool]:
    """Greedy decoding of each example's task, judged by the emulator."""
    decoded = decode_batched(model, [model.tokenizer.encode(e.task) for e in examples])
    return [execute(e.task, d.program).success for e, d in zip(examples, decoded, strict=True)]


def _lr(config: SFTConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def sft_loss(model: PolicyModel, batch: dict[str, torch.Tensor], legal: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Cross-entropy of the program tokens (logits masked by the grammar) and the token accuracy."""
    out = model(batch["ids"], batch["cells"])
    targets = batch["targets"]
    keep = targets != IGNORE
    logits = out.logits[keep].masked_fill(~legal[batch["legal"][keep]], float("-inf"))
    loss = torch.nn.functional.cross_entropy(logits, targets[keep])
    accuracy = (logits.argmax(-1) == targets[keep]).float().mean().item()
    return loss, accuracy


def _save_resume(path: str, state: dict[str, Any]) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


#: What `resume.pt` holds; read back with `weights_only=True`.
RESUME_KEYS = ("model", "optimizer", "step", "weights", "history", "torch_rng", "config", "minutes")


def load_resume_state(path: str, device: Any) -> dict[str, Any]:
    """The state of a `resume.pt`, unpickled with `weights_only=True`: tensors, numbers, strings, containers and
    the curriculum's numpy array of weights, never any other object, so a crafted file in `--out` cannot run
    code. A damaged or foreign file raises XLogoError."""
    import pickle

    core = getattr(np, "_core", None) or np.core
    safe = [core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.float64))]
    try:
        with torch.serialization.safe_globals(safe):
            state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        reason = (str(err).splitlines() or [""])[0][:200]
        raise XLogoError(f"not a resume file of train-sft ({type(err).__name__}: {reason}); remove it to start over",
                         path) from None
    if not isinstance(state, dict) or any(k not in state for k in RESUME_KEYS):
        raise XLogoError(f"not a resume file of train-sft (expected the keys {', '.join(RESUME_KEYS)}); remove it "
                         "to start over", path)
    return state


def train_sft(config: SFTConfig, examples: Sequence[Example] | None = None) -> dict[str, Any]:
    """Run (or resume) supervised training; returns the final figures. `examples` overrides the data."""
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = torch.device(torch_device(config.device))
    os.makedirs(config.out, exist_ok=True)
    started = time.monotonic()

    examples = list(examples if examples is not None else gather_examples(config))
    if len(examples) <= config.heldout:
        raise XLogoError(f"{len(examples)} examples leave none for training after {config.heldout} held out", "data")
    split = np.random.default_rng(config.seed).permutation(len(examples))
    heldout = [examples[i] for i in split[: config.heldout]]
    train = [examples[i] for i in split[config.heldout:]]
    model = build_policy(config.model)
    if config.init_from:
        from agents.policy.checkpoint import checkpoint_dir

        init_from_checkpoint(model, checkpoint_dir(config.init_from))
    model = model.to(device)
    log.info("%d training examples, %d held out; %s parameters", len(train), len(heldout),
             f"{model.num_parameters():,}")
    encoded: list[Encoded] = [encode_example(model.tokenizer, e) for e in tqdm(train, desc="encode", leave=False)]
    lengths = np.array([len(e) for e in encoded])
    legal = legal_table().to(device)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.98))
    step, weights, history, earlier_minutes = 0, sampling_weights(train, None, 0.0), [], 0.0
    resume_path = os.path.join(config.out, RESUME_FILE)
    if os.path.exists(resume_path):
        state = load_resume_state(resume_path, device)
        if state["config"] != config.to_json():
            log.warning("resuming %s with different settings than it was started with", resume_path)
        load_policy_state(model, state["model"], resume_path)
        optimizer.load_state_dict(state["optimizer"])
        step, weights, history = state["step"], state["weights"], state["history"]
        earlier_minutes = state["minutes"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d", step)

    writer = SummaryWriter(os.path.join(config.out, "tb"), purge_step=step)
    if step == 0:
        writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in config.to_json().items()))
    steps_per_round = math.ceil(config.steps / config.rounds)
    last_checkpoint = time.monotonic()

    def minutes() -> float:
        """Wall-clock minutes of training so far, over every invocation of this run."""
        return earlier_minutes + (time.monotonic() - started) / 60

    def checkpoint() -> None:
        _save_resume(resume_path, {"model": policy_state(model), "optimizer": optimizer.state_dict(), "step": step,
                                   "weights": weights, "history": history, "torch_rng": torch.get_rng_state(),
                                   "config": config.to_json(), "minutes": minutes()})
        save_policy(model, config.out, {"config": config.to_json(), "step": step, "minutes": round(minutes(), 2),
                                        "history": history})

    def evaluate() -> float:
        model.eval()
        rate = float(np.mean(success_rate(model, heldout)))
        model.train()
        writer.add_scalar("eval/success", rate, step)
        history.append({"step": step, "heldout_success": rate, "minutes": round(minutes(), 2)})
        return rate

    model.train()
    bar = tqdm(total=config.steps, initial=step, desc="train-sft", unit="step")
    batches: list[np.ndarray] = []
    window_start, window_samples = time.monotonic(), 0
    stopped = False
    interrupted: list[int] = []  # Ctrl-C or SIGTERM: finish the step, save, then stop (a second one stops at once)

    def on_signal(signum: int, frame: Any) -> None:
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(signum)

    handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    while step < config.steps:
        if step % steps_per_round == 0 and step > 0 and config.curriculum == "emulator" and not batches:
            model.eval()
            pool_rng = np.random.default_rng([config.seed, step])
            pool = [train[i] for i in pool_rng.choice(len(train), min(config.pool, len(train)), replace=False)]
            ok = success_rate(model, pool)
            rates = failure_rates([e.families for e in pool], ok)
            weights = sampling_weights(train, rates, config.curriculum_mix)
            model.train()
            writer.add_scalar("curriculum/pool_success", float(np.mean(ok)), step)
            for family, rate in sorted(rates.items()):
                writer.add_scalar(f"curriculum/failure/{family}", rate, step)
            log.info("round %d: pool success %.3f; hardest families %s", step // steps_per_round, np.mean(ok),
                     ", ".join(f"{f} {r:.2f}" for f, r in sorted(rates.items(), key=lambda x: -x[1])[:5]))
        if not batches:
            rng = np.random.default_rng([config.seed, step])
            batches = length_bucketed_batches(rng, weights, lengths, config.batch_size,
                                              min(BUCKET_BATCHES, config.steps - step,
                                                  steps_per_round - step % steps_per_round))
        batch = {k: v.to(device) for k, v in collate([encoded[i] for i in batches.pop()]).items()}
        for group in optimizer.param_groups:
            group["lr"] = _lr(config, step)
        loss, accuracy = sft_loss(model, batch, legal)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        step += 1
        window_samples += len(batch["ids"])
        bar.update(1)
        if step % 20 == 0 or step in (1, config.steps):
            elapsed = time.monotonic() - window_start
            writer.add_scalar("train/loss", loss.item(), step)
            writer.add_scalar("train/token_accuracy", accuracy, step)
            writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)
            writer.add_scalar("charts/samples_per_s", window_samples / elapsed, step)
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{accuracy:.3f}")
            window_start, window_samples = time.monotonic(), 0
        if step % config.eval_every == 0 or step == config.steps:
            bar.set_postfix(heldout_success=f"{evaluate():.3f}")
        limit = config.time_limit_minutes
        over_time = limit is not None and time.monotonic() - started > 60 * limit
        if step == config.steps or over_time or time.monotonic() - last_checkpoint > 60 * config.checkpoint_minutes:
            checkpoint()
            last_checkpoint = time.monotonic()
        if over_time:
            stopped = True
            log.info("time limit reached at step %d; run again to resume", step)
            break
        if interrupted:
            checkpoint()
            for number, handler in handlers.items():
                signal.signal(number, handler)
            log.info("interrupted at step %d and saved; run again to resume", step)
            raise KeyboardInterrupt
    for number, handler in handlers.items():
        signal.signal(number, handler)
    bar.close()
    writer.close()
    final = history[-1]["heldout_success"] if history else float("nan")
    return {"step": step, "finished": not stopped, "heldout_success": final, "train_examples": len(train),
            "minutes": round(minutes(), 2)}
