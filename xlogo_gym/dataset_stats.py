"""Distribution statistics of a task collection, side by side with the real tasks (SEMANTICS.md §12)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from xlogo_gym.generator.constraints import constraint_kind
from xlogo_gym.program import Repeat
from xlogo_gym.suite import SuiteEntry
from xlogo_gym.world import DIRECTIONS, ITEM_NAMES

#: §12 figures: per table, (counts, total they are out of).
REAL: dict[str, tuple[dict[str, int], int]] = {
    "goal structure": ({"draw": 39, "find": 33, "sum": 10, "findonly": 2, "find+forbid+forbid": 2, "concat": 2,
                        "collectall+forbid": 2, "collectall": 1, "find+forbid": 1}, 92),
    "constraint kind": ({"none": 61, "at_most": 21, "exactly": 6, "start_by": 4}, 92),
    "grid size (W x H)": ({"3x3": 52, "4x4": 10, "3x2": 3, "2x2": 2, "2x3": 2, "6x3": 2, "4x2": 2, "3x4": 2,
                           "1x3": 1, "5x5": 1, "5x2": 1, "5x4": 1, "6x1": 1, "3x5": 1, "4x3": 1, "6x2": 1,
                           "8x2": 1, "7x3": 1, "7x1": 1}, 86),
    "world": ({"missing tiles": 21, "forbidden tiles": 19, "walls": 26}, 86),
    "start direction": ({"north": 73, "east": 7, "south": 4, "west": 2}, 86),
    "line colour": ({"black": 144, "red": 29, "green": 19, "yellow": 14, "white": 12, "blue": 11}, 229),
    "line length": ({"1": 225, "2": 4}, 229),
    "program": ({"uses repeat": 31, "nested repeat": 3}, 86),
    "blocks per program (mean)": ({"fd": 262, "rt": 104, "lt": 68, "repeat": 47, "bk": 46, "setpc": 35,
                                   "all": 562}, 86),
}
#: §12 sum totals of the 10 real sum tasks.
REAL_SUM_TOTALS = (1, 4, 4, 5, 5, 8, 9, 9, 10, 18)
_MEANS = {"blocks per program (mean)"}  # tables whose rows are per-entry means, not percentages
_LENGTH_BINS = ((1, 3), (4, 6), (7, 9), (10, 12), (13, 15), (16, 99))


class TaskStats:
    """Counts over tasks (and their programs, where known); `add` one entry at a time."""

    def __init__(self) -> None:
        self.tables: dict[str, Counter[str]] = {name: Counter() for name in (
            *REAL, "program length (blocks)", "repeat count", "spec shape", "item", "sum total",
            "constraint detail", "at_most.all value", "lines per draw task")}
        self.tasks = self.programs = self.draw_tasks = self.lines = 0
        self.max_blocks = self.max_actions = 0

    def add(self, entry: SuiteEntry) -> None:
        t, task = self.tables, entry.task
        world = task.world
        self.tasks += 1
        t["goal structure"]["+".join(task.goal_names) or "(empty)"] += 1
        effective = task.constraints.effective
        t["constraint kind"][constraint_kind(effective)] += 1
        t["grid size (W x H)"][f"{world.cols}x{world.rows}"] += 1
        if len(world.tiles) < world.cols * world.rows:
            t["world"]["missing tiles"] += 1
        if any(not tile.allowed for tile in world.tiles):
            t["world"]["forbidden tiles"] += 1
        if any(on for tile in world.tiles for _, on in tile.walls):
            t["world"]["walls"] += 1
        t["start direction"][DIRECTIONS[world.turtle.direction]] += 1
        for line in world.lines:
            self.lines += 1
            t["line colour"][line.pen_color or line.color] += 1
            t["line length"][str(abs(line.x1 - line.x2) + abs(line.y1 - line.y2))] += 1
        if "draw" in task.goal_names:
            self.draw_tasks += 1
            t["lines per draw task"][str(len(world.lines))] += 1
        else:
            for item in world.items:
                t["item"][item.name if len(item.name) > 1 else "letter"] += 1
        for objective in task.goal:
            if objective.name == "sum":
                t["sum total"][str(objective.total_cnt)] += 1
            for spec in objective.specs:
                t["spec shape"][_shape(spec)] += 1
        for block, n in effective.at_most:
            t["constraint detail"][f"at_most.{block}"] += 1
            if block == "all":
                t["at_most.all value"][str(n)] += 1
        for block, n in effective.exactly:
            t["constraint detail"][f"exactly.{block}" + ("=0" if n == 0 else "")] += 1
        if effective.start_by:
            t["constraint detail"][f"start_by, length {len(effective.start_by)}"] += 1
        if entry.program is not None:
            self._add_program(entry)

    def _add_program(self, entry: SuiteEntry) -> None:
        program, t = entry.program, self.tables
        assert program is not None
        self.programs += 1
        counts = program.block_counts
        for block in REAL["blocks per program (mean)"][0]:
            t["blocks per program (mean)"][block] += counts[block]
        if counts["repeat"]:
            t["program"]["uses repeat"] += 1
        if program.depth() > 1:
            t["program"]["nested repeat"] += 1
        n = len(program)
        lo, hi = next(b for b in _LENGTH_BINS if b[0] <= n <= b[1])
        t["program length (blocks)"][f"{lo}-{hi}" if hi < 99 else f"{lo}+"] += 1
        self.max_blocks = max(self.max_blocks, n)
        self.max_actions = max(self.max_actions, len(program.ops))
        todo = list(program.body)
        while todo:
            s = todo.pop()
            if isinstance(s, Repeat):
                t["repeat count"][str(s.times)] += 1
                todo.extend(s.body)

    def total(self, table: str) -> int:
        """What a table's rows are out of."""
        if table in ("line colour", "line length"):
            return self.lines
        if table in ("program", "blocks per program (mean)", "program length (blocks)"):
            return self.programs
        if table == "lines per draw task":
            return self.draw_tasks
        if table in ("repeat count", "spec shape", "item", "sum total", "constraint detail", "at_most.all value"):
            return sum(self.tables[table].values())
        return self.tasks

    def format(self, top: int = 12) -> str:
        """Tables of percentages (means for block counts) with the real figures beside them."""
        out = [f"{self.tasks} tasks, {self.programs} with programs; longest program {self.max_blocks} blocks "
               f"(real: 15), most actions {self.max_actions} (real: 32)"]
        for name, counter in self.tables.items():
            if not counter:
                continue
            real, real_total = REAL.get(name, ({}, 0))
            total = self.total(name)
            mean = name in _MEANS
            out.append("")
            out.append(f"{name:<28} {'sample':>10} {'real':>8}" if real else f"{name:<28} {'sample':>10}")
            keys = list(dict.fromkeys([*real, *(k for k, _ in counter.most_common())]))
            if name in ("program length (blocks)", "repeat count", "sum total", "lines per draw task",
                        "at_most.all value", "line length"):
                keys = sorted(counter, key=_number)
            shown = keys[:top]
            for key in shown:
                gen = counter[key] / total if mean else 100 * counter[key] / total
                cell = f"{gen:>10.2f}" if mean else f"{gen:>9.1f}%"
                if real:
                    r = real.get(key, 0) / real_total if mean else 100 * real.get(key, 0) / real_total
                    cell += f" {r:>8.2f}" if mean else f" {r:>7.1f}%"
                out.append(f"  {key:<26} {cell}")
            rest = sum(counter[k] for k in keys[top:])
            if rest and not mean:
                r_rest = sum(real.get(k, 0) for k in keys[top:])
                cell = f"{100 * rest / total:>9.1f}%" + (f" {100 * r_rest / real_total:>7.1f}%" if real else "")
                out.append(f"  {'(other)':<26} {cell}")
        if self.tables["sum total"]:
            out.append("")
            out.append(f"real sum totals: {', '.join(map(str, REAL_SUM_TOTALS))}")
        return "\n".join(out)

    def plot(self, path: str) -> None:
        """A figure of the main tables, generated beside real, saved to `path` (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = ["goal structure", "constraint kind", "grid size (W x H)", "world", "start direction",
                 "line colour", "blocks per program (mean)", "program length (blocks)", "sum total"]
        fig, axes = plt.subplots(3, 3, figsize=(16, 12))
        for ax, name in zip(axes.flat, names, strict=True):
            counter = self.tables[name]
            real, real_total = REAL.get(name, ({}, 0))
            total = max(1, self.total(name))
            mean = name in _MEANS
            keys = list(dict.fromkeys([*real, *(k for k, _ in counter.most_common())]))[:10]
            if name in ("program length (blocks)", "sum total"):
                keys = sorted(counter, key=_number)
            scale = 1 if mean else 100
            xs = range(len(keys))
            ax.bar([x - 0.2 for x in xs], [scale * counter[k] / total for k in keys], width=0.4, label="this set")
            if name == "sum total":
                totals = Counter(str(v) for v in REAL_SUM_TOTALS)
                keys_real = [100 * totals[k] / len(REAL_SUM_TOTALS) for k in keys]
                ax.bar([x + 0.2 for x in xs], keys_real, width=0.4, label="real")
            elif real:
                ax.bar([x + 0.2 for x in xs], [scale * real.get(k, 0) / real_total for k in keys], width=0.4,
                       label="real")
            ax.set_xticks(list(xs))
            ax.set_xticklabels(keys, rotation=40, ha="right", fontsize=8)
            ax.set_title(name)
            ax.set_ylabel("per program" if mean else "%")
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def collect_stats(entries: Iterable[SuiteEntry]) -> TaskStats:
    stats = TaskStats()
    for entry in entries:
        stats.add(entry)
    return stats


def _shape(spec: tuple[tuple[str, ...], ...]) -> str:
    if any(len(clause) > 1 for clause in spec):
        return "with OR"
    kinds = ["name" if clause[0] in ITEM_NAMES else "colour" for clause in spec]
    return " AND ".join(sorted(kinds, reverse=True)) if len(kinds) > 1 else kinds[0] if kinds else "empty"


def _number(key: str) -> float:
    digits = key.split("-")[0].rstrip("+")
    return float(digits) if digits.isdigit() else float("inf")
