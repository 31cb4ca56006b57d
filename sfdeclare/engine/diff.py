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
  sent anyway (suspend and resume are harmless to repeat), so it is a difference like any other. An empty
  listing (404: nothing mapped) hides it too: a suspension outlives the mappings (§5.2).
- Entities that no longer exist: a mapping or suspension the cluster keeps for a partition that is gone (its
  service was re-created with new ids, or removed) is an *orphan*: no request can address it (partition ids
  are always looked up, §1), so it is never a difference; deleting its policy purges an orphaned mapping (§2).
  One on a service that is gone is a *leftover*: service-level calls are not looked up, so a plan removes it.
- A plan that leaves an application without any mapping of its own resumes the suspensions there first
  (``stranded``): afterwards nothing could resume them, the listing would hide them (404), and they would
  return with the next mapping. Where the application's own suspension is hidden, it is resumed too (a no-op
  if it is not suspended).
- Under ``scope: declared`` a live policy the configuration neither declares nor references is someone else's
  (``foreign``): not a difference, unless ``prune_policies`` (its ``match``) covers it.

Over 400 lines: policies, mappings, suspensions and their leftovers on entities that no longer exist are
compared in one pass over the bound levels, so that plan, drift and explain cannot disagree on any of them.
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
    ``live`` None: the cluster has no mapping at this level. ``settings`` is the declared level, if declared.
    ``gone``: the entity (a service) no longer exists; its mapping can still be removed."""

    ref: EntityRef
    declared: str | None
    live: str | None
    settings: LevelSettings | None = None
    gone: bool = False


@dataclass(frozen=True)
class Orphan:
    """A mapping (``policy`` set) or suspension (``policy`` None) the cluster keeps for a partition that no
    longer exists. No request can address it; it is reported with what clears it."""

    ref: EntityRef
    policy: str | None

    def message(self) -> str:
        gone = (
            f"partition {self.ref.partition} of {self.ref.service} no longer exists (re-created or removed)"
        )
        if self.policy is not None:
            return (
                f"{self.ref.address}: orphaned mapping to policy {self.policy}: {gone}; no request can remove it "
                f"(partition ids are always looked up); deleting policy {self.policy} purges it once nothing "
                "else maps to the policy"
            )
        return (
            f"{self.ref.address}: orphaned suspension: {gone}; no request can remove it (partition ids are "
            "always looked up) and it suspends nothing"
        )


SuspensionKind = Literal["missing", "changed", "out_of_band", "unverifiable", "stranded", "leftover", "stuck"]


@dataclass(frozen=True)
class SuspensionDifference:
    """A suspension at exactly ``ref``'s level that differs, or cannot be checked.

    - ``missing``: declared true, not suspended here as far as the cluster shows;
    - ``changed``: declared false, suspended here (or hidden: the plan resumes it to make sure);
    - ``out_of_band``: suspended here where the declaration says nothing (no plan changes it);
    - ``unverifiable``: the application's own suspension is hidden and stays hidden after the plan;
    - ``stranded``: suspended (or hidden) where the declaration says nothing, in an application the plan leaves
      without any mapping: resumed before the last mapping goes;
    - ``leftover``: suspended on a service that no longer exists: resumed (service calls are not looked up);
    - ``stuck``: declared false, suspended here, but nothing is mapped in the application now or after the
      plan, so Service Fabric refuses a resume (§5.3): a warning until a mapping returns, never an action.

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
    unmanaged_policies: tuple[str, ...]  # live; nothing declares or references them, and they are in scope
    mappings: tuple[MappingDifference, ...]
    suspensions: tuple[SuspensionDifference, ...]
    managed_applications: frozenset[str]
    orphans: tuple[Orphan, ...] = ()
    foreign_policies: tuple[str, ...] = ()  # live, someone else's (scope: declared): not differences
    notes: tuple[Diagnostic, ...] = ()  # what plan and drift both say about the comparison


def managed_applications(
    declaration: Declaration, live: LiveState, *, all_applications: bool
) -> frozenset[str]:
    """The applications whose live mappings and suspensions the declaration speaks for."""
    managed = set(declaration.applications)
    if all_applications or declaration.scope == "cluster":
        managed |= live.configured_applications
    return frozenset(managed)


