"""The server keeps the audit chain (docs/postgres-roles.md): on a store whose database
roles are on, an event a person's or a system role inserts must extend its chain's head
and carry the audit recipe's hash of its fields; the server then moves the head to it.

The recipe is backend/audit.py's `event_hash` (sorted-key JSON of HASHED_FIELDS, SHA-256),
written here once more in SQL: `to_json` escapes a string exactly as Python's
`json.dumps(..., ensure_ascii=False)` does (the quote, the backslash, \\b \\f \\n \\r \\t,
other control characters as a lower-case \\u00XX, every other character as itself), and
`rfc3339` is spelled with `to_char`. tests/store/test_pg_chain.py compares the two on awkward
text (controls, quotes, CJK, emoji, U+2028) and on every event a service writes.

Members of a table's owner role, superusers among them, are not checked (as everywhere in
backend/pg_triggers.py): they could drop the triggers anyway.
"""

from __future__ import annotations

from .audit import GENESIS, HASHED_FIELDS
from .pg_sql import quote, refuse

# Tables people only append to: an event or a feed entry, once written, stays as it is. A
# trigger refuses the UPDATE, not the grant: `audit anchor` locks audit_events in SHARE
# mode, which needs an UPDATE, DELETE or TRUNCATE grant.
APPEND_ONLY = ("audit_events", "changes")
# How far past the server's clock an event may be dated. The store dates a write once, at
# the server's `clock_timestamp()` read after the write lock (or the newest event's time,
# if later), so a sound event is never ahead of the server; the allowance covers an event
# dated by the clock of the host it was written on (a store with an injected clock) being
# a little ahead. An event dated further ahead would hold every later event of its chain
# to its time (times never go back) and could make a deadline look met before it was.
FUTURE_SKEW_SECONDS = 5
# Nor may it be dated before its transaction began: the store reads the time after the
# write lock (so never before `now()`, the transaction's start), or takes the newest
# event's, later still. An event dated earlier is back-dated: a deadline made to look met
# in time. `opsdeck_time_checked()` is true; only the owner can replace it (a test store
# whose clock is injected does, as docs/postgres-roles.md says the owner can do anything).
FUNCTIONS = (
    "opsdeck_time_checked()",
    "opsdeck_event_hash(text, integer, timestamp with time zone, text, text, integer, text, text)",
    "opsdeck_check_chain()",
    "opsdeck_move_head()",
    "opsdeck_check_head()",
    "opsdeck_check_head_at_commit()",
    "opsdeck_append_only()",
)
# How each hashed field is written into the JSON, in SQL (the function's parameters are
# the fields' names with an `e_` in front).
_JSON_OF = {
    "chain": "to_json(e_chain)::text",
    "seq": "e_seq::text",
    "at": (
        "to_json(to_char(e_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', e_at) "
        "= e_at THEN '' ELSE '.' || to_char(e_at AT TIME ZONE 'UTC', 'US') END || 'Z')::text"
    ),
    "actor": "to_json(e_actor)::text",
    "action": "to_json(e_action)::text",
    "incident_id": "coalesce(e_incident_id::text, 'null')",
    "details": "to_json(e_details)::text",
    "prev_hash": "to_json(e_prev_hash)::text",
}
_PARAMS = {
    "chain": "text",
    "seq": "integer",
    "at": "timestamptz",
    "actor": "text",
    "action": "text",
    "incident_id": "integer",
    "details": "text",
    "prev_hash": "text",
}


def hash_sql() -> str:
    """The JSON body the hash covers, in SQL, keys sorted as json.dumps sorts them."""
    if set(_JSON_OF) != set(HASHED_FIELDS):  # a field added to the recipe must be added here
        raise RuntimeError("backend/pg_chain.py does not write every field of audit.HASHED_FIELDS")
    parts = []
    for index, name in enumerate(sorted(HASHED_FIELDS)):
        opening = "{" if index == 0 else ","
        parts.append(f"'{opening}\"{name}\":' || {_JSON_OF[name]}")
    return " || ".join(parts) + " || '}'"


