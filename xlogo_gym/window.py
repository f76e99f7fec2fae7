"""The pygame window that shows rendered frames: the env's `human` mode and `xlogo-gym play` share it.

Frames are drawn with numpy (`xlogo_gym.rendering`); the window only shows them and hands out
the events. pygame is imported when a window opens, so an ImportError there means the `render`
extra is missing (`pip install "xlogo-gym[render]"`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Window:
    """A window titled `title` that resizes itself to each frame it shows."""

    def __init__(self, title: str) -> None:
        import pygame

        self._pygame = pygame
        pygame.display.init()
        pygame.display.set_caption(title)
        self._clock = pygame.time.Clock()
        self._surface: Any = None

    def show(self, frame: np.ndarray, fps: float | None = None) -> None:
        """Show an (H, W, 3) uint8 frame; with `fps`, then wait so that frames come at most `fps` a second."""
        pygame = self._pygame
        size = (frame.shape[1], frame.shape[0])
        if self._surface is None or self._surface.get_size() != size:
            self._surface = pygame.display.set_mode(size)
        pygame.event.pump()
        self._surface.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
        pygame.display.flip()
        if fps is not None:
            self.tick(fps)

    def events(self) -> list[Any]:
        """The pygame events since the last call."""
        return list(self._pygame.event.get())

    def tick(self, fps: float) -> None:
        """Wait so that calls come at most `fps` a second."""
        self._clock.tick(fps)

    def close(self) -> None:
        self._pygame.display.quit()
        self._surface = None
