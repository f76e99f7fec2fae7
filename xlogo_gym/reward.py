"""The reward of a judged program, for learners: sparse (1 on success) or shaped.

The env (`xlogo_gym.envs`) gives it at the end of each episode, and PPO's settings name its
modes; it lives in the core so that neither needs the other.
"""

from __future__ import annotations

from xlogo_gym.emulator import Verdict, progress
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Program
from xlogo_gym.task import Task

#: Reward modes (see `verdict_reward`).
REWARDS = ("sparse", "shaped", "progress")


def verdict_reward(task: Task, verdict: Verdict, mode: str = "sparse") -> float:
    """The reward of `verdict` on `task`.

    * `sparse`: 1.0 when the verdict is success, else 0.0.
    * `shaped`: 1.0 on success; 0.0 after a crash and for the empty program; 0.5 when the goal
      holds but a code constraint fails; otherwise 0.1, plus for draw tasks 0.3 times the share of
      target and drawn segments that agree (right segment in the right colour, over the union of
      both pictures). So writing `<end>` at once never scores better than trying.
    * `progress`: 1.0 on success; otherwise 0.3 times the share of the goal's work done (target
      segments drawn, items collected, the sum collected: `xlogo_gym.emulator.progress`'s `left`
      against the empty program's; none after a wrong move or an overshot sum), minus 0.1 after a
      crash. The dense term vanishes at success, and the empty program scores 0.
    """
    if mode not in REWARDS:
        raise XLogoError(f"reward must be one of {', '.join(REWARDS)}, got {mode!r}")
    if verdict.success:
        return 1.0
    if mode == "progress":
        return progress_reward(task, verdict)
    if mode == "sparse" or verdict.crashed or not verdict.program.body:
        return 0.0
    if verdict.goal_ok:
        return 0.5
    if "draw" not in task.goal_names:
        return 0.1
    target = {seg: line.pen_color for line in task.world.lines for seg in line.segments()}
    drawn = verdict.picture
    union = set(target) | set(drawn)
    agree = sum(1 for seg, pen in drawn.items() if target.get(seg) == pen)
    return 0.1 + 0.3 * agree / len(union) if union else 0.1


def progress_reward(task: Task, verdict: Verdict) -> float:
    """The `progress` reward of a failed verdict (see `verdict_reward`)."""
    penalty = 0.1 if verdict.crashed else 0.0
    todo = progress(task, Program(())).left
    state = progress(task, verdict.program)
    if todo <= 0 or state.wrong or state.left < 0:
        return 0.0 - penalty
    return 0.3 * (todo - min(state.left, todo)) / todo - penalty
