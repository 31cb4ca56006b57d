"""Reading guardrails: the ``guardrails:`` section of a configuration file, and a guardrails file of its own.

A guardrails file (``--guardrails FILE`` or ``SFDECLARE_GUARDRAILS``) is ``version: 1`` and a ``guardrails:``
mapping, checked against ``schemas/guardrails.schema.json``; a configuration file may carry the same mapping
(checked by the configuration schema, which holds the same definition). Every value read keeps its file, line
and column. Combining is ``Guardrails.tightened`` (model/guardrails.py): nothing read here can loosen a rule.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from sfdeclare.config import schema as config_schema
from sfdeclare.errors import ConfigError, Diagnostic
from sfdeclare.model import guardrails as g
from sfdeclare.model.guardrails import Guardrails, Setting
from sfdeclare.safeyaml.reader import Path, Source, load_file
from sfdeclare.servicefabric.durations import parse_duration

ENVIRONMENT_VARIABLE = "SFDECLARE_GUARDRAILS"


def from_section(source: Source, path: Path = ("guardrails",)) -> Guardrails:
    """The rules a schema-checked ``guardrails:`` mapping at ``path`` of ``source`` sets (values the schema
    refused are left out: the schema already reported them)."""
    node: Any = source.data
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return Guardrails()

    def at(rule: str) -> Any:
        return source.location((*path, rule), key=True)

    found: dict[str, Any] = {}
    require = node.get(g.REQUIRE_BACKUP)
    if require is True:
        found[g.REQUIRE_BACKUP] = (Setting(None, at(g.REQUIRE_BACKUP)),)
    elif isinstance(require, Mapping) and isinstance(require.get("applications"), list):
        patterns = tuple(p for p in require["applications"] if isinstance(p, str) and p)
        if patterns:
            found[g.REQUIRE_BACKUP] = (Setting(patterns, at(g.REQUIRE_BACKUP)),)
    for rule in (g.MIN_RETENTION, g.MAX_INTERVAL):
        value = node.get(rule)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # the schema reported the form
                found[rule] = (Setting(parse_duration(value), at(rule), value),)
    kinds = node.get(g.ALLOWED_STORAGE_KINDS)
    if isinstance(kinds, list) and kinds and all(isinstance(k, str) for k in kinds):
        found[g.ALLOWED_STORAGE_KINDS] = (Setting(frozenset(kinds), at(g.ALLOWED_STORAGE_KINDS)),)
    for rule in (g.NO_CREDENTIALS, g.NO_AUTO_RESTORE):
        if isinstance(node.get(rule), bool):
            found[rule] = (Setting(node[rule], at(rule)),)
    most = node.get(g.MAX_BACKUPS_PER_DAY)
    if isinstance(most, int) and not isinstance(most, bool) and most >= 1:
        found[g.MAX_BACKUPS_PER_DAY] = (Setting(most, at(g.MAX_BACKUPS_PER_DAY)),)
    return Guardrails(**found)


def load_file_rules(path: str) -> Guardrails:
    """One guardrails file. Raises ConfigError with every problem it has (file:line:col each)."""
    if os.path.isdir(path):
        raise ConfigError([Diagnostic("error", f"{path}: a guardrails file must be a file, not a folder")])
    if not os.path.exists(path):
        raise ConfigError([Diagnostic("error", f"{path}: no such guardrails file")])
    source, problems = load_file(path)
    if source is None:
        raise ConfigError(problems)
    problems.extend(config_schema.check_file(source, "guardrails"))
    if any(d.severity == "error" for d in problems):
        raise ConfigError(problems)
    return from_section(source)


def files_named(option: Sequence[str], env: Mapping[str, str]) -> tuple[str, ...]:
    """The guardrails files a run reads: every ``--guardrails FILE`` and, in addition, ``SFDECLARE_GUARDRAILS``
    (both apply: an option cannot switch off the file a pipeline names in its environment)."""
    named = list(option)
    from_env = env.get(ENVIRONMENT_VARIABLE, "").strip()
    if from_env:
        named.append(from_env)
    return tuple(dict.fromkeys(named))


def load_all(paths: Sequence[str]) -> Guardrails:
    """Every named guardrails file, tightened together. Raises ConfigError naming every problem of all."""
    combined = Guardrails()
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            combined = combined.tightened(load_file_rules(path))
        except ConfigError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ConfigError(problems)
    return combined


def named(option: Sequence[str], env: Mapping[str, str]) -> Guardrails:
    """The rules of every ``--guardrails FILE`` and of ``SFDECLARE_GUARDRAILS``, tightened together."""
    return load_all(files_named(option, env))
