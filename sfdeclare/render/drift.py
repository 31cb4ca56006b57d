"""A DriftReport as text (a terminal, a CI log), as the published JSON document (schemas/drift.schema.json),
and as Markdown for an issue opened by a scheduled job."""

from __future__ import annotations

import json
from typing import Any

from sfdeclare import __version__
from sfdeclare.engine.drift import CLASS_TITLES, CLASSES, DriftItem, DriftReport
from sfdeclare.render.common import BOLD, CYAN, RED, YELLOW, cell, paint, prose_cell, value
from sfdeclare.render.summaries import coverage_line, drift_line

FORMAT_VERSION = 1
GITHUB_ISSUE_LIMIT = 65_536

MARKS = {"changed": "~", "missing": "-", "unmanaged": "?", "suspended_out_of_band": "||"}
LEGEND = (
    "Drift is marked:  ~ changed   - missing on the cluster   ? unmanaged (nothing declares it)   "
    "|| suspended out of band"
)
_COLORS = {"changed": YELLOW, "missing": RED, "unmanaged": CYAN, "suspended_out_of_band": YELLOW}


# --- JSON ----------------------------------------------------------------------------------------------------


def item_json(item: DriftItem) -> dict[str, Any]:
    return {
        "class": item.drift_class,
        "subject": item.subject,
        "address": item.address,
        "application": item.application,
        "declared": item.declared,
        "live": item.live,
        "fields": [{"path": f.path, "declared": f.after, "live": f.before} for f in item.fields],
        "message": item.message,
        "location": item.location.to_json() if item.location else None,
    }


def drift_to_json(report: DriftReport) -> dict[str, Any]:
    counts = report.counts()
    cov = report.coverage
    return {
        "format_version": FORMAT_VERSION,
        "kind": "sfdeclare-drift",
        "tool_version": __version__,
        "endpoint": report.endpoint,
        "api_version": report.api_version,
        "scope": report.scope,
        "all_applications": report.all_applications,
        "config_digest": report.config_digest,
        "live_digest": report.live_digest,
        "drift": report.has_drift,
        "summary": {**counts, "total": len(report.items)},
        "summary_line": drift_line(report),
        "items": [item_json(i) for i in report.items],
        "coverage": {
            "services_total": cov.services_total,
            "services_covered": cov.services_covered,
            "services_suspended": cov.services_suspended,
            "partitions_known": cov.partitions_known,
            "partitions_covered": cov.partitions_covered,
            "without": [
                {
                    "service": w.service,
                    "partitions_total": w.partitions_total,
                    "partitions_covered": w.partitions_covered,
                    "partial": w.partial,
                }
                for w in cov.without
            ],
            "line": coverage_line(cov),
        },
        "diagnostics": [d.to_json() for d in report.diagnostics],
    }


def render_json(report: DriftReport, *, color: bool = False) -> str:
    return json.dumps(drift_to_json(report), indent=2, ensure_ascii=False) + "\n"


# --- text ----------------------------------------------------------------------------------------------------


def _detail_lines(item: DriftItem) -> list[str]:
    if item.fields:
        return [f"{f.path}: declared {value(f.after)}, live {value(f.before)}" for f in item.fields]
    return []


def render_text(report: DriftReport, *, color: bool = False) -> str:
    lines: list[str] = []
    if report.items:
        lines += [LEGEND, ""]
        for drift_class in CLASSES:
            items = report.by_class(drift_class)
            if not items:
                continue
            lines.append(paint(f"{CLASS_TITLES[drift_class]} ({len(items)}):", BOLD, color))
            for item in items:
                head = f"  {MARKS[drift_class]} {item.address}: {item.message}"
                if item.location is not None:
                    head += f" ({item.location})"
                lines.append(paint(head, _COLORS[drift_class], color))
                lines.extend(f"      {line}" for line in _detail_lines(item))
            lines.append("")
    lines.append(coverage_line(report.coverage))
    lines.append(paint(drift_line(report), BOLD, color))
    return "\n".join(lines) + "\n"


# --- Markdown ------------------------------------------------------------------------------------------------


def _code(v: Any) -> str:
    if v is None:
        return ""
    return f"`{cell(v if isinstance(v, str) else value(v))}`"


def _header(report: DriftReport) -> list[str]:
    lines = ["### sfdeclare drift", ""]
    where = f" on `{cell(report.endpoint)}`" if report.endpoint else ""
    lines += [f"**{drift_line(report)}**{where}", ""]
    if report.has_errors:
        lines += ["> [!CAUTION]", "> The configuration has errors against this cluster:"]
        lines += [f"> - {cell(str(d))}" for d in report.diagnostics if d.severity == "error"][:20]
        lines.append("")
    if report.items:
        counts = report.counts()
        lines += ["| drift | count |", "|---|---:|"]
        lines += [f"| {CLASS_TITLES[c]} | {counts[c]} |" for c in CLASSES if counts[c]]
        lines += [
            "",
            "_`sfdeclare plan` shows what `apply` would change back. It leaves suspensions the configuration "
            "does not mention, and policies nothing declares (unless `prune_policies`), as they are: declare "
            "them, or remove them on the cluster._",
            "",
        ]
    lines += [f"_{cell(coverage_line(report.coverage))}_", ""]
    return lines


def _block(report: DriftReport, drift_class: str) -> list[str]:
    items = [i for i in report.items if i.drift_class == drift_class]
    if not items:
        return []
    title = CLASS_TITLES[items[0].drift_class]
    lines = [
        f"<details{' open' if len(items) <= 20 else ''}><summary>{title} ({len(items)})</summary>",
        "",
        "| address | what | declared | live | where |",
        "|---|---|---|---|---|",
    ]
    for item in items:
        what = cell(item.message)
        details = [prose_cell(line) for line in _detail_lines(item)]
        if details:
            what += "<br>" + "<br>".join(details)
        declared = _code(item.declared) if item.subject in ("mapping", "suspension") else ""
        live = _code(item.live) if item.subject in ("mapping", "suspension") else ""
        where = f"`{cell(str(item.location))}`" if item.location else ""
        lines.append(f"| `{cell(item.address)}` | {what} | {declared} | {live} | {where} |")
    lines += ["", "</details>", ""]
    return lines


def render_markdown(report: DriftReport, *, color: bool = False, limit: int = GITHUB_ISSUE_LIMIT) -> str:
    """Markdown for an issue body; past ``limit`` characters only the summary and a pointer remain."""
    lines = _header(report)
    for drift_class in CLASSES:
        lines += _block(report, drift_class)
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    short = [
        *_header(report),
        f"_The full report ({len(report.items)} items) is longer than an issue allows;"
        " see `sfdeclare drift --format json`._",
        "",
    ]
    return "\n".join(short)