def stuck_warning(ref: EntityRef) -> str:
    return (
        f"{ref.address} is suspended and declared suspended: false, but application {ref.application} has no "
        "backup mapping: Service Fabric resumes only where some policy is mapped, so it stays until one is "
        "declared (the plan that maps one resumes it)"
    )


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
    every_policy = all_applications or declaration.scope == "cluster"
    unmanaged: list[str] = []
    foreign: set[str] = set(live.foreign_policies)
    for name in sorted(live.policies):
        if name in declaration.policies or name in referenced:
            continue
        if every_policy or declaration.prunes(name):
            unmanaged.append(name)
        else:
            foreign.add(name)
    orphans = _orphans(live, managed)
    orphaned = {o.ref for o in orphans}
    mappings = _mappings(live, levels, managed, orphaned)
    after = _After.of(live, levels, managed, mappings)
    suspensions = _suspensions(live, levels, managed, orphaned, after)
    notes = [Diagnostic("warning", o.message(), None) for o in orphans]
    notes += _ineffective_resumes(levels, after, written_by=_written(levels))
    notes += [_foreign_note(name, live, managed) for name in sorted(foreign)]
    return Differences(
        policies=policies,
        undefined_policies=undefined,
        unmanaged_policies=tuple(unmanaged),
        mappings=mappings,
        suspensions=suspensions,
        managed_applications=managed,
        orphans=orphans,
        foreign_policies=tuple(sorted(foreign)),
        notes=tuple(notes),
    )


def _foreign_note(name: str, live: LiveState, managed: frozenset[str]) -> Diagnostic:
    users = sorted(
        {ref.application for ref, policy in live.mappings.items() if policy == name}
        | {ref.application for ref in live.policy_entities.get(name, ())}
    )
    if users:
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        who = f"mapped in {shown}"
        if any(app in managed for app in users):
            who += " (this configuration removes its mappings in the applications it declares)"
    else:
        who = "not mapped in the applications this configuration reads (other applications were not read)"
    return Diagnostic(
        "info",
        f"policy {name} is not part of this configuration ({who}); scope: declared leaves it alone "
        "(prune_policies or scope: cluster would manage it)",
        None,
    )


def _orphans(live: LiveState, managed: frozenset[str]) -> tuple[Orphan, ...]:
    """Partition-level mappings and suspensions in the managed applications whose partition is gone."""
    out = [
        Orphan(ref, policy)
        for ref, policy in live.mappings.items()
        if ref.partition is not None and ref.application in managed and live.exists(ref) is False
    ]
    out += [
        Orphan(ref, None)
        for ref in live.suspensions
        if ref.partition is not None and ref.application in managed and live.exists(ref) is False
    ]
    return tuple(sorted(out, key=lambda o: (o.ref.sort_key(), o.policy is None)))


@dataclass(frozen=True)
class _After:
    """What the plan leaves per managed application: whether it has a mapping (any, orphans included: they
    stay), and which applications it leaves without one although they have one now (``stranded``)."""

    mapped: frozenset[str]
    stranded: frozenset[str]
    mappings: frozenset[EntityRef]
    suspensions: frozenset[EntityRef]  # the suspensions the plan leaves (orphans aside)

    @staticmethod
    def of(
        live: LiveState,
        levels: tuple[Level, ...],
        managed: frozenset[str],
        differences: tuple[MappingDifference, ...],
    ) -> _After:
        removed = {d.ref for d in differences if d.declared is None}
        after = {ref for ref in live.mappings if ref not in removed} | {
            level.ref for level in levels if level.settings.policy is not None
        }
        mapped = frozenset(ref.application for ref in after)
        now = {ref.application for ref in live.mappings}  # orphans too: they stay, so they count in both
        stranded = frozenset(app for app in now if app in managed and app not in mapped)
        written = {
            level.ref: level.settings.suspended for level in levels if level.settings.suspended is not None
        }
        suspended = set()
        for ref in live.suspensions:
            if ref.application in managed and (ref.partition is not None and live.exists(ref) is False):
                continue  # an orphan: it suspends nothing
            if ref in written:
                continue
            if ref.application in managed and (ref.application in stranded or live.exists(ref) is False):
                continue  # resumed by the plan
            suspended.add(ref)
        suspended |= {ref for ref, want in written.items() if want}
        return _After(mapped, stranded, frozenset(after), frozenset(suspended))


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
    live: LiveState, levels: tuple[Level, ...], managed: frozenset[str], orphaned: set[EntityRef]
) -> tuple[MappingDifference, ...]:
    declared = {level.ref: level for level in levels if level.settings.policy is not None}
    out: list[MappingDifference] = []
    for ref, level in declared.items():
        have = live.mappings.get(ref)
        if have != level.settings.policy:
            out.append(MappingDifference(ref, level.settings.policy, have, level.settings))
    settings_by_ref = {level.ref: level.settings for level in levels}
    for ref, policy in sorted(live.mappings.items(), key=lambda kv: kv[0].sort_key()):
        if ref.application in managed and ref not in declared and ref not in orphaned:
            gone = live.exists(ref) is False
            out.append(MappingDifference(ref, None, policy, settings_by_ref.get(ref), gone))
    return tuple(out)


