"""The emulator's state file: topology, policies, mappings and suspensions in one SQLite database.

SQLite in WAL mode gives what several processes sharing one file need: every request runs in one
transaction (writers take the write lock up front with BEGIN IMMEDIATE, readers see a consistent snapshot),
commits are atomic, and a write touches only the rows it changes, so a 40,000-partition cluster costs no more
per request than a small one. Waiting writers queue on the busy timeout instead of failing.

Over 400 lines: the schema, its migration from older state files and every query the emulator's rules
make are one storage layer; keeping the SQL together keeps the transactions visible.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sfdeclare.emulator import backup_tables
from sfdeclare.emulator.runtimes import DEFAULT_RUNTIME, RUNTIMES
from sfdeclare.emulator.topology import Topology, load_topology
from sfdeclare.errors import ConfigError, Diagnostic

FORMAT = "sfdeclare-emulator-state"
VERSION = "2"
# Version 1 (no clock, no backups) is migrated in place by adding the backup tables (backup_tables.py).
_MIGRATABLE = ("1",)
BUSY_TIMEOUT_MS = 30_000
RUNTIME_META = "runtime"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS applications(
    name TEXT PRIMARY KEY, type_name TEXT NOT NULL, type_version TEXT NOT NULL, parameters TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS services(
    name TEXT PRIMARY KEY, app TEXT NOT NULL, kind TEXT NOT NULL, persisted INTEGER NOT NULL,
    type_name TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS services_by_app ON services(app, name);
CREATE TABLE IF NOT EXISTS partitions(
    id TEXT PRIMARY KEY, service TEXT NOT NULL, ord INTEGER NOT NULL, kind TEXT NOT NULL,
    low_key INTEGER, high_key INTEGER, pname TEXT);
CREATE INDEX IF NOT EXISTS partitions_by_service ON partitions(service, ord);
CREATE TABLE IF NOT EXISTS policies(name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mappings(
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, app TEXT NOT NULL, service TEXT, partition TEXT,
    policy TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mappings_by_policy ON mappings(policy, key);
CREATE INDEX IF NOT EXISTS mappings_by_app ON mappings(app, key);
CREATE TABLE IF NOT EXISTS suspensions(
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, app TEXT NOT NULL, service TEXT, partition TEXT);
CREATE INDEX IF NOT EXISTS suspensions_by_app ON suspensions(app, key);
"""


@dataclass(frozen=True)
class ServiceRow:
    name: str
    app: str
    kind: str
    persisted: bool
    type_name: str

    @property
    def backup_eligible(self) -> bool:
        return self.kind == "Stateful" and self.persisted


@dataclass(frozen=True)
class PartitionRow:
    id: str
    service: str
    kind: str
    low_key: int | None
    high_key: int | None
    name: str | None


@dataclass(frozen=True)
class ApplicationRow:
    name: str
    type_name: str
    type_version: str
    parameters: list[tuple[str, str]]


@dataclass(frozen=True)
class Assignment:
    """A mapping (``policy`` set) or a suspension (``policy`` None) stored at an entity key."""

    key: str
    kind: str
    app: str
    service: str | None
    partition: str | None
    policy: str | None = None


def _state_error(path: str, message: str) -> ConfigError:
    return ConfigError([Diagnostic("error", f"{path}: {message}", None)])


