"""A StatusReport as text grouped by application (a terminal, a CI log), as the published JSON document
(schemas/status.schema.json), and as Markdown for the issue a scheduled job opens."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sfdeclare import __version__
from sfdeclare.engine.schedule import span
from sfdeclare.engine.status import CLASSES, PartitionStatus, StatusReport

FORMAT_VERSION = 1
GITHUB_ISSUE_LIMIT = 65_536
TITLES = {
    "ok": "ok",
    "late": "late",
    "failing": "failing",
    "no_backup_yet": "no backup yet",
    "suspended": "suspended",
    "unprotected": "unprotected",
}
NOW_SOURCES = {
    "cluster": "the cluster's clock",
    "local": "this machine's clock (the cluster's answers carried no Date)",
    "option": "--now",
}
_RED, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[1m", "\033[0m"


def iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def partition_label(p: PartitionStatus) -> str:
    part = p.partition
    if part.kind == "Named":
        return f"{part.id} (name {part.name})"
    if part.kind == "Int64Range":
        return f"{part.id} (low key {part.low_key})"
    return part.id


def message(p: PartitionStatus, now: int) -> str:
    """One sentence: what the partition's state is and what it rests on."""
    policy = f"policy {p.policy} ({p.policy_from})" if p.policy else ""
    latest = f"latest backup {iso(p.latest_backup)}" if p.latest_backup is not None else "no backup listed"
    if p.status == "unprotected":
        why = "; the configuration names it, so it must be backed up" if p.required else ""
        return f"no backup policy applies (stateful with persisted state){why}"
    if p.status == "suspended":
        return f"{policy}, suspended at {p.suspended_from} level; {latest}"
    if p.status == "failing":
        first = (p.health or "").splitlines()[0] if p.health else "unhealthy"
        return f"{policy}: the backup service reports: {first}; {latest}"
    if p.schedule_error is not None:
        return f"{policy}: {p.schedule_error}; {latest}"
    sched = p.schedule.describe() if p.schedule else ""
    if p.status == "late" and p.missed_run is not None:
        overdue = now - p.missed_run
        return (
            f"{policy}, {sched}: {latest}; the run of {iso(p.missed_run)} has no backup "
            f"{span(overdue)} later (grace {span(p.grace or 0)})"
        )
    if p.status == "no_backup_yet":
        if p.missed_run is not None:
            return (
                f"{policy}, {sched}: no backup listed, and the first run after --since, {iso(p.missed_run)}, "
                f"is {span(now - p.missed_run)} past (grace {span(p.grace or 0)})"
            )
        upcoming = f"; next run {iso(p.next_run)}" if p.next_run is not None else ""
        return f"{policy}, {sched}: no backup listed yet{upcoming}"
    upcoming = f"; next run {iso(p.next_run)}" if p.next_run is not None else ""
    return f"{policy}, {sched}: {latest}{upcoming}"


def summary_line(report: StatusReport) -> str:
    counts = report.counts()
    total = len(report.partitions)
    parts = [f"{counts[c]} {TITLES[c]}" for c in CLASSES if counts[c]]
    problems = report.problems()
    verdict = f"{problems} problem{'s' if problems != 1 else ''}" if problems else "no problems"
    listed = f": {', '.join(parts)}" if parts else ""
    return f"{total} partition{'s' if total != 1 else ''}{listed}; {verdict}"


# --- JSON ----------------------------------------------------------------------------------------------------


def partition_json(p: PartitionStatus, now: int) -> dict[str, Any]:
    part = p.partition
    return {
        "address": p.address,
        "service": p.service,
        "partition_id": part.id,
        "partition_kind": part.kind,
        "partition_name": part.name,
        "low_key": part.low_key,
        "status": p.status,
        "problem": p.problem,
        "required": p.required,
        "policy": p.policy,
        "policy_from": p.policy_from,
        "suspended_from": p.suspended_from,
        "schedule": p.schedule.describe() if p.schedule else None,
        "latest_backup": iso(p.latest_backup),
        "latest_backup_type": p.latest_type,
        "missed_run": iso(p.missed_run),
        "next_run": iso(p.next_run),
        "grace_seconds": p.grace,
        "health": p.health,
        "message": message(p, now),
    }


