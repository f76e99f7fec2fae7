"""The evaluation harness, the agent registry, the random agent and the token-policy adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import needs

from agents.random_agent import RandomAgent
from agents.registry import make_agent
from xlogo_gym.errors import XLogoError
from xlogo_gym.evaluation import (
    AGENT_FAILURE,
    CONSTRAINT_VIOLATED,
    GOAL_NOT_MET,
    PARSE_ERROR,
    SUCCESS,
    Agent,
    AgentFailure,
    Candidate,
    Report,
    compare_markdown,
    evaluate,
    judge,
    pass_at_k,
)
from xlogo_gym.grammar import DEFAULT_MAX_TOKENS, program_to_actions
from xlogo_gym.suite import SuiteEntry, load_suite, write_suite
from xlogo_gym.task import Task


@pytest.fixture(scope="module")
def mini() -> list[SuiteEntry]:
    return load_suite("mini-85")


class Replay(Agent):
    """Gives each task's reference program (a perfect agent), counting the tasks it was asked."""

    name = "replay"

    def __init__(self, entries: Sequence[SuiteEntry], interrupt_after: int | None = None) -> None:
        self.programs = {id(e.task): e.program for e in entries}
        self.asked: list[Task] = []
        self.interrupt_after = interrupt_after

    def propose(self, tasks: Sequence[Task], samples: int = 1) -> list[list[Candidate]]:
        if self.interrupt_after is not None and len(self.asked) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.asked.extend(tasks)
        return [[self.programs[id(t)]] * samples for t in tasks]  # type: ignore[list-item]


# -- judging and statistics ----------------------------------------------------------------------

def test_each_candidate_gets_one_failure_mode(mini: list[SuiteEntry]) -> None:
    by_id = {e.task_id: e.task for e in mini}
    find, bounded = by_id["mini-001"], by_id["mini-020"]  # find a strawberry 2 ahead; mini-020: at_most all=2
    assert judge(find, "fd fd")["mode"] == SUCCESS
    assert judge(find, "fd fd fd")["mode"] == "crash: OUT_OF_WORLD"
    assert judge(find, "rt")["mode"] == GOAL_NOT_MET
    assert judge(bounded, "fd " * 6)["mode"] == CONSTRAINT_VIOLATED
    assert judge(find, "fd }")["mode"] == PARSE_ERROR
    assert judge(find, AgentFailure("no_program: nothing in the reply"))["mode"] == PARSE_ERROR
    failure = judge(find, AgentFailure("timeout: no reply within 5 s"))
    assert failure["mode"] == AGENT_FAILURE and failure["reason"].startswith("timeout")
    record = judge(find, "fd\nfd\n")
    assert record["blocks"] == 2 and record["verdict"]["success"] is True


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(5, 0, 3) == 0.0 and pass_at_k(5, 3, 3) == 1.0
    assert pass_at_k(1, 1, 10) == 1.0 and pass_at_k(1, 0, 10) == 0.0  # fewer candidates than k


# -- the run -----------------------------------------------------------------------------------

