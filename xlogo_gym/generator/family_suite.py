"""A held-out evaluation suite stratified by task family: the same number of tasks of each of FAMILIES.

Each family is drawn from a generator configuration that favours it (`FAMILY_SETTINGS`: its goal
structures, constraint kind, layout and probabilities), and only tasks whose `task_family` is that
family are kept. Every configuration is `heldout="only"`, so no training task (the default
generator, `heldout="exclude"`) ever shares a world with the suite, and it excludes the worlds of
`mini-85` and `synthetic-1k`, so the three suites share none either. Each family has its own random
stream (seeded by the seed and the family name), so the suite does not depend on the number of
workers. The shipped `synthetic-families` suite is, with GENERATOR_VERSION 2 (commit 0f6428d; it stays
fixed as a yardstick, and later generator versions draw other tasks from the same command)::

    xlogo-gym generate --families 50 --seed 2025 --suite-out xlogo_gym/data/synthetic-families.jsonl
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.generator.config import GeneratorConfig
from xlogo_gym.generator.core import GeneratedTask, generate_task
from xlogo_gym.generator.families import FAMILIES, task_family

_AT_MOST = {"constraint_weights": {"at_most": 1}, "loop_forcing_prob": 1.0}
_DONT_USE = {"constraint_weights": {"exactly": 1}, "dont_use_prob": 1.0}
#: Per family, the GeneratorConfig fields (beside heldout and exclude_suites) that favour it. Families
#: without a constraint in their name keep the default constraint mix, less the kinds that would
#: relabel them (a loop-forcing at_most limit or a "don't use" exactly).
FAMILY_SETTINGS: dict[str, dict[str, Any]] = {
    "draw": {"goal_weights": {"draw": 1}, "loop_forcing_prob": 0.0, "dont_use_prob": 0.0},
    "draw-at_most": {"goal_weights": {"draw": 1}, **_AT_MOST},
    "draw-dont_use": {"goal_weights": {"draw": 1}, **_DONT_USE},
    "find": {"goal_weights": {"find": 1}, "dense_find_prob": 0.0, "loop_forcing_prob": 0.0, "dont_use_prob": 0.0},
    "find-dense": {"goal_weights": {"find": 1}, "dense_find_prob": 1.0, "loop_forcing_prob": 0.0,
                   "dont_use_prob": 0.0},
    "find-at_most": {"goal_weights": {"find": 1}, **_AT_MOST},
    "find-dont_use": {"goal_weights": {"find": 1}, **_DONT_USE},
    "findonly": {"goal_weights": {"findonly": 1}},
    "find+forbid": {"goal_weights": {"find+forbid": 5, "find+forbid+forbid": 3}},
    "collectall": {"goal_weights": {"collectall": 3, "collectall+forbid": 3}},
    "concat": {"goal_weights": {"concat": 1}},
    "sum-four": {"goal_weights": {"sum": 1}, "sum_layout": {"four": 1}},
    "sum-full": {"goal_weights": {"sum": 1}, "sum_layout": {"full": 1}},
    "sum-classic": {"goal_weights": {"sum": 1}, "sum_layout": {"classic": 1}},
}
#: Suites whose worlds the family suite never holds (it is held out from training by construction).
EXCLUDED_SUITES = ("mini-85", "synthetic-1k")
#: Attempts per kept task before `family_tasks` gives up (the settings do not lead to the family).
MAX_TRIES_PER_TASK = 200


def family_config(family: str) -> GeneratorConfig:
    """The held-out-only generator configuration that favours `family` (see FAMILY_SETTINGS)."""
    if family not in FAMILY_SETTINGS:
        raise XLogoError(f"unknown family {family!r} (expected one of {', '.join(FAMILIES)})", "family")
    return replace(GeneratorConfig(heldout="only", exclude_suites=EXCLUDED_SUITES), **FAMILY_SETTINGS[family])


def family_tasks(family: str, count: int, seed: int) -> list[GeneratedTask]:
    """`count` distinct held-out tasks of `family`, the same ones for the same seed."""
    rng = random.Random(f"xlogo-gym/families/{seed}/{family}")
    config = family_config(family)
    kept: dict[str, GeneratedTask] = {}
    tries = 0
    while len(kept) < count:
        if tries == MAX_TRIES_PER_TASK * count:
            raise XLogoError(f"only {len(kept)} of {count} tasks of family {family!r} in {tries} tries", "family")
        tries += 1
        generated = generate_task(rng, config)
        if task_family(generated.task) == family:
            kept.setdefault(str(generated.task.id), generated)
    return list(kept.values())


def _family_job(job: tuple[str, int, int]) -> list[GeneratedTask]:
    return family_tasks(*job)


def family_suite(per_family: int, seed: int, workers: int = 1) -> Iterator[GeneratedTask]:
    """`per_family` tasks of every family of FAMILIES, family by family in FAMILIES order.

    Families are computed by `workers` processes (1: in-process); the output does not depend on it.
    """
    if per_family < 0:
        raise XLogoError(f"need a count per family >= 0, got {per_family}", "per_family")
    jobs = [(family, per_family, seed) for family in FAMILIES]
    if workers <= 1:
        for job in jobs:
            yield from _family_job(job)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    with ctx.Pool(min(workers, len(jobs))) as pool:
        for tasks in pool.imap(_family_job, jobs):
            yield from tasks

