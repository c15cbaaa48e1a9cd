"""The server checks the clocks (docs/postgres-roles.md): on a store whose database roles
are on, every deadline clock a person's role writes must be what the incident's facts
and its pinned policy make it (backend/deadlines.py, kept by backend/clocks.py), and the
facts a person's action sets are dated at that write's own time.

The derivation is backend/deadlines.py's, written here once more in SQL from the same
tables (the rule documents of `policy_versions`, the levels' outage bounds of
backend/domain.py, the facts of backend/deadlines.FACTS, the duration units of
backend/timeutil.py). tests/store/test_pg_clocks.py compares the two over every rule of
the built-in policy and rules written to reach every start and every fact, on facts made
at random, as the hash recipe is compared with backend/audit.py.

At commit, for each clock row a person's role inserted or updated (the worker, the sender
and the receiver are not checked: escalating is their work):

- its incident, rule, key and start never change, and its escalation is the worker's;
- its rule is in the incident's policy; an inserted clock is one the facts start now;
- its due time is its start plus the rule's time (a level bound: the bound its key
  names), its warning time the rule's band before that;
- it is met exactly when the facts meet it (the first fact at or after its start), and
  waived exactly when the incident closed before it was due, by whoever closed it;
- a clock the facts start now is not superseded; one they no longer start is superseded
  only while running, and at this write's time.

And for each incident a person's role writes: a fact it sets (acknowledged, classified,
a level's start, cause located, resolved, record filed, closed, reopened, the last
activity, reported) is this write's time, the time of the incident's event written in the
same transaction; and its next due, first due and report times are those of its clock rows.
The outage start is stated by a person (`--outage-start`): it is not checked here.
"""

from __future__ import annotations

from .deadlines import FACTS, STARTS
from .domain import Level
from .pg_sql import quote, refuse
from .ranking import HOUSEKEEPING
from .timeutil import _UNITS

FUNCTIONS = (
    "opsdeck_duration(text)",
    "opsdeck_rfc3339(timestamp with time zone)",
    "opsdeck_met_time(jsonb, incidents, timestamp with time zone, integer)",
    "opsdeck_clock_expected(integer, text, timestamp with time zone, text)",
    "opsdeck_check_clock()",
    "opsdeck_check_facts()",
)
TRIGGER_NAMES = ("opsdeck_clock", "opsdeck_facts")
# The incident's facts a person's action sets to the write's own time (backend/actions).
DATED_FACTS = (
    "reported_at",
    "acknowledged_at",
    "classified_at",
    "level_since",
    "cause_located_at",
    "resolved_at",
    "record_filed_at",
    "closed_at",
    "reopened_at",
    "last_activity_at",
)
# What backend/clocks.py derives on the incident from its clock rows.
DUE_COLUMNS = ("next_due_at", "first_due_at", "report_due_at", "report_warn_at")
# Facts of backend/deadlines.FACTS read as a column `<fact>_at` as they are.
_PLAIN_FACTS = tuple(f for f in FACTS if f not in ("any_update", "classified"))


def _bound_sql(level: str) -> str:
    cases = " ".join(
        f"WHEN {quote(lv.value)} THEN {lv.outage_bound_hours if lv.outage_bound_hours is not None else 'NULL'}"
        for lv in Level
    )
    return f"(CASE {level} {cases} END)"


def _next_sql(level: str) -> str:
    cases = []
    for lv in Level:
        nxt = lv.next_more_severe()
        cases.append(f"WHEN {quote(lv.value)} THEN {quote(nxt.value) if nxt else 'NULL'}")
    return f"(CASE {level} {' '.join(cases)} END)"


def _start_sql() -> str:
    """deadlines.clock_start: the start of rule `r` on incident `i`, else NULL."""
    cases = {
        "reported": "greatest(i.reported_at, i.reopened_at)",
        "classified": "CASE WHEN coalesce(i.level, '') <> '' THEN i.level_since END",
        "outage_start": "coalesce(i.outage_started_at, i.reported_at)",
        "acknowledged": (
            "CASE WHEN i.status <> 'acknowledged' OR i.acknowledged_at IS NULL THEN NULL "
            "WHEN r -> 'met_by' ? 'any_update' AND i.last_activity_at IS NOT NULL "
            "THEN greatest(i.acknowledged_at, i.last_activity_at) ELSE i.acknowledged_at END"
        ),
        "resolved": "i.resolved_at",
    }
    if set(cases) != set(STARTS):  # a start added to deadlines.STARTS must be added here
        raise RuntimeError("backend/pg_clocks.py does not derive every start of deadlines.STARTS")
    whens = " ".join(f"WHEN {quote(k)} THEN {v}" for k, v in cases.items())
    return f"(CASE r ->> 'starts' {whens} END)"


