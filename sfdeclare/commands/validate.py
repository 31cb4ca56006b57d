"""``sfdeclare validate PATH...``: every problem the configuration has that needs no cluster.

text: each diagnostic on stderr as ``file:line:col: severity: message ($.json.path)``, then a summary line
(stdout when valid, stderr when not). json: one object on stdout. github: workflow annotations on stdout
(``::error file=...,line=...,col=...::message``) and the summary line. Exit 0 when there is no error
(warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TextIO

from sfdeclare.config.loader import expand_paths, load_declaration
from sfdeclare.config.runtime_rules import DEFERRED
from sfdeclare.errors import EXIT_ERROR, EXIT_OK, ConfigError, Diagnostic, SfdeclareError
from sfdeclare.render.annotations import annotation, diagnostic_annotation
from sfdeclare.render.common import plural

FORMATS = ("text", "json", "github")
NAME_IN_ANNOTATIONS = "sfdeclare validate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--format", choices=FORMATS, default="text")
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
        declaration = load_declaration(paths)
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
        for diagnostic in diagnostics:
            out.write(diagnostic_annotation(diagnostic, title=NAME_IN_ANNOTATIONS, with_path=True) + "\n")
        for note in notes:
            out.write(annotation("notice", note) + "\n")
        out.write(("valid: " if valid else "invalid: ") + summary + "\n")
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
