"""What the board's screen tests share."""

from __future__ import annotations

import pytest

from ..board_fixtures import board_incidents, seeded_store
from ..conftest import FakeClock


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    """A seeded store with the board's incidents (tests/board_fixtures.py): (store, ids)."""
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    yield store, ids
    store.dispose()
