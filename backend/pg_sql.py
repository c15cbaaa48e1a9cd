"""Spelling SQL for the server's checks (backend/pg_triggers.py, pg_chain.py, pg_outbox.py, pg_clocks.py):
a literal, an identifier, and the refusal every check raises."""

from __future__ import annotations


def quote(value: str) -> str:
    """`value` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def refuse(message: str, hint: str, *args: str) -> str:
    """RAISE with SQLSTATE 42501 (insufficient privilege); `message` is a format() string
    whose %s are filled with `args` (SQL expressions)."""
    params = "".join(f", {a}" for a in args)
    return (
        f"RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format({quote('opsdeck: ' + message)}{params}), "
        f"HINT = {quote(hint)};"
    )
