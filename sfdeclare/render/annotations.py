"""GitHub Actions workflow commands (``::error file=...,line=...::message``): the one place their escaping
rules live (data: ``%``, CR, LF; properties also ``:`` and ``,``), used by ``plan --format github`` and
``validate --format github``; and the cap GitHub puts on how many it shows (``capped``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sfdeclare.errors import Diagnostic


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    kind: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow command; the position only with a file, ``title`` after it."""
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line:
            props.append(f"line={line}")
        if col:
            props.append(f"col={col}")
        if title:
            props.append(f"title={escape_property(title)}")
    head = f"::{kind}" + (" " + ",".join(props) if props else "")
    return f"{head}::{escape_data(message)}"


def diagnostic_annotation(
    diagnostic: Diagnostic, *, title: str | None = None, with_path: bool = False
) -> str:
    """A diagnostic at its file:line:col; ``with_path`` adds its JSON path to the message."""
    where = diagnostic.location
    kind = "notice" if diagnostic.severity == "info" else diagnostic.severity  # GitHub's word for info
    if where is None:
        return annotation(kind, diagnostic.message)
    message = diagnostic.message
    if with_path and where.path not in ("", "$"):
        message = f"{message} ({where.path})"
    return annotation(kind, message, file=where.file, line=where.line, col=where.column, title=title)


# GitHub shows at most 10 annotations of each type (error, warning, notice) per step and 50 per job
# (actions/toolkit docs/problem-matchers.md; GitHub's "Workflow commands" limits): the rest vanish silently.
PER_TYPE_PER_STEP = 10


@dataclass(frozen=True)
class Pending:
    """One annotation to emit: its type, its workflow command, and the plain line the log shows instead when
    the annotation cannot be shown."""

    kind: str
    command: str
    text: str


def capped(items: Sequence[Pending], *, full_report: str) -> list[str]:
    """At most 10 annotations of each type; what is left out is listed in plain text in the step's log, with
    one notice saying how many were left out of each type and ``full_report`` (where to read them all)."""
    shown: Counter[str] = Counter()
    left: Counter[str] = Counter()
    wanted = Counter(item.kind for item in items)
    # one notice is kept free for the count of what is left out
    over = any(n > PER_TYPE_PER_STEP for n in wanted.values())
    notice_room = PER_TYPE_PER_STEP - 1 if over else PER_TYPE_PER_STEP
    lines: list[str] = []
    plain: list[str] = []
    for item in items:
        room = notice_room if item.kind == "notice" else PER_TYPE_PER_STEP
        if shown[item.kind] < room:
            shown[item.kind] += 1
            lines.append(item.command)
        else:
            left[item.kind] += 1
            plain.append(item.text)
    if left:
        counted = ", ".join(
            f"{left[k]} {k}{'s' if left[k] != 1 else ''}" for k in ("error", "warning", "notice") if left[k]
        )
        lines.append(
            annotation(
                "notice",
                f"{counted} not shown as annotations (GitHub shows at most {PER_TYPE_PER_STEP} of each type per "
                f"step): {full_report}",
            )
        )
        lines.append(f"Not shown as annotations ({sum(left.values())}):")
        lines.extend(plain)
    return lines
