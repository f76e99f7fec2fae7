"""The evaluation harness: success of any agent on a suite, by goal type, family, skill and failure mode.

An agent is anything that maps tasks to candidate programs (the `Agent` protocol, as
stable-baselines3's `evaluate_policy` takes any `PolicyPredictor`): `propose(tasks, samples)`
answers up to `samples` candidates per task, each a `Program`, program text (parsed here: a
parse error is a failure mode of its own) or an `AgentFailure`. Agents that answer one task at
a time subclass `TaskByTaskAgent` and implement `solve`. The agents themselves (the search
solver, baselines, the transformer policy) live in the `agents` package, on top of this one.

`evaluate(agent, entries, samples, out_dir)` hands the tasks to `agent.propose` in batches (so
a neural agent decodes many tasks at once), judges every candidate with the emulator and
writes, in `out_dir`:

* `partial.jsonl`: one record per task, appended and flushed after every batch. A rerun
  with `resume=True` reuses them and evaluates only the tasks not yet there.
* `report.json`: `{"summary": {...}, "tasks": [records]}`. The summary holds `n_tasks`,
  `success_rate` (pass@1 in 0..1), `pass_at_k` ({k: rate}), rates per goal type, task
  family (`xlogo_gym.generator.task_family`, SEMANTICS.md §12.1) and skill,
  failure-mode counts and timings (`agent_seconds` over all tasks, `harness_seconds` of
  this run: judging, records and files, without the chart).
* `report.md`: the Markdown tables (also returned by `Report.markdown()`).
* `skills.png`: a bar chart of success per skill tag.

Each candidate gets one failure mode: `success`, `parse error` (text that is no program,
or an agent reply without one), `agent failure` (no candidate: timeout, HTTP error, unsolved),
`crash: REASON` (WALL, OUT_OF_WORLD, FORBIDDEN_AREA, GRID_NOT_EXIST, EXCEED_MAX_CALLS),
`goal not met` or `constraint violated` (the goal holds, a code constraint fails).

pass@k uses the unbiased estimator 1 - C(n-c, k) / C(n, k) of Chen et al. (2021) per task
(n candidates, c correct). A task with fewer than k candidates (a deterministic agent gives
one) counts as solved at k when any of its candidates is correct.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from xlogo_gym.emulator import execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.fileio import parse_json, read_json, write_atomic
from xlogo_gym.generator import FAMILIES, task_family
from xlogo_gym.program import Program
from xlogo_gym.progress import progress_bar
from xlogo_gym.skills import SKILLS, infer_skills
from xlogo_gym.suite import SuiteEntry
from xlogo_gym.task import Task

#: Published results on the real benchmark, with their citation (for `compare --published`).
PUBLISHED = os.path.join(os.path.dirname(__file__), "data", "published.json")
PARTIAL, REPORT_JSON, REPORT_MD, CHART, RUN = "partial.jsonl", "report.json", "report.md", "skills.png", "run.json"
SUCCESS, PARSE_ERROR, AGENT_FAILURE = "success", "parse error", "agent failure"
GOAL_NOT_MET, CONSTRAINT_VIOLATED = "goal not met", "constraint violated"
#: AgentFailure categories (`reason.split(":")[0]`) that mean "the reply held no program".
NO_PROGRAM_CATEGORIES = frozenset({"no_program"})
#: pass@k is reported for these k (and for the number of samples).
K_VALUES = (1, 2, 5, 10, 20, 50, 100)
_MAX_TEXT = 2000  # characters of unparsable text kept in a record


# -- agents ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentFailure:
    """A candidate the agent could not produce (timeout, HTTP error, no program in the reply)."""

    reason: str
    raw: str = ""


#: A candidate: a Program, program text (parsed by the harness: parse errors are a failure
#: mode of their own), or an AgentFailure.
Candidate = Program | str | AgentFailure


class Agent(Protocol):
    """What the harness evaluates: a `name` for reports and `propose`.

    Every agent, from the search solver to a prompted LLM or the transformer policy, answers
    `propose(tasks, samples)` with up to `samples` candidates per task, in order; an agent that
    can batch work across tasks (a neural policy decoding many tasks at once) does so there.
    """

    name: str

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        """Candidates for each task, in order."""
        ...


class TaskByTaskAgent:
    """An `Agent` that answers one task at a time: subclasses set `name` and implement `solve`.

    The harness hands such an agent one task per call, so its progress and partial results
    are per task.
    """

    name: str = "agent"

    def solve(self, task: Task, samples: int = 1) -> list[Candidate]:
        """Up to `samples` candidate programs for one task."""
        raise NotImplementedError

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        return [self.solve(task, samples) for task in tasks]


@dataclass
class Report:
    """A finished evaluation: the summary and one record per task (see the module docstring)."""

    summary: dict[str, Any]
    tasks: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "tasks": self.tasks}

    @classmethod
    def load(cls, path: str) -> Report:
        """Read a `report.json`."""
        obj = read_json(path)
        if not isinstance(obj, dict) or not isinstance(obj.get("summary"), dict) or "tasks" not in obj:
            raise XLogoError("not an evaluation report (expected 'summary' and 'tasks')", path)
        return cls(obj["summary"], obj["tasks"])

    def markdown(self) -> str:
        return render_markdown(self.summary)


# -- judging -------------------------------------------------------------------------------

def goal_type(task: Task) -> str:
    """The goal's objective names joined by '+' in order of first use (`draw` alone wins, §6.1)."""
    names = task.goal_names
    if "draw" in names:
        return "draw"
    return "+".join(dict.fromkeys(names)) or "none"


