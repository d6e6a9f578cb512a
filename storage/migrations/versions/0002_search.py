"""lexical search over passages

SQLite: an external-content FTS5 table over passages.terms, kept in sync by triggers, ranked with bm25(),
and an fts5vocab table over it (document frequency per token).
PostgreSQL: a generated tsvector column over passages.terms (config 'simple': the terms are already
normalized and stemmed by bot.text) with a GIN index.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The terms are space-separated tokens made of letters and digits only (see storage.search), so both
# tokenizers cut them at exactly the same places.
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE passages_fts USING fts5("
    "terms, content='passages', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER passages_fts_ai AFTER INSERT ON passages BEGIN "
    "INSERT INTO passages_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER passages_fts_ad AFTER DELETE ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER passages_fts_au AFTER UPDATE OF terms ON passages BEGIN "
    "INSERT INTO passages_fts(passages_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO passages_fts(rowid, terms) VALUES (new.id, new.terms); END",
    # Document frequencies per token, so a search can leave out tokens most passages carry.
    "CREATE VIRTUAL TABLE passages_fts_vocab USING fts5vocab(passages_fts, row)",
    # Passages written before this migration (none in a fresh database) join the index.
    "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TABLE IF EXISTS passages_fts_vocab",
    "DROP TRIGGER IF EXISTS passages_fts_au",
    "DROP TRIGGER IF EXISTS passages_fts_ad",
    "DROP TRIGGER IF EXISTS passages_fts_ai",
    "DROP TABLE IF EXISTS passages_fts",
]
_POSTGRES_UP = [
    "ALTER TABLE passages ADD COLUMN terms_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED",
    "CREATE INDEX ix_passages_terms_tsv ON passages USING gin (terms_tsv)",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_passages_terms_tsv",
    "ALTER TABLE passages DROP COLUMN IF EXISTS terms_tsv",
]


def _run(statements: dict[str, list[str]]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"lexical search has no migration for the {dialect!r} dialect")
    for statement in statements[dialect]:
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": _SQLITE_UP, "postgresql": _POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": _SQLITE_DOWN, "postgresql": _POSTGRES_DOWN})
