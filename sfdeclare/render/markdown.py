"""The plan as a pull-request comment (GitHub-flavoured Markdown).

Order: the summary line and the destructive warning first, the action counts, the impact on backups (totals
before -> after, per-policy figures folded) and the warnings no application owns; then one folded block per
application (policies first) with its actions, its effective changes (folded), its warnings and its impact.

A comment holds at most ``GITHUB_COMMENT_LIMIT`` characters, and a pipeline adds a marker and a footer, so
``DEFAULT_LIMIT`` keeps 4,096 of them free. Past it, the blocks give way to one table with a row per
application (actions, services gaining and losing backup, backups per day before -> after) and entity names are
left to the full plan (``sfdeclare show PLANFILE``, the pipeline's artifact). Should even that table not fit,
application names are shortened in the middle, and only past that are the last rows counted instead of shown.

Everything a plan holds that a person wrote or a cluster named (names, reasons, messages) is escaped, so it
cannot close a table, a code span or a ``<details>`` block.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from sfdeclare.engine.impact_figures import ApplicationImpact, PlanImpact, Totals
from sfdeclare.engine.plan import Change, EffectiveChange, Plan
from sfdeclare.errors import Diagnostic
from sfdeclare.render import impact as words
from sfdeclare.render.changes import detail_lines, symbol, verb
from sfdeclare.render.summaries import effective_text, plan_line

GITHUB_COMMENT_LIMIT = 65_536
# Room for what a pipeline wraps around the plan (a sticky-comment marker, a heading, a footer).
DEFAULT_LIMIT = GITHUB_COMMENT_LIMIT - 4_096
DESTRUCTIVE_LISTED = 20
WARNINGS_LISTED = 20  # in the compact form
POLICIES = "policies"

# What could open markup or close a table cell mid-text; an underscore only outside a word (inside one it
# cannot open emphasis, CommonMark 6.2), so file names and keys read as written.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def text(value: str) -> str:
    """Plain text that stays plain in Markdown and inside a table cell."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value.replace("\r", " ").replace("\n", " "))


def code(value: str) -> str:
    """An inline code span that holds ``value`` whatever backticks it contains (CommonMark 6.1); a ``|`` is
    escaped for GFM tables, which split cells before reading code spans."""
    flat = value.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or flat.startswith(" ") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _html(value: str) -> str:
    return html.escape(value, quote=False)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


# --- the top -------------------------------------------------------------------------------------------------


def _header(plan: Plan) -> list[str]:
    lines = ["### sfdeclare plan", ""]
    destructive = [c for c in plan.changes if c.destructive]
    if destructive:
        lines += [
            "> [!WARNING]",
            f"> {len(destructive)} destructive action(s): applying needs `--allow-destructive`.",
        ]
        lines += [f"> - {code(c.address)} {text(verb(c))}" for c in destructive[:DESTRUCTIVE_LISTED]]
        if len(destructive) > DESTRUCTIVE_LISTED:
            lines.append(f"> - ... and {len(destructive) - DESTRUCTIVE_LISTED} more")
        lines.append("")
    lines += [f"**{text(plan_line(plan))}**", ""]
    if plan.empty:
        return lines
    counts = Counter(c.action.value for c in plan.changes)
    lines += ["| action | count |", "|---|---:|"]
    lines += [f"| `{action}` | {n} |" for action, n in sorted(counts.items())]
    lines.append("")
    return lines


