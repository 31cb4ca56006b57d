"""Moving the emulator's clock: arm what changed, take due backups, finish on-demand operations, retention.

``advance_to`` is the one place time passes. From the processed time ``t0`` to ``target`` it arms the dirty
applications at ``t0`` (the time their configuration changed), then takes the periodic backups due in
``(t0, target]`` in time order with the on-demand backups and restores that complete in between, then runs
retention at ``target``. A virtual clock moves only through ``advance`` (``POST /$/Emulator/Clock/$/Advance``);
a real clock is caught up by ``catch_up`` before every request that reads or writes backups or configuration.
"""

from __future__ import annotations

from sfdeclare.emulator import backups, clock, operations, retention
from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.state import Store, Tx


def broken_policies(tx: Tx) -> set[str]:
    return {str(r[0]) for r in tx.conn.execute("SELECT name FROM broken_policies")}


def advance_to(tx: Tx, target: int) -> None:
    start = clock.processed(tx)
    backups.sync(tx, start)
    if target <= start:
        return
    broken = broken_policies(tx)
    for at in operations.completions(tx, start, target):
        backups.take_ticks(tx, at, broken)
        operations.complete_due(tx, at)
    backups.take_ticks(tx, target, broken)
    retention.apply_all(tx, target)
    clock.set_processed(tx, target)


def advance(store: Store, seconds: int) -> int:
    """Move a virtual clock forward; returns the new time. 400 on a real clock or past the clock's range."""
    with store.write() as tx:
        if clock.mode(tx) == "real":
            raise fe.invalid("The emulator's clock is real (serve --clock real): it cannot be advanced.")
        target = clock.processed(tx) + seconds
        if target > clock.MAX_TIME:
            raise fe.invalid("Invalid Duration: the clock would pass the year 9998.")
        advance_to(tx, target)
        return target


def catch_up(store: Store) -> None:
    """Bring the state to the clock's present: real time passed, or configuration changed since the last arming."""
    with store.read() as tx:
        pending = backups.is_dirty(tx) or (
            clock.mode(tx) == "real" and clock.wall_now() > clock.processed(tx)
        )
    if pending:
        with store.write() as tx:
            advance_to(tx, clock.now(tx))


def catch_up_for_write(store: Store) -> None:
    """Before a configuration write on a real clock: take what fell due before it, under the old configuration."""
    with store.read() as tx:
        behind = clock.mode(tx) == "real" and clock.wall_now() > clock.processed(tx)
    if behind:
        with store.write() as tx:
            advance_to(tx, clock.now(tx))
