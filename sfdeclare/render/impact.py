"""A plan's impact in words and numbers, for every view: per-policy figures, totals before -> after, notes.

Numbers are the plan file's (``engine.impact_figures.shown``: whole, or two decimals), written with thousands
separators; a change carries its sign; a restore-point range reads ``25-28``; no RetentionPolicy reads
``unbounded``.
"""

from __future__ import annotations

from fractions import Fraction

from sfdeclare.engine.impact_figures import ApplicationImpact, PlanImpact, Totals, shown
from sfdeclare.servicefabric.backup_schedule import PolicyImpact


def rate(value: Fraction) -> str:
    v = shown(value)
    return f"{v:,}" if isinstance(v, int) else f"{v:,.2f}"


def change(before: Fraction, after: Fraction) -> str:
    """``+92,000``, ``-0.86``, ``0``."""
    diff = Fraction(str(shown(after))) - Fraction(str(shown(before)))
    if diff == 0:
        return "0"
    return ("+" if diff > 0 else "-") + rate(abs(diff))


def points(value: tuple[int, int] | None) -> str:
    if value is None:
        return "unbounded"
    low, high = value
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def points_change(before: tuple[int, int], after: tuple[int, int]) -> str:
    low, high = after[0] - before[0], after[1] - before[1]

    def signed(n: int) -> str:
        return f"+{n:,}" if n > 0 else f"{n:,}" if n < 0 else "0"

    return signed(low) if low == high else f"{signed(low)} to {signed(high)}"


def policy_text(impact: PolicyImpact) -> str:
    """``24 backups a day (6 full, 18 incremental; every PT1H: 24 a day), 25-28 restore points kept``."""
    kept = (
        "kept for ever (no RetentionPolicy)"
        if impact.restore_points is None
        else f"{points(impact.restore_points)} restore points kept"
    )
    backups = "backup" if impact.backups_per_day == 1 else "backups"
    return (
        f"{rate(impact.backups_per_day)} {backups} a day ({rate(impact.full_per_day)} full, "
        f"{rate(impact.incremental_per_day)} incremental; {impact.schedule}), {kept}"
    )


def policy_rows(impact: PlanImpact) -> list[tuple[str, str, PolicyImpact]]:
    """(policy, when, figures) for every policy involved: ``now`` and ``after`` where they differ, ``now and
    after`` where they do not; a policy only before or only after says so."""
    rows: list[tuple[str, str, PolicyImpact]] = []
    for name in sorted({*impact.policies_before, *impact.policies_after}):
        before = impact.policies_before.get(name)
        after = impact.policies_after.get(name)
        if before is not None and after is not None and before == after:
            rows.append((name, "now and after", before))
            continue
        if before is not None:
            rows.append((name, "now", before))
        if after is not None:
            rows.append((name, "after", after))
    return rows


def totals_rows(before: Totals, after: Totals) -> list[tuple[str, str, str, str]]:
    """(what, before, after, change) rows for a table or a list."""
    return [
        ("partitions taking backups", f"{before.protected:,}", f"{after.protected:,}", _count(before.protected, after.protected)),
        ("backups per day", rate(before.backups_per_day), rate(after.backups_per_day), change(before.backups_per_day, after.backups_per_day)),
        ("full backups per day", rate(before.full_per_day), rate(after.full_per_day), change(before.full_per_day, after.full_per_day)),
        ("incremental backups per day", rate(before.incremental_per_day), rate(after.incremental_per_day), change(before.incremental_per_day, after.incremental_per_day)),
        ("restore points kept", points(before.restore_points), points(after.restore_points), points_change(before.restore_points, after.restore_points)),
    ]  # fmt: skip


def _count(before: int, after: int) -> str:
    diff = after - before
    return f"+{diff:,}" if diff > 0 else f"{diff:,}" if diff < 0 else "0"


def notes(before: Totals, after: Totals, unknown_services: int = 0) -> list[str]:
    """What the totals leave out, one sentence each."""
    out: list[str] = []
    for now, t in ((True, before), (False, after)):
        if t.unbounded:
            keep = "keep" if now else "will keep"
            out.append(
                f"{_n(t.unbounded)} {keep} backups for ever (no RetentionPolicy): not in the restore points"
            )
        if t.suspended:
            verb = ("is" if t.suspended == 1 else "are") if now else "will be"
            out.append(f"{_n(t.suspended)} {verb} suspended: no backups taken")
        if t.unpriced:
            verb = "uses" if now and t.unpriced == 1 else "use" if now else "will use"
            out.append(f"{_n(t.unpriced)} {verb} a policy whose body could not be read: not counted")
    if unknown_services:
        out.append(
            f"{unknown_services:,} changed {'service' if unknown_services == 1 else 'services'} could not have "
            "their partitions counted: not in the totals"
        )
    return out


def _n(count: int) -> str:
    return f"{count:,} {_partitions(count)}"


def _partitions(n: int) -> str:
    return "partition" if n == 1 else "partitions"


def headline(impact: PlanImpact) -> str:
    """One line: ``Backups per day: 4,000 -> 96,000 (+92,000) on 4,000 partitions whose backups change; restore
    points kept: 32,000 -> 100,000 (+68,000).`` Empty when no partition's backups change."""
    b, a = impact.before, impact.after
    if not b.partitions and not impact.unknown_services:
        return ""
    return (
        f"Backups per day: {rate(b.backups_per_day)} -> {rate(a.backups_per_day)} "
        f"({change(b.backups_per_day, a.backups_per_day)}) on {b.partitions:,} {_partitions(b.partitions)} whose "
        f"backups change; restore points kept: {points(b.restore_points)} -> {points(a.restore_points)} "
        f"({points_change(b.restore_points, a.restore_points)})."
    )


def application_line(a: ApplicationImpact) -> str:
    """``fabric:/Shop: 4,000 partitions change, 1 service gains backup; backups per day 4,000 -> 96,000 ...``."""
    parts = [f"{a.before.partitions:,} {_partitions(a.before.partitions)} change"]
    if a.services_gaining:
        parts.append(
            f"{a.services_gaining:,} {'service gains' if a.services_gaining == 1 else 'services gain'} backup"
        )
    if a.services_losing:
        parts.append(
            f"{a.services_losing:,} {'service loses' if a.services_losing == 1 else 'services lose'} backup"
        )
    return (
        f"{a.application}: {', '.join(parts)}; backups per day {rate(a.before.backups_per_day)} -> "
        f"{rate(a.after.backups_per_day)}; restore points {points(a.before.restore_points)} -> "
        f"{points(a.after.restore_points)}"
    )


def text_lines(impact: PlanImpact) -> list[str]:
    """The impact section of the text plan (and of ``show``)."""
    lines = ["Impact on backups (Service Fabric's schedule and retention rules; see docs/formats.md):"]
    rows = policy_rows(impact)
    if rows:
        lines.append("  per partition:")
        lines.extend(f"    {name} ({when}): {policy_text(figures)}" for name, when, figures in rows)
    for app in impact.applications:
        lines.append(f"  {application_line(app)}")
    head = headline(impact)
    lines.append(f"  {head}" if head else "  No partition's backups change.")
    lines.extend(f"  note: {n}" for n in notes(impact.before, impact.after, impact.unknown_services))
    return lines
