"""Suites: lists of tasks with optional reference programs and skill tags."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.task import Task

log = logging.getLogger(__name__)

REFERENCE_FILES = {"worlds": "xlogomini_worlds.json", "goals": "xlogomini_goals.json",
                   "constraints": "xlogomini_constraints.json", "codes": "xlogomini_codes.json"}


@dataclass
class SuiteEntry:
    """One task of a suite, with its reference solution (or None) and skill tags."""

    task_id: str
    task: Task
    program: Program | None = None
    skills: list[str] = field(default_factory=list)


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise XLogoError("file not found", path) from None
    except json.JSONDecodeError as err:
        raise XLogoError(f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", path) from None


def load_reference_suite(directory: str) -> list[SuiteEntry]:
    """Read the four public XLogoOnline-Mini asset files of `directory`, keyed by task id.

    World entries wrap the world in `world_json` and codes in `code_json`. Ids in the worlds
    file without a goal or constraints are skipped with a logged warning.
    """
    data = {}
    for key, name in REFERENCE_FILES.items():
        path = os.path.join(directory, name)
        if key == "codes" and not os.path.exists(path):
            data[key] = {}
            continue
        obj = _read_json(path)
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
            program = Program.from_json(_unwrap(code, ("code_json", "code")), f"{REFERENCE_FILES['codes']}[{task_id!r}]")
        entries.append(SuiteEntry(str(task_id), task, program))
    return entries


def _unwrap(value: Any, keys: tuple[str, ...]) -> Any:
    """Entries may be stored bare, as a JSON string, or wrapped in an object under one of `keys`."""
    if isinstance(value, dict):
        key = next((k for k in keys if k in value), None)
        if key is not None:
            value = value[key]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise XLogoError(f"embedded JSON string is invalid: {err.msg}") from None
    return value
