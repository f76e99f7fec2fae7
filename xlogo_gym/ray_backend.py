"""Ray as a backend: the same work as a local process pool, as Ray tasks spread over a cluster.

`xlogo-gym generate --backend ray` cuts the task stream into the same chunks as the local
backend (`xlogo_gym.dataset`), computes each chunk as a Ray task and reads the results back in
chunk order, so the shards are byte-identical to a local run and resume the same way.
`xlogo-gym evaluate --backend ray` (`agents.ray_agent`) joins the cluster with `connect` too. Ray
is optional (`pip install "xlogo-gym[ray]"`) and imported only when asked for.

    ray start --head                      # on the head node; `ray start --address HEAD:6379` on the others
    xlogo-gym generate --count 10000000 --out data/big --backend ray --address auto

Every node needs xlogo-gym installed (the same version): Ray ships the work as references to
its functions. Without `--address` (and without `RAY_ADDRESS`) a local Ray starts on this
machine and stops at the end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from xlogo_gym.errors import XLogoError

if TYPE_CHECKING:
    from xlogo_gym.generator import GeneratedTask

#: How to get Ray, for error messages.
RAY_INSTALL = 'pip install "xlogo-gym[ray]"'
#: The backends of `generate` and `evaluate`.
BACKENDS = ("local", "ray")

J = TypeVar("J")
R = TypeVar("R")


def import_ray() -> Any:
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(f"the Ray backend needs Ray ({err}); install it with `{RAY_INSTALL}`") from err
    return ray


def check_backend(backend: str, where: str = "--backend") -> None:
    """Raise XLogoError unless `backend` is one of BACKENDS and, for `ray`, Ray is installed."""
    if backend not in BACKENDS:
        raise XLogoError(f"expected one of {', '.join(BACKENDS)}, got {backend!r}", where)
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        raise XLogoError(f"the Ray backend needs Ray: {RAY_INSTALL}", where)


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at `address` (`auto`: the one `ray start` started on this machine; None:
    `RAY_ADDRESS`, else a new local Ray with `num_cpus` CPUs), unless Ray is already initialised.

    Returns whether this call started the connection (then `ray.shutdown()` is the caller's).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    local = address is None and not os.environ.get("RAY_ADDRESS")
    options: dict[str, Any] = {"num_cpus": num_cpus, "include_dashboard": False} if local else {}
    try:
        ray.init(address=address, logging_level=logging.WARNING, **options)
    except ConnectionError as err:
        raise XLogoError(f"cannot reach the Ray cluster ({err}); start one with `ray start --head`",
                         address or os.environ.get("RAY_ADDRESS", "RAY_ADDRESS")) from None
    return True


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """`connect(address)` for the block; shuts Ray down at the end if the block started it. Yields `ray`."""
    started = connect(address, num_cpus)
    try:
        yield import_ray()
    finally:
        if started:
            import_ray().shutdown()


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (at least 1)."""
    return max(1, int(import_ray().cluster_resources().get("CPU", 1)))


def ray_map(function: Callable[[J], R], jobs: Iterable[J], window: int | None = None) -> Generator[R, None, None]:
    """`function(job)` for every job as Ray tasks, yielded in the order of `jobs`.

    At most `window` tasks (None: twice the cluster's CPUs) are in flight, so `jobs` may be
    endless. `function` must be importable on every node (a module-level function of an installed
    package). Closing the generator cancels the tasks still in flight. Connects (`connect()`) if
    Ray is not initialised yet.
    """
    ray = import_ray()
    connect()
    window = window or 2 * cluster_cpus()
    remote = ray.remote(num_cpus=1)(function)
    pending: deque[Any] = deque()
    todo = iter(jobs)
    try:
        while True:
            for job in todo:
                pending.append(remote.remote(job))
                if len(pending) >= window:
                    break
            if not pending:
                return
            yield ray.get(pending.popleft())
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref)


def ray_family_suite(per_family: int, seed: int) -> Iterator[GeneratedTask]:
    """`xlogo_gym.generator.family_suite(per_family, seed)` with one Ray task per family: the same tasks in the
    same order."""
    from xlogo_gym.generator import FAMILIES
    from xlogo_gym.generator.family_suite import _family_job

    if per_family < 0:
        raise XLogoError(f"need a count per family >= 0, got {per_family}", "per_family")
    for tasks in ray_map(_family_job, [(family, per_family, seed) for family in FAMILIES]):
        yield from tasks
