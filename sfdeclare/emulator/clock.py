"""The emulator's clock: virtual (moves only when told) or real (the host's UTC time), kept in the state file.

Times are whole seconds since the Unix epoch (UTC) everywhere in the backup store. ``processed`` is the time up
to which scheduled backups have been taken; a virtual clock's ``now`` is always ``processed``, a real clock's
``now`` runs ahead until the next request catches the state up (``backups.catch_up``).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.durations import parse_duration
from sfdeclare.emulator.state import Tx

MODES = ("virtual", "real")
# datetime's range, less a year, so every rendered time and every advance stays representable.
MAX_TIME = int(datetime(9998, 12, 31, tzinfo=timezone.utc).timestamp())
MIN_TIME = int(datetime(1971, 1, 1, tzinfo=timezone.utc).timestamp())


def wall_now() -> int:
    return int(time.time())


def format_utc(seconds: int) -> str:
    """``2018-01-01T09:00:55Z``: the form BackupInfo.CreationTimeUtc and health timestamps take."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str, what: str) -> int:
    """An ISO 8601 date-time (``Z`` or an offset; none means UTC) -> seconds; 400 when it is not one."""
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise fe.invalid(f"Invalid {what} '{text}': an ISO 8601 date-time is expected.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def parse_advance(text: str) -> int:
    """An advance ``Duration`` (ISO 8601, e.g. ``PT3H``, ``P7D``) -> whole seconds; 400 for a bad or negative one."""
    try:
        delta = parse_duration(text)
    except ValueError as exc:
        raise fe.invalid(f"Invalid Duration: {exc}.") from None
    seconds = int(delta.total_seconds())
    if seconds < 0:
        raise fe.invalid("Invalid Duration: the clock cannot move backwards.")
    return seconds


def _meta(tx: Tx, key: str) -> str | None:
    row = tx.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(tx: Tx, key: str, value: str) -> None:
    tx.conn.execute(
        "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def mode(tx: Tx) -> str:
    return _meta(tx, "clock_mode") or "virtual"


def processed(tx: Tx) -> int:
    """The time up to which scheduled backups have been taken (a virtual clock's current time)."""
    value = _meta(tx, "clock_processed")
    return int(value) if value is not None else wall_now()


def now(tx: Tx) -> int:
    """The emulator's current time: the virtual clock, or the host's clock (never behind ``processed``)."""
    if mode(tx) == "real":
        return max(wall_now(), processed(tx))
    return processed(tx)


def set_processed(tx: Tx, seconds: int) -> None:
    _set_meta(tx, "clock_processed", str(seconds))


def configure(tx: Tx, clock_mode: str | None, start: int | None) -> None:
    """Set the clock's mode and, for a virtual clock, its time (``init`` / ``serve``); None keeps what is there."""
    if clock_mode is not None:
        if clock_mode not in MODES:
            raise ValueError(f"unknown clock mode {clock_mode!r} (expected virtual or real)")
        if clock_mode == "real" and mode(tx) != "real":
            set_processed(tx, max(processed(tx), wall_now()))
        _set_meta(tx, "clock_mode", clock_mode)
    if start is not None:
        if mode(tx) == "real":
            raise ValueError("--clock-start needs a virtual clock")
        set_processed(tx, start)


def initialise(tx: Tx) -> None:
    """A new state file's clock: virtual, at the host's current time (whole seconds)."""
    if _meta(tx, "clock_mode") is None:
        _set_meta(tx, "clock_mode", "virtual")
    if _meta(tx, "clock_processed") is None:
        set_processed(tx, wall_now())