def judge(task: Task, candidate: Candidate) -> dict[str, Any]:
    """One candidate's record: program text, blocks, failure mode, reason and verdict JSON."""
    if isinstance(candidate, AgentFailure):
        category = candidate.reason.split(":")[0]
        mode = PARSE_ERROR if category in NO_PROGRAM_CATEGORIES else AGENT_FAILURE
        return {"program": None, "blocks": None, "mode": mode, "reason": candidate.reason, "verdict": None}
    if isinstance(candidate, str):
        text = candidate
        try:
            candidate = Program.parse(text)
        except XLogoError as err:
            return {"program": text[:_MAX_TEXT], "blocks": None, "mode": PARSE_ERROR, "reason": str(err),
                    "verdict": None}
    verdict = execute(task, candidate)
    if verdict.success:
        mode = SUCCESS
    elif verdict.crashed:
        mode = f"crash: {verdict.crash_reason}"
    else:
        mode = GOAL_NOT_MET if not verdict.goal_ok else CONSTRAINT_VIOLATED
    return {"program": str(candidate), "blocks": len(candidate), "mode": mode,
            "reason": None if verdict.success else verdict.explain(), "verdict": verdict.to_json()}


def task_record(entry: SuiteEntry, candidates: Sequence[Candidate], seconds: float) -> dict[str, Any]:
    judged = [judge(entry.task, c) for c in candidates]
    return {"task_id": entry.task_id, "goal": goal_type(entry.task), "family": task_family(entry.task),
            "skills": entry.skills or infer_skills(entry.task, entry.program),
            "reference_blocks": None if entry.program is None else len(entry.program),
            "n": len(judged), "correct": sum(c["mode"] == SUCCESS for c in judged),
            "seconds": round(seconds, 6), "candidates": judged}


# -- statistics ------------------------------------------------------------------------------

def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task with n candidates, c correct; with n < k, whether any is correct."""
    if n < k:
        return float(c > 0)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _rate(records: Iterable[dict[str, Any]], k: int = 1) -> float:
    values = [pass_at_k(r["n"], r["correct"], k) for r in records]
    return sum(values) / len(values) if values else 0.0


def summarize(records: Sequence[dict[str, Any]], agent: str, suite: str, samples: int,
              agent_seconds: float, harness_seconds: float) -> dict[str, Any]:
    """The report summary (see the module docstring) from task records."""
    ks = sorted({k for k in K_VALUES if k <= samples} | {samples})
    by_goal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_skill: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_goal[r["goal"]].append(r)
        by_family[r.get("family", "unknown")].append(r)
        for skill in r["skills"]:
            by_skill[skill].append(r)
    modes = Counter(c["mode"] for r in records for c in r["candidates"])
    skill_order = [s for s in SKILLS if s in by_skill] + sorted(set(by_skill) - set(SKILLS))
    solved_blocks = [min(c["blocks"] for c in r["candidates"] if c["mode"] == SUCCESS)
                     for r in records if r["correct"]]
    n = len(records)
    return {
        "agent": agent, "suite": suite, "samples": samples, "n_tasks": n,
        "n_candidates": sum(r["n"] for r in records),
        "success_rate": _rate(records), "pass_at_k": {str(k): _rate(records, k) for k in ks},
        "solved": sum(1 for r in records if r["correct"]),
        "by_goal": {g: {"n_tasks": len(rs), "success_rate": _rate(rs)}
                    for g, rs in sorted(by_goal.items(), key=lambda kv: (-len(kv[1]), kv[0]))},
        "by_family": {f: {"n_tasks": len(by_family[f]), "success_rate": _rate(by_family[f])}
                      for f in [f for f in FAMILIES if f in by_family] + sorted(set(by_family) - set(FAMILIES))},
        "by_skill": {s: {"n_tasks": len(by_skill[s]), "success_rate": _rate(by_skill[s])} for s in skill_order},
        "failure_modes": dict(sorted(modes.items(), key=lambda kv: (kv[0] != SUCCESS, -kv[1], kv[0]))),
        "mean_solution_blocks": sum(solved_blocks) / len(solved_blocks) if solved_blocks else None,
        "agent_seconds": round(agent_seconds, 3), "harness_seconds": round(harness_seconds, 3),
        "seconds_per_task": round((agent_seconds + harness_seconds) / n, 6) if n else 0.0,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def render_markdown(summary: dict[str, Any]) -> str:
    """The report's Markdown: overall, per goal type, per family, per skill, per failure mode."""
    s = summary
    ks = [k for k in s["pass_at_k"] if k != "1"]
    lines = [f"## {s['agent']} on {s['suite']}", "",
             "| tasks | samples | success | " + "".join(f"pass@{k} | " for k in ks) + "agent s/task |",
             "|---:|---:|---:|" + "---:|" * len(ks) + "---:|",
             f"| {s['n_tasks']} | {s['samples']} | {_pct(s['success_rate'])} | "
             + "".join(f"{_pct(s['pass_at_k'][k])} | " for k in ks)
             + f"{s['agent_seconds'] / max(s['n_tasks'], 1):.3f} |", ""]
    for title, key in (("goal type", "by_goal"), ("family", "by_family"), ("skill", "by_skill")):
        lines += [f"| {title} | tasks | success |", "|---|---:|---:|"]
        lines += [f"| {name} | {g['n_tasks']} | {_pct(g['success_rate'])} |" for name, g in s.get(key, {}).items()]
        lines.append("")
    total = max(s["n_candidates"], 1)
    lines += ["| outcome | candidates | share |", "|---|---:|---:|"]
    lines += [f"| {mode} | {n} | {_pct(n / total)} |" for mode, n in s["failure_modes"].items()]
    return "\n".join(lines) + "\n"


