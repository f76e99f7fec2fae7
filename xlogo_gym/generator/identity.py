"""Task identity: canonical JSON, content hashes, and the held-out bucket that keeps evaluation disjoint.

Two tasks are *the same* when their canonical JSON is equal: tiles, items and walls in a fixed
order, line endpoints sorted, the effective constraints (§2.7), no id and no description.
`task_hash` hashes all of it (used for de-duplication and as the generated task id).

**Disjointness.** `is_heldout` hashes only the *world* (turtle, tiles, items, lines) and puts
one world in HELDOUT_MODULUS (64) into an evaluation-only bucket. The default generator
(`GeneratorConfig.heldout="exclude"`) never emits such a task, and the `synthetic-1k` suite is
made only of them (`heldout="only"`), so no training task shares even its world with an
evaluation task, whatever seed, configuration or generator version made the training data.
The generator also drops any task whose world equals one of a shipped suite's
(`GeneratorConfig.exclude_suites`, default `mini-85`).

**Training data.** This module is the one place that says which tasks a learner may train on:
`training_exclusion(task, worlds)` keeps out the held-out bucket and every task whose world is
the world of a task of an evaluation suite (`suite_worlds(EVALUATION_SUITES)`); supervised
training and PPO filter their data with it, and the generator excludes suites by the same key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.suite import iter_suite
from xlogo_gym.task import Task

log = logging.getLogger(__name__)

HELDOUT_MODULUS = 64
#: The suites that measure agents: no task of training data shares a world with theirs.
EVALUATION_SUITES = ("synthetic-1k", "mini-85", "synthetic-families")


def _canonical_world(task: Task) -> dict[str, Any]:
    w = task.world
    return {
        "turtle": [w.turtle.x, w.turtle.y, w.turtle.direction],
        "tiles": sorted([t.y, t.x, t.allowed, sorted(s for s, on in t.walls if on), t.exist is not False]
                        for t in w.tiles),
        "items": sorted([i.y, i.x, i.name, i.color, i.count] for i in w.items),
        "lines": [sorted([[ln.x1, ln.y1], [ln.x2, ln.y2]]) + [ln.color] for ln in w.lines],
    }


def canonical_json(task: Task, world_only: bool = False) -> str:
    """The task (or only its world) as canonical JSON text."""
    obj = _canonical_world(task)
    if not world_only:
        obj["goal"] = [o.to_json() for o in task.goal]
        obj["constraints"] = task.constraints.effective.to_json()
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def task_hash(task: Task) -> str:
    """16 hex digits identifying the task up to id, description and JSON layout."""
    return _digest(canonical_json(task))


def world_hash(task: Task) -> str:
    """16 hex digits identifying the task's world (turtle, tiles, items, lines)."""
    return _digest(canonical_json(task, world_only=True))


def is_heldout(task: Task) -> bool:
    """Whether the task's world is in the evaluation-only bucket (one world in HELDOUT_MODULUS)."""
    return heldout_world(world_hash(task))


def heldout_world(digest: str) -> bool:
    """`is_heldout` for a world hash already computed."""
    return int(digest, 16) % HELDOUT_MODULUS == 0


def suite_worlds(suites: Iterable[str]) -> frozenset[str]:
    """The world hashes of the tasks of `suites` (names or paths); a suite that cannot be read is
    logged and skipped (for example one not built yet)."""
    worlds: set[str] = set()
    for name in suites:
        try:
            worlds.update(world_hash(entry.task) for entry in iter_suite(name))
        except XLogoError as err:
            log.warning("suite %s is not excluded: %s", name, err)
    return frozenset(worlds)


def training_exclusion(task: Task, worlds: frozenset[str] = frozenset()) -> str | None:
    """Why `task` must stay out of training data, or None: its world is held out (`is_heldout`) or is
    one of `worlds` (`suite_worlds` of the evaluation suites)."""
    digest = world_hash(task)
    if heldout_world(digest):
        return "in the held-out bucket of evaluation worlds"
    if digest in worlds:
        return "in an evaluation suite"
    return None
