"""Progress bars: tqdm's when it is installed (any extra brings it), none in a base install."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> Any:
    """`tqdm(iterable, **options)`, or without tqdm a bar that shows nothing (the same methods)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar(iterable)
    return tqdm(iterable, **options)


class _NoBar:
    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable or ())

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *error: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None

    def close(self) -> None:
        return None
