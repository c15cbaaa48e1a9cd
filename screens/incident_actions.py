"""The incident actions' screen side, mixed into the board and the detail screen: the
form each action opens, the thread worker its write runs in, what it tells the operator.
What decides (the registry of actions, a bulk action's outcome, a form's values) is in
`tui/triage.py`, below the screens.

The forms, the service and the ORM's reads are imported by the methods that use them:
the board draws its first page before any of them load (issue #26)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker, WorkerState

from opsdeck.backend.i18n import _, pick
from opsdeck.backend.rows import ObligationRow, RosterRow
from opsdeck.tui.board_words import board_text
from opsdeck.tui.context import BoardContext
from opsdeck.tui.triage import (
    BY_NAME,
    WRITING,
    Call,
    Target,
    call_answers,
    closing,
    outage_start,
    owner_duties,
    performed,
    run_bulk,
)

if TYPE_CHECKING:
    from textual.screen import Screen

    from opsdeck.backend.service import Service

    _Screen = Screen[Any]  # mixed into a Screen: its app, notify and workers
else:
    _Screen = object


class IncidentActions(_Screen):
    """Mixed into a Screen that knows its incidents: `targets()` gives (id, version seen)
    pairs (the marked rows, else the one under the cursor), `target_row(id)` what it knows
    of one. Every write goes through the service layer in a thread worker."""

    ctx: BoardContext

    acting_on_marks = False  # the running action works on the marked rows (they are unmarked after)

    def targets(self) -> list[tuple[int, int | None]]:
        raise NotImplementedError

    def target(self) -> tuple[int, int | None]:
        """What a single-incident action works on: the row under the cursor (never the
        first marked row), with the version it shows; (0, None) when there is none."""
        self.acting_on_marks = False
        return (self.targets()[:1] or [(0, None)])[0]

    def bulk_targets(self) -> list[tuple[int, int | None]]:
        """What a bulk action works on: the marked rows, else the one under the cursor."""
        self.acting_on_marks = True
        return self.targets()

    def target_info(self, incident_id: int) -> dict[str, Any]:
        return {}

    @property
    def service(self) -> Service:
        from opsdeck.backend.service import Service  # the actions: loaded once the board's first page is up

        return Service(self.ctx.store, self.ctx.login, read_only=self.ctx.read_only, by=self.ctx.by)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITING and self.ctx.read_only:
            return False  # hidden: a viewer changes nothing (and the service refuses anyway)
        if action in BY_NAME and not self.targets():
            return None  # greyed: nothing selected
        return True

    # -- running ------------------------------------------------------------------------

    def _read_then(self, read: Callable[[Any], Any], then: Callable[[Any], None]) -> None:
        """Read what a form needs in a thread (no I/O on the event loop), then open it."""
        self._prepare(read, then)

    @work(thread=True, group="prepare", exit_on_error=False)
    def _prepare(self, read: Callable[[Any], Any], then: Callable[[Any], None]) -> None:
        with self.ctx.store.read() as session:
            data = read(session)
        self.app.call_from_thread(then, data)

    def _form(self, form: Any) -> None:
        self.app.push_screen(form, self._form_done)

    def _form_done(self, result: str | None) -> None:
        if result:
            self.app.notify(result, timeout=4)
            self.after_write()

    def after_write(self) -> None:
        """Screens reload what they show (the feed also tells them)."""

    @work(thread=True, group="action", exit_on_error=False)
    def _bulk(self, done_as: str, call: Call, targets: list[Target]) -> str:
        return self._bulk_now(done_as, call, targets)

    def _bulk_now(self, done_as: str, call: Call, targets: list[Target]) -> str:
        return run_bulk(self.service, done_as, call, targets, self.ctx.zone)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "action":
            return
        if event.worker.state == WorkerState.SUCCESS and event.worker.result:
            self.app.notify(str(event.worker.result), timeout=6)
            self.after_write()
        elif event.worker.state == WorkerState.ERROR:
            self.app.notify(board_text(event.worker.error, self.ctx.zone), severity="error", timeout=10)

    # -- the actions --------------------------------------------------------------------

    def action_ack(self) -> None:
        self._bulk(_("{count} acknowledged"), lambda s, i, v: s.ack(i, expected_version=v), self.bulk_targets())

    def action_classify(self) -> None:
        from opsdeck.screens.forms import ClassifyForm

        incident_id, version = self.target()
        info = self.target_info(incident_id)
        self._form(
            ClassifyForm(
                _("Classify #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.classify(
                        incident_id,
                        category=v["category"] or "",
                        level=v["level"] or "",
                        reason=v["reason"],
                        expected_version=seen,
                    ),
                    _("#{id} classified").format(id=incident_id),
                ),
                version,
                category=info.get("category", "unclassified"),
                level=info.get("level"),
            )
        )

    def action_level(self) -> None:
        from opsdeck.screens.forms import ClassifyForm

        incident_id, version = self.target()
        info = self.target_info(incident_id)
        self._form(
            ClassifyForm(
                _("Level of #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.set_level(
                        incident_id, level=v["level"] or "", reason=v["reason"], expected_version=seen
                    ),
                    _("#{id} level changed").format(id=incident_id),
                ),
                version,
                category=info.get("category", "unclassified"),
                level=info.get("level"),
                with_category=False,
            )
        )

    def action_assign(self) -> None:
        targets = self.bulk_targets()
        if not targets:
            return
        first = self.target_info(targets[0][0])

        def read(session: Any) -> tuple[list[RosterRow], str | None]:
            from opsdeck.backend import queries

            system = queries.get_incident(session, targets[0][0])["system"]
            duty_area = next((s["duty_area"] for s in queries.systems(session) if s["name"] == system), None)
            return queries.roster(session), duty_area

        self._read_then(read, lambda data: self._assign_form(targets, first, *data))

    def _assign_form(
        self,
        targets: list[tuple[int, int | None]],
        first: dict[str, Any],
        roster: list[RosterRow],
        system_duty: str | None,
    ) -> None:

        from opsdeck.screens.forms import PickForm, owner_choices

        duties = owner_duties(first.get("category", "other"), system_duty)
        if len(targets) == 1:
            title = _("Assign #{id}").format(id=targets[0][0])
        else:
            title = _("Assign {count} incidents").format(count=len(targets))

        def perform(values: dict[str, Any], seen: int | None) -> str:
            login = values["choice"]
            if len(targets) == 1:
                return self._perform(
                    lambda s: s.assign(targets[0][0], login, expected_version=seen),
                    _("#{id} assigned to {login}").format(id=targets[0][0], login=login),
                )
            assigned = _("{count} assigned")
            return self._bulk_now(assigned, lambda s, i, v: s.assign(i, login, expected_version=v), targets)

        self._form(
            PickForm(
                title,
                perform,
                targets[0][1],
                choices=owner_choices(roster, duties),
                label=_("Owner (suggested first: duty fits, on duty, least load)"),
            )
        )

    def action_note(self) -> None:
        from opsdeck.screens.forms import TextForm

        incident_id, _version = self.target()
        self._form(
            TextForm(
                _("Note on #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.note(incident_id, v["text"]), _("note added to #{id}").format(id=incident_id)
                ),
                label=_("Note"),
            )
        )

    def action_cause(self) -> None:
        from opsdeck.screens.forms import TextForm

        incident_id, version = self.target()
        self._form(
            TextForm(
                _("Cause of #{id} located").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.cause(incident_id, note=v["text"], expected_version=seen),
                    _("#{id}: cause located").format(id=incident_id),
                ),
                version,
                label=_("What was it (optional)"),
                multiline=False,
            )
        )

    def action_outage(self) -> None:
        from opsdeck.screens.forms import FieldsForm

        incident_id, version = self.target()

        def perform(values: dict[str, Any], seen: int | None) -> str:
            started = outage_start(values["when"], self.ctx.clock(), self.ctx.zone)
            return self._perform(
                lambda s: s.outage(incident_id, started=started, reason=values["reason"], expected_version=seen),
                _("#{id}: outage start set").format(id=incident_id),
            )

        self._form(
            FieldsForm(
                _("Outage start of #{id}").format(id=incident_id),
                perform,
                version,
                fields=[
                    ("when", _("When the outage started"), _("-40m, or 2026-11-28T08:10:00+08:00")),
                    ("reason", _("Why (required)"), _("e.g. the first complaint came at 08:00")),
                ],
            )
        )

    def action_call(self) -> None:
        from opsdeck.screens.forms import FieldsForm

        incident_id, version = self.target()

        def perform(values: dict[str, Any], seen: int | None) -> str:
            callback, at = call_answers(values["callback"], values["at"], self.ctx.clock(), self.ctx.zone)
            return self._perform(
                lambda s: s.add_call(
                    incident_id,
                    caller=values["caller"],
                    contact=values["contact"],
                    need=values["need"],
                    callback=callback,
                    at=at,
                ),
                (_("#{id}: call logged, call-back owed") if callback else _("#{id}: call logged")).format(
                    id=incident_id
                ),
            )

        self._form(
            FieldsForm(
                _("Log a call about #{id}").format(id=incident_id),
                perform,
                version,
                fields=[
                    ("caller", _("Caller"), _("name, or branch and desk")),
                    ("contact", _("Contact (shown masked)"), _("phone or e-mail")),
                    ("need", _("What they needed"), _("e.g. cannot pay benefits at counter 3")),
                    ("callback", _("Call-back owed after recovery? (y/n)"), "n"),
                    ("at", _("When it came in (empty: now)"), _("-20m, or 09:40 from the paper log")),
                ],
            )
        )

    def action_attest(self) -> None:
        from opsdeck.backend import queries

        incident_id, _version = self.target()
        self._read_then(
            lambda session: queries.obligations(session, incident_id),
            lambda obligations: self._attest_form(incident_id, obligations),
        )

    def _attest_form(self, incident_id: int, obligations: list[ObligationRow]) -> None:
        from opsdeck.screens.forms import (
            PickForm,
            channel_hint,
            obligation_choices,
        )

        if not obligations:
            self.app.notify(_("#{id} is below level III: no obligations to attest").format(id=incident_id), timeout=5)
            return

        names = {o["key"]: pick(o["en"], o["zh"]) for o in obligations}  # the policy's words, not its ids

        def perform(values: dict[str, Any], seen: int | None) -> str:
            return self._perform(
                lambda s: s.attest(
                    incident_id, values["choice"] or "", via=values["via"], note=values["note"], who=values["who"]
                ),
                _("#{id}: {obligation} attested").format(id=incident_id, obligation=names.get(values["choice"], "")),
            )

        self._form(
            PickForm(
                _("Attest an obligation of #{id}").format(id=incident_id),
                perform,
                None,
                choices=obligation_choices(obligations),
                label=_("Obligation"),
                extra=[("via", channel_hint()), ("note", _("note")), ("who", _("who (the spokesperson)"))],
            )
        )

    def action_regrade(self) -> None:
        from opsdeck.screens.forms import PickForm

        incident_id, version = self.target()
        self._form(
            PickForm(
                _("Re-grade #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.regrade(
                        incident_id, confirm=v["choice"] == "confirm", reason=v["reason"], expected_version=seen
                    ),
                    _("#{id}: re-grade answered").format(id=incident_id),
                ),
                version,
                choices=[
                    ("confirm", _("confirm: raise to the next level")),
                    ("decline", _("decline: the level stays (count to the next bound)")),
                ],
                label=_("The outage passed the level's bound"),
                extra=[("reason", _("why (required)"))],
            )
        )

    def action_resolve(self) -> None:
        from opsdeck.screens.forms import TextForm

        incident_id, version = self.target()
        self._form(
            TextForm(
                _("Resolve #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.resolve(incident_id, resolution=v["text"], zone=self.ctx.zone, expected_version=seen),
                    _("#{id} resolved").format(id=incident_id),
                ),
                version,
                label=_("Resolution: how service came back"),
            )
        )

    def action_close(self) -> None:
        from opsdeck.backend import queries

        targets = self.bulk_targets()
        if not targets:
            return
        exclude = {t[0] for t in targets}
        self._read_then(
            lambda session: queries.recent_originals(session, exclude), lambda others: self._close_form(targets, others)
        )

    def _close_form(self, targets: list[tuple[int, int | None]], others: list[tuple[str, str]]) -> None:
        from opsdeck.screens.forms import CloseForm

        def perform(values: dict[str, Any], seen: int | None) -> str:
            close = closing(values, self.ctx.zone)

            if len(targets) == 1:
                return self._perform(
                    lambda s: close(s, targets[0][0], seen), _("#{id} closed").format(id=targets[0][0])
                )
            return self._bulk_now(_("{count} closed"), close, targets)

        if len(targets) == 1:
            title = _("Close #{id}").format(id=targets[0][0])
        else:
            title = _("Close {count} incidents").format(count=len(targets))
        self._form(CloseForm(title, perform, targets[0][1], originals=others))

    def action_record(self) -> None:
        incident_id, _version = self.target()
        if incident_id:
            from opsdeck.screens.record import RecordScreen  # on w: not before the board's first frame

            self.app.push_screen(RecordScreen(self.ctx, incident_id))

    def action_reopen(self) -> None:
        from opsdeck.screens.forms import TextForm

        incident_id, version = self.target()
        self._form(
            TextForm(
                _("Reopen #{id}").format(id=incident_id),
                lambda v, seen: self._perform(
                    lambda s: s.reopen(incident_id, reason=v["text"], expected_version=seen),
                    _("#{id} reopened").format(id=incident_id),
                    reopened=incident_id,
                ),
                version,
                label=_("Why"),
                multiline=False,
            )
        )

    # -- helpers run inside a form's worker thread ------------------------------------------

    def _perform(self, call: Callable[[Service], Any], message: str, *, reopened: int | None = None) -> str:
        """`reopened`: the incident a reopen was asked of (see tui/triage.py `performed`)."""
        return performed(call(self.service), message, reopened=reopened)
