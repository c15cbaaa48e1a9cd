"""Showing results: the table on stdout and the same as JSON in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .figure import Figure
from .harness import Sizes

RESULTS = Path(__file__).with_name("results")
HEADERS = ("figure", "value", "baseline", "ratio", "target")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s" and value < 1:
        return f"{value * 1000:.0f} ms"
    if abs(value) >= 100:
        number = f"{value:,.0f}"
    elif abs(value) >= 10:
        number = f"{value:.1f}"
    else:
        number = f"{value:.2f}"
    return f"{number} {unit}"


def format_target(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    if figure.target_met is None:
        return figure.target
    return f"{figure.target}: {'met' if figure.target_met else 'MISSED'}"


def table_rows(figures: Sequence[Figure]) -> list[tuple[str, ...]]:
    return [
        (
            f.name,
            format_value(f.value, f.unit),
            format_value(f.baseline, f.unit),
            "-" if f.ratio is None else f"{f.ratio:.3g}x",
            format_target(f),
        )
        for f in figures
    ]


def print_table(figures: Sequence[Figure], out: TextIO = sys.stdout) -> None:
    rows = [HEADERS, *table_rows(figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    # Numbers right-aligned so magnitudes line up; names and targets left.
    align = ("<", ">", ">", ">", "<")
    lines = ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    out.write("\n".join(line.rstrip() for line in lines) + "\n")
    out.write("\nratio = value / baseline. Baselines and notes:\n")
    for f in figures:
        out.write(f"- {f.name}\n    baseline: {f.baseline_label}\n")
        if f.note:
            out.write(f"    {f.note}\n")


def write_json(figures: Sequence[Figure], *, started: datetime, quick: bool, sizes: Sizes) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "quick": quick,
        "sizes": asdict(sizes),
        "environment": environment(),
        "figures": [f.as_json() for f in figures],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def environment() -> dict[str, Any]:
    """What a later reader needs to compare two result files fairly."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        # Other work on the machine slows every figure: this says how busy it was.
        "load_average_at_end": os.getloadavg(),
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    """HEAD, with `+dirty` when the tree has changes: the code measured is not HEAD's then."""
    root = RESULTS.parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")
