"""Drift: where the cluster differs from the declaration, classified. Pure: (declaration, live) -> DriftReport.

Classes (PRODUCT.md §3, `sfdeclare drift`):
- ``changed``: a declared thing exists live but differs (a policy's fields, a mapping to another policy, a
  suspension the file says ``false`` to);
- ``missing``: declared, absent live (a policy, a mapping, a declared suspension, a declared application,
  service or partition that does not exist);
- ``unmanaged``: live, and nothing declares it (an explicit mapping in a declared application; with
  ``all_applications`` or ``scope: cluster`` mappings in undeclared applications; a live policy that nothing
  declares or references, under ``scope: cluster`` or where ``prune_policies`` covers it: under
  ``scope: declared`` another team's policy is an info line, not drift);
- ``suspended_out_of_band``: a live suspension where the file says nothing (``suspended`` not written). A plan
  leaves it, except where it would outlive the application's last mapping or sits on a service that no longer
  exists (then a plan resumes it); drift reports it either way.

Orphans (mappings and suspensions of partitions that no longer exist) are warnings, never drift: no request
can remove them (``engine/diff.py``).

The comparison is ``engine/diff.py``'s, the one the planner uses, so drift reports exactly what a plan would change
plus what no plan changes (tests/test_drift.py holds that as a property). An application's own suspension the
cluster hides and a plan cannot reveal is a warning here as in the plan, not drift: no apply could close it.
Coverage is ``engine/coverage.py``; sentences about a report are ``render/summaries.py``'s.

Secrets are never compared (``policies.canonical`` drops them) and never carried in a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from sfdeclare.engine.bind import bind
from sfdeclare.engine.coverage import Coverage, coverage
from sfdeclare.engine.diff import (
    Differences,
    MappingDifference,
    SuspensionDifference,
    compare,
    stuck_warning,
    unverifiable_warning,
)
from sfdeclare.engine.digest import live_digest
from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.declaration import Declaration, LevelSettings
from sfdeclare.model.inheritance import effective
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric.policies import FieldChange, shown_without_secrets

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


DriftValue: TypeAlias = Mapping[str, Any] | str | bool | None
"""What a drift item says each side holds: a policy body without secrets or a level's settings (a mapping),
a policy name, a suspension flag, or nothing (None; for a hidden suspension: not shown)."""


@dataclass(frozen=True)
class DriftItem:
    """One difference. ``declared`` / ``live`` are what the file and the cluster hold (None: nothing, or not
    shown); ``fields`` the differing fields of a changed policy (``before`` live, ``after`` declared)."""

    drift_class: DriftClass
    subject: Subject
    address: str
    declared: DriftValue
    live: DriftValue
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
class DriftReport:
    """Every drift item in report order, the backup coverage, and what the report was made from."""

    items: tuple[DriftItem, ...]
    coverage: Coverage
    diagnostics: tuple[Diagnostic, ...] = ()
    endpoint: str = ""
    api_version: str = ""
    config_digest: str = ""
    live_digest: str = ""
    all_applications: bool = False
    scope: str = "declared"
    files: tuple[str, ...] = ()  # the configuration files (where a finding without a line of its own points)

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


def drift(declaration: Declaration, live: LiveState, options: DriftOptions | None = None) -> DriftReport:
    """Classify every difference between ``live`` and ``declaration``. Drift is never an exception; a
    non-secret reference that cannot be resolved is an error diagnostic in the report."""
    options = options or DriftOptions()
    binding = bind(declaration, live)
    differences = compare(declaration, live, binding.levels, all_applications=options.all_applications)
    items: list[DriftItem] = []
    diagnostics: list[Diagnostic] = list(declaration.diagnostics)
    for gone in binding.missing:
        items.append(
            DriftItem(
                "missing",
                gone.subject,
                gone.address,
                _declared_settings(gone.settings),
                None,
                gone.message,
                gone.application,
                location=gone.settings.location,
            )
        )
    diagnostics.extend(binding.errors)
    diagnostics.extend(differences.notes)
    diagnostics.extend(_policies(differences, live, items))
    items.extend(_mapping(d, live, declaration) for d in differences.mappings)
    for suspension in differences.suspensions:
        if suspension.kind == "unverifiable":
            diagnostics.append(
                Diagnostic("warning", unverifiable_warning(suspension.ref), suspension.location)
            )
        elif suspension.kind == "stuck":  # no apply can close it: a warning, as in the plan
            diagnostics.append(Diagnostic("warning", stuck_warning(suspension.ref), suspension.location))
        else:
            items.append(_suspension(suspension))
    return DriftReport(
        items=tuple(sorted(items, key=DriftItem.sort_key)),
        coverage=coverage(live, declaration.applications),
        diagnostics=tuple(dict.fromkeys(diagnostics)),
        endpoint=options.endpoint,
        api_version=declaration.cluster.api_version,
        config_digest=declaration.digest,
        live_digest=live_digest(live),
        all_applications=options.all_applications,
        scope=declaration.scope,
        files=declaration.files,
    )


def _policies(differences: Differences, live: LiveState, items: list[DriftItem]) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    for comparison in differences.policies:
        loc = comparison.declared.location
        address = f"policy[{comparison.name}]"
        if comparison.absent:
            message = (
                f"declared at {loc} and absent on the cluster"
                if loc
                else "declared and absent on the cluster"
            )
            items.append(
                DriftItem(
                    "missing",
                    "policy",
                    address,
                    shown_without_secrets(comparison.body),
                    None,
                    message,
                    location=loc,
                )
            )
        elif comparison.unresolved is not None:
            diagnostics.append(comparison.unresolved)
        elif comparison.fields:
            n = len(comparison.fields)
            message = f"{n} field{'s differ' if n != 1 else ' differs'} from the declaration"
            items.append(
                DriftItem(
                    "changed", "policy", address, None, None, message, fields=comparison.fields, location=loc
                )
            )
    for name, loc in differences.undefined_policies:
        message = "referenced but neither declared nor on the cluster"
        items.append(DriftItem("missing", "policy", f"policy[{name}]", None, None, message, location=loc))
    for name in differences.unmanaged_policies:
        body = shown_without_secrets(live.policies[name])
        message = "on the cluster; nothing declares or references it"
        items.append(DriftItem("unmanaged", "policy", f"policy[{name}]", None, body, message))
    return diagnostics


def _mapping(diff: MappingDifference, live: LiveState, declaration: Declaration) -> DriftItem:
    ref, settings = diff.ref, diff.settings
    if diff.declared is None:
        if diff.gone:
            message = f"the cluster keeps a mapping to {diff.live} for {ref.service}, which no longer exists"
            loc = None
        elif ref.application in declaration.applications:
            message = f"the cluster maps {diff.live} here; the declaration has no policy at this level"
            loc = settings.location if settings else None
        else:
            message = f"the cluster maps {diff.live} here; application {ref.application} is not declared"
            loc = None
        return DriftItem(
            "unmanaged", "mapping", ref.address, None, diff.live, message, ref.application, location=loc
        )
    loc = (settings.policy_location or settings.location) if settings else None
    if diff.live is None:
        inherited = effective(ref, live.mappings, frozenset()).policy
        note = f" (it inherits {inherited})" if inherited else ""
        message = f"declared policy {diff.declared}; the cluster has no mapping at this level{note}"
        return DriftItem(
            "missing", "mapping", ref.address, diff.declared, None, message, ref.application, location=loc
        )
    message = f"declared policy {diff.declared}; the cluster maps {diff.live}"
    return DriftItem(
        "changed", "mapping", ref.address, diff.declared, diff.live, message, ref.application, location=loc
    )


_HIDDEN = "the cluster does not show whether this application is suspended"


def _suspension(diff: SuspensionDifference) -> DriftItem:
    ref = diff.ref
    if diff.kind in ("out_of_band", "stranded", "leftover"):
        if diff.kind == "stranded":
            message = (
                f"{_HIDDEN}; "
                if diff.hidden
                else "suspended on the cluster where the declaration says nothing; "
            ) + "a plan resumes it before removing the application's last mapping"
        elif diff.kind == "leftover":
            message = f"suspended on {ref.service}, which no longer exists (a plan resumes it)"
        else:
            message = (
                "suspended on the cluster where the declaration says nothing (a plan leaves it as it is)"
            )
        live = None if diff.hidden else True
        return DriftItem(
            "suspended_out_of_band", "suspension", ref.address, None, live, message, ref.application
        )
    live = None if diff.hidden else diff.live
    if diff.kind == "missing":
        message = "declared suspended: true; " + (
            f"{_HIDDEN} (a plan suspends it)" if diff.hidden else "backup is not suspended at this level"
        )
        return DriftItem(
            "missing", "suspension", ref.address, True, live, message, ref.application, location=diff.location
        )
    message = "declared suspended: false; " + (
        f"{_HIDDEN} (a plan resumes it)" if diff.hidden else "backup is suspended at this level"
    )
    return DriftItem(
        "changed", "suspension", ref.address, False, live, message, ref.application, location=diff.location
    )


def _declared_settings(settings: LevelSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if settings.policy is not None:
        out["policy"] = settings.policy
    if settings.suspended is not None:
        out["suspended"] = settings.suspended
    return out