def compare_markdown(summaries: Sequence[dict[str, Any]], labels: Sequence[str] | None = None) -> str:
    """Several reports side by side: overall, pass@k, goal types, families, skills and outcomes as rows."""
    labels = list(labels or [f"{s['agent']} on {s['suite']}" for s in summaries])
    rows: list[tuple[str, list[str]]] = [("tasks", [str(s["n_tasks"]) for s in summaries]),
                                         ("success", [_pct(s["success_rate"]) for s in summaries])]
    for k in sorted({k for s in summaries for k in s["pass_at_k"] if k != "1"}, key=int):
        rows.append((f"pass@{k}", [_pct(s["pass_at_k"].get(k)) for s in summaries]))
    for title, key in (("goal", "by_goal"), ("family", "by_family"), ("skill", "by_skill")):
        names = list(dict.fromkeys(name for s in summaries for name in s.get(key, {})))
        rows += [(f"{title}: {name}", [_pct(s[key][name]["success_rate"]) if name in s.get(key, {}) else "-"
                                       for s in summaries]) for name in names]
    modes = list(dict.fromkeys(m for s in summaries for m in s["failure_modes"]))
    rows += [(f"outcome: {m}", [_pct(s["failure_modes"].get(m, 0) / s["n_candidates"]) if s["n_candidates"] else "-"
                                for s in summaries]) for m in modes]
    rows.append(("agent s/task", [f"{s['agent_seconds'] / max(s['n_tasks'], 1):.3f}" if s["agent_seconds"] is not None
                                  else "-" for s in summaries]))
    lines = ["| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    cited = list(dict.fromkeys(s["published"] for s in summaries if s.get("published")))
    lines += ["", *(f"Published figures: {c}" for c in cited)] if cited else []
    return "\n".join(lines) + "\n"


def published_summaries(suite: str) -> list[dict[str, Any]]:
    """The published results on `suite` (`data/published.json`) as report summaries, marked as published."""
    table = read_json(PUBLISHED)
    return [{"agent": r["agent"], "suite": r["suite"], "samples": 1, "n_tasks": r["n_tasks"],
             "success_rate": r["success_rate"], "pass_at_k": {}, "failure_modes": {}, "n_candidates": 0,
             "agent_seconds": None, "published": table["citation"]} for r in table["results"] if r["suite"] == suite]


def plot_skills(summary: dict[str, Any], path: str) -> None:
    """A bar chart of success per skill tag (PNG), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skills = summary["by_skill"]
    names = list(skills)
    rates = [100 * skills[s]["success_rate"] for s in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names)), 4.0))
    bars = ax.bar(range(len(names)), rates, color="#4C72B0")
    for bar, name in zip(bars, names, strict=True):
        ax.annotate(f"n={skills[name]['n_tasks']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("success (%)")
    ax.set_title(f"{summary['agent']} on {summary['suite']}: {_pct(summary['success_rate'])} overall")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=120)
    plt.close(fig)
    write_atomic(path, png.getvalue())


# -- the run ----------------------------------------------------------------------------------

_RECORD_KEYS: dict[str, type | tuple[type, ...]] = {"task_id": str, "goal": str, "skills": list, "n": int,
                                                     "correct": int, "seconds": (int, float), "candidates": list}


def _read_partial(path: str) -> list[dict[str, Any]]:
    """Task records of an interrupted run; a last line cut off mid-write is dropped, any other line that is not
    a task record raises XLogoError naming it."""
    try:
        with open(path, "rb") as fh:
            lines = fh.read().split(b"\n")
    except OSError as err:
        raise XLogoError(f"cannot read: {err.strerror}", path) from None
    records = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{path}:{i + 1}"
        try:
            record = parse_json(line, where)
        except XLogoError:
            if i == last:
                break  # cut off mid-write
            raise XLogoError("not a task record of an evaluation; start over with --no-resume", where) from None
        wrong = [k for k, kind in _RECORD_KEYS.items() if not isinstance(record, dict)
                 or not isinstance(record.get(k), kind) or isinstance(record.get(k), bool)]
        if wrong:
            raise XLogoError(f"not a task record of an evaluation (field {wrong[0]!r}); start over with --no-resume",
                             where)
        records.append(record)
    return records


def evaluate(agent: Agent, entries: Sequence[SuiteEntry], samples: int = 1, out_dir: str | None = None,
             batch_size: int = 64, resume: bool = True, *, suite: str = "suite", progress: bool = True,
             chart: bool = True, settings: dict[str, Any] | None = None) -> Report:
    """Evaluate `agent` on `entries` with `samples` candidates per task (see the module docstring).

    With `out_dir`, records go to `partial.jsonl` as each batch finishes and the report files
    are written at the end; with `resume`, tasks already recorded there are not run again
    (the run's agent, suite, samples and `settings`, every other option that changes results such as a seed,
    must match what `run.json` recorded, else XLogoError). A `TaskByTaskAgent` that
    implements only `solve` gets one task per call, so its progress and partial results are per task.
    """
    if samples < 1 or batch_size < 1:
        raise XLogoError(f"samples and batch_size must be at least 1, got {samples} and {batch_size}")
    ids = [e.task_id for e in entries]
    if len(set(ids)) != len(ids):
        raise XLogoError("task ids must be unique within a suite", suite)
    run = {"agent": agent.name, "suite": suite, "samples": samples, **(settings or {})}
    done: dict[str, dict[str, Any]] = {}
    partial = None
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        partial = os.path.join(out_dir, PARTIAL)
        run_path = os.path.join(out_dir, RUN)
        if resume and os.path.exists(partial):
            previous = read_json(run_path) if os.path.exists(run_path) else None
            if previous != run:
                raise XLogoError(f"holds a run of {previous}, not {run}: use another directory, or start over "
                                 "(--no-resume)", run_path)
            wanted = set(ids)
            done = {r["task_id"]: r for r in _read_partial(partial) if r["task_id"] in wanted}
        write_atomic(run_path, json.dumps(run))
        with open(partial, "w", encoding="utf-8") as fh:  # rewrite without a half-written last line
            fh.writelines(json.dumps(r) + "\n" for r in done.values())
    todo = [e for e in entries if e.task_id not in done]
    if getattr(type(agent), "propose", None) is TaskByTaskAgent.propose:
        batch_size = 1
    harness_seconds = 0.0
    bar = _progress(len(entries), len(done), f"{agent.name} on {suite}", progress)
    try:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            t0 = time.perf_counter()
            proposals = agent.propose([e.task for e in batch], samples)
            t1 = time.perf_counter()
            if len(proposals) != len(batch):
                raise XLogoError(f"agent {agent.name} gave {len(proposals)} answers for {len(batch)} tasks")
            per_task = (t1 - t0) / len(batch)
            records = [task_record(e, list(c)[:samples], per_task) for e, c in zip(batch, proposals, strict=True)]
            for r in records:
                done[r["task_id"]] = r
            if partial is not None:
                with open(partial, "a", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in records)
            harness_seconds += time.perf_counter() - t1
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    records = [done[i] for i in ids]
    agent_seconds = sum(r["seconds"] for r in records)  # resumed tasks included
    summary = summarize(records, agent.name, suite, samples, agent_seconds, harness_seconds)
    report = Report(summary, records)
    if out_dir is not None:
        write_atomic(os.path.join(out_dir, REPORT_JSON), json.dumps(report.to_json(), indent=1))
        write_atomic(os.path.join(out_dir, REPORT_MD), report.markdown())
        if chart:
            plot_skills(summary, os.path.join(out_dir, CHART))
    return report


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    return progress_bar(total=total, initial=initial, desc=desc, unit="task")
