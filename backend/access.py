"""Who may run a writing command, decided before it runs.

The service layer refuses a viewer's change underneath; this check stops a writing
command at the door, whatever it is (the worker, an import, a schema upgrade), so a
new command cannot slip past by writing around the service. Refusals are logged (the
`opsdeck.access` logger), never written into an incident's audit trail.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .engines import null_pool_engine, parse_url, sqlite_path
from .errors import DomainError
from .i18n import _

log = logging.getLogger("opsdeck.access")


def roster_permission(db_url: str, login: str) -> str | None:
    """`login`'s permission on the roster, None if not on it (or no roster yet). A plain
    read on a throwaway connection: it works on a store whose schema is behind, which
    `db upgrade` is about to fix. Whatever stops this read, the command's own open of
    the store reports properly."""
    url = parse_url(db_url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None  # no store yet (and connecting would create an empty file)
    engine = null_pool_engine(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                text("SELECT permission FROM roster_members WHERE login = :login"), {"login": login}
            ).scalar_one_or_none()
            return None if value is None else str(value)
    except DBAPIError:
        return None
    finally:
        engine.dispose()


def refuse_unless_writer(what: str, login: str, *, read_only: bool, db_url: str) -> None:
    """Raise (and log) when this session may not write: read-only, or a roster viewer.
    A login not on the roster is left to the service (a first import sets the roster
    up; the worker runs as a service account)."""
    if read_only:
        log.warning("refused %s for %s: read-only session", what, login)
        raise DomainError(
            "read_only", _("{what}: this session is read-only").format(what=what), _("run without --read-only")
        )
    if roster_permission(db_url, login) == "viewer":
        log.warning("refused %s for %s: a viewer", what, login)
        raise DomainError(
            "viewer",
            _("{what}: {login} is a viewer, and viewers change nothing").format(what=what, login=login),
            _("ask a lead to make {login} an operator on the roster").format(login=login),
            login=login,
        )
