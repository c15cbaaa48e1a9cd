"""The service desk's call log: calls about an incident, call-backs, unmasking."""

from __future__ import annotations

from datetime import datetime

from ..domain import (
    Status,
)
from ..errors import DomainError, InvalidInput, NotFound
from ..i18n import _
from ..models import (
    ServiceCall,
)
from ..timeutil import rfc3339
from .base import FUTURE_SLACK, ServiceBase, _clean_text


class CallActions(ServiceBase):
    """The service desk's call log: calls about an incident, call-backs, unmasking."""

    def add_call(
        self,
        incident_id: int,
        *,
        caller: str,
        contact: str,
        need: str,
        callback: bool,
        at: datetime | None = None,
    ) -> ServiceCall:
        """A call about the incident, entered as it comes in or afterwards from the paper
        log (`at`: when it came in). Not activity on the fix: the acknowledgement lease and
        the incident's version stay as they are."""
        from ..calls import mask

        caller = _clean_text(caller, "caller", required=True, limit=120)
        contact = _clean_text(contact, "contact", required=True, limit=120)
        need = _clean_text(need, "need", required=True)
        with self._write() as uow:
            self._writer(uow.session, "logging a call")
            incident = self._load(uow, incident_id)
            if incident.status == Status.CLOSED:
                raise DomainError(
                    "closed",
                    _("#{id} is closed: its record is filed").format(id=incident_id),
                    _("enter the paper log's calls before filing the record"),
                    id=incident_id,
                )
            when = uow.now if at is None else at
            if when > uow.now + FUTURE_SLACK:
                raise InvalidInput(
                    "future_call", _("the call's time is in the future"), _("give a past time, e.g. -20m")
                )
            call = ServiceCall(
                incident_id=incident_id,
                at=when,
                caller=caller,
                contact=contact,
                need=need,
                callback=callback,
                entered_at=uow.now,
                entered_by=self.login,
            )
            uow.session.add(call)
            uow.session.flush()
            uow.record(
                "call",
                {
                    "call": call.id,
                    "at": rfc3339(when),
                    "caller": caller,
                    "contact": mask(contact),
                    "callback": callback,
                },
                incident_id=incident_id,
            )
        return call

    def called_back(self, call_id: int, *, note: str | None = None) -> ServiceCall:
        """A call-back owed is made (usually after recovery, closed incidents included)."""
        note = _clean_text(note, "note", required=False) or None
        with self._write() as uow:
            self._writer(uow.session, "ticking off a call-back")
            call = uow.session.get(ServiceCall, call_id, with_for_update=uow.dialect == "postgresql")
            if call is None:
                raise NotFound(
                    "no_call",
                    _("call {id} does not exist").format(id=call_id),
                    _("see `opsdeck calls list --owed`"),
                )
            if not call.callback:
                raise DomainError(
                    "no_callback", _("call {id} owes no call-back").format(id=call_id), _("nothing to tick off")
                )
            if call.called_back_at is not None:
                raise DomainError(
                    "called_back",
                    _("call {id} was called back at {at} by {by}").format(
                        id=call_id, at=rfc3339(call.called_back_at), by=call.called_back_by
                    ),
                    _("nothing to tick off"),
                )
            call.called_back_at, call.called_back_by, call.callback_note = uow.now, self.login, note
            uow.record("callback", {"call": call_id, "note": note}, incident_id=call.incident_id)
        return call

    def unmask_calls(self, incident_id: int | None) -> None:
        """Seeing callers' contacts whole is for roster members, and audited (who, which)."""
        with self._write() as uow:
            self._writer(uow.session, "unmasking callers' contacts")
            which = f"incident:{incident_id}" if incident_id is not None else "all"
            uow.record("unmask_calls", {"calls_of": which}, entity="calls", entity_id=which)
