"""A warning's own screen (预警, screens/warning.py), opened from `W`: its fields, clocks,
measures, who was told, trail; keys to note, write the analysis, tick a measure, record
who was told, promote, close as passed. The panel of open warnings beside the probes.
Pilot tests assert on the store; pictures at 80x24 and wide, English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from opsdeck.backend.early_warning import Warnings
from opsdeck.backend.models import Incident, WarningAttestation, WarningMeasure, WarningNote, WarningRecord
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store
from opsdeck.screens.forms import ActionForm
from opsdeck.screens.warning import WarningScreen
from opsdeck.screens.warnings import WarningsScreen
from opsdeck.tui.widgets.incident_list import IncidentList
from opsdeck.tui.widgets.warning_panel import WarningPanel

from ..board_fixtures import board_incidents, make_app, seeded_store, until
from ..conftest import FakeClock
from .test_warnings_screen import SIZES, raise_warnings

WRITING_KEYS = {
    "warning.tick",
    "warning.analysis",
    "warning.note",
    "warning.attest",
    "warning.promote",
    "warning.close",
}


@pytest.fixture
def world(sqlite_url: str) -> Iterator[tuple[Store, FakeClock, dict[str, int]]]:
    clock = FakeClock()
    store = seeded_store(sqlite_url, clock)
    ids = board_incidents(store, clock)
    ids.update(raise_warnings(store, clock))
    w = Warnings(Service(store, "servers"))
    w.note(ids["storm"], "the coastal substation feeds the data center", analysis=False)
    w.attest(ids["storm"], "department", via="phone", who="Facilities")
    yield store, clock, ids
    store.dispose()


def row(store: Store, warning_id: int) -> WarningRecord:
    with store.read() as session:
        found = session.get(WarningRecord, warning_id)
        assert found is not None
        session.expunge(found)
        return found


def shown(app) -> str:  # type: ignore[no-untyped-def]
    screen = app.screen
    parts = [
        str(screen.query_one(f"#{name}").render()) for name in ("summary", "fields", "clocks", "told", "notes", "trail")
    ]
    return "\n".join(parts)


async def open_warning(pilot, app, index: int = 0) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: bool(app.screen.query(IncidentList)) and bool(app.screen.query_one(IncidentList).rows))
    await pilot.press("W")
    await until(
        pilot, lambda: isinstance(app.screen, WarningsScreen) and app.screen.query_one("#warnings").option_count
    )
    for _ in range(index):
        await pilot.press("down")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, WarningScreen) and app.screen.data is not None)


async def submit(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+s")
    await until(pilot, lambda: not isinstance(app.screen, ActionForm))


async def test_the_warning_screen_shows_it_and_acts_on_it(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    storm = ids["storm"]
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_warning(pilot, app)  # the storm: breached first
        text = shown(app)
        for seen in (
            f"W{storm}",
            "Typhoon warning: power may fail Friday",
            "weather bureau",
            "Facilities",
            "analysed",
            "breached",
            "leadership told (serious)",
            "warning raised (external, serious)",
            "told Facilities by phone",
        ):
            assert seen in text, seen
        measures = app.screen.query_one("#measures")
        assert measures.option_count == 4 and "[ ] assess" in str(measures.get_option_at_index(0).prompt)

        await pilot.press("space")  # tick the first measure
        await until(pilot, lambda: "[x] assess" in str(app.screen.query_one("#measures").get_option_at_index(0).prompt))
        with store.read() as session:
            done = session.execute(
                select(WarningMeasure.done_by).where(WarningMeasure.warning_id == storm, WarningMeasure.key == "assess")
            ).scalar_one()
        assert done == "servers"

        await pilot.press("a")  # the analysis
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"grid feed at risk")
        await submit(pilot, app)
        await until(pilot, lambda: row(store, storm).analysis == "grid feed at risk")
        assert row(store, storm).analysed_by == "servers"

        await pilot.press("m")  # a note
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"generator fuel checked")
        await submit(pilot, app)
        await until(pilot, lambda: "generator fuel checked" in shown(app))
        with store.read() as session:
            texts = list(session.execute(select(WarningNote.text).where(WarningNote.warning_id == storm)).scalars())
        assert "generator fuel checked" in texts

        await pilot.press("b")  # leadership told: the second choice
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("down", "enter")
        await pilot.press(*"phone")
        await submit(pilot, app)
        with store.read() as session:
            told = session.execute(
                select(WarningAttestation.key, WarningAttestation.channel, WarningAttestation.by).where(
                    WarningAttestation.warning_id == storm
                )
            ).all()
        assert ("leadership", "phone", "servers") in [tuple(t) for t in told]

        await pilot.press("p")  # promote, unclassified (no level picked)
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await submit(pilot, app)
        await until(pilot, lambda: row(store, storm).status == "promoted")
        incident_id = row(store, storm).incident_id
        with store.read() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.warning_id == storm and incident.reported_at == clock.now
        await until(pilot, lambda: f"#{incident_id}" in shown(app))
        assert app.screen.check_action("promote", ()) is False and app.screen.check_action("note", ()) is False
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WarningsScreen))
        await until(pilot, lambda: "Open warnings (2):" in str(app.screen.query_one("#warnings-title").render()))


async def test_close_as_passed_and_a_refusal_shown_in_the_form(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_warning(pilot, app, index=1)
        wid = app.screen.warning_id
        await pilot.press("b")  # a department, but not named: refused inside the form
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("enter")
        await pilot.press(*"phone")
        await pilot.press("ctrl+s")
        form = app.screen
        await until(pilot, lambda: "a department told to prepare is named" in str(form.query_one("#error").render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WarningScreen))
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"patched the same day")
        await pilot.press("enter")
        await until(pilot, lambda: row(store, wid).status == "passed")
        assert row(store, wid).close_reason == "patched the same day"


async def test_a_viewer_has_no_writing_key_on_the_warning(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="auditor", read_only=True)
    before = row(store, ids["storm"]).version
    async with app.run_test(size=(120, 40)) as pilot:
        await open_warning(pilot, app)
        for key in ("space", "a", "m", "b", "p", "C"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert isinstance(app.screen, WarningScreen), key
    assert row(store, ids["storm"]).version == before


async def test_the_panel_of_open_warnings_beside_the_probes(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(140, 44)) as pilot:
        panel = app.screen.query_one(WarningPanel)
        await until(pilot, lambda: "Warnings 3 open" in str(panel.render()))
        text = str(panel.render())
        assert text.index(f"W{ids['storm']}") < text.index(f"W{ids['scan']}") and "1/4" in text
        assert panel.display and panel.region.width > 0
        Warnings(Service(store, "servers")).close(ids["scan"], reason="false positive")  # another login's change
        await until(pilot, lambda: "Warnings 2 open" in str(panel.render()))
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(100, 30)) as pilot:  # narrow: behind `p`
        await until(pilot, lambda: "Warnings 2 open" in str(app.screen.query_one(WarningPanel).render()))
        assert app.screen.query_one("#side").region.width == 0
        await pilot.press("p")
        await until(pilot, lambda: app.screen.query_one(WarningPanel).region.width > 0)


def on_warning(index: int = 0):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await open_warning(pilot, app, index)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_warning_picture(world, snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world
    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=size, run_before=on_warning())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_warning_picture_in_chinese(world, snap_compare, size, in_chinese) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world
    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=size, run_before=on_warning())


def test_board_with_the_warning_panel_picture(world, snap_compare) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await until(pilot, lambda: "Warnings 3 open" in str(app.screen.query_one(WarningPanel).render()))
        await pilot.pause(0.3)

    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=(140, 44), run_before=run_before)


async def test_raise_a_warning_from_the_board(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot, lambda: bool(app.screen.query(IncidentList)) and bool(app.screen.query_one(IncidentList).rows)
        )
        await pilot.press("W")
        await until(
            pilot, lambda: isinstance(app.screen, WarningsScreen) and app.screen.query_one("#warnings").option_count
        )
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press("ctrl+s")  # no title: refused inside the form
        form = app.screen
        await until(pilot, lambda: "title" in str(form.query_one("#error").render()))
        await pilot.press(*"Vendor bulletin: OpenSSL 3.x flaw")
        form.query_one("#systems").value = "portal"
        form.query_one("#serious").value = True
        await submit(pilot, app)
        await until(pilot, lambda: app.screen.query_one("#warnings").option_count == 4)
    with store.read() as session:
        row = session.execute(select(WarningRecord).order_by(WarningRecord.id.desc()).limit(1)).scalar_one()
    assert (row.title, row.kind, row.systems, row.serious, row.raised_by) == (
        "Vendor bulletin: OpenSSL 3.x flaw",
        "external",
        ["portal"],
        True,
        "servers",
    )


async def test_another_logins_change_shows_live(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="servers")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_warning(pilot, app)  # the storm
        Warnings(Service(store, "dns")).note(ids["storm"], "generator tested by dns")
        await until(pilot, lambda: "generator tested by dns" in shown(app))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WarningsScreen))
        Warnings(Service(store, "dns")).close(ids["scan"], reason="false positive")
        await until(pilot, lambda: "Open warnings (2):" in str(app.screen.query_one("#warnings-title").render()))


async def test_a_viewer_raises_no_warning(world) -> None:  # type: ignore[no-untyped-def]
    store, clock, ids = world
    app = make_app(store, clock, login="auditor", read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot, lambda: bool(app.screen.query(IncidentList)) and bool(app.screen.query_one(IncidentList).rows)
        )
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, WarningsScreen))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert isinstance(app.screen, WarningsScreen)
    assert len(list_rows(store)) == 4


def list_rows(store: Store) -> list[WarningRecord]:
    with store.read() as session:
        return list(session.execute(select(WarningRecord)).scalars())


def test_raise_form_picture(world, snap_compare) -> None:  # type: ignore[no-untyped-def]
    store, clock, _ids = world

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await until(
            pilot, lambda: bool(app.screen.query(IncidentList)) and bool(app.screen.query_one(IncidentList).rows)
        )
        await pilot.press("W")
        await until(
            pilot, lambda: isinstance(app.screen, WarningsScreen) and app.screen.query_one("#warnings").option_count
        )
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ActionForm))
        await pilot.press(*"Carrier notice: fiber work Sunday 02:00")
        await pilot.pause(0.3)

    assert snap_compare(make_app(store, clock, login="servers"), terminal_size=(80, 24), run_before=run_before)
