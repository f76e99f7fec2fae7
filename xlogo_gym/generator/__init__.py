"""The synthetic task generator: natural programs first, then verified tasks built around their traces.

    >>> import random
    >>> from xlogo_gym import execute
    >>> from xlogo_gym.generator import GeneratorConfig, generate_task
    >>> g = generate_task(random.Random(0), GeneratorConfig())
    >>> execute(g.task, g.program).success
    True

Pipeline of one task (`core.generate_task`, about 0.5 ms):

1. `programs`: a natural program is written on an open grid (length, loops and nesting, pen
   colours; for a task with a code constraint often a single loop), fitting a grid size drawn
   from the real sizes;
2. `worlds`: its trace is placed on the grid; walls, forbidden and missing tiles go where the
   trace never passes, and for find goals the shorter routes are closed;
3. `goals`: a goal structure puts its items on or off the trace and says it in English;
4. `constraints`: at_most / exactly / start_by derived from the program;
5. the emulator must accept the program (and reject the empty one); `identity` hashes the
   task, de-duplicates it and keeps the held-out bucket for evaluation only.

`generate_tasks(seed, count, config)` streams distinct tasks reproducibly (the same stream
`xlogo-gym generate` writes to shards, see `xlogo_gym.dataset`); `GeneratorConfig` holds every
knob; `is_heldout(task)` tells the evaluation-only tasks apart.
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
from xlogo_gym.generator.identity import HELDOUT_MODULUS, canonical_json, is_heldout, task_hash, world_hash

__all__ = ["CHUNK_SIZE", "GENERATOR_VERSION", "GOAL_STRUCTURES", "HELDOUT_MODULUS", "GeneratedTask", "GeneratorConfig",
           "canonical_json", "generate_chunk", "generate_task", "generate_tasks", "is_heldout", "task_hash",
           "world_hash"]