def _suspensions(
    live: LiveState,
    levels: tuple[Level, ...],
    managed: frozenset[str],
    orphaned: set[EntityRef],
    after: _After,
) -> tuple[SuspensionDifference, ...]:
    out: list[SuspensionDifference] = []
    written = {level.ref: level for level in levels if level.settings.suspended is not None}
    # what the listing will hold: orphaned suspensions stay in the store and are listed like any other
    suspended_after = after.suspensions | {ref for ref in live.suspensions if ref in orphaned}

    def shows_after(app: str) -> bool:
        """SF-BACKUP-API.md §5.4: the listing shows the application's own suspension through its own mapping,
        or through a listed child (mapped or suspended) that is not suspended at its own level."""
        if EntityRef(app) in after.mappings:
            return True
        children = {r for r in (*after.mappings, *suspended_after) if r.application == app and r.service}
        return any(r not in suspended_after for r in children)

    for ref, level in written.items():
        want = level.settings.suspended
        assert want is not None
        now = ref in live.suspensions
        hidden = ref.level == "Application" and ref.application in live.hidden_application_suspension
        visible_after = shows_after(ref.application) or (ref.application in after.stranded and not want)
        unmapped = ref.application not in after.mapped | _mapped_now(live)
        if hidden and not visible_after:
            out.append(SuspensionDifference("unverifiable", ref, want, now, True, level.settings))
        elif not want and now and unmapped:
            # nothing is mapped in the application, now or after: Service Fabric refuses a resume (§5.3)
            out.append(SuspensionDifference("stuck", ref, want, now, False, level.settings))
        elif hidden or want != now:
            kind: SuspensionKind = "missing" if want else "changed"
            out.append(SuspensionDifference(kind, ref, want, now, hidden, level.settings))
    for ref in sorted(live.suspensions, key=EntityRef.sort_key):
        if ref in written or ref.application not in managed or ref in orphaned:
            continue
        if ref.application in after.stranded:
            out.append(SuspensionDifference("stranded", ref, None, True))
        elif live.exists(ref) is False and ref.application in after.mapped | _mapped_now(live):
            out.append(SuspensionDifference("leftover", ref, None, True))
        else:
            out.append(SuspensionDifference("out_of_band", ref, None, True))
    for app in sorted(after.stranded & live.hidden_application_suspension):
        ref = EntityRef(app)
        if ref not in written:
            out.append(SuspensionDifference("stranded", ref, None, False, hidden=True))
    return tuple(out)


def _mapped_now(live: LiveState) -> set[str]:
    return {ref.application for ref in live.mappings}


def _written(levels: tuple[Level, ...]) -> dict[EntityRef, Level]:
    return {level.ref: level for level in levels if level.settings.suspended is not None}


def _ineffective_resumes(
    levels: tuple[Level, ...], after: _After, written_by: Mapping[EntityRef, Level]
) -> list[Diagnostic]:
    """``suspended: false`` under a level that stays suspended changes nothing: Service Fabric applies the
    nearest suspension (partition > service > application), so that level decides."""
    notes: list[Diagnostic] = []
    for level in levels:
        if level.settings.suspended is not False:
            continue
        for ancestor in level.ref.lineage()[1:]:
            if ancestor not in after.suspensions:
                continue
            parent = written_by.get(ancestor)
            where = (
                f"declared suspended{_at(parent.settings.suspended_location or parent.settings.location)}"
                if parent is not None
                else "suspended on the cluster, where the configuration does not manage it"
            )
            notes.append(
                Diagnostic(
                    "warning",
                    f"{level.ref.address} declares suspended: false, but {ancestor.address} is {where}: "
                    f"backup stays suspended here (Service Fabric applies the nearest suspension; the "
                    f"{ancestor.level.lower()} level decides)",
                    level.settings.suspended_location or level.settings.location,
                )
            )
            break
    return notes


def _at(loc: Location | None) -> str:
    return f" at {loc}" if loc is not None else ""
