"""The backup store's tables in the state file, and the migration of a state file of the previous format.

Backups are kept as *runs*, not one row per backup: a run is a stretch of consecutive successful ticks of one
partition's schedule in one storage (``first_k``..``last_k`` of a pattern, see ``schedule``), plus what every
backup of it shares (names, partition information, chain and LSN arithmetic). A partition taking hourly backups
for a year is one row until a failure, a configuration change, an on-demand backup, a restore or retention splits
it. Listings expand runs on the fly, for the range they are asked about.

- ``backup_tracks``: one row per backup-eligible partition that a policy has ever reached: what its schedule was
  armed with (``armed_key``), the pattern and next tick, the chain in progress, the LSN and data-loss counters,
  StopBackups, and the backup health event.
- ``backup_runs``: the stored backups, by partition and storage identity (``storage.identity``).
- ``backup_dirty``: applications whose configuration changed since the tracks were last armed (``*`` = all).
- ``broken_policies``: policies whose storage fails (BreakStorage).
- ``backup_operations``: the latest on-demand backup and restore of each partition, with their progress.
"""

from __future__ import annotations

import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS backup_tracks(
    partition TEXT PRIMARY KEY, app TEXT NOT NULL, service TEXT NOT NULL,
    armed_key TEXT, policy TEXT, storage TEXT, pattern TEXT, next_k INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 0, stopped INTEGER NOT NULL DEFAULT 0,
    chain_storage TEXT, chain_id TEXT, chain_count INTEGER NOT NULL DEFAULT 0,
    lsn INTEGER NOT NULL DEFAULT 0, data_loss INTEGER NOT NULL DEFAULT 1, open_run INTEGER,
    health TEXT);
CREATE INDEX IF NOT EXISTS backup_tracks_by_app ON backup_tracks(app);
CREATE INDEX IF NOT EXISTS backup_tracks_active ON backup_tracks(active);
CREATE TABLE IF NOT EXISTS backup_runs(
    id INTEGER PRIMARY KEY, partition TEXT NOT NULL, storage TEXT NOT NULL, app TEXT NOT NULL,
    service TEXT NOT NULL, info TEXT NOT NULL, pattern TEXT NOT NULL, k0 INTEGER NOT NULL,
    first_k INTEGER NOT NULL, last_k INTEGER NOT NULL, first_time INTEGER NOT NULL,
    chain_len INTEGER NOT NULL, pos0 INTEGER NOT NULL, chain0 TEXT NOT NULL, lsn0 INTEGER NOT NULL,
    data_loss INTEGER NOT NULL, seed TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS backup_runs_by_partition ON backup_runs(partition, storage, first_time);
CREATE INDEX IF NOT EXISTS backup_runs_by_service ON backup_runs(app, service, partition);
CREATE TABLE IF NOT EXISTS backup_dirty(app TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS broken_policies(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS backup_operations(
    partition TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, done_at INTEGER NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(partition, kind));
CREATE INDEX IF NOT EXISTS backup_operations_pending ON backup_operations(applied, done_at);
"""


def install(conn: sqlite3.Connection) -> None:
    """Create the backup tables and the clock (virtual, at the host's time) in an open transaction."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('clock_mode', 'virtual')")
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES('clock_processed', ?)", (str(int(time.time())),)
    )
    # Whatever configuration the file already holds is armed at the clock's current time.
    conn.execute("INSERT OR IGNORE INTO backup_dirty(app) VALUES('*')")
