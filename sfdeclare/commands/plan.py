"""`sfdeclare plan`: read the live state, print the changes in apply order, optionally write the plan file."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from sfdeclare.commands.session import (
    check_writable,
    plan_paths,
    use_color,
    write_atomically,
    write_diagnostics,
)
from sfdeclare.engine.plan import Plan
from sfdeclare.render import github, markdown, text
from sfdeclare.render import json as json_render

FORMATS = ("text", "json", "markdown", "github")


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json_render.render_plan(plan)
    if fmt == "markdown":
        return markdown.render_plan(plan)
    if fmt == "github":
        return github.render_plan(plan)
    return text.render_plan(plan, color=color)


def run(
    paths: Sequence[str],
    *,
    endpoint: str | None,
    fmt: str,
    out_file: str | None,
    detailed_exitcode: bool,
    targets: Sequence[str],
    parallelism: int,
    refresh_secrets: bool,
    out: TextIO,
    err: TextIO,
    env: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if env is None else env
    if out_file:
        check_writable(out_file)
    planned = plan_paths(
        paths,
        endpoint=endpoint,
        env=env,
        parallelism=parallelism,
        err=err,
        refresh_secrets=refresh_secrets,
        targets=targets,
    )
    plan = planned.plan
    write_diagnostics(plan.diagnostics, err)
    out.write(render(plan, fmt, color=use_color(out, env)))
    if out_file:
        write_atomically(out_file, json_render.render_plan(plan))
        err.write(f"Plan written to {out_file}; apply it with: sfdeclare apply --plan {out_file}\n")
    return 2 if detailed_exitcode and not plan.empty else 0
