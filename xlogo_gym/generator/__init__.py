"""The synthetic task generator: natural programs first, then verified tasks built around their traces.

    >>> import random
    >>> from xlogo_gym import execute
    >>> from xlogo_gym.generator import GeneratorConfig, generate_task
    >>> g = generate_task(random.Random(0), GeneratorConfig())
    >>> execute(g.task, g.program).success
    True

Pipeline of one task (`core.generate_task`, under 1 ms). The goal structure and constraint
kind are drawn first and kept while attempts fail, so the mix stays the configured one:

1. `programs`: a natural program is written on an open grid (length, loops and nesting, pen
   colours; for a task with a code constraint often a single loop, for at_most mostly),
   fitting a grid size drawn from the real sizes, and folded into loops; for a "don't use"
   constraint it is mirrored (fd<->bk, lt<->rt: `programs.mirror`) to avoid the banned commands;
2. `worlds`: its trace is placed on the grid; walls, forbidden and missing tiles go where the
   trace never passes, and for find goals the shorter routes are closed;
3. `goals`: a goal structure puts its items on or off the trace and says it in English; logic
   worlds are often dense (every free cell filled from one `goals.Palette` after the obstacles),
   sum worlds are laid out "four", "full" or "classic";
4. `constraints`: at_most / exactly / start_by derived from the program; an at_most limit must
   mostly be loop-forcing (`families.loop_free_bound` above the limit), and exactly is mostly
   "don't use";
5. the emulator must accept the program (and reject the empty one); `identity` hashes the
   task, de-duplicates it and keeps the held-out bucket for evaluation only. Each task's
   `features["family"]` is its `task_family` (one of FAMILIES, §12.1).

`generate_tasks(seed, count, config)` streams distinct tasks reproducibly (the same stream
`xlogo-gym generate` writes to shards, see `xlogo_gym.dataset`); `GeneratorConfig` holds every
knob; `is_heldout(task)` tells the evaluation-only tasks apart; `task_family(task)` labels any
task, generated or real; `family_suite(per_family, seed)` draws as many held-out tasks of every
family (the `synthetic-families` suite, see `xlogo_gym.generator.family_suite`).
"""

from __future__ import annotations

from xlogo_gym.generator.config import GOAL_STRUCTURES, GeneratorConfig
from xlogo_gym.generator.core import (
    CHUNK_SIZE,
    GENERATOR_VERSION,
    GeneratedTask,
    generate_chunk,
    generate_task,
    generate_tasks,
)
from xlogo_gym.generator.families import FAMILIES, loop_forcing, loop_free_bound, task_family
from xlogo_gym.generator.family_suite import family_config, family_suite
from xlogo_gym.generator.identity import (
    EVALUATION_SUITES,
    HELDOUT_MODULUS,
    canonical_json,
    is_heldout,
    suite_worlds,
    task_hash,
    training_exclusion,
    world_hash,
)

__all__ = ["CHUNK_SIZE", "EVALUATION_SUITES", "FAMILIES", "GENERATOR_VERSION", "GOAL_STRUCTURES", "HELDOUT_MODULUS",
           "GeneratedTask", "GeneratorConfig", "canonical_json", "family_config", "family_suite", "generate_chunk",
           "generate_task", "generate_tasks", "is_heldout", "loop_free_bound", "loop_forcing", "suite_worlds",
           "task_family", "task_hash", "training_exclusion", "world_hash"]
