"""One registry per kind of document, each renderer with one signature: ``renderer(document, *, color) -> str``.

``plan`` (text, json, markdown, github, sarif), ``drift`` (text, json, markdown, sarif), ``status`` (text, json,
markdown, sarif) and the apply ``report`` (json, junit, markdown). Commands build their ``--format`` choices from these and render through them, so an unknown format
is the same one-line error everywhere. ``color`` only matters to the text views; the others ignore it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sfdeclare.engine.drift import DriftReport
from sfdeclare.engine.plan import Plan
from sfdeclare.engine.status import StatusReport
from sfdeclare.errors import Diagnostic, SfdeclareError
from sfdeclare.render import drift, github, json, markdown, report, sarif, status, text
from sfdeclare.render.report import ApplyReport

_Doc = TypeVar("_Doc", contravariant=True)
D = TypeVar("D")


class Renderer(Protocol[_Doc]):
    def __call__(self, document: _Doc, /, *, color: bool = False) -> str: ...


@dataclass(frozen=True)
class Formats(Generic[D]):
    renderers: Mapping[str, Renderer[D]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.renderers)

    def check(self, fmt: str) -> None:
        """Refuse an unknown format before any work is done (one line, naming the known ones)."""
        if fmt not in self.renderers:
            raise SfdeclareError(f"unknown format {fmt!r} (expected {', '.join(self.names)})")

    def render(self, fmt: str, document: D, *, color: bool = False) -> str:
        self.check(fmt)
        return self.renderers[fmt](document, color=color)


PLAN: Formats[Plan] = Formats(
    {
        "text": text.render_plan,
        "json": json.render_plan,
        "markdown": markdown.render_plan,
        "github": github.render_plan,
        "sarif": sarif.render_plan,
    }
)
DRIFT: Formats[DriftReport] = Formats(
    {
        "text": drift.render_text,
        "json": drift.render_json,
        "markdown": drift.render_markdown,
        "sarif": sarif.render_drift,
    }
)
REPORT: Formats[ApplyReport] = Formats(
    {"json": report.render_json, "junit": report.render_junit, "markdown": report.render_markdown}
)
STATUS: Formats[StatusReport] = Formats(
    {
        "text": status.render_text,
        "json": status.render_json,
        "markdown": status.render_markdown,
        "sarif": sarif.render_status,
    }
)


def render_stopped(fmt: str, category: str, diagnostics: Sequence[Diagnostic]) -> str:
    """What the machine formats say when a command stops on errors before it has a document: SARIF gets every
    diagnostic, github the (capped) annotations; the other formats nothing (stderr has every line)."""
    if fmt == "sarif":
        return sarif.render_diagnostics(category, diagnostics)
    if fmt == "github":
        return github.render_diagnostics(diagnostics)
    return ""
