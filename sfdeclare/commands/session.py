"""What plan, apply, drift and explain share: loading, connecting, reading the cluster, planning."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from sfdeclare.cluster.client import Client
from sfdeclare.cluster.endpoint import parse_endpoint, resolve_endpoint
from sfdeclare.cluster.guarded import read_guarded
from sfdeclare.cluster.read import count_partitions, entity_gone, read_state
from sfdeclare.commands.debug import DEBUG
from sfdeclare.config import guardrails as config_guardrails
from sfdeclare.config import runtime_rules
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine import guardrails as plan_guardrails
from sfdeclare.engine import planfile
from sfdeclare.engine.impact import plan_impact, services_to_count
from sfdeclare.engine.plan import Plan
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.errors import ConfigError, Diagnostic, PlanFileError, SfdeclareError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import RUNTIME_AUTO, SECRET_FIELDS, ClusterSettings, Declaration, PolicyDecl
from sfdeclare.model.guardrails import Guardrails
from sfdeclare.model.live import LiveState
from sfdeclare.model.references import empty_references, resolve
from sfdeclare.model.scope import ReadScope, read_scope
from sfdeclare.servicefabric import runtimes
from sfdeclare.servicefabric.policy_fields import UNMODELLED_BLOCK
from sfdeclare.servicefabric.routes import ApiOptions


def use_color(stream: TextIO, env: Mapping[str, str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in env


def write_diagnostics(diagnostics: Sequence[Diagnostic], err: TextIO) -> None:
    """Warnings (and errors) on stderr, each once, ``file:line:col: severity: message (path)``."""
    seen: set[str] = set()
    for d in diagnostics:
        text = str(d)
        if text not in seen:
            seen.add(text)
            err.write(text + "\n")


def check_writable(path: str) -> None:
    """Refuse, before anything is done, an output file that could not be written afterwards."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SfdeclareError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise SfdeclareError(f"cannot write {path}: the folder {folder} is not writable")
    if os.path.isdir(path):
        raise SfdeclareError(f"cannot write {path}: it is a folder")


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers never see half a file."""
    check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sfdeclare-", dir=folder)
    except OSError as exc:
        raise SfdeclareError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise SfdeclareError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def open_client(
    declaration: Declaration, endpoint: str | None, env: Mapping[str, str], parallelism: int, err: TextIO
) -> Client:
    url = resolve_endpoint(endpoint, env, declaration.cluster, base_dir=declaration.base_dir)

    def warn(message: str) -> None:
        err.write(message + "\n")

    return connect(
        url,
        settings=declaration.cluster,
        base_dir=declaration.base_dir,
        env=env,
        parallelism=parallelism,
        warn=warn,
    )


def connect(endpoint: str, **options: Any) -> Client:
    """A Client for ``endpoint``; for ``emulator:PATH`` with the emulator plugged in as its transport, so the
    network edge never imports the emulator. ``options`` are Client's keyword arguments."""
    parsed = parse_endpoint(endpoint)
    if parsed.kind == "emulator" and options.get("transport") is None:
        from sfdeclare.emulator.transport import EmulatorTransport  # the emulator stays optional

        assert parsed.state_path is not None
        if not os.path.exists(parsed.state_path):  # a mistyped path must not become a new, empty cluster
            path = os.path.normpath(parsed.state_path)
            raise SfdeclareError(
                f"emulator:{path}: there is no emulator state file {path}; check the path, or create one with "
                f"`sfdeclare emulator init --state {path} --topology FILE`"
            )
        settings: ClusterSettings = options.get("settings") or ClusterSettings()
        # A 6.2-preview configuration pins the in-process emulator to 6.2; otherwise the state's runtime applies.
        runtime = "6.2" if ApiOptions.from_settings(settings, 60).is_pre_64 else None
        options["transport"] = EmulatorTransport(parsed.state_path, runtime=runtime)
    return Client(endpoint, **options)


