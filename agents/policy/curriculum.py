"""Emulator-driven curriculum: resample training data towards the task families the model fails.

After each training round the model decodes (greedy) a pool of training tasks; the emulator
marks each success or failure. Every family (goal structure, task family of SEMANTICS.md §12.1,
constraint kind, program length, grid size, world and program features) gets a smoothed failure
rate, an example's difficulty is the mean failure rate of its families, and the next round draws
examples with probability

    p = (1 - mix) / N + mix * difficulty / sum(difficulty)

so `mix` of the budget goes where the model fails and the rest stays uniform (no forgetting).
This follows the published XLogoMiniProg method (fine-tune, then resample the training
distribution with emulator feedback), at the level of families rather than single tasks so
that the weights reach the examples outside the pool.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from xlogo_gym.generator import task_family
from xlogo_gym.program import Program
from xlogo_gym.skills import infer_skills
from xlogo_gym.task import Task


class HasFamilies(Protocol):
    families: tuple[str, ...]


def _length_bucket(blocks: int) -> str:
    return "1-3" if blocks <= 3 else "4-6" if blocks <= 6 else "7-10" if blocks <= 10 else "11+"


def task_families(task: Task, program: Program, record: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The families of a (task, solution) pair, as `kind:value` strings."""
    record = record or {}
    goal = record.get("goal_type") or "+".join(task.goal_names) or "empty"
    constraint = task.constraints.effective
    kinds = [k for k, v in (("at_most", constraint.at_most), ("exactly", constraint.exactly),
                            ("start_by", constraint.start_by)) if v]
    world = task.world
    area = world.cols * world.rows
    grid = "3x3" if (world.cols, world.rows) == (3, 3) else "small" if area <= 9 else "large"
    families = [f"goal:{goal}", f"family:{task_family(task)}", f"constraint:{'+'.join(kinds) or 'none'}",
                f"length:{_length_bucket(len(program))}", f"grid:{grid}"]
    families += [f"skill:{s}" for s in infer_skills(task, program)]
    if any(any(on for _, on in t.walls) for t in world.tiles):
        families.append("world:walls")
    if len(world.tiles) < world.cols * world.rows or any(not t.allowed for t in world.tiles):
        families.append("world:blocked-cells")
    if program.depth() > 1:
        families.append("program:nested-loops")
    return tuple(families)


def failure_rates(families: Sequence[tuple[str, ...]], success: Sequence[bool]) -> dict[str, float]:
    """Per family, the Laplace-smoothed failure rate over the pool: (fails + 1) / (n + 2)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for fams, ok in zip(families, success, strict=True):
        for f in fams:
            counts[f][0] += not ok
            counts[f][1] += 1
    return {f: (fails + 1) / (n + 2) for f, (fails, n) in counts.items()}


def sampling_weights(examples: Sequence[HasFamilies], rates: dict[str, float] | None, mix: float) -> np.ndarray:
    """Per-example sampling probabilities (sum 1): uniform when `rates` is None, else the mix above."""
    uniform = np.full(len(examples), 1.0 / len(examples))
    if rates is None:
        return uniform
    default = float(np.mean(list(rates.values()))) if rates else 0.5
    difficulty = np.array([np.mean([rates.get(f, default) for f in e.families]) for e in examples])
    return (1 - mix) * uniform + mix * difficulty / difficulty.sum()
