"""`xlogo-gym render TASK [PROGRAM]`: a picture, GIF or MP4 of a task and a program's run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from xlogo_gym.cli import POSITIONAL
from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import safe_file_name
from xlogo_gym.program import Program
from xlogo_gym.suite import load_tasks


@dataclass
class RenderOptions:
    """Draw TASK (and the run of PROGRAM) to --out: .png (the final picture), .gif or .mp4 (the run animated, one
    frame per action)."""

    task: str = field(metadata={POSITIONAL: True})
    """task JSON file, or a task id of --suite"""
    program: str | None = field(default=None, metadata={POSITIONAL: True})
    """program file (text or code JSON) or program text, e.g. 'fd rt fd'"""
    suite: str | None = None
    """suite name or path (mini-85, synthetic-1k, a file or directory)"""
    solution: bool = False
    """run the suite's reference program"""
    out: str | None = None
    """output file (.png, .gif or .mp4); default TASK.png, or TASK.gif with a program"""
    fps: float = 4.0
    """animation speed in frames (actions) per second"""
    tile: int = 48
    """cell size in pixels"""
    strict: bool = False
    """strict semantics instead of the reference quirks"""
    ansi: bool = False
    """also print the text view"""


def render(options: RenderOptions) -> int:
    from xlogo_gym.rendering import FORMATS, render_ansi, render_frames, render_rgb, save_frames

    (task_id, task, reference), *_ = load_tasks(options.task, options.suite)
    program: Program | None = None
    if options.solution:
        if reference is None:
            raise XLogoError(f"task {task_id!r} has no reference program", options.suite or options.task)
        program = reference
    elif options.program is not None:
        text = options.program
        program = Program.from_file(text) if os.path.isfile(text) else Program.parse(text)
    out = options.out or f"{safe_file_name(task_id)}{'.png' if program is None else '.gif'}"
    ext = os.path.splitext(out)[1].lower()
    if ext not in FORMATS:
        raise XLogoError(f"unknown output format {ext or '(none)'!r}: use {', '.join(FORMATS)}", out)
    if options.fps <= 0 or options.tile < 8:
        raise XLogoError("need --fps > 0 and --tile >= 8")
    if ext == ".png" or program is None:
        frames = [render_rgb(task, program, strict=options.strict, tile=options.tile)]
    else:
        frames = render_frames(task, program, strict=options.strict, tile=options.tile)
    save_frames(frames, out, options.fps)
    verdict = execute(task, program, options.strict) if program is not None else None
    if options.ansi:
        print(render_ansi(task, program, verdict, options.strict), end="")
    print(f"wrote {out} ({len(frames)} frame{'s' if len(frames) > 1 else ''}, "
          f"{frames[0].shape[1]}x{frames[0].shape[0]})" + (f"; {verdict.explain()}" if verdict else ""))
    return 0
