"""ingested files: the version index led by the file's time, not its content's hash

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 17:40:00

Every file the ingest takes in claims its version (content hash, name, size, mtime) in
`ingested_files`, whose unique index says a version is taken once. The index led with the
SHA-256 of the content: each claim landed at a random place in it, so a storm's claims
touched pages all over an index that only grows (the table keeps every version taken).
Led by the file's mtime, a new version lands at the index's end, where the last claims
went. Measured on SQLite (raw sqlite3, 10,000 claims in batches of 500): 61 -> 26 ms into
a new table, 252 -> 40 ms into one of 200,000 versions. The same four columns: what is
unique, and every lookup (all four given), are unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

NAME = "uq_ingested_files_version"
COLUMNS = ["mtime_ns", "name", "size", "content_hash"]


def upgrade() -> None:
    # SQLite cannot drop a table's constraint: the table is copied into a new one (a
    # long step on a big store, after the backup the upgrade takes first). PostgreSQL
    # alters it in place, its triggers and grants (database roles) untouched.
    with op.batch_alter_table("ingested_files", recreate="auto") as batch:
        batch.drop_constraint(NAME, type_="unique")
        batch.create_unique_constraint(NAME, COLUMNS)


def downgrade() -> None:
    raise NotImplementedError("opsdeck stores are never downgraded: restore the backup taken before the upgrade")