def functions(path: str) -> list[str]:
    units = " ".join(f"WHEN {quote(u)} THEN interval '1 {name}'" for u, name in _UNITS.items())
    plain_facts = " ".join(f"WHEN f = {quote(f)} THEN i.{f}_at" for f in _PLAIN_FACTS)
    housekeeping = "(" + ", ".join(quote(h) for h in sorted(HOUSEKEEPING)) + ")"
    hint = "clocks follow from the facts: change the facts through opsdeck, which keeps the clocks"
    # OLD is NULL on an INSERT: every fact set is then new.
    dated = " OR ".join(
        f"(NEW.{f} IS NOT NULL AND NEW.{f} IS DISTINCT FROM OLD.{f} AND NEW.{f} IS DISTINCT FROM t)"
        for f in DATED_FACTS
    )
    return [
        # These two are single expressions of built-in functions with no pinned search_path,
        # so the planner inlines them (a function with one is planned anew at every call;
        # rfc3339 is STABLE as to_char is, or it would not be inlined).
        # The policy's durations were validated (deadlines.validate) before it was stored.
        f"""CREATE OR REPLACE FUNCTION opsdeck_duration(d text) RETURNS interval LANGUAGE sql IMMUTABLE AS $$
  SELECT (pg_catalog.substring(d, '(\\d+)'))::bigint * (CASE pg_catalog.substring(d, '([smhdw])\\s*$') {units} END)
$$""",
        """CREATE OR REPLACE FUNCTION opsdeck_rfc3339(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN pg_catalog.date_trunc('second', t) = t THEN '' ELSE '.' || pg_catalog.to_char(t AT TIME ZONE 'UTC', 'US') END
    || 'Z'
$$""",
        # deadlines.met_time: the first fact at or after `start` that meets rule `r`.
        f"""CREATE OR REPLACE FUNCTION opsdeck_met_time(r jsonb, i incidents, start timestamptz, bound integer)
RETURNS timestamptz LANGUAGE plpgsql STABLE {path} AS $$
BEGIN
  RETURN (SELECT min(t) FROM (
    SELECT CASE
      WHEN f LIKE 'attested:%' THEN NULL
      WHEN f = 'any_update' THEN CASE WHEN i.last_activity_at > start
        AND NOT (i.closed_at IS NOT NULL AND i.last_activity_at >= i.closed_at) THEN i.last_activity_at END
      WHEN f = 'classified' THEN CASE WHEN i.classified_at IS NOT NULL AND coalesce(i.level, '') <> ''
        THEN greatest(i.classified_at, start) ELSE i.classified_at END
      {plain_facts}
    END AS t FROM jsonb_array_elements_text(r -> 'met_by') f
    UNION ALL
    SELECT a.at FROM attestations a WHERE a.incident_id = i.id
      AND ('attested:' || a.key IN (SELECT jsonb_array_elements_text(r -> 'met_by'))
           OR (bound IS NOT NULL AND a.key = 'regrade@' || bound || 'h'))
    UNION ALL
    SELECT i.level_since WHERE bound IS NOT NULL AND coalesce(i.level, '') <> ''
      AND coalesce({_bound_sql("i.level")}, 1000000) > bound
  ) c WHERE t >= start);
END $$""",
        # The clock (rule `rule_key`, started `start`, keyed `key`) of incident `incident`
        # as the facts make it: deadlines.derive for a clock the facts start now
        # (current), deadlines.ended for one they no longer start.
        f"""CREATE OR REPLACE FUNCTION opsdeck_clock_expected(incident integer, rule_key text, start timestamptz, key text,
  OUT known boolean, OUT current boolean, OUT due_at timestamptz, OUT warn_at timestamptz, OUT met_at timestamptz,
  OUT waived_at timestamptz, OUT waived_by text, OUT next_level text)
LANGUAGE plpgsql STABLE {path} AS $$
DECLARE i incidents; sec jsonb; r jsonb; after text; bound integer; lv text; derived timestamptz; key_bound integer;
BEGIN
  SELECT * INTO i FROM incidents WHERE id = incident;
  SELECT (p.document::jsonb) -> 'deadlines' INTO sec FROM policy_versions p WHERE p.version = i.policy_version;
  SELECT e INTO r FROM jsonb_array_elements(sec -> 'rule') e WHERE e ->> 'key' = rule_key LIMIT 1;
  known := r IS NOT NULL;
  IF NOT known THEN RETURN; END IF;
  after := r ->> 'after';
  IF position('@' IN key) > 0 THEN
    key_bound := rtrim(split_part(key, '@', 2), 'h')::integer;
  END IF;
  current := (jsonb_array_length(coalesce(r -> 'levels', '[]')) = 0 OR r -> 'levels' ? i.level)
    AND (jsonb_array_length(coalesce(r -> 'categories', '[]')) = 0 OR r -> 'categories' ? i.category)
    AND (jsonb_array_length(coalesce(r -> 'systems', '[]')) = 0
         OR r -> 'systems' ? (SELECT s.name FROM systems s WHERE s.id = i.system_id));
  current := coalesce(current, false);
  derived := {_start_sql()};
  IF after = 'level_bound' THEN
    -- deadlines._regrade_clock: the first bound, from the current level up, not declined.
    lv := nullif(i.level, '');
    WHILE lv IS NOT NULL AND {_bound_sql("lv")} IS NOT NULL LOOP
      bound := {_bound_sql("lv")};
      EXIT WHEN NOT EXISTS (SELECT 1 FROM attestations a WHERE a.incident_id = i.id AND a.key = 'regrade@' || bound || 'h');
      bound := NULL;
      lv := {_next_sql("lv")};
    END LOOP;
    current := current AND bound IS NOT NULL AND derived IS NOT DISTINCT FROM start
      AND key = opsdeck_rfc3339(start) || '@' || bound || 'h';
    due_at := start + make_interval(hours => key_bound);
    IF current THEN next_level := {_next_sql("lv")}; END IF;
  ELSE
    current := current AND derived IS NOT DISTINCT FROM start AND key = opsdeck_rfc3339(start);
    due_at := start + CASE WHEN after = 'immediate' THEN opsdeck_duration(coalesce(sec ->> 'immediate_grace', '15m'))
      ELSE opsdeck_duration(after) END;
  END IF;
  warn_at := due_at - (due_at - start) * coalesce((r ->> 'warning')::float8, (sec ->> 'warning_band')::float8, 0.2);
  met_at := opsdeck_met_time(r, i, start, CASE WHEN current THEN NULL ELSE key_bound END);
  -- deadlines.waiver: closed before it was met and before it was due, by whoever closed it
  -- (deadlines.ended: a clock the facts no longer start and that they meet is not waived).
  IF i.closed_at IS NOT NULL AND NOT (met_at IS NOT NULL AND (met_at <= i.closed_at OR NOT current))
     AND due_at > i.closed_at THEN
    waived_at := i.closed_at;
    waived_by := i.updated_by;
  END IF;
END $$""",
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_clock() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE cur incident_deadlines; x record; t timestamptz; closed timestamptz;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  IF (opsdeck_caller()).permission = 'system' THEN RETURN NULL; END IF;
  SELECT * INTO cur FROM incident_deadlines WHERE id = NEW.id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' AND (cur.incident_id, cur.rule, cur.clock_key, cur.clock_start)
     IS DISTINCT FROM (OLD.incident_id, OLD.rule, OLD.clock_key, OLD.clock_start) THEN
    {refuse("clock %s of #%s: a clock's incident, rule, key and start never change", hint, "quote_literal(OLD.rule)", "OLD.incident_id")}
  END IF;
  IF cur.escalated_at IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.escalated_at END) THEN
    {refuse("clock %s of #%s: its escalation is recorded by the worker, not by %s", hint, "quote_literal(cur.rule)", "cur.incident_id", "session_user")}
  END IF;
  x := opsdeck_clock_expected(cur.incident_id, cur.rule, cur.clock_start, cur.clock_key);
  IF NOT x.known THEN
    {refuse("clock %s of #%s: the incident's policy has no such rule", hint, "quote_literal(cur.rule)", "cur.incident_id")}
  END IF;
  IF TG_OP = 'INSERT' AND NOT x.current THEN
    {refuse("clock %s of #%s started %s: the incident's facts start no such clock", hint, "quote_literal(cur.rule)", "cur.incident_id", "cur.clock_start")}
  END IF;
  IF cur.due_at IS DISTINCT FROM x.due_at OR abs(extract(epoch FROM cur.warn_at - x.warn_at)) > 0.000001 THEN
    {refuse("clock %s of #%s: due %s, but its rule makes it due %s", hint, "quote_literal(cur.rule)", "cur.incident_id", "cur.due_at", "x.due_at")}
  END IF;
  IF cur.met_at IS DISTINCT FROM x.met_at THEN
    {refuse("clock %s of #%s: marked met at %s, but the incident's facts meet it at %s", hint, "quote_literal(cur.rule)", "cur.incident_id", "coalesce(cur.met_at::text, 'no time')", "coalesce(x.met_at::text, 'no time (not met)')")}
  END IF;
  IF (cur.waived_at, cur.waived_by) IS DISTINCT FROM (x.waived_at, x.waived_by) THEN
    {refuse("clock %s of #%s: waived at %s by %s, but only closing the incident before it is due waives it (%s by %s)", hint, "quote_literal(cur.rule)", "cur.incident_id", "coalesce(cur.waived_at::text, 'no time')", "coalesce(cur.waived_by, 'nobody')", "coalesce(x.waived_at::text, 'no time')", "coalesce(x.waived_by, 'nobody')")}
  END IF;
  IF x.current THEN
    IF cur.superseded_at IS NOT NULL OR cur.next_level IS DISTINCT FROM x.next_level THEN
      {refuse("clock %s of #%s: the incident's facts still start it, so it is not superseded and its next level is %s", hint, "quote_literal(cur.rule)", "cur.incident_id", "coalesce(x.next_level, 'none')")}
    END IF;
  ELSIF cur.superseded_at IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.superseded_at END) THEN
    SELECT max(e.at) INTO t FROM audit_events e WHERE e.incident_id = cur.incident_id AND e.xmin = pg_current_xact_id()::xid;
    SELECT closed_at INTO closed FROM incidents WHERE id = cur.incident_id;
    IF OLD.superseded_at IS NOT NULL OR OLD.met_at IS NOT NULL OR OLD.waived_at IS NOT NULL
       OR cur.met_at IS NOT NULL OR cur.waived_at IS NOT NULL OR closed IS NOT NULL OR cur.superseded_at IS DISTINCT FROM t THEN
      {refuse("clock %s of #%s: superseded at %s, but a clock is superseded only while it runs, when the facts stop starting it, at that write's time (%s)", hint, "quote_literal(cur.rule)", "cur.incident_id", "coalesce(cur.superseded_at::text, 'no time')", "coalesce(t::text, 'no write')")}
    END IF;
  END IF;
  RETURN NULL;
