"""``sfdeclare validate PATH...``: every problem the configuration has that needs no cluster.

text: each diagnostic on stderr as ``file:line:col: severity: message ($.json.path)``, then a summary line
(stdout when valid, stderr when not). json: one object on stdout. github: workflow annotations on stdout
(``::error file=...,line=...,col=...::message``) and the summary line. Exit 0 when there is no error
(warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from sfdeclare.config.loader import expand_paths, load_declaration
from sfdeclare.errors import ConfigError, Diagnostic

FORMATS = ("text", "json", "github")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(diagnostic: Diagnostic) -> str:
    """One GitHub Actions workflow command for a diagnostic."""
    where = diagnostic.location
    message = diagnostic.message
    properties = ""
    if where is not None:
        properties = (
            f" file={_escape_property(where.file)},line={where.line},col={where.column},"
            f"title={_escape_property('sfdeclare validate')}"
        )
        if where.path not in ("", "$"):
            message = f"{message} ({where.path})"
    return f"::{diagnostic.severity}{properties}::{_escape_data(message)}"


def run(paths: Sequence[str], *, fmt: str, out: TextIO, err: TextIO) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    files, _ = expand_paths(paths)
    try:
        declaration = load_declaration(paths)
    except ConfigError as exc:
        diagnostics: Sequence[Diagnostic] = exc.diagnostics
        valid = False
        counts = f"{len(files)} files"
    else:
        diagnostics = declaration.diagnostics
        valid = True
        counts = (
            f"{_plural(len(declaration.policies), 'policy').replace('policys', 'policies')}, "
            f"{_plural(len(declaration.applications), 'application')}"
        )
    summary = _summary(diagnostics, len(files))
    if fmt == "json":
        document = {
            "valid": valid,
            "files": list(files),
            "errors": sum(1 for d in diagnostics if d.severity == "error"),
            "warnings": sum(1 for d in diagnostics if d.severity == "warning"),
            "diagnostics": [d.to_json() for d in diagnostics],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    elif fmt == "github":
        for diagnostic in diagnostics:
            out.write(github_annotation(diagnostic) + "\n")
        out.write(("valid: " if valid else "invalid: ") + summary + "\n")
    else:
        for diagnostic in diagnostics:
            err.write(str(diagnostic) + "\n")
        if valid:
            out.write(f"valid: {summary} ({counts})\n")
        else:
            err.write(f"invalid: {summary}\n")
    return 0 if valid else 1
