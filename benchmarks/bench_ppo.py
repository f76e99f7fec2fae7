"""PPO training speed: env-steps/s, and where the time goes (rollout, KL to the supervised policy, update).

    python benchmarks/bench_ppo.py                      # the shipped `default` checkpoint
    python benchmarks/bench_ppo.py --checkpoint PATH --envs 16 --n-steps 32 --rollouts 4

Runs `MaskablePPO(XLogoTransformerPolicy)` as `train-ppo` does (same envs, callbacks and
settings, no evaluation or checkpoints) on a small generated pool and prints the figures.
Without the checkpoint it uses a freshly initialised policy of the default architecture
(its episodes run to the token limit, so its figures are only indicative).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from stable_baselines3.common.callbacks import CallbackList

from agents.policy.checkpoint import checkpoint_dir
from agents.policy.config import ModelConfig, SFTConfig
from agents.policy.data import gather_examples
from agents.policy.model import build_policy, load_policy, save_policy
from agents.policy.tokenizer import DomainTokenizer
from agents.ppo.config import PPOConfig
from agents.ppo.policy import transformer_of
from agents.ppo.train import TrainingMonitor, build_ppo, make_curriculum, make_vec_env, rollout_advantages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="default", help="policy to train (default: the shipped one)")
    parser.add_argument("--envs", type=int, default=PPOConfig.envs, help="vectorised envs")
    parser.add_argument("--n-steps", type=int, default=PPOConfig.n_steps, help="steps per env per rollout")
    parser.add_argument("--rollouts", type=int, default=3, help="rollouts (and updates) to time")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checkpoint = checkpoint_dir(args.checkpoint)
    if not os.path.isdir(checkpoint):
        checkpoint = tempfile.mkdtemp(prefix="bench-ppo-")
        save_policy(build_policy(ModelConfig()), checkpoint)
        print(f"no checkpoint {args.checkpoint!r}: timing a fresh policy of the default architecture")
    config = PPOConfig(out=tempfile.mkdtemp(prefix="bench-ppo-out-"), checkpoint=checkpoint, envs=args.envs,
                       n_steps=args.n_steps, total_steps=args.rollouts * args.envs * args.n_steps,
                       eval_every=10**9, checkpoint_minutes=1e9,
                       threads=args.threads, device="cpu")
    pool = gather_examples(SFTConfig(seed=7, generate=1000, exclude_suites=[]))
    curriculum = make_curriculum(pool, config)
    ppo = build_ppo(config, make_vec_env(curriculum, config.envs, config.reward, config.seed,
                                              DomainTokenizer.load(checkpoint)), "cpu")
    kl = rollout_advantages(config, load_policy(checkpoint))
    monitor = TrainingMonitor(config, curriculum, [], {}, time.monotonic())
    started = time.perf_counter()
    ppo.learn(config.total_steps, callback=CallbackList([kl, monitor]))
    wall = time.perf_counter() - started
    steps = ppo.num_timesteps
    collect = monitor.rollout_seconds - kl.seconds
    print(f"policy: {checkpoint} ({transformer_of(ppo).num_parameters():,} parameters), {config.envs} envs, "
          f"{config.n_steps} steps per env per rollout, {args.threads} threads")
    print(f"env-steps/s overall:        {steps / wall:8.1f}  ({steps} steps in {wall:.1f} s)")
    print(f"env-steps/s while rolling:  {steps / collect:8.1f}")
    print(f"time split: rollout {collect / wall:.0%}, KL to supervised {kl.seconds / wall:.0%}, "
          f"update {monitor.update_seconds / wall:.0%}, "
          f"other {1 - (monitor.rollout_seconds + monitor.update_seconds) / wall:.0%}")
    episodes = list(ppo.ep_info_buffer or ())
    lengths = [e["l"] for e in episodes]
    print(f"mean episode length: {sum(lengths) / max(1, len(lengths)):.1f} tokens; "
          f"sampled success while training: {sum(e['r'] for e in episodes) / max(1, len(lengths)):.3f}")


if __name__ == "__main__":
    main()