@needs("matplotlib")
def test_report_files_and_summary(mini: list[SuiteEntry], tmp_path: Path) -> None:
    entries = mini[:12]
    report = evaluate(Replay(entries), entries, samples=2, out_dir=str(tmp_path), batch_size=5,
                      suite="mini-12", progress=False)
    s = report.summary
    assert s["n_tasks"] == 12 and s["success_rate"] == 1.0 and s["pass_at_k"] == {"1": 1.0, "2": 1.0}
    assert s["failure_modes"] == {SUCCESS: 24} and s["n_candidates"] == 24
    assert sum(g["n_tasks"] for g in s["by_goal"].values()) == 12
    assert [r["task_id"] for r in report.tasks] == [e.task_id for e in entries]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["summary"]["success_rate"] == 1.0 and len(saved["tasks"]) == 12
    assert saved["tasks"][0]["candidates"][0]["verdict"]["success"] is True
    assert report.markdown().startswith("## replay on mini-12\n")
    assert (tmp_path / "report.md").read_text() == report.markdown() and "| 12 | 2 | 100.0% |" in report.markdown()
    assert (tmp_path / "skills.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "partial.jsonl").read_text().splitlines()) == 12


@needs("matplotlib")
def test_resume_runs_only_the_missing_tasks(mini: list[SuiteEntry], tmp_path: Path) -> None:
    entries = mini[:10]
    with pytest.raises(KeyboardInterrupt):
        evaluate(Replay(entries, interrupt_after=4), entries, out_dir=str(tmp_path), batch_size=4, progress=False)
    partial = tmp_path / "partial.jsonl"
    assert len(partial.read_text().splitlines()) == 4
    with partial.open("a") as fh:
        fh.write('{"task_id": "mini-0')  # a record cut off by the interruption
    agent = Replay(entries)
    report = evaluate(agent, entries, out_dir=str(tmp_path), batch_size=4, progress=False)
    assert len(agent.asked) == 6 and report.summary["n_tasks"] == 10 and report.summary["success_rate"] == 1.0
    assert len(partial.read_text().splitlines()) == 10
    again = Replay(entries)
    evaluate(again, entries, out_dir=str(tmp_path), progress=False)
    assert again.asked == []
    with pytest.raises(XLogoError, match="holds a run of"):
        evaluate(Replay(entries), entries, samples=3, out_dir=str(tmp_path), progress=False)
    fresh = Replay(entries)
    evaluate(fresh, entries, samples=3, out_dir=str(tmp_path), resume=False, progress=False)
    assert len(fresh.asked) == 10


def test_compare_puts_reports_side_by_side(mini: list[SuiteEntry], tmp_path: Path) -> None:
    entries = mini[:8]
    good = evaluate(Replay(entries), entries, suite="mini-8", progress=False, chart=False)
    floor = evaluate(RandomAgent(seed=1), entries, suite="mini-8", progress=False, chart=False)
    table = compare_markdown([good.summary, floor.summary])
    header, rule, *rows = table.splitlines()
    assert header == "| | replay on mini-8 | random on mini-8 |"
    assert "| success | 100.0% | 0.0% |" in rows
    assert any(r.startswith("| outcome: crash") for r in rows)


# -- agents -------------------------------------------------------------------------------------

def test_registry_builds_agents_and_names_bad_specs() -> None:
    assert make_agent("solver", time_limit=1.0).name == "solver"
    assert make_agent("random", seed=5).seed == 5  # type: ignore[attr-defined]
    assert make_agent("llm:some-model@http://127.0.0.1:9/v1").name == "llm:some-model"
    with pytest.raises(XLogoError, match="unknown agent 'gpt'"):
        make_agent("gpt")
    with pytest.raises(XLogoError, match="wrong options"):
        make_agent("random", time_limit=1.0)


def test_random_agent_is_grammatical_and_reproducible(mini: list[SuiteEntry]) -> None:
    tasks = [e.task for e in mini[:6]]
    agent = RandomAgent(seed=3)
    forward = agent.propose(tasks, samples=3)
    backward = RandomAgent(seed=3).propose(tasks[::-1], samples=3)[::-1]
    assert [[str(p) for p in c] for c in forward] == [[str(p) for p in c] for c in backward]
    assert forward != RandomAgent(seed=4).propose(tasks, samples=3)
    for candidates in forward:
        for program in candidates:
            assert len(program_to_actions(program)) <= DEFAULT_MAX_TOKENS  # type: ignore[arg-type]


def test_token_policy_agent_replays_solutions_in_the_env(mini: list[SuiteEntry]) -> None:
    pytest.importorskip("gymnasium", reason="needs gymnasium: pip install \"xlogo-gym[env]\"")
    from agents.token_policy import TokenPolicyAgent

    entries = [e for e in mini[:10] if e.program is not None]
    plans = {}  # task tokens -> the reference program's token sequence
    for e in entries:
        from xlogo_gym.encoding import encode_task

        plans[encode_task(e.task).tokens.tobytes()] = program_to_actions(e.program)  # type: ignore[arg-type]

    def step(obs: dict[str, np.ndarray], mask: np.ndarray) -> int:
        action = plans[obs["task_tokens"].tobytes()][int(obs["program_length"][0])]
        assert mask[action]
        return action

    def step_batch(obs: dict[str, np.ndarray], masks: np.ndarray) -> list[int]:
        return [step({k: v[i] for k, v in obs.items()}, masks[i]) for i in range(len(masks))]

    for agent in (TokenPolicyAgent(step), TokenPolicyAgent(step_batch, batched=True)):
        report = evaluate(agent, entries, samples=2, batch_size=4, progress=False, chart=False)
        assert report.summary["success_rate"] == 1.0 and report.summary["n_candidates"] == 2 * len(entries)
    stuck = TokenPolicyAgent(lambda obs, mask: 21)  # `}` with no loop open: illegal
    [[failure]] = stuck.propose([entries[0].task])
    assert isinstance(failure, AgentFailure) and failure.reason.startswith("illegal_action: }")


# -- the command line ----------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xlogo_gym.cli", *args], capture_output=True, text=True,
                          timeout=300)


@needs("matplotlib")
def test_evaluate_and_compare_commands(mini: list[SuiteEntry], tmp_path: Path) -> None:
    suite = tmp_path / "tiny.jsonl"
    write_suite(str(suite), [e for e in mini if e.task_id in ("mini-001", "mini-020", "mini-061", "mini-083")])
    solver_dir, random_dir = tmp_path / "solver", tmp_path / "random"
    done = _cli("evaluate", "--agent", "solver", "--suite", str(suite), "--out", str(solver_dir))
    assert done.returncode == 0, done.stderr
    assert "| 4 | 1 | 100.0% |" in done.stdout and "| Draw | " in done.stdout
    assert {"report.json", "report.md", "skills.png", "partial.jsonl"} <= {p.name for p in solver_dir.iterdir()}
    done = _cli("evaluate", "--agent", "random", "--suite", str(suite), "--samples", "3", "--limit", "3",
                "--out", str(random_dir))
    assert done.returncode == 0, done.stderr
    assert Report.load(str(random_dir / "report.json")).summary["n_tasks"] == 3
    done = _cli("compare", str(solver_dir), str(random_dir / "report.json"), "--labels", "solver", "random",
                "--out", str(tmp_path / "cmp.md"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("| | solver | random |") and (tmp_path / "cmp.md").read_text() == done.stdout[:-1]
    done = _cli("evaluate", "--agent", "nope", "--suite", str(suite), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "unknown agent 'nope'" in done.stderr
