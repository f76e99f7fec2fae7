"""Suites: lists of tasks with optional reference programs and skill tags."""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from xlogo_gym.benchmark import BENCHMARK_SUITES, REFERENCE_FILES, require_installed
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import atomic_path, parse_json, read_json
from xlogo_gym.program import Program
from xlogo_gym.skills import infer_skills
from xlogo_gym.task import Task

log = logging.getLogger(__name__)



@dataclass
class SuiteEntry:
    """One task of a suite, with its reference solution (or None) and skill tags."""

    task_id: str
    task: Task
    program: Program | None = None
    skills: list[str] = field(default_factory=list)


def load_reference_suite(directory: str) -> list[SuiteEntry]:
    """Read the four public XLogoOnline-Mini asset files of `directory`, keyed by task id.

    World entries wrap the world in `world_json` and codes in `code_json`. Ids in the worlds
    file without a goal or constraints are skipped with a logged warning.
    """
    data: dict[str, Any] = {}
    for key, name in REFERENCE_FILES.items():
        path = os.path.join(directory, name)
        if key == "codes" and not os.path.exists(path):
            data[key] = {}
            continue
        obj = read_json(path)
        if not isinstance(obj, dict):
            raise XLogoError("expected an object keyed by task id", path)
        data[key] = obj
    entries = []
    for task_id, world in data["worlds"].items():
        where = f"{REFERENCE_FILES['worlds']}[{task_id!r}]"
        if task_id not in data["goals"] or task_id not in data["constraints"]:
            log.warning("task %s has no %s; skipped", task_id,
                        "goal" if task_id not in data["goals"] else "constraints")
            continue
        world_json = _unwrap(world, ("world_json", "world"))
        if not isinstance(world_json, dict):
            raise XLogoError("a world entry must be an object", where)
        obj = dict(world_json)
        obj["goal"] = _unwrap(data["goals"][task_id], ("goal", "goal_json"))
        obj["constraints"] = _unwrap(data["constraints"][task_id], ("constraints", "constraints_json"))
        task = Task.from_json(obj, where)
        code = data["codes"].get(task_id)
        program = None
        if code is not None:
            where = f"{REFERENCE_FILES['codes']}[{task_id!r}]"
            program = Program.from_json(_unwrap(code, ("code_json", "code")), where)
        entries.append(SuiteEntry(str(task_id), task, program))
    return entries


def _unwrap(value: Any, keys: tuple[str, ...]) -> Any:
    """Entries may be stored bare, as a JSON string, or wrapped in an object under one of `keys`."""
    if isinstance(value, dict):
        key = next((k for k in keys if k in value), None)
        if key is not None:
            value = value[key]
    if isinstance(value, str):
        value = parse_json(value, "embedded JSON string")
    return value


# -- suites by name or path ------------------------------------------------------------------------

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
#: The manifest of a dataset directory written by `xlogo-gym generate` (lists its shard files).
DATASET_MANIFEST = "manifest.json"
#: Suites shipped with the package: name -> (file in xlogo_gym/data, what it is).
SUITES = {
    "mini-85": ("mini-85.jsonl", "85 hand-made tasks in the mix of the real XLogoOnline-Mini tasks (SEMANTICS.md "
                                 "§12), with verified reference solutions and skill tags"),
    "synthetic-1k": ("synthetic-1k.jsonl", "1,000 generated tasks from the held-out bucket, which the default "
                                           "generator never emits (see xlogo_gym.generator.identity); frozen, made "
                                           "by generator version 1 with: xlogo-gym generate --heldout only "
                                           "--count 1000 --seed 2024 --suite-out xlogo_gym/data/synthetic-1k.jsonl"),
    "synthetic-families": ("synthetic-families.jsonl", "700 generated held-out tasks, 50 of each task family of "
                                                       "SEMANTICS.md §12.1 (xlogo_gym.generator.FAMILIES), none "
                                                       "sharing a world with mini-85 or synthetic-1k; frozen, made "
                                                       "by generator version 2 with: xlogo-gym generate --families "
                                                       "50 --seed 2025 --suite-out "
                                                       "xlogo_gym/data/synthetic-families.jsonl"),
}


def load_suite(name_or_path: str | os.PathLike[str]) -> list[SuiteEntry]:
    """A suite by name (see SUITES) or from a path.

    A path may be a suite JSONL file (lines `{"task_id", "task", "program": text or null,
    "skills"}`), a dataset JSONL shard (records of `xlogo-gym generate`), a dataset directory
    (its manifest lists the shards), or a directory in the reference format
    (`load_reference_suite`). Entries without skill tags get inferred ones.
    """
    return list(iter_suite(name_or_path))


def iter_suite(name_or_path: str | os.PathLike[str]) -> Iterator[SuiteEntry]:
    """`load_suite` one entry at a time (constant memory for JSONL files and dataset directories)."""
    key = os.fspath(name_or_path)
    if key in BENCHMARK_SUITES:
        yield from _benchmark_suite(key)
        return
    if key in SUITES:
        path = os.path.join(DATA_DIR, SUITES[key][0])
        if not os.path.exists(path):
            raise XLogoError(f"suite {key!r} is not installed (expected {path})", key)
        key = path
    elif os.path.isdir(key) and not os.path.exists(os.path.join(key, DATASET_MANIFEST)):
        for entry in load_reference_suite(key):
            if not entry.skills:
                entry.skills = infer_skills(entry.task, entry.program)
            yield entry
        return
    elif not os.path.exists(key):
        raise XLogoError(f"no suite of that name ({', '.join([*SUITES, *BENCHMARK_SUITES])}) and no such file or "
                         "directory", key)
    for obj, where in iter_jsonl(key):
        yield suite_entry(obj, where)


