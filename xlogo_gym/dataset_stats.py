"""Distribution statistics of a task collection, side by side with the real tasks (SEMANTICS.md §12)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from xlogo_gym.generator.constraints import constraint_kind
from xlogo_gym.generator.families import FAMILIES, at_most_limit, grid_total, loop_forcing, occupancy, task_family
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
#: §12.1 figures per task family (FAMILIES) and over all 85 benchmark tasks ("all"), as printed beside the
#: family table; a family or column §12.1 says nothing about is left out. Columns: "tasks" (share of the
#: 85), "items" (per task), "occupancy" (items / free cells), "colours" (distinct item colours),
#: "strawberries" (on the grid, sum tasks), "loop-forcing" (of at_most tasks), "don't use" (of exactly
#: tasks), "target < total" (of sum tasks).
REAL_FAMILIES: dict[str, dict[str, str]] = {
    "draw": {"items": "0"}, "draw-at_most": {"items": "0"}, "draw-dont_use": {"items": "0"},
    "find": {"items": "1"}, "find-at_most": {"items": "1"}, "find-dont_use": {"items": "1"},
    "find-dense": {"items": "8", "occupancy": "100%"},
    "findonly": {"tasks": "2.4%"},
    "find+forbid": {"items": "8", "occupancy": "100%", "colours": "3-8"},
    "collectall": {"items": "8", "occupancy": "100%", "colours": "3"},
    "concat": {"items": "8", "occupancy": "100%", "colours": "8"},
    "sum-four": {"tasks": "7.1%", "items": "4", "strawberries": "10"},
    "sum-full": {"tasks": "4.7%", "items": "8", "occupancy": "100%", "strawberries": "8-22"},
    "sum-classic": {"tasks": "0.0%"},
    "all": {"tasks": "85", "loop-forcing": "90%", "don't use": "67%", "target < total": "90%"},
}
_FAMILY_COLUMNS = ("tasks", "items", "occupancy", "colours", "strawberries", "loop-forcing", "don't use",
                   "target < total")
_MEANS = {"blocks per program (mean)"}  # tables whose rows are per-entry means, not percentages
_LENGTH_BINS = ((1, 3), (4, 6), (7, 9), (10, 12), (13, 15), (16, 99))


@dataclass
class FamilyCounts:
    """Sums over the tasks of one family, for the family table."""

    tasks: int = 0
    items: int = 0
    occupancy: float = 0.0  # summed over tasks with a free cell (`occupied`)
    occupied: int = 0
    colours: int = 0  # summed over tasks with items (`with_items`)
    with_items: int = 0
    strawberries: int = 0  # summed over sum tasks (`sums`)
    sums: int = 0
    below_total: int = 0
    at_most: int = 0
    forcing: int = 0
    exactly: int = 0
    dont_use: int = 0

    def add(self, other: FamilyCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cells(self, total: int) -> dict[str, str]:
        """The family table's cells ("-" where nothing was counted); `total` is all tasks."""
        def share(n: int, of: int) -> str:
            return f"{100 * n / of:.0f}%" if of else "-"

        return {"tasks": f"{100 * self.tasks / max(total, 1):.1f}%", "items": f"{self.items / max(self.tasks, 1):.1f}",
                "occupancy": f"{100 * self.occupancy / self.occupied:.0f}%" if self.occupied and self.items else "-",
                "colours": f"{self.colours / self.with_items:.1f}" if self.with_items else "-",
                "strawberries": f"{self.strawberries / self.sums:.1f}" if self.sums else "-",
                "loop-forcing": share(self.forcing, self.at_most), "don't use": share(self.dont_use, self.exactly),
                "target < total": share(self.below_total, self.sums)}


class TaskStats:
    """Counts over tasks (and their programs, where known); `add` one entry at a time."""

    def __init__(self) -> None:
        self.tables: dict[str, Counter[str]] = {name: Counter() for name in (
            *REAL, "program length (blocks)", "repeat count", "spec shape", "item", "sum total",
            "constraint detail", "at_most.all value", "lines per draw task")}
        self.tasks = self.programs = self.draw_tasks = self.lines = 0
        self.max_blocks = self.max_actions = 0
        self.families: dict[str, FamilyCounts] = {}

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
        self._add_family(entry)
        if entry.program is not None:
            self._add_program(entry)

    def _add_family(self, entry: SuiteEntry) -> None:
        task = entry.task
        items = task.world.items
        c = self.families.setdefault(task_family(task), FamilyCounts())
        c.tasks += 1
        c.items += len(items)
        occupied = occupancy(task)
        if occupied is not None:
            c.occupancy += occupied
            c.occupied += 1
        if items:
            c.colours += len({i.color for i in items})
            c.with_items += 1
        for objective in task.goal:
            if objective.name == "sum":
                c.sums += 1
                c.strawberries += sum(i.count for i in items if i.name == "strawberry")
                c.below_total += (objective.total_cnt or 0) < grid_total(task, objective)
        if at_most_limit(task) is not None:
            c.at_most += 1
            c.forcing += loop_forcing(task)
        exactly = task.constraints.effective.exactly
        if exactly:
            c.exactly += 1
            c.dont_use += any(n == 0 for _, n in exactly)

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
        if self.families:
            out.append("")
            out.extend(self.format_families())
        return "\n".join(out)

    def format_families(self) -> list[str]:
        """The family table (SEMANTICS.md §12.1): per family, "sample (real)" in each column."""
        everything = FamilyCounts()
        for counts in self.families.values():
            everything.add(counts)
        rows = [[family, *self._family_cells(family, self.families[family])] for family in FAMILIES
                if family in self.families]
        rows += [[family, *self._family_cells(family, counts)] for family, counts in self.families.items()
                 if family not in FAMILIES]  # labels of tasks outside FAMILIES, if any
        rows.append(["all", *self._family_cells("all", everything)])
        rows[-1][1] = f"{self.tasks} ({REAL_FAMILIES['all']['tasks']})"
        header = ["family (real §12.1)", *_FAMILY_COLUMNS]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                          enumerate(zip(row, widths, strict=True))).rstrip() for row in [header, *rows]]

    def _family_cells(self, family: str, counts: FamilyCounts) -> list[str]:
        real = REAL_FAMILIES.get(family, {})
        cells = counts.cells(self.tasks)
        return [f"{cells[k]} ({real[k]})" if k in real else cells[k] for k in _FAMILY_COLUMNS]

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
