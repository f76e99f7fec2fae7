"""`verify` and `check-suite`: run programs through the emulator from the command line."""

from __future__ import annotations

import argparse
import json

from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.suite import load_reference_suite
from xlogo_gym.task import Task


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="run a program on a task and print the verdict")
    p.add_argument("task", help="task JSON file (world keys + goal + constraints)")
    p.add_argument("program", help="program file: plain text, or code JSON ({\"run\": [...]})")
    p.add_argument("--strict", action="store_true", help="strict semantics instead of the reference quirks")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(run=_verify)

    p = sub.add_parser("check-suite", help="run every reference solution of a reference-format directory")
    p.add_argument("directory", help="directory with xlogomini_{worlds,goals,constraints,codes}.json")
    p.add_argument("--strict", action="store_true", help="strict semantics instead of the reference quirks")
    p.set_defaults(run=_check_suite)


def read_program(path: str) -> Program:
    """A program file: code JSON if it parses as a JSON object, else the plain-text form."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise XLogoError(f"cannot read: {err.strerror}", path) from None
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            return Program.from_json(json.loads(stripped), where=path)
        return Program.parse(text)
    except json.JSONDecodeError as err:
        raise XLogoError(f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}", path) from None
    except XLogoError as err:
        raise XLogoError(str(err), path) from None


def _verify(args: argparse.Namespace) -> int:
    task = Task.from_file(args.task)
    verdict = execute(task, read_program(args.program), strict=args.strict)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=2))
    else:
        print(f"success={verdict.success} crashed={verdict.crashed} goal_ok={verdict.goal_ok} "
              f"cons_ok={verdict.constraints_ok}")
        print(verdict.explain())
    return 0 if verdict.success else 1


def _check_suite(args: argparse.Namespace) -> int:
    entries = load_reference_suite(args.directory)
    rows, solved, checked = [], 0, 0
    for entry in entries:
        if entry.program is None:
            rows.append((entry.task_id, "-", "-", "no reference program"))
            continue
        v = execute(entry.task, entry.program, strict=args.strict)
        checked += 1
        solved += v.success
        failing = "" if v.success else ("crash" if v.crashed else ", ".join(v.failed_objectives + v.failed_constraints))
        rows.append((entry.task_id, "yes" if v.success else "no", v.crash_reason or "", failing))
    width = max((len(r[0]) for r in rows), default=4)
    print(f"{'id':<{width}}  success  crash reason      failing part")
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:<7}  {r[2]:<16}  {r[3]}")
    print(f"total: {solved}/{checked} reference programs succeed ({len(entries)} tasks loaded)")
    return 0 if solved == checked else 1
