"""What a benchmark reports: one measured figure against a baseline from the same run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One line of the results table.

    `ratio` is always value / baseline: below 1 for a rate means slower than the
    baseline, above 1 for a time or a size means costlier. `target` is for people
    ("< 5 s"); `target_met` is the machine check of it, None when there is no target.
    """

    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    target: str | None = None
    note: str = ""
    target_met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}
