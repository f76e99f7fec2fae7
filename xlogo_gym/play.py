"""Play tasks by hand: `PlaySession` (the state, drawn as a numpy image) and `play` (its pygame loop).

`xlogo-gym play` runs it. The session holds the program as plain text: typed characters go in
as they are; the block buttons append a statement on its own line, indented inside open loops.
Enter (or the Run button) parses, judges and animates the program; everything is drawn with
`xlogo_gym.rendering`, and `xlogo_gym.window.Window` only shows the frames and reads events.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from xlogo_gym.emulator import Verdict, execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.task import Task
from xlogo_gym.world import PEN_COLORS

PANEL = 330  # width of the program panel
_CONTROLS_Y = 250  # panel height above the block buttons
_TOKEN = re.compile(r"repeat\s*\(\s*\d*\s*\)\s*\{|setpc\s*\(\s*\w*\s*\)|\S+")


@dataclass
class Button:
    label: str
    x: int
    y: int
    w: int
    h: int
    action: Callable[[], None]
    color: tuple[int, int, int] | None = None  # a swatch instead of a label

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


class PlaySession:
    """The state of `xlogo-gym play`, drawn as a numpy image (pygame only shows it and reads events).

    The program is plain text: typed characters go in as they are; the block buttons append a
    statement on its own line, indented inside open loops. `run()` parses, judges and animates.
    """

    def __init__(self, tasks: list[tuple[str, Task, Program | None]], start: int = 0, tile: int = 64,
                 fps: float = 4.0, strict: bool = False) -> None:
        if not tasks:
            raise XLogoError("no tasks to play")
        self.tasks, self.index, self.tile, self.fps, self.strict = tasks, start, tile, fps, strict
        self.text = ""
        self.repeat_times = 2
        self.message: tuple[str, tuple[int, int, int]] | None = None
        self.verdict: Verdict | None = None
        self._frames: list[np.ndarray] = []
        self._started = 0.0
        self.buttons = self._layout()

    @property
    def task(self) -> Task:
        return self.tasks[self.index][1]

    # -- editing -----------------------------------------------------------------------------
    def _edited(self) -> None:
        self.verdict, self._frames, self.message = None, [], None

    def type(self, chars: str) -> None:
        self.text += chars
        self._edited()

    def backspace(self) -> None:
        self.text = self.text[:-1]
        self._edited()

    def insert(self, statement: str) -> None:
        """Append one block on its own line, indented by the loops open at the end of the text."""
        depth = max(0, self.text.count("{") - self.text.count("}") - (statement == "}"))
        if self.text and not self.text.endswith("\n"):
            self.text += "\n"
        self.text += "  " * depth + statement + "\n"
        self._edited()

    def undo(self) -> None:
        """Remove the last statement (a command, `repeat(N){` or `}`)."""
        tokens = list(_TOKEN.finditer(self.text))
        self.text = self.text[:tokens[-1].start()] if tokens else ""
        self._edited()

    def clear(self) -> None:
        self.text = ""
        self._edited()

    def change_repeat(self, delta: int) -> None:
        self.repeat_times = min(12, max(1, self.repeat_times + delta))
        self.buttons = self._layout()

    def select(self, delta: int) -> None:
        self.index = (self.index + delta) % len(self.tasks)
        self.clear()

    # -- running -----------------------------------------------------------------------------
    def run(self, now: float | None = None) -> None:
        from xlogo_gym.rendering import SUCCESS, render_frames, verdict_line

        try:
            program = Program.parse(self.text)
        except XLogoError as err:
            self._edited()
            self.message = (f"Cannot run: {err}", (210, 0, 0))
            return
        self.verdict = execute(self.task, program, self.strict)
        self._frames = render_frames(self.task, program, strict=self.strict, tile=self.tile)
        self._started = time.monotonic() if now is None else now
        text, color = verdict_line(self.verdict)
        self.message = ("Solved! " + text if self.verdict.success else text, SUCCESS if self.verdict.success else color)

    def picture(self, now: float | None = None) -> np.ndarray:
        """The world: the task before a run, the animation frame during it, the end after it."""
        from xlogo_gym.rendering import render_rgb

        if not self._frames:
            return render_rgb(self.task, tile=self.tile)
        elapsed = (time.monotonic() if now is None else now) - self._started
        return self._frames[min(len(self._frames) - 1, int(elapsed * self.fps))]

    # -- drawing -----------------------------------------------------------------------------
    def _layout(self) -> list[Button]:
        from xlogo_gym.rendering import PEN_RGB

        buttons: list[Button] = []
        x0, y = 10, _CONTROLS_Y
        for i, cmd in enumerate(("fd", "bk", "lt", "rt")):
            buttons.append(Button(cmd, x0 + i * 78, y, 72, 30, partial(self.insert, cmd)))
        y += 38
        for i, pen in enumerate(PEN_COLORS):
            buttons.append(Button(f"setpc({pen})", x0 + i * 52, y, 46, 30,
                                  partial(self.insert, f"setpc({pen})"), PEN_RGB[pen]))
        y += 38
        n = self.repeat_times
        buttons += [Button(f"repeat({n})", x0, y, 128, 30, lambda: self.insert(f"repeat({self.repeat_times}){{")),
                    Button("-", x0 + 134, y, 30, 30, lambda: self.change_repeat(-1)),
                    Button("+", x0 + 170, y, 30, 30, lambda: self.change_repeat(1)),
                    Button("}", x0 + 206, y, 50, 30, lambda: self.insert("}"))]
        y += 38
        buttons += [Button("Run", x0, y, 96, 30, self.run), Button("Undo", x0 + 102, y, 96, 30, self.undo),
                    Button("Clear", x0 + 204, y, 96, 30, self.clear)]
        if len(self.tasks) > 1:
            y += 38
            buttons += [Button("< Prev", x0, y, 140, 30, lambda: self.select(-1)),
                        Button("Next >", x0 + 160, y, 140, 30, lambda: self.select(1))]
        return buttons

    def click(self, x: int, y: int, width: int) -> None:
        """A click at window coordinates; the panel sits right of the picture (`width` = picture width)."""
        for b in self.buttons:
            if b.contains(x - width, y):
                b.action()
                return

    def frame(self, now: float | None = None) -> np.ndarray:
        """The whole window: picture on the left; task, program, blocks and messages on the right."""
        from xlogo_gym.rendering import BACKGROUND, beside, draw_text, text_block

        picture = self.picture(now)
        top = np.full((_CONTROLS_Y, PANEL, 3), BACKGROUND, dtype=np.uint8)
        draw_text(top, 10, 10, f"Task {self.tasks[self.index][0]} ({self.index + 1}/{len(self.tasks)})"[:26])
        _outline(top, 8, 32, PANEL - 16, _CONTROLS_Y - 42)
        lines = self.text.split("\n")[-11:]  # the end of a long program
        for i, line in enumerate(lines):
            draw_text(top, 14, 38 + i * 18, line + ("_" if i == len(lines) - 1 else ""))
        controls = np.full((max(b.y + b.h for b in self.buttons) - _CONTROLS_Y + 8, PANEL, 3), BACKGROUND,
                           dtype=np.uint8)
        for b in self.buttons:
            y = b.y - _CONTROLS_Y
            controls[y:y + b.h, b.x:b.x + b.w] = b.color or (222, 228, 236)
            _outline(controls, b.x, y, b.w, b.h)
            if b.color is None:
                draw_text(controls, b.x + (b.w - len(b.label) * 12) // 2, y + 8, b.label)
        footer = [self.message] if self.message else []
        footer.append(("Type or click blocks. Enter: run. Backspace: delete. Ctrl+Z: undo. "
                       "PgUp/PgDn: task. Esc: quit.", (90, 90, 90)))
        return beside(picture, np.concatenate([top, controls, text_block(footer, PANEL)], axis=0))


def _outline(img: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    from xlogo_gym.rendering import GRID_LINE

    img[y, x:x + w] = img[y + h - 1, x:x + w] = GRID_LINE
    img[y:y + h, x] = img[y:y + h, x + w - 1] = GRID_LINE


def play(tasks: list[tuple[str, Task, Program | None]], start: int = 0, tile: int = 64, fps: float = 4.0,
         strict: bool = False) -> None:
    """Open a window on `tasks` (id, task, reference program), at `tasks[start]`, until it is closed or Esc."""
    session = PlaySession(tasks, start, tile, fps, strict)
    from xlogo_gym.window import Window

    try:
        window = Window("xlogo-gym play")
    except ImportError:
        raise XLogoError('play needs pygame: pip install "xlogo-gym[render]"') from None
    import pygame

    pygame.key.set_repeat(400, 40)
    try:
        while True:
            frame = session.frame()
            window.show(frame)
            for event in window.events():
                if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                    return
                if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
                    session.click(event.pos[0], event.pos[1], frame.shape[1] - PANEL)
                elif event.type == pygame.KEYDOWN:
                    if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER) and not event.mod & pygame.KMOD_SHIFT:
                        session.run()
                    elif event.key == pygame.K_RETURN:
                        session.type("\n")
                    elif event.key == pygame.K_BACKSPACE:
                        session.backspace()
                    elif event.key == pygame.K_z and event.mod & pygame.KMOD_CTRL:
                        session.undo()
                    elif event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN):
                        session.select(-1 if event.key == pygame.K_PAGEUP else 1)
                    elif event.unicode and event.unicode.isprintable():
                        session.type(event.unicode)
            window.tick(30)
    finally:
        window.close()
