"""Difficulty levels for learners that start from scratch, like MiniGrid's grid sizes.

Each level is a generator distribution plus the program length it allows. Level 1 is a
`find` task solved by one or two commands on a grid of at most 3x3; level 5 is the full
generated distribution. `gym.make("XLogo-Mini-Level3-v0")` and
`gym.make("XLogo-Mini-Generated-v0", level=3)` are the same env.

| level | tasks | grids | program (blocks) | `max_tokens` |
|---|---|---|---|---|
| 1 | find one item, nothing else on the grid | 2x2 to 3x3 | 1-2, no loops | 6 |
| 2 | find, with walls, forbidden cells and up to 2 other items | up to 4x4 | 1-4, no loops | 10 |
| 3 | find, find+forbid, findonly, collectall, sum | the real sizes | 1-6, loops | 16 |
| 4 | every goal, draw included; no code constraints | the real sizes | 1-10, loops | 24 |
| 5 | the full generated distribution (code constraints too) | the real sizes | 1-15 | 40 |

Every level masks the task's code constraints (`mask_constraints=True`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlogo_gym.errors import XLogoError

_SMALL = {"goal_weights": {"find": 1}, "random_size_prob": 0.0, "constraint_weights": {"none": 1},
          "loop_prob_items": 0.0, "loop_prob_draw": 0.0, "compact_prob": 0.0, "dense_find_prob": 0.0}


@dataclass(frozen=True)
class Level:
    """One difficulty level: what it holds, its generator settings and its program limit."""

    #: One line for tables and `--help`.
    description: str
    #: `GeneratorConfig` settings as JSON (the env's `generator` argument).
    generator: dict[str, Any]
    #: The env's `max_tokens`: the longest program of the level fits, `<end>` included.
    max_tokens: int


LEVELS: dict[int, Level] = {
    1: Level("find one item with one or two commands on a grid of at most 3x3",
             {**_SMALL, "size_weights": {"2x2": 1, "3x2": 1, "2x3": 1, "3x3": 3}, "max_cols": 3, "max_rows": 3,
              "min_blocks": 1, "max_blocks": 2, "mean_moves_find": 1.5, "wall_prob": 0.0, "forbidden_prob": 0.0,
              "missing_prob": 0.0, "max_distractors": 0}, 6),
    2: Level("find one item among obstacles and other items with up to four commands on a grid of at most 4x4",
             {**_SMALL, "size_weights": {"3x3": 3, "4x3": 1, "3x4": 1, "4x4": 2}, "max_cols": 4, "max_rows": 4,
              "min_blocks": 1, "max_blocks": 4, "mean_moves_find": 2.5, "max_distractors": 2}, 10),
    3: Level("item goals (find, forbid, findonly, collectall, sum) with up to six blocks, loops allowed",
             {"goal_weights": {"find": 4, "find+forbid": 2, "findonly": 1, "collectall": 1, "sum": 2},
              "constraint_weights": {"none": 1}, "max_blocks": 6, "mean_moves_find": 3.0,
              "mean_moves_collect": 3.5}, 16),
    4: Level("every goal, draw included, with up to ten blocks; no code constraints",
             {"constraint_weights": {"none": 1}, "max_blocks": 10}, 24),
    5: Level("the full generated distribution, code constraints included", {}, 40),
}


def level(number: Any) -> Level:
    """The level `number` (1..5); anything else raises XLogoError naming `level`."""
    if isinstance(number, bool) or not isinstance(number, int) or number not in LEVELS:
        raise XLogoError(f"level must be one of {', '.join(map(str, LEVELS))}, got {number!r}", "level")
    return LEVELS[number]