def settle_runtime(client: Client, declaration: Declaration) -> Declaration:
    """The declaration as this run speaks it: with ``cluster.runtime: auto``, the cluster's runtime is read (one
    request, once per run), the declaration checked against it (its errors and warnings join the declaration's
    diagnostics, for plan and drift to report at their lines) and the api-version and ValidateConnection derived
    from it; a runtime the configuration names was checked by the loader. The client speaks the result."""
    cluster = declaration.cluster
    if cluster.runtime == RUNTIME_AUTO:
        runtime = runtimes.from_cluster_version(client.cluster_version())
        found = runtime_rules.for_runtime(
            declaration.policies.values(), cluster, runtime, declaration.guardrails
        )
        cluster = replace(runtime_rules.resolve_cluster(cluster, runtime), runtime=str(runtime))
        declaration = replace(declaration, cluster=cluster, diagnostics=(*declaration.diagnostics, *found))
    client.use_settings(cluster)
    return declaration


def resolve_values(declaration: Declaration, env: Mapping[str, str]) -> Declaration:
    """Resolve the references of every non-secret policy field (they are compared and shown); secrets keep
    their references until apply sends them. Raises ConfigError naming every missing reference, and every
    non-secret reference whose value is empty (CI turns a missing secret into ""; plan would compare it). A
    secret whose reference is empty is a warning here: apply refuses it (plans of pull requests from forks run
    without secrets). The references of an ``unmodelled_fields`` block stay as written until apply sends
    them (they may stand for masked values)."""
    policies = {}
    found: list[Diagnostic] = []
    for name, policy in declaration.policies.items():
        body = dict(policy.body)
        block = body.pop(UNMODELLED_BLOCK, None)
        resolved = _resolve_body(policy, body, "", env, declaration, found)
        if block is not None:
            resolved[UNMODELLED_BLOCK] = block
        policies[name] = replace(policy, body=resolved)
    if any(d.severity == "error" for d in found):
        raise ConfigError([d for d in found if d.severity == "error"])
    return replace(declaration, policies=policies, diagnostics=(*declaration.diagnostics, *found))


