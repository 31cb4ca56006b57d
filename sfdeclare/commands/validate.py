"""``sfdeclare validate PATH...``: every problem the configuration has that needs no cluster.

text: each diagnostic on stderr as ``file:line:col: severity: message ($.json.path)``, then a summary line
(stdout when valid, stderr when not). json: one object on stdout. github: workflow annotations on stdout
(``::error file=...,line=...,col=...::message``, at most 10 of a type, the rest listed in plain text with a
notice counting them) and the summary line. sarif: a SARIF 2.1.0 log on stdout (render/sarif.py). Exit 0 when there is no error
(warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import TextIO

from sfdeclare.commands.arguments import add_guardrails
from sfdeclare.config.guardrails import named
from sfdeclare.config.loader import expand_paths, load_declaration
from sfdeclare.config.runtime_rules import DEFERRED
from sfdeclare.errors import EXIT_ERROR, EXIT_OK, ConfigError, Diagnostic, SfdeclareError
from sfdeclare.render import sarif
from sfdeclare.render.annotations import Pending, annotation, capped, diagnostic_annotation
from sfdeclare.render.common import plural

FORMATS = ("text", "json", "github", "sarif")
NAME_IN_ANNOTATIONS = "sfdeclare validate"
FULL_REPORT = (
    "they are listed in this step's log; `sfdeclare validate --format sarif` gives code scanning all of them"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--format", choices=FORMATS, default="text")
    add_guardrails(parser)
    parser.set_defaults(run=run)


def _summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {plural(files, 'file')}"


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    paths: Sequence[str] = args.paths
    fmt: str = args.format
    if fmt not in FORMATS:
        raise SfdeclareError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})")
    files, _ = expand_paths(paths)
    notes: list[str] = []
    try:
        declaration = load_declaration(paths, named(args.guardrails, os.environ))
    except ConfigError as exc:
        diagnostics: Sequence[Diagnostic] = exc.diagnostics
        valid = False
        counts = f"{len(files)} files"
    else:
        diagnostics = declaration.diagnostics
        valid = True
        if declaration.cluster.runtime == "auto":
            notes.append(DEFERRED)
        counts = (
            f"{plural(len(declaration.policies), 'policy', 'policies')}, "
            f"{plural(len(declaration.applications), 'application')}"
        )
    summary = _summary(diagnostics, len(files))
    if fmt == "json":
        document = {
            "valid": valid,
            "files": list(files),
            "errors": sum(1 for d in diagnostics if d.severity == "error"),
            "warnings": sum(1 for d in diagnostics if d.severity == "warning"),
            "diagnostics": [d.to_json() for d in diagnostics],
            "notes": notes,
        }
        out.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "github":
        items = [
            Pending(d.severity, diagnostic_annotation(d, title=NAME_IN_ANNOTATIONS, with_path=True), str(d))
            for d in diagnostics
        ]
        items += [Pending("notice", annotation("notice", note), f"note: {note}") for note in notes]
        for line in capped(items, full_report=FULL_REPORT):
            out.write(line + "\n")
        out.write(("valid: " if valid else "invalid: ") + summary + "\n")
    elif fmt == "sarif":
        out.write(sarif.render_diagnostics("validate", diagnostics))
    else:
        for diagnostic in diagnostics:
            err.write(str(diagnostic) + "\n")
        for note in notes:
            err.write(f"note: {note}\n")
        if valid:
            out.write(f"valid: {summary} ({counts})\n")
        else:
            err.write(f"invalid: {summary}\n")
    return EXIT_OK if valid else EXIT_ERROR
