"""The configuration loader: YAML files -> schema check -> rules that need no cluster -> Declaration.

``load_declaration`` reports every problem it finds, not the first: it raises ConfigError carrying all errors
and warnings, or returns a Declaration whose ``diagnostics`` hold the warnings. Every declared thing keeps the
file, line and column it was written at, so later stages can say which line decides what.

Over 400 lines: the builder walks every level of every file once and applies the cross-file and cross-level
rules as it goes (duplicates, "cannot disable below the enabled level", keyword policies); single-body rules
live in ``checks``, the cluster section in ``cluster``, the digest in ``digest``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sfdeclare.config import checks as config_policy
from sfdeclare.config import guardrails as config_guardrails
from sfdeclare.config import runtime_rules
from sfdeclare.config import schema as config_schema
from sfdeclare.config.cluster import cluster_settings
from sfdeclare.config.digest import digest
from sfdeclare.errors import ConfigError, Diagnostic, Location
from sfdeclare.model.addresses import application_name, service_name
from sfdeclare.model.declaration import (
    ApplicationDecl,
    ClusterSettings,
    Declaration,
    LevelSettings,
    PartitionDecl,
    PartitionSelector,
    PolicyDecl,
    ServiceDecl,
    is_no_policy_keyword,
    keyword_message,
)
from sfdeclare.model.guardrails import NO_GUARDRAILS, Guardrails
from sfdeclare.safeyaml.reader import Path, Source, load_file, segment
from sfdeclare.servicefabric import policy_rules as rules
from sfdeclare.servicefabric import runtimes

CONFIG_SUFFIXES = (".yaml", ".yml")
SELECTORS = ("id", "name", "low_key")


def expand_paths(paths: Sequence[str]) -> tuple[list[str], list[Diagnostic]]:
    """Files to read: each file as given, each directory's ``*.yaml`` / ``*.yml`` (sorted, not hidden)."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    if not paths:
        problems.append(Diagnostic("error", "no configuration path given"))

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(path)

    for path in paths:
        if os.path.isdir(path):
            names = sorted(
                n
                for n in os.listdir(path)
                if n.endswith(CONFIG_SUFFIXES)
                and not n.startswith(".")
                and os.path.isfile(os.path.join(path, n))
            )
            if not names:
                problems.append(Diagnostic("error", f"{path}: the directory holds no *.yaml or *.yml file"))
            for name in names:
                add(os.path.join(path, name))
        elif os.path.exists(path):
            add(path)
        else:
            problems.append(Diagnostic("error", f"{path}: no such file or directory"))
    return files, problems


def _base_dir(paths: Sequence[str]) -> str:
    if not paths:
        return "."
    first = paths[0]
    return first if os.path.isdir(first) else (os.path.dirname(first) or ".")


def _where(location: Location) -> str:
    return f"{location.file}:{location.line}"


@dataclass
class _Level:
    """One application, service or partition as written, with what the rules need beyond LevelSettings."""

    settings: LevelSettings
    disable_written: str | None = None  # "null" / "false" / "none" as written: no mapping at this level


