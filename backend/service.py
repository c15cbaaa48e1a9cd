"""The service layer: every action of the plan, each one write through the unit of work.

Each action checks the actor's permission and its preconditions inside the write
transaction, refuses with a `DomainError` that names the fix, and otherwise writes the
change, one audit event, the change-feed entry and any outbox rows together.

The actions live by concern in `backend/actions/` (incidents, closing, calls,
obligations, admin, on a shared base); `Service` is all of them for one login on one
store, and the one name callers use.
"""

from __future__ import annotations

from .actions.admin import AdminActions
from .actions.base import TITLE_LIMIT, Actor, ImportResult, _clean_text
from .actions.calls import CallActions
from .actions.closing import ClosingActions
from .actions.incidents import IncidentActions
from .actions.obligations import ObligationActions
from .domain import CHANNELS


class Service(IncidentActions, ClosingActions, CallActions, ObligationActions, AdminActions):
    """The actions of one login on one store."""


__all__ = ["CHANNELS", "TITLE_LIMIT", "Actor", "ImportResult", "Service", "_clean_text"]
