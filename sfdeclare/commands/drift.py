"""`sfdeclare drift`: read the cluster (reads only, never a write) and report where it differs from the
configuration. Exit 0 without drift, 2 with drift, 1 on error (the report is still printed when the
configuration has errors only the cluster shows)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TextIO

from sfdeclare.commands.session import (
    endpoint_label,
    open_client,
    read_live,
    resolve_values,
    use_color,
    write_diagnostics,
)
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine.drift import DriftOptions, drift
from sfdeclare.errors import SfdeclareError
from sfdeclare.model.scope import read_scope
from sfdeclare.render.drift import render

FORMATS = ("text", "json", "markdown")
EXIT_DRIFT = 2


def run(
    paths: Sequence[str],
    *,
    endpoint: str | None,
    fmt: str,
    all_applications: bool,
    parallelism: int,
    out: TextIO,
    err: TextIO,
    env: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if env is None else env
    if fmt not in FORMATS:
        raise SfdeclareError(f"unknown format {fmt!r} (expected {', '.join(FORMATS)})")
    if parallelism < 1:
        raise SfdeclareError("--parallelism must be at least 1")
    declaration = load_declaration(paths)
    # pruning is the plan's business: drift needs no per-policy entity listings
    scope = replace(read_scope(declaration, all_applications=all_applications), prune_candidates=())
    with open_client(declaration, endpoint, env, parallelism, err) as client:
        live = read_live(client, declaration, scope, parallelism)
        label = endpoint_label(client)
    options = DriftOptions(all_applications=all_applications, endpoint=label)
    report = drift(resolve_values(declaration, env), live, options)
    write_diagnostics(report.diagnostics, err)
    out.write(render(report, fmt, color=use_color(out, env)))
    if report.has_errors:
        return 1
    return EXIT_DRIFT if report.has_drift else 0
