"""What one write transaction reads once (backend/memo.py) is read again when that same
transaction changes where it came from: a row added, an attribute set, a statement."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from opsdeck.backend import clocks, memo
from opsdeck.backend.domain import Permission
from opsdeck.backend.errors import DomainError
from opsdeck.backend.models import PolicyVersion, RosterMember, System
from opsdeck.backend.schema import open_store
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store, UnitOfWork

from ..conftest import FakeClock


class _Undo(Exception):
    """Raised to roll the transaction back: nothing here is kept."""


def _lead_logins(session: Session, reads: list[int]) -> list[str]:
    def read() -> list[str]:
        reads.append(1)
        query = select(col(RosterMember.login)).where(col(RosterMember.permission) == Permission.LEAD.value)
        return sorted(session.execute(query).scalars())

    return memo.remembered(session, ("test leads",), ("roster_members",), read)


def test_an_answer_is_read_once_until_its_table_is_written(seeded: Store) -> None:
    reads: list[int] = []
    with seeded.write("lead") as uow:
        first = _lead_logins(uow.session, reads)
        again = _lead_logins(uow.session, reads)
        uow.session.execute(select(System)).all()  # reading another table changes nothing
        _lead_logins(uow.session, reads)
    assert first == again == ["lead"]
    assert len(reads) == 1


def test_read_again_after_an_attribute_is_set_unflushed(seeded: Store) -> None:
    reads: list[int] = []
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = _lead_logins(uow.session, reads)
        member = uow.session.execute(select(RosterMember).where(col(RosterMember.login) == "web")).scalar_one()
        member.permission = Permission.LEAD.value  # set, not flushed
        after = _lead_logins(uow.session, reads)
        raise _Undo
    assert (before, after) == (["lead"], ["lead", "web"])


def test_read_again_after_an_update_statement(seeded: Store) -> None:
    reads: list[int] = []
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = _lead_logins(uow.session, reads)
        uow.session.execute(
            update(RosterMember).where(col(RosterMember.login) == "dns").values(permission=Permission.LEAD.value)
        )
        after = _lead_logins(uow.session, reads)
        raise _Undo
    assert (before, after) == (["lead"], ["dns", "lead"])


def test_read_again_after_a_row_is_added(seeded: Store) -> None:
    reads: list[int] = []
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        before = _lead_logins(uow.session, reads)
        uow.session.add(RosterMember(login="newlead", name="New Lead", permission=Permission.LEAD.value))
        after = _lead_logins(uow.session, reads)
        raise _Undo
    assert (before, after) == (["lead"], ["lead", "newlead"])


def test_current_policy_read_again_after_a_new_version_is_added(seeded: Store) -> None:
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        current = clocks.load_policy(uow.session)
        stored = uow.session.get(PolicyVersion, current.version)
        assert stored is not None
        uow.session.add(
            PolicyVersion(
                version=current.version + 1,
                created_at=uow.now,
                actor="lead",
                source="test",
                hash="0" * 64,
                document=stored.document,
            )
        )
        newer = clocks.load_policy(uow.session)
        pinned = clocks.load_policy(uow.session, current.version)
        raise _Undo
    assert newer.version == current.version + 1
    assert pinned.version == current.version


# -- answers kept beyond the transaction (SQLite: per connection, until another commits) --


def _demote(uow: UnitOfWork, login: str) -> None:
    uow.session.execute(
        update(RosterMember).where(col(RosterMember.login) == login).values(permission=Permission.VIEWER.value)
    )


def test_a_permission_another_store_changed_is_read_again(seeded: Store, store_url: str, clock: FakeClock) -> None:
    """The operator's permission, kept since their first open, is read again once another
    connection (here another store on the same database: another process) has committed."""
    operator = Service(seeded, "servers")
    operator.open("first")  # the permission read, and kept
    other = open_store(store_url, clock=clock)
    try:
        with other.write("lead") as uow:
            _demote(uow, "servers")
    finally:
        other.dispose()
    with pytest.raises(DomainError) as refused:
        operator.open("second")
    assert refused.value.code == "viewer"


def test_a_permission_this_store_changed_is_read_again(seeded: Store) -> None:
    operator = Service(seeded, "servers")
    operator.open("first")
    with seeded.write("lead") as uow:
        _demote(uow, "servers")
    with pytest.raises(DomainError) as refused:
        operator.open("second")
    assert refused.value.code == "viewer"


def test_what_a_rolled_back_transaction_read_is_not_kept(seeded: Store) -> None:
    """Read after its own (uncommitted) change: never kept for later transactions."""
    operator = Service(seeded, "servers")
    operator.open("first")
    with pytest.raises(_Undo), seeded.write("lead") as uow:
        _demote(uow, "servers")
        assert operator.actor(uow.session).permission is Permission.VIEWER
        raise _Undo
    assert operator.open("second").title == "second"