def functions(path: str) -> list[str]:
    """CREATE OR REPLACE statements; `path` is the functions' pinned search_path clause."""
    params = ", ".join(f"e_{name} {_PARAMS[name]}" for name in HASHED_FIELDS)
    args = ", ".join(f"NEW.{name}" for name in HASHED_FIELDS)
    hint = "append events through opsdeck, which extends the chain and hashes them (docs/postgres-roles.md)"
    return [
        f"""CREATE OR REPLACE FUNCTION opsdeck_time_checked() RETURNS boolean LANGUAGE sql STABLE {path} AS $$
  SELECT true
$$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_event_hash({params}) RETURNS text LANGUAGE sql STABLE {path} AS $$
  SELECT encode(sha256(convert_to({hash_sql()}, 'UTF8')), 'hex')
$$""",
        # Before an event goes in: it names its incident's own chain, it follows the head
        # (locked, so two writers cannot both extend it), its hash is the recipe's, and its
        # time does not go back.
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_chain() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE h record; last record; computed text;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NEW; END IF;
  IF NEW.incident_id IS NOT NULL AND NEW.chain IS DISTINCT FROM 'incident:' || NEW.incident_id THEN
    {refuse("an audit event on chain %s names incident #%s: an incident's events go on its own chain incident:%s", hint, "NEW.chain", "NEW.incident_id", "NEW.incident_id")}
  END IF;
  -- The head's row lock makes writers of one chain take turns; the chain itself (its
  -- newest event) is what the event must follow.
  PERFORM 1 FROM audit_heads WHERE chain = NEW.chain FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO audit_heads (chain, seq, hash) VALUES (NEW.chain, 0, {quote(GENESIS)}) ON CONFLICT (chain) DO NOTHING;
    PERFORM 1 FROM audit_heads WHERE chain = NEW.chain FOR UPDATE;
  END IF;
  SELECT seq, hash::text AS hash, at INTO last FROM audit_events WHERE chain = NEW.chain ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    SELECT 0 AS seq, {quote(GENESIS)}::text AS hash, NULL::timestamptz AS at INTO last;
  END IF;
  IF NEW.seq IS DISTINCT FROM last.seq + 1 THEN
    {refuse("audit event %s #%s does not extend its chain: the chain's newest event is #%s, so the next is #%s", hint, "NEW.chain", "NEW.seq", "last.seq", "last.seq + 1")}
  END IF;
  IF NEW.prev_hash IS DISTINCT FROM last.hash THEN
    {refuse("audit event %s #%s does not extend its chain: its prev_hash %s is not the hash of #%s (%s)", hint, "NEW.chain", "NEW.seq", "quote_literal(left(NEW.prev_hash, 16))", "last.seq", "left(last.hash, 16)")}
  END IF;
  computed := opsdeck_event_hash({args});
  IF NEW.hash IS DISTINCT FROM computed THEN
    {refuse("audit event %s #%s: its hash %s is not the audit recipe's hash of its fields (%s)", hint, "NEW.chain", "NEW.seq", "quote_literal(left(NEW.hash, 16))", "left(computed, 16)")}
  END IF;
  IF NEW.at > clock_timestamp() + interval '{FUTURE_SKEW_SECONDS} seconds' THEN
    {refuse("audit event %s #%s is dated %s, after the server's time %s: an event is dated when it is written (at most " + str(FUTURE_SKEW_SECONDS) + " s ahead)", hint, "NEW.chain", "NEW.seq", "NEW.at", "clock_timestamp()")}
  END IF;
  IF NEW.at < last.at THEN
    {refuse("audit event %s #%s is dated %s, before #%s (%s): times never go back within a chain", hint, "NEW.chain", "NEW.seq", "NEW.at", "last.seq", "last.at")}
  END IF;
  IF NEW.at < now() - interval '{FUTURE_SKEW_SECONDS} seconds' AND opsdeck_time_checked() THEN
    {refuse("audit event %s #%s is dated %s, before its transaction began (%s): an event is dated when it is written", hint, "NEW.chain", "NEW.seq", "NEW.at", "now()")}
  END IF;
  RETURN NEW;
