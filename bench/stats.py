"""Figures for the bench table: samples (min/median/max), goals, ratios, the table itself.

Pure functions, no I/O (``tests/test_bench.py`` covers them).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

GOAL_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda v, lim: v <= lim,
    "<": lambda v, lim: v < lim,
    ">=": lambda v, lim: v >= lim,
    "==": math.isclose,
}


@dataclass(frozen=True)
class Sample:
    """Several measurements of one figure."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a sample needs at least one value")

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        return cls(tuple(float(v) for v in values))

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def n(self) -> int:
        return len(self.values)


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Sample:
    """Pairwise ratios of runs measured side by side (run i of A over run i of B)."""
    if len(numerators) != len(denominators):
        raise ValueError(f"paired samples differ in size: {len(numerators)} vs {len(denominators)}")
    if any(d <= 0 for d in denominators):
        raise ValueError("a ratio's denominator must be positive")
    return Sample.of([a / b for a, b in zip(numerators, denominators, strict=True)])


def per_second(count: float, seconds: Sequence[float]) -> Sample:
    """Throughput of each run: ``count`` items over that run's seconds."""
    return Sample.of([count / s for s in seconds])


@dataclass(frozen=True)
class Goal:
    """A target for a row's median, e.g. ``Goal("<=", 1.3)``."""

    op: str
    limit: float

    def __post_init__(self) -> None:
        if self.op not in GOAL_OPS:
            raise ValueError(f"unknown goal operator {self.op!r}")

    def met(self, value: float) -> bool:
        return GOAL_OPS[self.op](value, self.limit)

    def describe(self, unit: str) -> str:
        return f"{self.op} {fmt(self.limit, unit)}{unit_suffix(unit)}"


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure with its spread, goal and a note."""

    item: str
    name: str
    unit: str  # "ms", "x", "n", "routes/s", "s"
    sample: Sample
    goal: Goal | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        return "met" if self.goal.met(self.sample.median) else "MISSED"


def unit_suffix(unit: str) -> str:
    return {"x": "x", "ms": " ms", "s": " s", "n": "", "routes/s": "/s"}.get(unit, f" {unit}")


def fmt(value: float, unit: str) -> str:
    """A value in its unit, with as many digits as are meaningful."""
    if unit == "n":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "routes/s":
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        if value >= 1e3:
            return f"{value / 1e3:.0f}k"
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


HEADER = ("#", "measure", "min", "median", "max", "runs", "goal", "verdict", "note")


@dataclass
class Table:
    """Rows in the order they were measured."""

    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def cells(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for r in self.rows:
            s, suf = r.sample, unit_suffix(r.unit)
            out.append(
                (
                    r.item,
                    r.name,
                    fmt(s.min, r.unit) + suf,
                    fmt(s.median, r.unit) + suf,
                    fmt(s.max, r.unit) + suf,
                    str(s.n),
                    r.goal.describe(r.unit) if r.goal else "",
                    r.verdict,
                    r.note,
                )
            )
        return out

    def text(self) -> str:
        """Plain aligned columns for a terminal."""
        rows = [HEADER, *self.cells()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
        right = {2, 3, 4, 5}
        lines = []
        for row in rows:
            parts = [
                c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
            ]
            lines.append("  ".join(parts).rstrip())
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for row in self.cells():
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return "\n".join(lines)

    def missed(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "MISSED"]
