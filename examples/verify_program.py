"""Build a task in code, run programs on it, and read the verdicts (core API only)."""

from __future__ import annotations

from xlogo_gym import Program, Task, execute

task = Task.from_json({
    "turtle": {"x": 0, "y": 2, "direction": 0},
    "tiles": [{"x": x, "y": y, "allowed": (x, y) != (1, 1), "walls": {}} for y in range(3) for x in range(3)],
    "items": [{"x": 2, "y": 0, "name": "strawberry", "color": "red", "count": 1},
              {"x": 0, "y": 0, "name": "lemon", "color": "yellow", "count": 1}],
    "lines": [],
    "goal": [{"name": "find", "specs": [[[{"name": "strawberry", "neg": 0}]]]},
             {"name": "forbid", "specs": [[[{"name": "lemon", "neg": 0}]]]}],
    "constraints": [{"at_most": {"all": 6}}],
    "description": "Find the strawberry without the lemon, with at most 6 commands.",
})

CANDIDATES = ("fd fd rt fd fd", "fd rt fd", "rt fd fd lt fd", "rt fd fd fd lt fd fd",
              "rt repeat(2){ fd } lt repeat(2){ fd }")
for text in CANDIDATES:
    verdict = execute(task, Program.parse(text))
    print(f"{text:<40} -> {verdict.explain()}")
    if verdict.success:
        print(Program.parse(text))
