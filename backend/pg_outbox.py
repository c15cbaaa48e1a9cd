"""The server's checks on the outbox (docs/postgres-roles.md), on a store whose database
roles are on: a person's role cannot hold a message back by SQL.

The service writes a queued message in the transaction of its cause, pending and due at
once (backend/store.py: `UnitOfWork.outbox`); after that only the sender changes it
(claims, sends, backs off, gives up: backend/notify.py), except `opsdeck notify retry`,
which puts a failed or dead message back, due at once, with a `notify_retry` event. So a
person's role may insert a message of that shape only, update one only as that retry, and
at commit the retry's event must be there. The system roles (the worker, the sender, the
receiver) are not checked here: sending is their work.
"""

from __future__ import annotations

from .pg_sql import quote, refuse

FUNCTIONS = ("opsdeck_check_outbox()", "opsdeck_check_retry()")
RETRY_ACTION = "notify_retry"  # backend/actions/admin.py: Admin.retry_message
RETRIED_FROM = ("failed", "dead")
# What a retry changes; every other column stays.
RETRY_COLUMNS = ("state", "next_attempt_at", "lease_until")


def functions(path: str) -> list[str]:
    from_states = "(" + ", ".join(quote(s) for s in RETRIED_FROM) + ")"
    kept = "ARRAY[" + ", ".join(quote(c) for c in RETRY_COLUMNS) + "]"
    hint = "the sender changes queued messages; a person retries a failed or dead one: opsdeck notify retry ID"
    return [
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_outbox() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE c record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NEW; END IF;
  c := opsdeck_caller();
  IF c.permission = 'system' THEN RETURN NEW; END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW.state = 'pending' AND NEW.attempts = 0 AND NEW.lease_owner IS NULL AND NEW.lease_until IS NULL
       AND NEW.sent_at IS NULL AND NEW.last_error IS NULL AND NEW.next_attempt_at IS NOT DISTINCT FROM NEW.created_at THEN
      RETURN NEW;
    END IF;
    {refuse("a message is queued pending and due at once, not %s, due %s (by %s)", hint, "NEW.state", "coalesce(NEW.next_attempt_at::text, 'never')", "c.login")}
  END IF;
  IF OLD.state IN {from_states} AND NEW.state = 'pending' AND NEW.lease_until IS NULL
     AND to_jsonb(NEW) - {kept} = to_jsonb(OLD) - {kept} THEN
    RETURN NEW;
  END IF;
  {refuse("notification #%s (%s) is changed by the sender, not by %s", hint, "OLD.id", "OLD.state", "c.login")}
END $$""",
        # At commit: a retry by a person is stated by its event, made at the time the
        # message is due again.
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_retry() RETURNS trigger LANGUAGE plpgsql {path} AS $$
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  IF (opsdeck_caller()).permission = 'system' THEN RETURN NULL; END IF;
  IF NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.at = NEW.next_attempt_at AND e.action = {quote(RETRY_ACTION)}
                 AND e.details::jsonb ->> 'message' = NEW.id::text) THEN
    {refuse("notification #%s was put back in the queue without an audit event saying so", "retry it through opsdeck: opsdeck notify retry ID", "NEW.id")}
  END IF;
  RETURN NULL;
END $$""",
    ]


def triggers(table: str, name: str) -> list[str]:
    if table != "outbox":
        return []
    return [
        f"DROP TRIGGER IF EXISTS opsdeck_outbox ON {name}",
        f"CREATE TRIGGER opsdeck_outbox BEFORE INSERT OR UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION opsdeck_check_outbox()",
        f"DROP TRIGGER IF EXISTS opsdeck_retry ON {name}",
        f"CREATE CONSTRAINT TRIGGER opsdeck_retry AFTER UPDATE OF state ON {name} DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION opsdeck_check_retry()",
    ]


TRIGGER_NAMES = ("opsdeck_outbox", "opsdeck_retry")
