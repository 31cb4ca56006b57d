"""Drift: where the cluster differs from the declaration, classified. Pure: (declaration, live) -> DriftReport.

Classes (PRODUCT.md §3, `sfdeclare drift`):
- ``changed``: a declared thing exists live but differs (a policy's fields, a mapping to another policy, a
  suspension the file says ``false`` to);
- ``missing``: declared, absent live (a policy, a mapping, a declared suspension, a declared application,
  service or partition that does not exist);
- ``unmanaged``: live, and nothing declares it (an explicit mapping in a declared application; with
  ``all_applications`` or ``scope: cluster`` mappings in undeclared applications; a live policy that nothing
  declares or references);
- ``suspended_out_of_band``: a live suspension where the file says nothing (``suspended`` not written). A plan
  never changes it; drift reports it.

Secrets are never compared (``policies.canonical`` drops them) and never carried in a report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from sfdeclare.engine.bind import resolve_declaration
from sfdeclare.engine.digest import live_digest
from sfdeclare.errors import ConfigError, Diagnostic, Location
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.declaration import SECRET_FIELDS, Declaration, LevelSettings
from sfdeclare.model.inheritance import effective
from sfdeclare.model.live import LiveState
from sfdeclare.model.references import has_references
from sfdeclare.servicefabric.policies import FieldChange, field_changes

DriftClass = Literal["changed", "missing", "unmanaged", "suspended_out_of_band"]
Subject = Literal["policy", "mapping", "suspension", "application", "service", "partition"]

CLASSES: tuple[DriftClass, ...] = ("changed", "missing", "unmanaged", "suspended_out_of_band")
CLASS_TITLES: dict[DriftClass, str] = {
    "changed": "Changed",
    "missing": "Missing",
    "unmanaged": "Unmanaged",
    "suspended_out_of_band": "Suspended out of band",
}


@dataclass(frozen=True)
class DriftOptions:
    all_applications: bool = False
    endpoint: str = ""


@dataclass(frozen=True)
class DriftItem:
    """One difference. ``declared`` / ``live`` are what the file and the cluster hold (None: nothing);
    ``fields`` the differing fields of a changed policy (``before`` live, ``after`` declared)."""

    drift_class: DriftClass
    subject: Subject
    address: str
    declared: Any
    live: Any
    message: str
    application: str | None = None
    fields: tuple[FieldChange, ...] = ()
    location: Location | None = None

    def sort_key(self) -> tuple[int, str, int, str]:
        rank = _SUBJECT_RANK[self.subject]
        return (CLASSES.index(self.drift_class), self.application or "", rank, self.address)


_SUBJECT_RANK: dict[str, int] = {
    "policy": 0,
    "application": 1,
    "service": 2,
    "partition": 3,
    "mapping": 4,
    "suspension": 5,
}


@dataclass(frozen=True)
class ServiceCoverage:
    """One stateful persisted service of a declared application without an effective policy everywhere."""

    service: str
    partitions_total: int | None  # None: partitions not read
    partitions_covered: int | None
    partial: bool  # some partitions are mapped explicitly, not all (or not known to be all)


@dataclass(frozen=True)
class Coverage:
    services_total: int = 0
    services_covered: int = 0
    services_suspended: int = 0
    without: tuple[ServiceCoverage, ...] = ()
    partitions_known: int = 0
    partitions_covered: int = 0

    def line(self) -> str:
        total = self.services_total
        text = (
            f"Coverage: {self.services_covered} of {total} stateful "
            f"{'service has' if total == 1 else 'services have'} a backup policy"
        )
        if self.services_suspended:
            text += f" ({self.services_suspended} suspended)"
        if self.partitions_known:
            text += f"; {self.partitions_covered} of {self.partitions_known} known partitions"
        if self.without:
            text += "; without: " + ", ".join(_without_text(w) for w in self.without)
        return text + "."


def _without_text(w: ServiceCoverage) -> str:
    if w.partial and w.partitions_total is not None:
        return f"{w.service} ({w.partitions_covered} of {w.partitions_total} partitions)"
    if w.partial:
        return f"{w.service} (some partitions only)"
    return w.service


@dataclass(frozen=True)
class DriftReport:
    items: tuple[DriftItem, ...]
    coverage: Coverage
    diagnostics: tuple[Diagnostic, ...] = ()
    endpoint: str = ""
    api_version: str = ""
    config_digest: str = ""
    live_digest: str = ""
    all_applications: bool = False
    scope: str = "declared"

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {c: 0 for c in CLASSES}
        for item in self.items:
            counts[item.drift_class] += 1
        return counts

    def by_class(self, drift_class: DriftClass) -> list[DriftItem]:
        return [i for i in self.items if i.drift_class == drift_class]


def summary_line(report: DriftReport) -> str:
    if not report.items:
        return "No drift. The cluster matches the configuration."
    c = report.counts()
    return (
        f"Drift: {c['changed']} changed, {c['missing']} missing, {c['unmanaged']} unmanaged, "
        f"{c['suspended_out_of_band']} suspended out of band."
    )


def _without_secrets(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "Storage" and isinstance(value, Mapping):
            out[key] = {k: v for k, v in value.items() if k not in SECRET_FIELDS}
        elif isinstance(value, Mapping):
            out[key] = dict(value)
        else:
            out[key] = value
    return out


class _Drift:
    def __init__(self, declaration: Declaration, live: LiveState, options: DriftOptions) -> None:
        self.d = declaration
        self.live = live
        self.options = options
        self.items: list[DriftItem] = []
        self.diagnostics: list[Diagnostic] = list(declaration.diagnostics)

    def add(
        self,
        drift_class: DriftClass,
        subject: Subject,
        address: str,
        declared: Any,
        live: Any,
        message: str,
        *,
        application: str | None = None,
        fields: tuple[FieldChange, ...] = (),
        location: Location | None = None,
    ) -> None:
        self.items.append(
            DriftItem(drift_class, subject, address, declared, live, message, application, fields, location)
        )

    # --- policies --------------------------------------------------------------------------------------------

    def desired_body(self, name: str) -> dict[str, Any]:
        """The declared body without its secrets (never compared); other references must be resolved already
        (sfdeclare.commands.common.resolve_values), else comparing them is an error."""
        policy = self.d.policies[name]
        body = {k: v for k, v in policy.body.items()}
        storage = body.get("Storage")
        if isinstance(storage, Mapping):
            body["Storage"] = {k: v for k, v in storage.items() if k not in SECRET_FIELDS}
        if any(has_references(value) for value in _strings(body)):
            raise ConfigError(
                [
                    Diagnostic(
                        "error",
                        f"policy {name} still holds ${{...}} references: resolve them first",
                        policy.location,
                    )
                ]
            )
        return body

    def policies(self, referenced: Mapping[str, Location | None]) -> None:
        for name, policy in sorted(self.d.policies.items()):
            address = PolicyRef(name).address
            live_body = self.live.policies.get(name)
            if live_body is None:
                self.add(
                    "missing",
                    "policy",
                    address,
                    _without_secrets(policy.body),
                    None,
                    f"declared at {policy.location} and absent on the cluster"
                    if policy.location
                    else "declared and absent on the cluster",
                    location=policy.location,
                )
                continue
            try:
                desired = self.desired_body(name)
            except ConfigError as exc:
                self.diagnostics.extend(exc.diagnostics)
                continue
            fields = field_changes(live_body, desired)
            if fields:
                n = len(fields)
                self.add(
                    "changed",
                    "policy",
                    address,
                    None,
                    None,
                    f"{n} field{'s differ' if n != 1 else ' differs'} from the declaration",
                    fields=fields,
                    location=policy.location,
                )
        for name, loc in sorted(referenced.items()):
            if name not in self.d.policies and name not in self.live.policies:
                self.add(
                    "missing",
                    "policy",
                    PolicyRef(name).address,
                    None,
                    None,
                    "referenced but neither declared nor on the cluster",
                    location=loc,
                )
        for name in sorted(self.live.policies):
            if name in self.d.policies or name in referenced:
                continue
            self.add(
                "unmanaged",
                "policy",
                PolicyRef(name).address,
                None,
                _without_secrets(self.live.policies[name]),
                "on the cluster; nothing declares or references it",
            )

    # --- entities ----------------------------------------------------------------------------------------

    def resolve(self) -> list[tuple[EntityRef, LevelSettings]]:
        """Every declared level that exists live; the ones that do not are ``missing`` drift."""
        resolution = resolve_declaration(self.d, self.live)
        for gone in resolution.missing:
            self.add(
                "missing",
                gone.subject,
                gone.address,
                _declared_settings(gone.settings),
                None,
                gone.message,
                application=gone.application,
                location=gone.settings.location,
            )
        self.diagnostics.extend(resolution.errors)
        return [(level.ref, level.settings) for level in resolution.levels]

    def mappings(self, levels: list[tuple[EntityRef, LevelSettings]]) -> None:
        declared = {ref: s for ref, s in levels if s.policy is not None}
        for ref, settings in levels:
            want = settings.policy
            if want is None:
                continue
            have = self.live.mappings.get(ref)
            loc = settings.policy_location or settings.location
            if have is None:
                inherited = effective(ref, self.live.mappings, frozenset()).policy
                note = f" (it inherits {inherited})" if inherited else ""
                self.add(
                    "missing",
                    "mapping",
                    ref.address,
                    want,
                    None,
                    f"declared policy {want}; the cluster has no mapping at this level{note}",
                    application=ref.application,
                    location=loc,
                )
            elif have != want:
                self.add(
                    "changed",
                    "mapping",
                    ref.address,
                    want,
                    have,
                    f"declared policy {want}; the cluster maps {have}",
                    application=ref.application,
                    location=loc,
                )
        managed = set(self.d.applications)
        every = self.options.all_applications or self.d.scope == "cluster"
        settings_by_ref = dict(levels)
        for ref, policy in sorted(self.live.mappings.items(), key=lambda kv: kv[0].sort_key()):
            if ref in declared:
                continue
            if ref.application in managed:
                level = settings_by_ref.get(ref)
                self.add(
                    "unmanaged",
                    "mapping",
                    ref.address,
                    None,
                    policy,
                    f"the cluster maps {policy} here; the declaration has no policy at this level",
                    application=ref.application,
                    location=level.location if level else None,
                )
            elif every:
                self.add(
                    "unmanaged",
                    "mapping",
                    ref.address,
                    None,
                    policy,
                    f"the cluster maps {policy} here; application {ref.application} is not declared",
                    application=ref.application,
                )

    def suspensions(self, levels: list[tuple[EntityRef, LevelSettings]]) -> None:
        written = {ref: s for ref, s in levels if s.suspended is not None}
        for ref, settings in levels:
            want = settings.suspended
            if want is None:
                continue
            now = ref in self.live.suspensions
            loc = settings.suspended_location or settings.location
            if want and not now:
                self.add(
                    "missing",
                    "suspension",
                    ref.address,
                    True,
                    False,
                    "declared suspended: true; backup is not suspended at this level",
                    application=ref.application,
                    location=loc,
                )
            elif now and not want:
                self.add(
                    "changed",
                    "suspension",
                    ref.address,
                    False,
                    True,
                    "declared suspended: false; backup is suspended at this level",
                    application=ref.application,
                    location=loc,
                )
        every = self.options.all_applications or self.d.scope == "cluster"
        for ref in sorted(self.live.suspensions, key=EntityRef.sort_key):
            if ref in written:
                continue
            if ref.application not in self.d.applications and not every:
                continue
            self.add(
                "suspended_out_of_band",
                "suspension",
                ref.address,
                None,
                True,
                "suspended on the cluster where the declaration says nothing (a plan leaves it as it is)",
                application=ref.application,
            )

    # --- coverage ----------------------------------------------------------------------------------------

    def coverage(self) -> Coverage:
        total = covered = suspended = known = known_covered = 0
        without: list[ServiceCoverage] = []
        mappings = self.live.mappings
        for app_name in sorted(self.d.applications):
            live_app = self.live.applications.get(app_name)
            if live_app is None:
                continue
            for svc in sorted(live_app.services or (), key=lambda s: s.name):
                if not svc.backup_eligible:
                    continue
                total += 1
                ref = EntityRef(app_name, svc.name)
                eff = effective(ref, mappings, self.live.suspensions)
                parts = svc.partitions
                part_covered: int | None = None
                if parts is not None:
                    part_covered = sum(
                        1
                        for p in parts
                        if effective(EntityRef(app_name, svc.name, p.id), mappings, ()).policy
                    )
                    known += len(parts)
                    known_covered += part_covered
                if eff.policy is not None or (parts and part_covered == len(parts)):
                    covered += 1
                    if eff.suspended:
                        suspended += 1
                    continue
                partial = any(r.service == svc.name and r.partition is not None for r in mappings)
                without.append(
                    ServiceCoverage(svc.name, None if parts is None else len(parts), part_covered, partial)
                )
        return Coverage(total, covered, suspended, tuple(without), known, known_covered)

    def report(self) -> DriftReport:
        levels = self.resolve()
        referenced: dict[str, Location | None] = {}
        for app, svc, part in self.d.iter_levels():  # levels missing live still reference their policy
            settings = part.settings if part else svc.settings if svc else app.settings
            if settings.policy is not None:
                referenced.setdefault(settings.policy, settings.policy_location)
        self.policies(referenced)
        self.mappings(levels)
        self.suspensions(levels)
        return DriftReport(
            items=tuple(sorted(self.items, key=DriftItem.sort_key)),
            coverage=self.coverage(),
            diagnostics=tuple(dict.fromkeys(self.diagnostics)),
            endpoint=self.options.endpoint,
            api_version=self.d.cluster.api_version,
            config_digest=self.d.digest,
            all_applications=self.options.all_applications,
            scope=self.d.scope,
        )


def _declared_settings(settings: LevelSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if settings.policy is not None:
        out["policy"] = settings.policy
    if settings.suspended is not None:
        out["suspended"] = settings.suspended
    return out


def drift(declaration: Declaration, live: LiveState, options: DriftOptions | None = None) -> DriftReport:
    """Classify every difference between ``live`` and ``declaration``. Drift is never an exception; a
    non-secret reference that cannot be resolved is an error diagnostic in the report."""
    report = _Drift(declaration, live, options or DriftOptions()).report()
    return replace(report, live_digest=live_digest(live))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
