"""PPO learning check: greedy success on tasks the supervised policy fails, before and after PPO on them.

    python benchmarks/bench_ppo_learning.py                  # 64 failed tasks, 40,960 steps
    python benchmarks/bench_ppo_learning.py --tasks 32 --steps 20480 --baseline value

Generates tasks, keeps the first `--tasks` that the checkpoint's greedy decoding fails, and runs
`train_ppo` with those tasks as both the pool and the evaluation set. It measures whether the
reward signal, the advantages and the update move the policy where it is trained (the
can-it-fit-what-it-sees check of RL code), not generalisation: that is `train-ppo` with
`xlogo-gym evaluate` on the held-out suites. Prints greedy success after each evaluation.
"""

from __future__ import annotations

import argparse
import tempfile

from agents.policy.agent import load_agent
from agents.policy.checkpoint import checkpoint_dir
from agents.policy.config import SFTConfig
from agents.policy.data import gather_examples
from agents.ppo.config import BASELINES, PPOConfig
from agents.ppo.train import train_ppo
from xlogo_gym.emulator import execute
from xlogo_gym.evaluation import AgentFailure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="default", help="supervised policy to start from")
    parser.add_argument("--tasks", type=int, default=64, help="failed tasks to train on")
    parser.add_argument("--steps", type=int, default=40_960, help="PPO env steps")
    parser.add_argument("--baseline", choices=BASELINES, default="group", help="advantage baseline")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()

    agent = load_agent(args.checkpoint)
    candidates = gather_examples(SFTConfig(seed=5, generate=20 * args.tasks, exclude_suites=[]))
    programs = agent.propose([e.task for e in candidates])
    failed = [e for e, p in zip(candidates, programs, strict=True)
              if not isinstance(p[0], AgentFailure) and not execute(e.task, p[0]).success]
    failed = failed[:args.tasks]
    config = PPOConfig(out=tempfile.mkdtemp(prefix="bench-ppo-learning-"), checkpoint=checkpoint_dir(args.checkpoint),
                       total_steps=args.steps, baseline=args.baseline, group_size=8, lr=args.lr, envs=16,
                       n_steps=64, epochs=4, batch_size=256, curriculum="uniform", eval_every=5, kl_coef=0.02,
                       threads=args.threads, device="cpu")
    result = train_ppo(config, failed, failed)
    print(f"{len(failed)} tasks the greedy policy failed, {result['steps']} PPO steps ({args.baseline} baseline, "
          f"lr {args.lr}), {result['minutes']} min")
    print(f"greedy success on them: {result['greedy_success_before']:.3f} before, {result['greedy_success']:.3f} "
          f"after (best {result['best_greedy_success']:.3f})")


if __name__ == "__main__":
    main()