def _impact_top(impact: PlanImpact | None) -> list[str]:
    if impact is None:
        return []
    if not impact.before.partitions and not impact.unknown_services:
        return ["**Impact on backups:** no partition's backups change.", ""]
    lines = [
        f"**Impact on backups** over the {_plural(impact.before.partitions, 'partition', 'partitions')} whose "
        "backups change (Service Fabric's schedule and retention rules):",
        "",
        *_totals_table(impact.before, impact.after),
        "",
    ]
    notes = words.notes(impact.before, impact.after, impact.unknown_services)
    if notes:
        lines += [*(f"- _{text(note)}_" for note in notes), ""]
    rows = words.policy_rows(impact)
    if rows:
        lines += [
            "<details><summary>Per partition, by policy</summary>",
            "",
            "| policy | when | backups per day | full | incremental | restore points kept | schedule |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for name, when, f in rows:
            lines.append(
                f"| {code(name)} | {when} | {words.rate(f.backups_per_day)} | {words.rate(f.full_per_day)} "
                f"| {words.rate(f.incremental_per_day)} | {words.points(f.restore_points)} | {text(f.schedule)} |"
            )
        lines += ["", "</details>", ""]
    return lines


def _totals_table(before: Totals, after: Totals) -> list[str]:
    lines = ["| | now | after the plan | change |", "|---|---:|---:|---:|"]
    lines += [f"| {what} | {b} | {a} | {d} |" for what, b, a, d in words.totals_rows(before, after)]
    return lines


def _warning_lines(diagnostics: Sequence[Diagnostic], limit: int | None = None) -> list[str]:
    shown = diagnostics if limit is None else diagnostics[:limit]
    lines = []
    for d in shown:
        where = f"{code(str(d.location))}: " if d.location is not None else ""
        path = d.location.path if d.location is not None else ""
        tail = f" ({code(path)})" if path not in ("", "$") else ""
        lines.append(f"- {where}{d.severity}: {text(d.message)}{tail}")
    if limit is not None and len(diagnostics) > limit:
        lines.append(f"- ... and {len(diagnostics) - limit} more (see the full plan)")
    return lines


def _general_warnings(general: Sequence[Diagnostic], owned: int, limit: int | None = None) -> list[str]:
    """The warnings no application owns, listed; those in the applications below, counted."""
    if not general and not owned:
        return []
    heading = f"**{_plural(len(general) + owned, 'warning', 'warnings')}**"
    if not general:
        return [f"{heading}, in the applications below.", ""]
    where = f" ({owned:,} in the applications below)" if owned else ""
    return [f"{heading}{where}:", "", *_warning_lines(general, limit), ""]


# --- grouping by application ---------------------------------------------------------------------------------


def _applications(plan: Plan) -> list[str]:
    names = {c.application for c in plan.changes if c.application is not None}
    if plan.impact is not None:
        names |= {a.application for a in plan.impact.applications}
    return sorted(names)


def _owner(name: str, applications: frozenset[str]) -> str | None:
    """The application that ``name`` (an entity name) lives in: the longest application name it extends."""
    cut = len(name)
    while cut > 0:
        if name[:cut] in applications:
            return name[:cut]
        cut = name.rfind("/", 0, cut)
    return None


def _effective_owner(e: EffectiveChange, applications: frozenset[str]) -> str | None:
    inner = e.address[e.address.index("[") + 1 : -1] if "[" in e.address else e.address
    return _owner(inner, applications)


def _first_segment(e: EffectiveChange) -> str:
    """The application of an effective change no action or impact names: its first name segment."""
    inner = e.address[e.address.index("[") + 1 : -1] if "[" in e.address else e.address
    return "fabric:/" + inner.removeprefix("fabric:/").split("/", 1)[0]


_PATH_APP = re.compile(r"^\$\.applications(?:\.([^.\[]+)|\['((?:[^'\\]|\\.)*)'\])")


def _diagnostic_owner(d: Diagnostic, applications: frozenset[str]) -> str | None:
    """The application a warning is about: the one its configuration path is under, else the one it names."""
    match = _PATH_APP.match(d.location.path) if d.location is not None else None
    if match:
        key = match.group(1) or match.group(2)
        name = key if key.startswith("fabric:/") else "fabric:/" + key
        if name in applications:
            return name
    mentioned = [app for app in applications if re.search(re.escape(app) + r"(?![\w.-])", d.message)]
    return max(mentioned, key=len) if mentioned else None


# --- the full form -------------------------------------------------------------------------------------------


def _actions_table(changes: Iterable[Change]) -> list[str]:
    lines = ["| | address | change | reason |", "|---|---|---|---|"]
    for c in changes:
        mark = "!!" if c.destructive else symbol(c)
        detail = "<br>".join(code(line) for line in detail_lines(c))
        change = text(verb(c)) + (f"<br>{detail}" if detail else "")
        lines.append(f"| {code(mark)} | {code(c.address)} | {change} | {text(c.reason)} |")
    return lines


def _summary(title: str, changes: Sequence[Change], app: ApplicationImpact | None) -> str:
    parts = [_plural(len(changes), "action", "actions")]
    if app is not None:
        if app.services_gaining:
            parts.append(f"{_plural(app.services_gaining, 'service gains', 'services gain')} backup")
        if app.services_losing:
            parts.append(f"{_plural(app.services_losing, 'service loses', 'services lose')} backup")
        before, after = app.before.backups_per_day, app.after.backups_per_day
        if before != after:
            parts.append(f"backups per day {words.rate(before)} → {words.rate(after)}")
    return f"<details><summary>{title} ({_html('; '.join(parts))})</summary>"


def _application_block(
    name: str,
    changes: Sequence[Change],
    effective: Sequence[EffectiveChange],
    warnings: Sequence[Diagnostic],
    app: ApplicationImpact | None,
) -> list[str]:
    title = POLICIES if name == POLICIES else f"<code>{_html(name)}</code>"
    lines = [_summary(title, changes, app), ""]
    if changes:
        lines += [*_actions_table(changes), ""]
    if effective:
        lines += [
            f"<details><summary>Effective backup changes ({len(effective):,})</summary>",
            "",
            "| entity | now | after the plan |",
            "|---|---|---|",
        ]
        lines += [
            f"| {code(e.address)} | {text(effective_text(e.before))} | {text(effective_text(e.after))} |"
            for e in effective
        ]
        lines += ["", "</details>", ""]
    if warnings:
        lines += [f"**{_plural(len(warnings), 'warning', 'warnings')}:**", "", *_warning_lines(warnings), ""]
    if app is not None:
        lines += [f"**Impact:** {text(words.application_line(app).split(': ', 1)[1])}.", ""]
        notes = words.notes(app.before, app.after, app.unknown_services)
        if notes:
            lines += [*(f"- _{text(note)}_" for note in notes), ""]
    lines += ["</details>", ""]
    return lines


def render_plan(plan: Plan, *, color: bool = False, limit: int | None = DEFAULT_LIMIT) -> str:
    """Markdown for a pull-request comment, ending in one newline; past ``limit`` characters (None: no limit)
    the per-application blocks become one table of counts. ``color`` is the registry's; Markdown has none."""
    return _render(plan, limit).rstrip("\n") + "\n"


def _render(plan: Plan, limit: int | None) -> str:
    applications = _applications(plan)
    known = frozenset(applications)
    owned_warnings: dict[str, list[Diagnostic]] = {}
    general: list[Diagnostic] = []
    for d in plan.diagnostics:
        owner = _diagnostic_owner(d, known)
        if owner is None:
            general.append(d)
        else:
            owned_warnings.setdefault(owner, []).append(d)
    owned = sum(len(w) for w in owned_warnings.values())
    head = _header(plan) + _impact_top(plan.impact)
    if plan.empty:
        return "\n".join(head + _general_warnings(general, owned))

    by_app: dict[str, list[Change]] = {}
    for c in plan.changes:
        by_app.setdefault(c.application or POLICIES, []).append(c)
    effective: dict[str, list[EffectiveChange]] = {}
    for e in plan.effective_changes:
        owner = _effective_owner(e, known) or _first_segment(e)
        effective.setdefault(owner, []).append(e)
    applications = sorted({*applications, *effective})
    impacts = {a.application: a for a in plan.impact.applications} if plan.impact else {}
    blocks: list[str] = []
    for name in ([POLICIES] if POLICIES in by_app else []) + applications:
        blocks += _application_block(
            name,
            by_app.get(name, []),
            effective.get(name, []),
            owned_warnings.get(name, []) if name != POLICIES else [],
            impacts.get(name),
        )
    full = "\n".join(head + _general_warnings(general, owned) + blocks)
    if limit is None or len(full) <= limit:
        return full
    return _compact(plan, head, applications, by_app, impacts, limit)


# --- the compact form ----------------------------------------------------------------------------------------


def _compact(
    plan: Plan,
    head: list[str],
    applications: Sequence[str],
    by_app: dict[str, list[Change]],
    impacts: dict[str, ApplicationImpact],
    limit: int,
) -> str:
    top = head + _general_warnings(plan.diagnostics, 0, WARNINGS_LISTED)
    top += [
        f"_The full plan ({_plural(len(plan.changes), 'action', 'actions')} in "
        f"{_plural(len(applications), 'application', 'applications')}) is longer than a comment allows: each "
        "application's changes are counted below, and every name is in the full plan (`sfdeclare show "
        "PLANFILE`, or the pipeline's plan artifact)._",
        "",
        "| application | actions | services gaining backup | services losing backup | backups per day |",
        "|---|---:|---:|---:|---:|",
    ]
    rows: list[tuple[str, str]] = []  # (name, the rest of the row)
    if POLICIES in by_app:
        rows.append(("", f"| {POLICIES} | {len(by_app[POLICIES]):,} | | | |"))
    for name in applications:
        app = impacts.get(name)
        per_day = (
            f"{words.rate(app.before.backups_per_day)} → {words.rate(app.after.backups_per_day)}"
            if app
            else ""
        )
        gaining = f"{app.services_gaining:,}" if app else ""
        losing = f"{app.services_losing:,}" if app else ""
        rows.append((name, f" | {len(by_app.get(name, [])):,} | {gaining} | {losing} | {per_day} |"))
    budget = limit - len("\n".join(top)) - 1
    lines = [_row(name, rest, None) for name, rest in rows]
    if sum(len(line) + 1 for line in lines) <= budget:
        return "\n".join(top + lines) + "\n"
    # Shorten names to what the budget leaves each row (never below 12 characters).
    overhead = max(len(rest) for _, rest in rows) + len("| `…`") + 1
    width = max(12, budget // len(rows) - overhead)
    lines = [_row(name, rest, width) for name, rest in rows]
    if sum(len(line) + 1 for line in lines) <= budget:
        return "\n".join(top + lines) + "\n"
    # Past any width: as many rows as fit, and the rest counted.
    ending = "\n_... and {:,} more applications: see the full plan._"
    kept: list[str] = []
    used = len(ending) + 10
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join([*top, *kept, ending.format(len(rows) - len(kept))]) + "\n"


def _row(name: str, rest: str, width: int | None) -> str:
    if not name:
        return rest
    shown = (
        name if width is None or len(name) <= width else name[: width // 2 - 1] + "…" + name[-(width // 2) :]
    )
    return f"| {code(shown)}{rest}"