END $$""",
        # At commit: the facts a person's write sets are its own time (that of the event on
        # the incident written in this transaction), and the incident's due times are its
        # clock rows'.
        f"""CREATE OR REPLACE FUNCTION opsdeck_check_facts() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE t timestamptz; i incidents; d record;
BEGIN
  IF opsdeck_is_admin(TG_RELID) THEN RETURN NULL; END IF;
  IF (opsdeck_caller()).permission = 'system' THEN RETURN NULL; END IF;
  SELECT max(e.at) INTO t FROM audit_events e WHERE e.incident_id = NEW.id AND e.xmin = pg_current_xact_id()::xid;
  IF {dated} THEN
    {refuse("incident #%s: a fact's time is the time of the write that sets it (%s), stated by its audit event", hint, "NEW.id", "coalesce(t::text, 'no event on the incident in this write')")}
  END IF;
  SELECT * INTO i FROM incidents WHERE id = NEW.id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  SELECT
    min(c.due_at) FILTER (WHERE c.escalated_at IS NULL
      AND (least(c.met_at, c.waived_at, c.superseded_at) IS NULL OR least(c.met_at, c.waived_at, c.superseded_at) > c.due_at)) AS next_due,
    min(c.due_at) FILTER (WHERE c.met_at IS NULL AND c.waived_at IS NULL AND c.superseded_at IS NULL) AS first_due,
    min(c.due_at) FILTER (WHERE c.met_at IS NULL AND c.waived_at IS NULL AND c.superseded_at IS NULL AND c.rule NOT IN {housekeeping}) AS report_due,
    min(c.warn_at) FILTER (WHERE c.met_at IS NULL AND c.waived_at IS NULL AND c.superseded_at IS NULL AND c.rule NOT IN {housekeeping}) AS report_warn
    INTO d FROM incident_deadlines c WHERE c.incident_id = NEW.id;
  IF (i.next_due_at, i.first_due_at, i.report_due_at, i.report_warn_at)
     IS DISTINCT FROM (d.next_due, d.first_due, d.report_due, d.report_warn) THEN
    {refuse("incident #%s: next due %s, but its clocks make it %s", hint, "NEW.id", "coalesce(i.next_due_at::text, 'never')", "coalesce(d.next_due::text, 'never')")}
  END IF;
  RETURN NULL;
END $$""",
    ]


def triggers(table: str, name: str) -> list[str]:
    if table == "incident_deadlines":
        return [
            f"DROP TRIGGER IF EXISTS opsdeck_clock ON {name}",
            f"CREATE CONSTRAINT TRIGGER opsdeck_clock AFTER INSERT OR UPDATE ON {name} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION opsdeck_check_clock()",
        ]
    if table == "incidents":
        columns = ", ".join((*DATED_FACTS, *DUE_COLUMNS))
        return [
            f"DROP TRIGGER IF EXISTS opsdeck_facts ON {name}",
            f"CREATE CONSTRAINT TRIGGER opsdeck_facts AFTER INSERT OR UPDATE OF {columns} ON {name} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION opsdeck_check_facts()",
        ]
    return []
