"""The real XLogoMiniProg benchmark: its four public asset files, downloaded, checked and cached.

`download_benchmark()` (the command `xlogo-gym benchmark download`) fetches the worlds, goals,
constraints and reference codes of the XLogoOnline-Mini tasks from the authors' repository at a
fixed revision, checks each file's sha256 and writes it atomically into the cache directory
(`XLOGO_GYM_HOME`, else the user cache directory). `source_dir` installs from a local copy,
checked the same way; `base_url` (or `XLOGO_GYM_BENCHMARK_URL`) replaces everything before
`/src/` of the URLs, for mirrors. Nothing is downloaded at import time.

Once installed, `load_suite("xlogominiprog-85")` (the benchmark: chapters 1-4 and 6-11) and
`load_suite("xlogominiprog-92")` (every task with a world, a goal and constraints) read them
(`BENCHMARK_SUITES`); before, they raise an error that says how to download them.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import atomic_path

log = logging.getLogger(__name__)

#: The four public asset files of the reference tasks (the reference format `load_suite` reads from a directory).
REFERENCE_FILES = {"worlds": "xlogomini_worlds.json", "goals": "xlogomini_goals.json",
                   "constraints": "xlogomini_constraints.json", "codes": "xlogomini_codes.json"}
REVISION = "0a0d07f3046c5fc3094d1750049e7ed2fb4dc3bb"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/machine-teaching-group/aied2024-xlogo-tasksyn/{REVISION}"
ASSET_DIR = "src/xlogomini/assets"
#: sha256 of each asset file at REVISION.
CHECKSUMS = {
    "worlds": "00280ed7772043d2f343f6d361afba322e233f44f4b70b4ddc2a79506fae27e9",
    "goals": "6a74585cb09b1ca1274205ad7658a7f515064922fb12c2941a3d9913aaaddbf7",
    "constraints": "159b2a7e2228cfff86659d12da6b3e103b31b342cab09cbfb8d1fbbbb2682768",
    "codes": "221da4a4669e2969d57228210279d1532adac3adf53e490fe0a72f22b361d4af",
}
ATTEMPTS = 3
TIMEOUT_SECONDS = 30.0
_CHUNK = 1 << 16


def home_dir() -> str:
    """`XLOGO_GYM_HOME`, else the user cache directory's `xlogo-gym` folder."""
    home = os.environ.get("XLOGO_GYM_HOME")
    if home:
        return home
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "xlogo-gym")


def benchmark_dir() -> str:
    """Where the asset files live once downloaded."""
    return os.path.join(home_dir(), "xlogominiprog", REVISION[:12])


def is_installed() -> bool:
    return all(os.path.isfile(os.path.join(benchmark_dir(), name)) for name in REFERENCE_FILES.values())


def require_installed() -> str:
    """The benchmark directory, or a clear error saying how to download the files."""
    if not is_installed():
        raise XLogoError("the XLogoMiniProg asset files are not downloaded; run `xlogo-gym benchmark download` "
                         "(or `xlogo-gym benchmark download --from DIR` with a local copy)", benchmark_dir())
    return benchmark_dir()


def asset_url(base_url: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{ASSET_DIR}/{REFERENCE_FILES[name]}"


def download_benchmark(source_dir: str | None = None, base_url: str | None = None,
                       checksums: Mapping[str, str] | None = None, progress: bool = True) -> str:
    """Fetch (or copy from `source_dir`), check and install the four asset files; returns their directory.

    `checksums` replaces `CHECKSUMS` (for tests). Files already installed with the right hash are
    kept. A broken transfer is retried (ATTEMPTS in all); a checksum mismatch, an HTTP error, no
    network or a full disk raise XLogoError naming the file.
    """
    checksums = dict(checksums or CHECKSUMS)
    base = base_url or os.environ.get("XLOGO_GYM_BENCHMARK_URL") or DEFAULT_BASE_URL
    target = benchmark_dir()
    for name, filename in REFERENCE_FILES.items():
        path = os.path.join(target, filename)
        if os.path.isfile(path) and hashlib.sha256(_read_local(path)).hexdigest() == checksums[name]:
            log.info("%s already installed", path)
            continue
        source = os.path.join(source_dir, filename) if source_dir else asset_url(base, name)
        data = _read_local(source) if source_dir else _fetch(source, progress)
        digest = hashlib.sha256(data).hexdigest()
        if digest != checksums[name]:
            raise XLogoError(f"checksum mismatch: expected sha256 {checksums[name]}, got {digest}", source)
        _install(path, data)
        log.info("installed %s", path)
    return target


def _read_local(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise XLogoError("file not found in the local copy", path) from None
    except OSError as err:
        raise XLogoError(f"cannot read: {err.strerror}", path) from None


def _fetch(url: str, progress: bool) -> bytes:
    """The body at `url`, retried after a broken transfer; HTTP errors are final."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _fetch_once(url, progress)
        except urllib.error.HTTPError as err:
            raise XLogoError(f"HTTP error {err.code} ({err.reason})", url) from None
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            reason = getattr(err, "reason", err)
            if attempt == ATTEMPTS:
                raise XLogoError(f"download failed after {ATTEMPTS} attempts ({reason}); check the network, or "
                                 "use --from DIR with a local copy", url) from None
            log.warning("download of %s broke (%s); retrying", url, reason)
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def _fetch_once(url: str, progress: bool) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        size = int(response.headers.get("Content-Length") or 0) or None
        bar = _progress_bar(os.path.basename(url), size) if progress else None
        chunks = []
        received = 0
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
    if size is not None and received != size:
        raise OSError(f"received {received} of {size} bytes")
    return b"".join(chunks)


def _progress_bar(name: str, size: int | None) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # the base install has no tqdm: log instead
        log.info("downloading %s", name)
        return None
    return tqdm(total=size, unit="B", unit_scale=True, desc=name, leave=False)


def _install(path: str, data: bytes) -> None:
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise XLogoError(f"disk full: cannot write {len(data):,} bytes", path) from None
        raise XLogoError(f"cannot write: {err.strerror}", path) from None



def _ids(*parts: str | tuple[int, int]) -> tuple[str, ...]:
    out: list[str] = []
    for part in parts:
        out += [str(n) for n in range(part[0], part[1] + 1)] if isinstance(part, tuple) else [part]
    return tuple(out)


#: The 85 benchmark tasks (chapters 1-4 and 6-11; the reference's XLOGO_TASK_IDS).
BENCHMARK_IDS = _ids((1, 8), "9a", "9b", "10a", "10b", "11", "12a", "12b", (13, 16), "17a", "17b", "18a", "18b",
                     "19", (20, 39), (50, 67), (70, 73), (80, 87), (90, 94), (100, 105))
#: The suites the downloaded files make: name -> task ids (None: every task with a world, a goal and constraints).
BENCHMARK_SUITES: dict[str, tuple[str, ...] | None] = {"xlogominiprog-85": BENCHMARK_IDS, "xlogominiprog-92": None}

