"""A note of several lines keeps the record's Markdown intact (issue #19, item 8): its
`#`, `*` and `|` lines stay the note's text (a code block inside the item), never the
record's headings, lists or tables, and never fill a required section. The real app,
headless: the draft as the record screen shows it."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from textual.widgets import TextArea

from opsdeck.backend import record
from opsdeck.backend.service import Service
from opsdeck.screens.record import RecordScreen

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock
from .test_board_ux import on

NOTE = "uplink 1 back\n# Cause\n* the optic\n\n| port | state |\n|---|---|\n| 1 | up |\n## Summary"


@pytest.fixture
def board(sqlite_url: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    Service(store, "servers").note(ids["switch"], NOTE)
    yield store, ids
    store.dispose()


async def test_a_multi_line_note_stays_text_in_the_records_markdown(board) -> None:  # type: ignore[no-untyped-def]
    store, ids = board
    app = make_app(store, store.clock)
    async with app.run_test(size=(100, 40)) as pilot:
        await on(pilot, app, ids["switch"])
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, RecordScreen) and "uplink 1 back" in app.screen.shown_text)
        text = app.screen.query_one("#record-text", TextArea).text
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "Cause" in headings and headings.count("Cause") == 1 and headings.count("Summary") == 1, headings
    assert not [t for t in tokens if t.type == "table_open"]
    blocks = [t.content for t in tokens if t.type == "code_block" and "uplink 1 back" in t.content]
    assert NOTE + "\n" in blocks and all(b.rstrip("\n").endswith(NOTE) for b in blocks), blocks  # as written
    assert {"cause", "summary"} <= set(record.missing_sections(text))  # the note filled neither
