"""`clocks.owed` and `clocks.running` read an ORM row's loaded values straight from the
row, and anything else (a replay's clock, a value not loaded) as attributes: the same
answers either way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from opsdeck.backend import clocks
from opsdeck.backend.models import IncidentDeadline
from opsdeck.backend.models.columns import construct

DUE = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
LATE, EARLY = DUE + timedelta(minutes=5), DUE - timedelta(minutes=5)
CASES = [  # (met_at, waived_at, superseded_at, escalated_at) -> (owed, running)
    ((None, None, None, None), (True, True)),
    ((EARLY, None, None, None), (False, False)),
    ((LATE, None, None, None), (True, False)),
    ((LATE, EARLY, None, None), (False, False)),
    ((None, None, LATE, None), (True, False)),
    ((None, None, None, LATE), (False, True)),
]


@dataclass(slots=True)
class _Slotted:  # no __dict__ at all
    due_at: datetime
    met_at: datetime | None
    waived_at: datetime | None
    superseded_at: datetime | None
    escalated_at: datetime | None


def _rows(
    met: datetime | None, waived: datetime | None, superseded: datetime | None, escalated: datetime | None
) -> list[object]:
    values = {"due_at": DUE, "met_at": met, "waived_at": waived, "superseded_at": superseded, "escalated_at": escalated}
    orm = construct(IncidentDeadline, incident_id=1, rule="ack", clock_key="", clock_start=EARLY, **values)
    unloaded = construct(IncidentDeadline, incident_id=1, rule="ack", clock_key="", clock_start=EARLY, **values)
    if met is None:  # not in the row's dict: read through the attribute (None on a new row)
        unloaded.__dict__.pop("met_at")
    return [orm, unloaded, SimpleNamespace(**values), _Slotted(**values)]


@pytest.mark.parametrize(("values", "expected"), CASES)
def test_every_kind_of_row_gives_the_same_answers(
    values: tuple[datetime | None, ...], expected: tuple[bool, bool]
) -> None:
    for row in _rows(*values):
        assert (clocks.owed(row), clocks.running(row)) == expected, type(row).__name__  # type: ignore[arg-type]
