"""The study database: SQLite in WAL mode; every statement parameterised; one connection per request.

Why SQLite: it is in Python's standard library, a study is one file that travels with its images, and in
WAL mode readers never block the writer. ``synchronous=FULL`` makes each commit durable when it returns
(WAL's default, NORMAL, may lose the last commits on power loss), so an answer acknowledged to the
browser is on disk. Constraints, not code, keep the rules: an assignment is answered at most once
(``trials.assignment_id`` is unique), a rater never sees an image twice (``UNIQUE(rater_id, image_id)``),
and an assignment belongs to one rater.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,              -- opaque random file name, what the browser sees
    kind TEXT NOT NULL CHECK (kind IN ('real', 'fake')),
    model TEXT,                             -- NULL for real images
    source TEXT NOT NULL                    -- where it came from (admin only)
);
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    completion_code TEXT NOT NULL,
    invited_at TEXT NOT NULL,
    consent_at TEXT,
    user_agent TEXT,
    comment TEXT
);
CREATE TABLE IF NOT EXISTS assignments (
    id INTEGER PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    seq INTEGER NOT NULL,                   -- order in which the rater meets it
    phase TEXT NOT NULL CHECK (phase IN ('tutorial', 'qualification', 'task')),
    block INTEGER NOT NULL,
    position INTEGER NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images(id),
    UNIQUE (rater_id, seq),
    UNIQUE (rater_id, image_id)
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL UNIQUE REFERENCES assignments(id),
    answer TEXT NOT NULL CHECK (answer IN ('real', 'fake')),
    correct INTEGER NOT NULL,
    requested_ms INTEGER,                   -- HYPE-time: the exposure the server asked for
    shown_ms REAL,                          -- HYPE-time: measured in the browser (requestAnimationFrame)
    rt_ms REAL,                             -- from the answer buttons' enabling to the click
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assignments_by_rater ON assignments (rater_id, seq);
"""

DB_NAME = "hype.sqlite"


def connect(study: str | Path) -> sqlite3.Connection:
    """A connection to the study's database, in WAL mode with durable commits and a 30 s busy wait."""
    con = sqlite3.connect(Path(study) / DB_NAME, timeout=30.0, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


@contextmanager
def transaction(con: sqlite3.Connection, immediate: bool = True):
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): writers queue up instead of failing to upgrade a lock."""
    con.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def opened(study: str | Path):
    con = connect(study)
    try:
        yield con
    finally:
        con.close()


def create(study: str | Path) -> None:
    with opened(study) as con:
        con.executescript(SCHEMA)


def get_meta(con: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else default


def set_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value))