END $$""",
        # After it went in, the server moves the head to it (the service's own update of the
        # head then sets the same values).
        f"""CREATE OR REPLACE FUNCTION opsdeck_move_head() RETURNS trigger LANGUAGE plpgsql {path} AS $$
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE chain = NEW.chain;
  RETURN NULL;
END $$""",
        # A head is a new chain's start (seq 0, the genesis hash) or names an event of its
        # chain; at commit, its newest (the service moves a head once per event, and may
        # write a head's move after the next event went in: in between it lags).
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_head() RETURNS trigger LANGUAGE plpgsql {path} AS $$
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NEW; END IF;
  IF TG_OP = 'INSERT' AND NEW.seq = 0 AND NEW.hash = {quote(GENESIS)} THEN RETURN NEW; END IF;
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain
     AND EXISTS (SELECT 1 FROM audit_events WHERE chain = NEW.chain AND seq = NEW.seq AND hash = NEW.hash) THEN
    RETURN NEW;
  END IF;
  {refuse("the head of chain %s names an event of its chain, not #%s (%s)", hint, "coalesce(OLD.chain, NEW.chain)", "NEW.seq", "quote_literal(left(NEW.hash, 16))")}
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_head_at_commit() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE h record; last record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  SELECT seq, hash INTO h FROM audit_heads WHERE chain = NEW.chain;
  SELECT seq, hash INTO last FROM audit_events WHERE chain = NEW.chain ORDER BY seq DESC LIMIT 1;
  IF FOUND AND (h.seq IS DISTINCT FROM last.seq OR h.hash IS DISTINCT FROM last.hash) THEN
    {refuse("the head of chain %s names its newest audit event (#%s), not #%s", hint, "NEW.chain", "last.seq", "h.seq")}
  END IF;
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_append_only() RETURNS trigger LANGUAGE plpgsql {path} AS $$
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  {refuse("%s is only appended to: what is written there stays as it is (%s by %s)", "append a new event through opsdeck instead", "TG_TABLE_NAME", "TG_OP", "session_user")}
END $$""",
    ]


def triggers(table: str, name: str) -> list[str]:
    """The chain's triggers on `table` (quoted as `name`), for the two tables they guard."""
    out = []
    if table in APPEND_ONLY:
        out += [
            # Named to fire after opsdeck_writer (same time, alphabetical): a viewer is told
            # first that viewers change nothing.
            f"DROP TRIGGER IF EXISTS opsdeck_written_stays ON {name}",
            f"CREATE TRIGGER opsdeck_written_stays BEFORE UPDATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION opsdeck_append_only()",
        ]
    if table == "audit_events":
        out += [
            f"DROP TRIGGER IF EXISTS opsdeck_chain ON {name}",
            f"CREATE TRIGGER opsdeck_chain BEFORE INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION opsdeck_check_chain()",
            f"DROP TRIGGER IF EXISTS opsdeck_head_moves ON {name}",
            f"CREATE TRIGGER opsdeck_head_moves AFTER INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION opsdeck_move_head()",
        ]
    if table == "audit_heads":
        out += [
            f"DROP TRIGGER IF EXISTS opsdeck_head ON {name}",
            f"CREATE TRIGGER opsdeck_head BEFORE INSERT OR UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION opsdeck_check_head()",
            f"DROP TRIGGER IF EXISTS opsdeck_head_at_commit ON {name}",
            f"CREATE CONSTRAINT TRIGGER opsdeck_head_at_commit AFTER UPDATE ON {name} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION opsdeck_check_head_at_commit()",
        ]
    return out


TRIGGER_NAMES = (
    "opsdeck_chain",
    "opsdeck_head_moves",
    "opsdeck_head",
    "opsdeck_head_at_commit",
    "opsdeck_written_stays",
)
