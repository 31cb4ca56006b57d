"""GitHub Actions workflow commands (``::error file=...,line=...::message``): the one place their escaping
rules live (data: ``%``, CR, LF; properties also ``:`` and ``,``), used by ``plan --format github`` and
``validate --format github``."""

from __future__ import annotations

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
    if where is None:
        return annotation(diagnostic.severity, diagnostic.message)
    message = diagnostic.message
    if with_path and where.path not in ("", "$"):
        message = f"{message} ({where.path})"
    return annotation(
        diagnostic.severity, message, file=where.file, line=where.line, col=where.column, title=title
    )