class Tx:
    """One transaction's view of the state: small, typed reads and writes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # topology
    def application(self, name: str) -> ApplicationRow | None:
        row = self.conn.execute(
            "SELECT name, type_name, type_version, parameters FROM applications WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _app_row(row)

    def applications(self, after: str | None, limit: int, type_name: str | None) -> list[ApplicationRow]:
        sql = "SELECT name, type_name, type_version, parameters FROM applications WHERE name > ?"
        args: list[Any] = [after or ""]
        if type_name is not None:
            sql += " AND type_name = ?"
            args.append(type_name)
        rows = self.conn.execute(sql + " ORDER BY name LIMIT ?", (*args, limit)).fetchall()
        return [_app_row(r) for r in rows]

    def service(self, name: str) -> ServiceRow | None:
        row = self.conn.execute(
            "SELECT name, app, kind, persisted, type_name FROM services WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else ServiceRow(row[0], row[1], row[2], bool(row[3]), row[4])

    def services(self, app: str, after: str | None, limit: int, type_name: str | None) -> list[ServiceRow]:
        sql = "SELECT name, app, kind, persisted, type_name FROM services WHERE app = ? AND name > ?"
        args: list[Any] = [app, after or ""]
        if type_name is not None:
            sql += " AND type_name = ?"
            args.append(type_name)
        rows = self.conn.execute(sql + " ORDER BY name LIMIT ?", (*args, limit)).fetchall()
        return [ServiceRow(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def partition(self, pid: str) -> PartitionRow | None:
        row = self.conn.execute(
            "SELECT id, service, kind, low_key, high_key, pname FROM partitions WHERE id = ?", (pid.lower(),)
        ).fetchone()
        return None if row is None else PartitionRow(*row)

    def partitions(self, service: str, after_ord: int, limit: int) -> list[tuple[int, PartitionRow]]:
        rows = self.conn.execute(
            "SELECT ord, id, service, kind, low_key, high_key, pname FROM partitions"
            " WHERE service = ? AND ord > ? ORDER BY ord LIMIT ?",
            (service, after_ord, limit),
        ).fetchall()
        return [(r[0], PartitionRow(*r[1:])) for r in rows]

    def entity_exists(self, item: Assignment) -> bool:
        if item.kind == "Application":
            return self.application(item.app) is not None
        if item.kind == "Service":
            return item.service is not None and self.service(item.service) is not None
        part = self.partition(item.partition or "")
        return part is not None and part.service == item.service

    # policies
    def policy(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT body FROM policies WHERE name = ?", (name,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def policies(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM policies WHERE name > ? ORDER BY name LIMIT ?", (after or "", limit)
        ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def put_policy(self, policy: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO policies(name, body) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            (policy["Name"], json.dumps(policy, separators=(",", ":"))),
        )

    def delete_policy(self, name: str) -> None:
        self.conn.execute("DELETE FROM policies WHERE name = ?", (name,))

    # mappings and suspensions
    def mapping(self, key: str) -> Assignment | None:
        return self._one("mappings", key)

    def suspension(self, key: str) -> Assignment | None:
        return self._one("suspensions", key)

    def put_mapping(self, item: Assignment) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO mappings(key, kind, app, service, partition, policy) VALUES(?,?,?,?,?,?)",
            (item.key, item.kind, item.app, item.service, item.partition, item.policy),
        )

    def put_suspension(self, item: Assignment) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO suspensions(key, kind, app, service, partition) VALUES(?,?,?,?,?)",
            (item.key, item.kind, item.app, item.service, item.partition),
        )

    def delete_mapping(self, key: str) -> None:
        self.conn.execute("DELETE FROM mappings WHERE key = ?", (key,))

    def delete_suspension(self, key: str) -> None:
        self.conn.execute("DELETE FROM suspensions WHERE key = ?", (key,))

    def any_mapping_in_app(self, app: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM mappings WHERE app = ? LIMIT 1", (app,)).fetchone() is not None
        )

    def mappings_in_app(self, app: str) -> list[Assignment]:
        return self._many("mappings", "app = ?", (app,))

    def suspensions_in_app(self, app: str) -> list[Assignment]:
        return self._many("suspensions", "app = ?", (app,))

    def mappings_of_policy(self, policy: str, after: str | None = None, limit: int = -1) -> list[Assignment]:
        return self._many("mappings", "policy = ? AND key > ?", (policy, after or ""), limit)

    def _one(self, table: str, key: str) -> Assignment | None:
        found = self._many(table, "key = ?", (key,))
        return found[0] if found else None

    def _many(self, table: str, where: str, args: tuple[Any, ...], limit: int = -1) -> list[Assignment]:
        policy = "policy" if table == "mappings" else "NULL"
        rows = self.conn.execute(
            f"SELECT key, kind, app, service, partition, {policy} FROM {table} WHERE {where}"
            " ORDER BY key LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [Assignment(*r) for r in rows]

    # meta: the runtime (runtimes.py) and the topology's storage section (storage_check.py)
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def replace_topology(self, topology: Topology) -> None:
        self.put_meta("storage", None if topology.storage is None else topology.storage.to_json())
        for table in ("applications", "services", "partitions"):
            self.conn.execute(f"DELETE FROM {table}")
        self.conn.execute("INSERT OR IGNORE INTO backup_dirty(app) VALUES('*')")  # re-arm every schedule
        self.conn.executemany(
            "INSERT INTO applications(name, type_name, type_version, parameters) VALUES(?,?,?,?)",
            [(a.name, a.type_name, a.type_version, json.dumps(a.parameters)) for a in topology.applications],
        )
        services = [s for a in topology.applications for s in a.services]
        self.conn.executemany(
            "INSERT INTO services(name, app, kind, persisted, type_name) VALUES(?,?,?,?,?)",
            [
                (s.name, a.name, s.kind, int(s.has_persisted_state), s.type_name)
                for a in topology.applications
                for s in a.services
            ],
        )
        self.conn.executemany(
            "INSERT INTO partitions(id, service, ord, kind, low_key, high_key, pname) VALUES(?,?,?,?,?,?,?)",
            [
                (p.id, s.name, i, p.kind, p.low_key, p.high_key, p.name)
                for s in services
                for i, p in enumerate(s.partitions)
            ],
        )


def _app_row(row: tuple[Any, ...]) -> ApplicationRow:
    return ApplicationRow(row[0], row[1], row[2], [(k, v) for k, v in json.loads(row[3])])


class Store:
    """A pool of connections to one state file; ``read()`` and ``write()`` give one transaction each."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self._connect()
        try:
            _ensure_schema(conn, path)
        finally:
            self._release(conn)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # WAL commits stay atomic when a process dies; only an OS crash could lose the last commits,
            # which an emulator can afford, and skipping fsync keeps test set-up and writes fast.
            conn.execute("PRAGMA synchronous = OFF")
            # A clock advance over a large cluster is one big transaction: give the WAL back after it.
            conn.execute("PRAGMA journal_size_limit = 4194304")
        except sqlite3.OperationalError as exc:
            raise _state_error(self.path, f"cannot open the emulator state file: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise _state_error(self.path, f"not an sfdeclare emulator state file ({exc})") from None
        return conn

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._pool:
                return self._pool.pop()
        return self._connect()

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed:
                self._pool.append(conn)
                return
        conn.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        conn = self._acquire()
        try:
            conn.execute(begin)
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._release(conn)

    def read(self) -> AbstractContextManager[Tx]:
        return self._transaction("BEGIN DEFERRED")

    def write(self) -> AbstractContextManager[Tx]:
        return self._transaction("BEGIN IMMEDIATE")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()


def _ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    try:
        _check_format(conn, path)  # before anything is written, so a foreign database is left untouched
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise _state_error(path, "the state file's directory does not support SQLite WAL mode")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _check_format(conn, path):  # another process may have created it meanwhile
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('format', ?), ('version', ?)", (FORMAT, VERSION)
                )
                backup_tables.install(conn)
            elif _version(conn) in _MIGRATABLE:
                backup_tables.install(conn)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise _state_error(path, f"not an sfdeclare emulator state file ({exc})") from None


