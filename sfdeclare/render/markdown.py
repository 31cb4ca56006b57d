"""The plan as a pull-request comment: summary and warnings first, details folded, grouped by application."""

from __future__ import annotations

from collections import Counter

from sfdeclare.engine.plan import Change, Plan
from sfdeclare.render.changes import detail_lines, symbol, verb
from sfdeclare.render.common import cell, plural, prose_cell
from sfdeclare.render.summaries import plan_line

GITHUB_COMMENT_LIMIT = 65_536
# Room for what a pipeline wraps around the plan (a sticky-comment marker, a heading, a footer).
DEFAULT_LIMIT = GITHUB_COMMENT_LIMIT - 4_096


def _header(plan: Plan) -> list[str]:
    lines = ["### sfdeclare plan", ""]
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        lines += [
            "> [!WARNING]",
            f"> {len(destructive)} destructive action(s): applying needs `--allow-destructive`.",
        ]
        lines += [f"> - `{c.address}` {cell(verb(c))}" for c in destructive[:20]]
        if len(destructive) > 20:
            lines.append(f"> - ... and {len(destructive) - 20} more")
        lines.append("")
    lines += [f"**{plan_line(plan)}**", ""]
    if plan.empty:
        return lines
    counts = Counter(c.action.value for c in plan.changes)
    lines += ["| action | count |", "|---|---:|"]
    lines += [f"| `{action}` | {n} |" for action, n in sorted(counts.items(), key=lambda kv: kv[0])]
    lines.append("")
    return lines


def _block(title: str, changes: list[Change]) -> list[str]:
    lines = [
        f"<details><summary>{title} ({plural(len(changes), 'action')})</summary>",
        "",
    ]
    lines += ["| | address | change | reason |", "|---|---|---|---|"]
    for c in changes:
        mark = "!!" if c.destructive else symbol(c)
        detail = "<br>".join(prose_cell(line) for line in detail_lines(c))
        change = cell(verb(c)) + (f"<br>{detail}" if detail else "")
        lines.append(f"| `{mark}` | `{cell(c.address)}` | {change} | {cell(c.reason)} |")
    lines += ["", "</details>", ""]
    return lines


def render_plan(plan: Plan, *, color: bool = False, limit: int = DEFAULT_LIMIT) -> str:
    """Markdown for a PR comment; past ``limit`` characters only the summary and a pointer remain."""
    lines = _header(plan)
    if plan.empty:
        return "\n".join(lines)
    groups: dict[str, list[Change]] = {}
    for c in plan.changes:
        groups.setdefault(c.application or "policies", []).append(c)
    for title in sorted(groups, key=lambda g: (g != "policies", g)):
        lines += _block(title if title == "policies" else f"<code>{title}</code>", groups[title])
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    short = [
        *_header(plan),
        f"_The full plan ({len(plan.changes)} actions) is longer than a comment allows;"
        " see the plan file or `sfdeclare plan --format json`._",
        "",
    ]
    return "\n".join(short)
