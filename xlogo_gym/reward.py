"""The reward of a judged program, for learners: sparse (1 on success) or shaped.

The env (`xlogo_gym.envs`) gives it at the end of each episode, and PPO's settings name its
modes; it lives in the core so that neither needs the other.
"""

from __future__ import annotations

from xlogo_gym.emulator import Verdict
from xlogo_gym.errors import XLogoError
from xlogo_gym.task import Task

#: Reward modes (see `verdict_reward`).
REWARDS = ("sparse", "shaped")


def verdict_reward(task: Task, verdict: Verdict, mode: str = "sparse") -> float:
    """The reward of `verdict` on `task`.

    * `sparse`: 1.0 when the verdict is success, else 0.0.
    * `shaped`: 1.0 on success; 0.0 after a crash and for the empty program; 0.5 when the goal
      holds but a code constraint fails; otherwise 0.1, plus for draw tasks 0.3 times the share of
      target and drawn segments that agree (right segment in the right colour, over the union of
      both pictures). So writing `<end>` at once never scores better than trying.
    """
    if mode not in REWARDS:
        raise XLogoError(f"reward must be one of {', '.join(REWARDS)}, got {mode!r}")
    if verdict.success:
        return 1.0
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
