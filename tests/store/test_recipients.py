"""Who a recipient spec means is read once per transaction and moment (a sweep of fifty
escalations asks the same duty, leads and contacts fifty times), and read again as
soon as that transaction changes where the answer came from."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from opsdeck.backend.domain import Permission
from opsdeck.backend.models import Contact, Incident, RosterMember
from opsdeck.backend.recipients import resolve_targets
from opsdeck.backend.store import Store


class _Undo(Exception):
    """Raised to roll the transaction back: nothing here is kept."""


def _to(targets: list[dict[str, str]]) -> list[str]:
    return [t["to"] for t in targets]


def test_contacts_of_a_kind_read_again_after_one_is_added(seeded: Store) -> None:
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = resolve_targets(uow.session, None, ("contact:leadership",), at=uow.now)
        uow.session.add(Contact(key="deputy", name="Deputy Director", kind="leadership"))  # added, not flushed
        after = resolve_targets(uow.session, None, ("contact:leadership",), at=uow.now)
        raise _Undo
    assert (_to(before), _to(after)) == (["director"], ["deputy", "director"])


def test_a_contacts_kind_changed_is_read_again(seeded: Store) -> None:
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = resolve_targets(uow.session, None, ("contact:leadership",), at=uow.now)
        director = uow.session.execute(select(Contact).where(col(Contact.key) == "director")).scalar_one()
        director.kind = "customer"  # set, not flushed: no leadership contact left, the group lead instead
        after = resolve_targets(uow.session, None, ("contact:leadership",), at=uow.now)
        raise _Undo
    assert _to(before) == ["director"]
    assert after == [{"kind": "member", "to": "lead", "via": "contact:leadership: no such contact, group lead"}]


def test_leads_read_again_after_a_permission_is_set(seeded: Store) -> None:
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = resolve_targets(uow.session, None, ("permission:lead",), at=uow.now)
        lead = uow.session.execute(select(RosterMember).where(col(RosterMember.login) == "lead")).scalar_one()
        lead.permission = Permission.OPERATOR.value  # the only lead no longer one: nobody to tell
        after = resolve_targets(uow.session, None, ("permission:lead",), at=uow.now)
        raise _Undo
    assert (_to(before), after) == (["lead"], [])


def test_the_owner_is_each_incidents_own(seeded: Store) -> None:
    """Specs about the incident are not shared between the incidents of one transaction."""
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        first, second, unowned = (
            Incident(
                title="a", reporter="lead", reported_at=uow.now, updated_at=uow.now, updated_by="lead", owner=owner
            )
            for owner in ("web", "dns", None)
        )
        found = [_to(resolve_targets(uow.session, i, ("owner",), at=uow.now)) for i in (first, second, unowned)]
        on_duty = _to(resolve_targets(uow.session, None, ("on_duty",), at=uow.now))
        raise _Undo
    assert found[:2] == [["web"], ["dns"]]
    assert found[2] == on_duty  # no owner yet: those on duty