def _resolve_body(
    policy: PolicyDecl,
    node: Any,
    path: str,
    env: Mapping[str, str],
    declaration: Declaration,
    found: list[Diagnostic],
) -> Any:
    """``node`` (at ``path`` in ``policy``'s body) resolved; its problems appended to ``found``."""
    if isinstance(node, Mapping):
        return {
            k: _resolve_body(policy, v, f"{path}.{k}" if path else str(k), env, declaration, found)
            for k, v in node.items()
        }
    if isinstance(node, (list, tuple)):
        return [_resolve_body(policy, v, f"{path}[{i}]", env, declaration, found) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    where = f"policy {policy.name}: {path}"
    if path.startswith("Storage.") and path.removeprefix("Storage.") in SECRET_FIELDS:
        found.extend(
            Diagnostic(
                "warning", f"{where}: {message}: apply will refuse to send an empty secret", policy.location
            )
            for message in empty_references(node, env=env, base_dir=declaration.base_dir)
        )
        return node
    try:
        return resolve(node, env=env, base_dir=declaration.base_dir, refuse_empty=True)
    except ConfigError as exc:
        found.extend(Diagnostic("error", f"{where}: {d.message}", policy.location) for d in exc.diagnostics)
        return node


def endpoint_label(client: Client) -> str:
    """The endpoint as plans record it: the URL, or ``emulator:<absolute state path>``."""
    if client.endpoint.kind == "emulator":
        return f"emulator:{os.path.abspath(client.endpoint.state_path or '')}"
    return client.endpoint.url


def read_live(client: Client, declaration: Declaration, scope: ReadScope, parallelism: int) -> LiveState:
    """The live state for ``scope``; with pruning, also every entity mapped to each undeclared policy, and for
    the entities outside the applications read, whether they still exist, one at a time until one does (a
    policy mapped only to entities that are gone is not in use: its Delete purges those mappings, §2)."""
    live = replace(read_state(client, scope, parallelism=parallelism), runtime=declaration.cluster.runtime)
    if not scope.prune_candidates:
        return live
    start = client.requests - live.requests
    candidates = [name for name in sorted(live.policies) if name not in scope.declared_policies]
    entities = {name: tuple(client.policy_entities(name)) for name in candidates}
    gone: set[EntityRef] = set()
    for refs in entities.values():
        for ref in refs:
            if ref.application in live.configured_applications:
                continue  # read already: the engine knows whether it exists
            if not entity_gone(client, ref):
                break  # in use: one living entity is enough to keep the policy
            gone.add(ref)
    return replace(
        live, policy_entities=entities, gone_entities=frozenset(gone), requests=client.requests - start
    )


def named_guardrails(option: Sequence[str], env: Mapping[str, str]) -> Guardrails:
    """The rules of every ``--guardrails FILE`` and of ``SFDECLARE_GUARDRAILS``, tightened together."""
    return config_guardrails.named(option, env)


def read_for_guardrails(
    client: Client, declaration: Declaration, live: LiveState, scope: ReadScope, parallelism: int
) -> LiveState:
    """What ``require_backup`` reads beyond the plan's own read (nothing without that rule)."""
    if not declaration.guardrails.require_backup:
        return LiveState()
    return read_guarded(client, declaration.guardrails, live, parallelism, listed_all=scope.all_applications)


def guarded_plan(
    declaration: Declaration,
    live: LiveState,
    options: PlanOptions,
    env: Mapping[str, str],
    guarded: LiveState,
) -> Plan:
    """Plan, then judge the outcome by the guardrails (raises PlanError on a violation)."""
    result = plan(resolve_values(declaration, env), live, options)
    return plan_guardrails.judged(declaration, live, result, guarded)


@dataclass(frozen=True)
class Planned:
    declaration: Declaration
    live: LiveState
    plan: Plan
    endpoint: str


def plan_paths(
    paths: Sequence[str],
    *,
    endpoint: str | None,
    env: Mapping[str, str],
    parallelism: int,
    err: TextIO,
    refresh_secrets: bool = False,
    targets: Sequence[str] = (),
    all_applications: bool = False,
    also_read: Sequence[str] = (),
    guardrails: Sequence[str] = (),
    replace_addresses: Sequence[str] = (),
    exclude: Sequence[str] = (),
    judge: bool = True,
) -> Planned:
    """Load, read the cluster, plan, judge by the guardrails. Raises ConfigError / ClusterError / PlanError
    (all SfdeclareError). ``targets`` limit the plan; they and ``also_read`` (addresses the command names) are
    read from the cluster. ``guardrails``: the --guardrails files (SFDECLARE_GUARDRAILS is read from ``env``)."""
    if parallelism < 1:
        raise SfdeclareError("--parallelism must be at least 1")
    declaration = load_declaration(paths, named_guardrails(guardrails, env))
    scope = read_scope(declaration, all_applications=all_applications, also_read=(*targets, *also_read))
    with open_client(declaration, endpoint, env, parallelism, err) as client:
        declaration = settle_runtime(client, declaration)
        live = read_live(client, declaration, scope, parallelism)
        guarded = read_for_guardrails(client, declaration, live, scope, parallelism) if judge else None
        url = endpoint_label(client)
        if DEBUG.get():
            err.write(f"debug: read {url} in {client.requests} requests (parallelism {parallelism})\n")
        options = PlanOptions(
            endpoint=url,
            refresh_secrets=refresh_secrets,
            targets=tuple(targets),
            all_applications=all_applications,
            also_read=tuple(also_read),
            replace=tuple(replace_addresses),
            exclude=tuple(exclude),
            impact=False,  # totalled below, with the partitions it needs counted
        )
        if guarded is None:  # explain answers "why" even where a guardrail would stop the plan
            made = plan(resolve_values(declaration, env), live, options)
        else:
            made = guarded_plan(declaration, live, options, env, guarded)
        result = with_counted_impact(client, made, live, parallelism)
    return Planned(declaration, live, result, url)


def with_counted_impact(client: Client, planned: Plan, live: LiveState, parallelism: int) -> Plan:
    """``planned`` (made with ``PlanOptions(impact=False)``) with its impact totalled over every partition it
    changes: the partitions of changed services the read did not list are counted (one GetPartitions per such
    service, and only those)."""
    services = services_to_count(planned.changes, live)
    counts = count_partitions(client, services, parallelism) if services else {}
    return replace(planned, impact=plan_impact(planned.changes, live, counts))


def read_plan_file(path: str) -> Plan:
    """Read and check the plan file at ``path`` (the checks are engine/planfile.py's; the file read is the
    command's); raises PlanFileError naming the file and the reason."""
    try:
        size = os.path.getsize(path)
        if size > planfile.MAX_BYTES:
            raise PlanFileError(f"{path}: the plan file is {size} bytes; that is not a plan sfdeclare wrote")
        with open(path, "rb") as handle:
            raw = handle.read(planfile.MAX_BYTES + 1)
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan file: {exc.strerror or exc}") from None
    return planfile.load(raw, source=path)