def status_to_json(report: StatusReport) -> dict[str, Any]:
    opts = report.options
    counts = report.counts()
    return {
        "format_version": FORMAT_VERSION,
        "kind": "sfdeclare-status",
        "tool_version": __version__,
        "endpoint": opts.endpoint,
        "now": iso(opts.now),
        "now_source": opts.now_source,
        "since": iso(opts.since),
        "grace_seconds": opts.grace,
        "problems": report.has_problems,
        "summary": {**counts, "total": len(report.partitions), "problems": report.problems()},
        "summary_line": summary_line(report),
        "applications": [
            {"name": app, "partitions": [partition_json(p, opts.now) for p in parts]}
            for app, parts in report.by_application().items()
        ],
        "missing_applications": list(report.missing_applications),
    }


def render_json(report: StatusReport, *, color: bool = False) -> str:
    return json.dumps(status_to_json(report), indent=2, ensure_ascii=False) + "\n"


# --- text ----------------------------------------------------------------------------------------------------


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _heading(report: StatusReport) -> str:
    opts = report.options
    where = f" on {opts.endpoint}" if opts.endpoint else ""
    since = f", configuration applied since {iso(opts.since)}" if opts.since is not None else ""
    return f"Backup status at {iso(opts.now)} ({NOW_SOURCES[opts.now_source]}){where}{since}"


def render_text(report: StatusReport, *, color: bool = False) -> str:
    now = report.options.now
    lines = [_heading(report), ""]
    for app, parts in report.by_application().items():
        lines.append(_paint(app, _BOLD, color))
        for p in parts:
            mark = "!" if p.problem else " "
            line = f"  {mark} {TITLES[p.status]:<13} {p.service} {partition_label(p)}: {message(p, now)}"
            if p.problem:
                line = _paint(line, _RED, color)
            elif p.status != "ok":
                line = _paint(line, _YELLOW, color)
            lines.append(line)
        lines.append("")
    for app in report.missing_applications:
        lines += [f"{app}: not on the cluster (sfdeclare plan reports it)", ""]
    lines.append(_paint(summary_line(report), _BOLD, color))
    return "\n".join(lines) + "\n"


# --- Markdown ------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _header(report: StatusReport) -> list[str]:
    counts = report.counts()
    lines = [
        "### sfdeclare status",
        "",
        f"**{summary_line(report)}**",
        "",
        f"_{_cell(_heading(report))}_",
        "",
    ]
    lines += ["| status | partitions |", "|---|---:|"]
    lines += [f"| {TITLES[c]} | {counts[c]} |" for c in CLASSES if counts[c]]
    lines.append("")
    return lines


def render_markdown(report: StatusReport, *, color: bool = False, limit: int = GITHUB_ISSUE_LIMIT) -> str:
    """Markdown for an issue body: problems first in full, then every other partition that is not ok; past
    ``limit`` characters only the summary and a pointer remain."""
    now = report.options.now
    lines = _header(report)
    for title, chosen in (
        ("Problems", [p for p in report.partitions if p.problem]),
        ("Listed, not problems", [p for p in report.partitions if not p.problem and p.status != "ok"]),
    ):
        if not chosen:
            continue
        lines += [
            f"<details{' open' if title == 'Problems' else ''}><summary>{title} ({len(chosen)})</summary>",
            "",
            "| application | partition | status | what |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{_cell(p.application)}` | `{_cell(p.service)}` {_cell(partition_label(p))} "
            f"| {TITLES[p.status]} | {_cell(message(p, now))} |"
            for p in chosen
        ]
        lines += ["", "</details>", ""]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    return "\n".join(
        [
            *_header(report),
            "_The full report is longer than an issue allows; see `sfdeclare status --format json`._",
            "",
        ]
    )