class _Builder:
    """Gathers the declaration from every file, checking the rules that span levels and files."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.cluster: tuple[ClusterSettings, Location] | None = None
        self.toplevel: dict[str, tuple[Any, Location]] = {}
        self.policies: dict[str, PolicyDecl] = {}
        self.applications: dict[str, tuple[ApplicationDecl, Location]] = {}
        self.references: dict[str, list[Location]] = {}
        self.keywords: list[tuple[str, Location]] = []  # no-policy keywords written at levels
        self.guardrails = NO_GUARDRAILS

    def error(self, message: str, location: Location | None) -> None:
        self.diagnostics.append(Diagnostic("error", message, location))

    def warn(self, message: str, location: Location | None) -> None:
        self.diagnostics.append(Diagnostic("warning", message, location))

    # --- top level ---------------------------------------------------------------------------------------

    def add(self, source: Source) -> None:
        data = source.data
        for key in ("scope", "prune_policies", "clean_backup"):
            if key in data:
                self._set_once(key, data[key], source)
        if isinstance(data.get("cluster"), Mapping):
            self._cluster(data["cluster"], source)
        if isinstance(data.get("policies"), Mapping):
            for name, body in data["policies"].items():
                self._policy(str(name), body, source)
        if isinstance(data.get("applications"), Mapping):
            for key, node in data["applications"].items():
                self._application(str(key), node, source)
        if "guardrails" in data:
            self.guardrails = self.guardrails.tightened(config_guardrails.from_section(source))

    def _set_once(self, key: str, value: Any, source: Source) -> None:
        location = source.location((key,), key=True)
        first = self.toplevel.get(key)
        if first is not None:
            self.error(f"{key} is set in two places: here and at {_where(first[1])}", location)
            return
        self.toplevel[key] = (value, location)

    def _cluster(self, node: Mapping[str, Any], source: Source) -> None:
        location = source.location(("cluster",), key=True)
        if self.cluster is not None:
            self.error(
                f"cluster is declared in two files: here and at {_where(self.cluster[1])}; declare it once",
                location,
            )
            return
        settings = cluster_settings(node, source, self.error)
        self.cluster = (settings, location)

    # --- policies ----------------------------------------------------------------------------------------

    def _policy(self, name: str, body: Any, source: Source) -> None:
        path: Path = ("policies", name)
        location = source.location(path, key=True)
        first = self.policies.get(name)
        if first is not None and first.location is not None:
            self.error(f"policy {name} is declared twice: here and at {_where(first.location)}", location)
            return
        if not name.strip():
            self.error("a policy name must not be empty or blank", location)
            return
        self.diagnostics.extend(config_policy.check_name(name, source, path))
        if not isinstance(body, Mapping):
            return
        self.diagnostics.extend(config_policy.check_body(body, source, path))
        self.policies[name] = PolicyDecl(
            name=name, body=body, location=location, field_locations=_fields(body, source, path)
        )

    # --- applications, services, partitions --------------------------------------------------------------

    def _level(self, node: Any, source: Source, path: Path, location: Location) -> _Level:
        if not isinstance(node, Mapping):
            return _Level(LevelSettings(location=location))
        policy: str | None = None
        disable: str | None = None
        policy_location = (
            source.location((*path, "policy"), key=True, text=location.path + ".policy")
            if "policy" in node
            else None
        )
        if "policy" in node:
            value = node["policy"]
            if isinstance(value, Mapping) and isinstance(value.get("name"), str):
                value = value["name"]  # the explicit form: the name taken literally, keywords included
            elif value is None or value is False:
                disable = "null" if value is None else "false"
            elif isinstance(value, str) and is_no_policy_keyword(value):
                disable = value
            if disable is None and isinstance(value, str) and value:
                policy = value
                assert policy_location is not None
                self.references.setdefault(value, []).append(policy_location)
            elif disable is not None:
                assert policy_location is not None
                self.keywords.append((disable, policy_location))

        def flag(key: str) -> tuple[bool | None, Location | None]:
            value = node.get(key)
            if key not in node or not isinstance(value, bool):
                return None, None
            return value, source.location((*path, key), key=True, text=f"{location.path}.{key}")

        suspended, suspended_location = flag("suspended")
        clean_backup, clean_location = flag("clean_backup")
        if clean_backup and policy is not None:
            self.error(
                f"clean_backup only applies when backup is disabled at this level, but it has policy {policy}: "
                "remove one of them",
                clean_location,
            )
        settings = LevelSettings(
            policy=policy,
            suspended=suspended,
            clean_backup=clean_backup,
            location=location,
            policy_location=policy_location,
            suspended_location=suspended_location,
            clean_backup_location=clean_location,
            no_policy=disable,
        )
        return _Level(settings, disable)

    def _no_disable_below(
        self, level: _Level, what: str, enabled_at: list[tuple[str, LevelSettings]]
    ) -> None:
        """Backup cannot be turned off below the level where it was enabled (nearest enabling level named)."""
        if not level.disable_written:
            return
        for parent, settings in enabled_at:
            if settings.policy is not None:
                where = f" ({_where(settings.policy_location)})" if settings.policy_location else ""
                self.error(
                    f"backup cannot be disabled below the level it was enabled at: {parent} has policy "
                    f"{settings.policy}{where}; to stop backups of this {what}, write `suspended: true` "
                    f"instead of `policy: {level.disable_written}`",
                    level.settings.policy_location,
                )
                return

    def _application(self, key: str, node: Any, source: Source) -> None:
        path: Path = ("applications", key)
        location = source.location(path, key=True, text="$.applications" + segment(key))
        full = application_name(key)
        if "" in full[len("fabric:/") :].split("/"):
            self.error(
                f"{key!r} is not an application name: write fabric:/ (or nothing) and then non-empty parts "
                "separated by /",
                location,
            )
            return
        first = self.applications.get(full)
        if first is not None:
            self.error(f"application {full} is declared twice: here and at {_where(first[1])}", location)
            return
        app_level = self._level(node, source, path, location)
        services: list[ServiceDecl] = []
        seen: dict[str, Location] = {}
        raw_services = node.get("services") if isinstance(node, Mapping) else None
        if isinstance(raw_services, Mapping):
            for service_key, service_node in raw_services.items():
                service = self._service(
                    full,
                    str(service_key),
                    service_node,
                    source,
                    (*path, "services", service_key),
                    location.path + ".services" + segment(service_key),
                    app_level,
                    seen,
                )
                if service is not None:
                    services.append(service)
        self.applications[full] = (ApplicationDecl(full, app_level.settings, tuple(services)), location)

    def _service(
        self,
        app: str,
        key: str,
        node: Any,
        source: Source,
        path: Path,
        path_text: str,
        app_level: _Level,
        seen: dict[str, Location],
    ) -> ServiceDecl | None:
        location = source.location(path, key=True, text=path_text)
        full = service_name(app, key)
        if key.startswith("fabric:/") and not full.startswith(app + "/"):
            self.error(
                f"service {full} is not a service of application {app} (its full name must start with {app}/)",
                location,
            )
            return None
        if "" in full[len(app) + 1 :].split("/"):
            self.error(
                f"{key!r} is not a service name: write its name relative to {app}, or in full, with non-empty "
                "parts separated by /",
                location,
            )
            return None
        if full in seen:
            self.error(f"service {full} is declared twice: here and at {_where(seen[full])}", location)
            return None
        seen[full] = location
        level = self._level(node, source, path, location)
        self._no_disable_below(level, "service", [(f"application {app}", app_level.settings)])
        partitions: list[PartitionDecl] = []
        raw_partitions = node.get("partitions") if isinstance(node, Mapping) else None
        if isinstance(raw_partitions, list):
            chosen: dict[tuple[str, Any], Location] = {}
            for index, entry in enumerate(raw_partitions):
                found = self._partition(
                    entry, source, (*path, "partitions", index), f"{path_text}.partitions[{index}]", chosen
                )
                if found is None:
                    continue
                partition, partition_level = found
                self._no_disable_below(
                    partition_level,
                    "partition",
                    [(f"service {full}", level.settings), (f"application {app}", app_level.settings)],
                )
                partitions.append(partition)
        return ServiceDecl(full, level.settings, tuple(partitions))

    def _partition(
        self, node: Any, source: Source, path: Path, path_text: str, chosen: dict[tuple[str, Any], Location]
    ) -> tuple[PartitionDecl, _Level] | None:
        if not isinstance(node, Mapping):
            return None
        location = source.location(path, text=path_text)
        written = [s for s in SELECTORS if s in node]
        if len(written) != 1:
            detail = "it has none" if not written else "it has " + " and ".join(written)
            self.error(f"a partition needs exactly one selector (id, name or low_key); {detail}", location)
            return None
        kind = written[0]
        value = node[kind]
        if kind == "low_key" and (not isinstance(value, int) or isinstance(value, bool)):
            return None
        if kind != "low_key" and (not isinstance(value, str) or not value):
            return None
        identity = (kind, value.strip("{}").lower() if kind == "id" else value)
        if identity in chosen:
            self.error(
                f"partition {kind}={value} is declared twice in this service: here and at "
                f"{_where(chosen[identity])}",
                location,
            )
            return None
        chosen[identity] = location
        level = self._level(node, source, path, location)
        selector = PartitionSelector(kind, value)  # type: ignore[arg-type]  # kind is one of SELECTORS
        return PartitionDecl(selector, level.settings), level

    # --- after every file --------------------------------------------------------------------------------

    def finish(self) -> None:
        self._keyword_policies()
        for name, locations in self.references.items():
            if name in self.policies:
                continue
            more = f" (and {len(locations) - 1} more references)" if len(locations) > 1 else ""
            self.warn(
                f"policy {name} is not declared in this configuration; it must already exist on the cluster{more}",
                locations[0],
            )
        cluster = self.cluster[0] if self.cluster else ClusterSettings()
        if cluster.runtime != "auto":
            runtime = runtimes.parse(cluster.runtime)
            self.diagnostics.extend(
                runtime_rules.for_runtime(self.policies.values(), cluster, runtime, self.guardrails)
            )
            cluster = runtime_rules.resolve_cluster(cluster, runtime)
            self.cluster = (cluster, self.cluster[1]) if self.cluster else None
        if cluster.api_version.endswith("-preview"):
            for policy in self.policies.values():
                if "RetentionPolicy" in policy.body:
                    self.error(
                        f"policy {policy.name}: {rules.retention_on_preview(cluster.api_version)}",
                        policy.location,
                    )

    def _keyword_policies(self) -> None:
        """A declared policy named like a no-policy keyword makes the bare keyword ambiguous to a reader:
        refused, with the explicit form that references the policy (the planner does the same for live ones)."""
        named = {
            name.casefold(): policy for name, policy in self.policies.items() if is_no_policy_keyword(name)
        }
        for written, location in self.keywords:
            policy = named.get(written.casefold())
            if policy is None:
                continue
            where = f" ({_where(policy.location)})" if policy.location else ""
            self.error(keyword_message(written, policy.name, f"is declared{where}"), location)


def _fields(body: Mapping[str, Any], source: Source, path: Path) -> dict[str, Location]:
    """Where each field of a policy body was written (its key), by dotted path."""
    found: dict[str, Location] = {}
    stack: list[tuple[str, Path, Mapping[str, Any]]] = [("", path, body)]
    while stack:
        prefix, at, node = stack.pop()
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            found[dotted] = source.location((*at, key), key=True)
            if isinstance(value, Mapping):
                stack.append((dotted + ".", (*at, key), value))
    return found


def _sort(diagnostics: list[Diagnostic], files: list[str]) -> list[Diagnostic]:
    order = {f: i for i, f in enumerate(files)}

    def key(d: Diagnostic) -> tuple[int, int, int]:
        if d.location is None:
            return (-1, 0, 0)
        return (order.get(d.location.file, len(order)), d.location.line, d.location.column)

    return sorted(dict.fromkeys(diagnostics), key=key)


def load_declaration(paths: Sequence[str], guardrails: Guardrails = NO_GUARDRAILS) -> Declaration:
    """Read the configuration at ``paths`` (files or directories) and judge its policies by ``guardrails``
    (the --guardrails files') tightened with every file's own. Raises ConfigError with every problem."""
    files, diagnostics = expand_paths(paths)
    builder = _Builder()
    builder.guardrails = guardrails
    for file in files:
        source, problems = load_file(file)
        diagnostics.extend(problems)
        if source is None:
            continue
        diagnostics.extend(config_schema.check(source))
        diagnostics.extend(config_policy.check_strings(source))
        builder.add(source)
    builder.finish()
    for policy in builder.policies.values():
        diagnostics.extend(rules.check_policy(policy.name, policy.body, builder.guardrails, policy.where))
    diagnostics = _sort(diagnostics + builder.diagnostics, files)
    if any(d.severity == "error" for d in diagnostics):
        raise ConfigError(diagnostics)

    def top(key: str, default: Any) -> Any:
        value = builder.toplevel.get(key, (default, None))[0]
        return value if isinstance(value, type(default)) else default

    prune = builder.toplevel.get("prune_policies", (False, None))[
        0
    ]  # true, or {match: GLOB} (schema-checked)
    declaration = Declaration(
        files=tuple(files),
        cluster=builder.cluster[0] if builder.cluster else ClusterSettings(),
        scope="cluster" if top("scope", "declared") == "cluster" else "declared",
        prune_policies=bool(prune),
        prune_match=prune.get("match") if isinstance(prune, Mapping) else None,
        clean_backup=top("clean_backup", False),
        policies=dict(builder.policies),
        applications={name: decl for name, (decl, _) in builder.applications.items()},
        diagnostics=tuple(diagnostics),
        base_dir=_base_dir(paths),
        guardrails=builder.guardrails,
    )
    return _with_digest(declaration)


def _with_digest(declaration: Declaration) -> Declaration:
    return replace(declaration, digest=digest(declaration))
