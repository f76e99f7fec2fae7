"""`xlogo-gym play [TASK]`: a person plays tasks in a window (`xlogo_gym.play`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.errors import XLogoError
from xlogo_gym.suite import load_tasks


@dataclass
class PlayOptions:
    """Write a program by typing (fd, rt, repeat(3){ ... }) or clicking the blocks; Enter runs it and animates the
    turtle; Backspace deletes, Ctrl+Z undoes a block, PageUp/PageDown change the task, Esc quits."""

    task: str | None = field(default=None, metadata={POSITIONAL: True})
    """task JSON file (default: the tasks of --suite)"""
    suite: str = "mini-85"
    """suite name or path"""
    task_id: str | None = None
    """start at this task of the suite"""
    tile: int = 64
    """cell size in pixels"""
    fps: float = 4.0
    """animation speed in actions per second"""
    strict: bool = False
    """strict semantics instead of the reference quirks"""


def play(options: PlayOptions) -> int:
    from xlogo_gym.play import play as play_tasks

    tasks = load_tasks(options.task, None if options.task and os.path.exists(options.task) else options.suite)
    start = 0
    if options.task_id is not None:
        ids = [t[0] for t in tasks]
        if options.task_id not in ids:
            raise XLogoError(f"no task {options.task_id!r}", options.suite)
        start = ids.index(options.task_id)
    play_tasks(tasks, start, options.tile, options.fps, options.strict)
    return 0
