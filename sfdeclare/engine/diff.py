"""The one comparison of the declaration with the live state: (declaration, live, bound levels) -> Differences.

``plan`` turns differences into actions, ``drift`` classifies them and ``explain`` reads the same bound levels,
so a subtlety of the live state is handled here once. Rules:

- Policies are compared in the form the server holds (``servicefabric.policies.canonical``); secrets never are.
  A non-secret field still holding a ``${...}`` reference cannot be compared: that is an error diagnostic.
- A mapping or suspension is compared at exactly its level (Service Fabric keeps each at one key; §5.1-5.3).
- Live mappings and suspensions count only in the managed applications: the declared ones, and with
  ``scope: cluster`` or ``all_applications`` every application whose configuration was read.
- An application's own suspension that the cluster hides (SF-BACKUP-API.md §5.4: no mapping of its own and
  every listed child suspended at its own level; ``LiveState.hidden_application_suspension``) is *unverifiable*
  when it stays hidden after the plan too: nothing can act on it, both plan and drift only warn. When the plan
  makes it visible (the application gets its own mapping, or one of its levels is resumed), the declared value is
  sent anyway (suspend and resume are harmless to repeat), so it is a difference like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sfdeclare.engine.bind import Level
from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import SECRET_FIELDS, Declaration, LevelSettings, PolicyDecl
from sfdeclare.model.live import LiveState
from sfdeclare.model.references import has_references
from sfdeclare.model.trees import plain, strings
from sfdeclare.servicefabric.policies import FieldChange, field_changes, kept_changes, masked_kept
from sfdeclare.servicefabric.policy_fields import UNMODELLED_BLOCK


@dataclass(frozen=True)
class PolicyComparison:
    """A declared policy against the cluster. ``live`` is None when the cluster lacks it; ``fields`` are the
    differing fields (empty: equal, or absent). ``body`` is the declared body as plain data (secrets keep their
    references). ``unresolved`` is the error when a non-secret field still holds a reference: it cannot be
    compared."""

    name: str
    declared: PolicyDecl
    body: dict[str, Any]
    live: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...] = ()
    unresolved: Diagnostic | None = None
    # live fields sfdeclare does not model and the declaration does not write: an update carries them over;
    # ``masked`` are those the cluster reads back as ****, which no update can carry
    kept: tuple[FieldChange, ...] = ()
    masked: tuple[str, ...] = ()

    @property
    def absent(self) -> bool:
        return self.live is None


@dataclass(frozen=True)
class MappingDifference:
    """An explicit mapping that differs at exactly ``ref``'s level.

    ``declared`` None: the declaration has no policy at this level (the live mapping is unmanaged);
    ``live`` None: the cluster has no mapping at this level. ``settings`` is the declared level, if declared."""

    ref: EntityRef
    declared: str | None
    live: str | None
    settings: LevelSettings | None = None


SuspensionKind = Literal["missing", "changed", "out_of_band", "unverifiable"]


@dataclass(frozen=True)
class SuspensionDifference:
    """A suspension at exactly ``ref``'s level that differs, or cannot be checked.

    - ``missing``: declared true, not suspended here as far as the cluster shows;
    - ``changed``: declared false, suspended here (or hidden: the plan resumes it to make sure);
    - ``out_of_band``: suspended here where the declaration says nothing (no plan changes it);
    - ``unverifiable``: the application's own suspension is hidden and stays hidden after the plan.

    ``hidden`` marks an application whose own suspension the cluster does not show."""

    kind: SuspensionKind
    ref: EntityRef
    declared: bool | None
    live: bool
    hidden: bool = False
    settings: LevelSettings | None = None

    @property
    def location(self) -> Location | None:
        if self.settings is None:
            return None
        return self.settings.suspended_location or self.settings.location


@dataclass(frozen=True)
class Differences:
    """What differs between a declaration and the live state, in declaration order, then key order."""

    policies: tuple[
        PolicyComparison, ...
    ]  # every declared policy, equal ones too (--refresh-secrets re-sends)
    undefined_policies: tuple[tuple[str, Location | None], ...]  # referenced, neither declared nor live
    unmanaged_policies: tuple[str, ...]  # live; nothing declares or references them
    mappings: tuple[MappingDifference, ...]
    suspensions: tuple[SuspensionDifference, ...]
    managed_applications: frozenset[str]


def managed_applications(
    declaration: Declaration, live: LiveState, *, all_applications: bool
) -> frozenset[str]:
    """The applications whose live mappings and suspensions the declaration speaks for."""
    managed = set(declaration.applications)
    if all_applications or declaration.scope == "cluster":
        managed |= live.configured_applications
    return frozenset(managed)


def unverifiable_warning(ref: EntityRef) -> str:
    return (
        f"{ref.address}: the cluster does not show whether this application is suspended (it has no mapping of "
        "its own and every service suspended itself): suspended is not managed here"
    )


def compare(
    declaration: Declaration, live: LiveState, levels: tuple[Level, ...], *, all_applications: bool = False
) -> Differences:
    """Compare ``declaration`` (its ``levels`` bound to live entities by ``engine.bind``) with ``live``."""
    managed = managed_applications(declaration, live, all_applications=all_applications)
    referenced = _referenced(declaration)
    policies = _policies(declaration, live)
    undefined = tuple(
        (name, loc)
        for name, loc in referenced.items()
        if name not in declaration.policies and name not in live.policies
    )
    unmanaged = tuple(
        name for name in sorted(live.policies) if name not in declaration.policies and name not in referenced
    )
    return Differences(
        policies=policies,
        undefined_policies=undefined,
        unmanaged_policies=unmanaged,
        mappings=_mappings(live, levels, managed),
        suspensions=_suspensions(live, levels, managed),
        managed_applications=managed,
    )


def _referenced(declaration: Declaration) -> dict[str, Location | None]:
    """Every policy a level names (levels missing live still reference their policy), first place first."""
    referenced: dict[str, Location | None] = {}
    for app, svc, part in declaration.iter_levels():
        settings = part.settings if part else svc.settings if svc else app.settings
        if settings.policy is not None:
            referenced.setdefault(settings.policy, settings.policy_location)
    return referenced


def _policies(declaration: Declaration, live: LiveState) -> tuple[PolicyComparison, ...]:
    out: list[PolicyComparison] = []
    for name, policy in declaration.policies.items():
        body = plain(policy.body)
        unresolved = [
            path
            for path, value in strings(body)
            if has_references(value)
            and path.rsplit(".", 1)[-1] not in SECRET_FIELDS
            and not path.startswith(
                UNMODELLED_BLOCK + "."
            )  # sent, never compared: may stand for a masked value
        ]
        live_body = live.policies.get(name)
        if unresolved:
            problem = Diagnostic(
                "error",
                f"policy {name}: {', '.join(unresolved)} "
                + (
                    "still holds a ${...} reference"
                    if len(unresolved) == 1
                    else "still hold ${...} references"
                )
                + ": resolve before comparing (sfdeclare.commands.session.resolve_values)",
                policy.location,
            )
            out.append(PolicyComparison(name, policy, body, live_body, unresolved=problem))
            continue
        if live_body is None:
            out.append(PolicyComparison(name, policy, body, None))
            continue
        out.append(
            PolicyComparison(
                name,
                policy,
                body,
                live_body,
                field_changes(live_body, body),
                kept=kept_changes(live_body, body),
                masked=masked_kept(live_body, body),
            )
        )
    return tuple(out)


def _mappings(
    live: LiveState, levels: tuple[Level, ...], managed: frozenset[str]
) -> tuple[MappingDifference, ...]:
    declared = {level.ref: level for level in levels if level.settings.policy is not None}
    out: list[MappingDifference] = []
    for ref, level in declared.items():
        have = live.mappings.get(ref)
        if have != level.settings.policy:
            out.append(MappingDifference(ref, level.settings.policy, have, level.settings))
    settings_by_ref = {level.ref: level.settings for level in levels}
    for ref, policy in sorted(live.mappings.items(), key=lambda kv: kv[0].sort_key()):
        if ref.application in managed and ref not in declared:
            out.append(MappingDifference(ref, None, policy, settings_by_ref.get(ref)))
    return tuple(out)


def _suspensions(
    live: LiveState, levels: tuple[Level, ...], managed: frozenset[str]
) -> tuple[SuspensionDifference, ...]:
    out: list[SuspensionDifference] = []
    # the application's own suspension shows once it has its own mapping, or once one of its levels resumes
    resumed_apps = {
        level.ref.application
        for level in levels
        if level.settings.suspended is False and level.ref in live.suspensions
    }
    mapped_apps = {
        level.ref.application
        for level in levels
        if level.ref.level == "Application" and level.settings.policy
    }
    written: set[EntityRef] = set()
    for level in levels:
        want = level.settings.suspended
        if want is None:
            continue
        ref = level.ref
        written.add(ref)
        now = ref in live.suspensions
        hidden = ref.level == "Application" and ref.application in live.hidden_application_suspension
        if hidden and ref.application not in mapped_apps and ref.application not in resumed_apps:
            out.append(SuspensionDifference("unverifiable", ref, want, now, True, level.settings))
        elif hidden or want != now:
            kind: SuspensionKind = "missing" if want else "changed"
            out.append(SuspensionDifference(kind, ref, want, now, hidden, level.settings))
    for ref in sorted(live.suspensions, key=EntityRef.sort_key):
        if ref not in written and ref.application in managed:
            out.append(SuspensionDifference("out_of_band", ref, None, True))
    return tuple(out)