def _check_format(conn: sqlite3.Connection, path: str) -> bool:
    """True for a state file, False for an empty database; ConfigError for anything else."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return False
    if "meta" not in tables:
        raise _state_error(path, "not an sfdeclare emulator state file")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        raise _state_error(path, "not an sfdeclare emulator state file")
    if meta.get("version") != VERSION and meta.get("version") not in _MIGRATABLE:
        raise _state_error(
            path,
            f"unsupported emulator state version {meta.get('version')}; "
            "create a new state file with: sfdeclare emulator init",
        )
    return True


def _version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return None if row is None else str(row[0])


def init_state(state_path: str, topology_path: str | None, runtime: str | None = None) -> None:
    """Create the state file if needed; with a topology, replace the cluster's topology, with a runtime, the
    cluster's runtime (an upgrade the next request sees), and keep the rest."""
    if runtime is not None and runtime not in RUNTIMES:
        raise _state_error(
            state_path, f"unknown runtime {runtime!r} (expected one of: {', '.join(RUNTIMES)})"
        )
    topology = load_topology(topology_path) if topology_path is not None else None
    directory = os.path.dirname(os.path.abspath(state_path))
    if not os.path.isdir(directory):
        raise _state_error(state_path, "the state file's directory does not exist")
    store = Store(state_path)
    try:
        if topology is not None or runtime is not None:
            with store.write() as tx:
                if topology is not None:
                    tx.replace_topology(topology)
                if runtime is not None:
                    tx.put_meta(RUNTIME_META, runtime)
    finally:
        store.close()


def load_topology_into(store: Store, topology: Topology) -> None:
    """Replace the topology of an open store (tests and tools that build topologies in code)."""
    with store.write() as tx:
        tx.replace_topology(topology)


def stored_runtime(tx: Tx) -> str:
    """The cluster's runtime as the state records it (the default for a state that records none)."""
    return tx.meta(RUNTIME_META) or DEFAULT_RUNTIME