def _benchmark_suite(name: str) -> list[SuiteEntry]:
    """A suite of the downloaded real benchmark (`xlogo_gym.benchmark`), in its task-id order, skills inferred."""
    directory = require_installed()
    entries = load_reference_suite(directory)
    ids = BENCHMARK_SUITES[name]
    if ids is not None:
        by_id = {e.task_id: e for e in entries}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise XLogoError(f"the asset files lack task ids {', '.join(missing[:5])}", directory)
        entries = [by_id[i] for i in ids]
    for entry in entries:
        entry.skills = entry.skills or infer_skills(entry.task, entry.program)
    return entries


def dataset_shards(directory: str) -> list[str]:
    """The shard files of a dataset directory, in order, from its manifest. A shard must be a file inside the
    directory: a name that leads out of it (an absolute path, `..`, a link) raises XLogoError."""
    where = os.path.join(directory, DATASET_MANIFEST)
    manifest = read_json(where)
    shards = manifest.get("shards") if isinstance(manifest, dict) else None
    if not isinstance(shards, list) or not all(isinstance(s, dict) and isinstance(s.get("file"), str) for s in shards):
        raise XLogoError("a dataset manifest lists its shards as [{\"file\": ...}, ...]", where)
    root = os.path.realpath(directory)
    files = []
    for i, shard in enumerate(shards):
        path = os.path.realpath(os.path.join(root, shard["file"]))
        if os.path.dirname(path) != root and not path.startswith(root + os.sep):
            raise XLogoError(f"shard file {shard['file']!r} is outside the dataset directory", f"{where}: shards[{i}]")
        files.append(path)
    return files


def jsonl_files(path: str | os.PathLike[str]) -> list[str]:
    """The JSONL files of a path: a dataset directory's shards (its manifest lists them), every
    `*.jsonl` file below another directory (sorted), or the file itself."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, DATASET_MANIFEST)):
            return dataset_shards(path)
        return sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True))
    if not os.path.exists(path):
        raise XLogoError("no such file or directory", path)
    return [path]


def iter_jsonl(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Any, str]]:
    """The one reader of JSONL files, datasets and suites: each JSON value of the files of `paths`
    (see `jsonl_files`) with where it stands (`FILE:LINE`). Blank lines are skipped; a line that
    is not JSON raises XLogoError naming the file and line."""
    names = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    for file in [f for name in names for f in jsonl_files(name)]:
        try:
            fh = open(file, "rb")
        except OSError as err:
            raise XLogoError(f"cannot read: {err.strerror}", file) from None
        with fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    yield parse_json(line, f"{file}:{lineno}"), f"{file}:{lineno}"


def suite_entry(obj: Any, where: str) -> SuiteEntry:
    """A suite line or a dataset record (a JSON object) as an entry; `where` names it in errors."""
    if not isinstance(obj, dict) or "task" not in obj:
        raise XLogoError("expected an object with a 'task' (a suite line or a dataset record)", where)
    task = Task.from_json(obj["task"], f"{where}.task")
    key = "task_id" if "task_id" in obj else "id"  # a suite line, or a dataset record
    task_id = obj.get(key)
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        raise XLogoError(f"a suite line needs a string 'task_id'; a dataset record needs a string 'id' (got "
                         f"{task_id!r})", f"{where}.{key}")
    program = Program.from_record(obj, where)
    skills = obj.get("skills")
    if skills is None:
        skills = infer_skills(task, program)
    elif not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        raise XLogoError("'skills' must be a list of strings", f"{where}.skills")
    return SuiteEntry(str(task_id), task, program, list(skills))


def suite_line(entry: SuiteEntry) -> str:
    """One suite JSONL line (no newline): {"task_id", "task", "program": text or null, "skills"}."""
    return json.dumps({"task_id": entry.task_id, "task": entry.task.to_json(),
                       "program": None if entry.program is None else str(entry.program), "skills": entry.skills})


def write_suite(path: str, entries: Iterable[SuiteEntry]) -> int:
    """Write entries as a suite JSONL file atomically (temp file, then rename); returns the count."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for entry in entries:
            fh.write(suite_line(entry) + "\n")
            count += 1
    return count


def load_tasks(task: str | None, suite: str | None) -> list[tuple[str, Task, Program | None]]:
    """(id, task, reference program) for a task file, or for the tasks of a suite."""
    if task is not None and (suite is None or os.path.exists(task)):
        if not os.path.isfile(task):
            raise XLogoError("task file not found", task)
        loaded = Task.from_file(task)
        return [(loaded.id or os.path.splitext(os.path.basename(task))[0], loaded, None)]
    if suite is None:
        raise XLogoError(f"no task file {task!r}: give a task JSON file, or a task id with --suite")
    entries = [(e.task_id, e.task, e.program) for e in load_suite(suite)]
    if task is not None:
        entries = [e for e in entries if e[0] == task]
        if not entries:
            raise XLogoError(f"no task {task!r} in the suite", suite)
    return entries
