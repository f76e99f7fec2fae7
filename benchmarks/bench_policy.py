"""Decoding speed of the transformer policy: generated tokens/s, batched and unbatched, with and without the KV cache.

    python benchmarks/bench_policy.py                     # the shipped default checkpoint
    python benchmarks/bench_policy.py --policy runs/sft   # another checkpoint
    python benchmarks/bench_policy.py --random            # a freshly initialised default-size model

Tasks come from the generator (seed 7). Greedy decoding under the grammar masks (batched:
`decode_batched`, the agent's path, whose batches group prompts of similar length), and
sampling 16 programs per task (`sample`, as `--samples 16` does: each prompt is read once for
its 16 rows). "cache" is the model's incremental decoder (`PolicyModel.decoder`: for the
from-scratch Llama, `LlamaDecoder` and its preallocated key-value cache); "no cache" runs the
generic `transformers` forward over the whole sequence at every step. Every program counts all
its tokens, `<end>` included, and the time includes reading the prompts, the grammar masks and
the execution state of every program position. Timings are the process's CPU seconds (with one
thread, the time it would take on an idle core; the load is printed).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from agents.policy.checkpoint import checkpoint_dir
from agents.policy.config import ModelConfig
from agents.policy.decode import decode, decode_batched, sample
from agents.policy.model import PolicyModel, build_policy, load_policy
from xlogo_gym.generator import generate_tasks


def measure(model: PolicyModel, prompts: list, batch: int, use_cache: bool) -> tuple[float, int]:
    """(CPU seconds, generated tokens) to decode all prompts greedily in batches of `batch`."""
    start = time.process_time()
    if batch > 1:
        decoded = decode_batched(model, prompts, batch_size=batch, use_cache=use_cache)
    else:
        decoded = [d for p in prompts for d in decode(model, [p], use_cache=use_cache)]
    return time.process_time() - start, sum(len(d.actions) for d in decoded)


def measure_sampling(model: PolicyModel, prompts: list, batch: int, k: int) -> tuple[float, int]:
    """(CPU seconds, generated tokens) to sample k programs per prompt (the first greedy)."""
    start = time.process_time()
    drawn = sample(model, prompts, k, 1.0, batch_size=batch, generator=torch.Generator().manual_seed(0))
    return time.process_time() - start, sum(len(d.actions) for ds in drawn for d in ds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="default", help="checkpoint name or directory (default: default)")
    parser.add_argument("--random", action="store_true", help="a random default-size model instead")
    parser.add_argument("--tasks", type=int, default=256, help="tasks decoded per setting (default: 256)")
    parser.add_argument("--batch", type=int, default=256, help="batch size of the batched settings (default: 256)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_policy(ModelConfig()).eval() if args.random else load_policy(checkpoint_dir(args.policy))
    prompts = [model.tokenizer.encode(g.task) for g in generate_tasks(7, args.tasks)]
    print(f"policy: {'random' if args.random else args.policy}, {model.num_parameters():,} parameters, "
          f"{args.tasks} tasks, {args.threads} thread(s), cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    measure(model, prompts[:8], 8, True)  # warm-up
    print(f"{'setting':<26}{'seconds':>9}{'tokens':>9}{'tokens/s':>11}{'tasks/s':>10}")
    for batch, label in ((args.batch, f"batched ({args.batch})"), (1, "unbatched")):
        for use_cache in (True, False):
            n = len(prompts) if batch > 1 else min(len(prompts), 64)  # unbatched is slow: fewer tasks
            seconds, tokens = measure(model, prompts[:n], batch, use_cache)
            name = f"{label}, {'cache' if use_cache else 'no cache'}"
            print(f"{name:<26}{seconds:>9.2f}{tokens:>9}{tokens / seconds:>11.0f}{n / seconds:>10.1f}")
    n = min(len(prompts), 64)
    seconds, tokens = measure_sampling(model, prompts[:n], args.batch, 16)
    name = "16 samples per task, cache"
    print(f"{name:<26}{seconds:>9.2f}{tokens:>9}{tokens / seconds:>11.0f}{n / seconds:>10.1f}")


if __name__ == "__main__":
    main()
