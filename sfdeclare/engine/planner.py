"""The pure planner: (declaration, live state, options) -> Plan. No I/O.

The comparison itself is ``engine/diff.py`` (shared with drift and explain); the planner turns its differences
into changes. Service Fabric's rules (SF-BACKUP-API.md §5) decide everything here: a mapping lives at exactly one
level and the nearest explicit mapping wins (partition > service > application); suspensions resolve the same
way; suspend and resume need some mapping in the application; a policy cannot be deleted while mapped.

Over 400 lines: planning policies, mappings and suspensions shares one state (the changes so far, the
mappings they leave, the diagnostics), and the rules between them (resume before the last mapping goes, never
prune a policy an orphan or a declared suspension still needs) read best side by side. The comparison is
``diff``, the order ``dependencies``, --replace/--exclude ``selection``, the impact ``impact``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sfdeclare import __version__
from sfdeclare.engine import selection
from sfdeclare.engine.bind import Level, bind
from sfdeclare.engine.dependencies import filter_targets, parse_targets, unmatched_targets, with_dependencies
from sfdeclare.engine.diff import (
    Differences,
    MappingDifference,
    PolicyComparison,
    SuspensionDifference,
    compare,
    stuck_warning,
    unverifiable_warning,
)
from sfdeclare.engine.digest import live_digest
from sfdeclare.engine.effective import effective_changes
from sfdeclare.engine.impact import plan_impact
from sfdeclare.engine.plan import Action, Change, Plan, ordered
from sfdeclare.errors import Diagnostic, Location, PlanError
from sfdeclare.model.addresses import EntityRef, PolicyRef, Ref, within
from sfdeclare.model.declaration import (
    SECRET_FIELDS,
    Declaration,
    LevelSettings,
    is_no_policy_keyword,
    keyword_message,
)
from sfdeclare.model.inheritance import effective
from sfdeclare.model.live import LiveState
from sfdeclare.model.references import has_references
from sfdeclare.model.scope import read_scope
from sfdeclare.servicefabric import policy_rules, routes
from sfdeclare.servicefabric.policies import request_body, update_body


@dataclass(frozen=True)
class PlanOptions:
    endpoint: str = ""
    refresh_secrets: bool = False
    targets: tuple[
        str, ...
    ] = ()  # addresses (model.addresses): only changes inside them, and their dependencies
    all_applications: bool = False
    also_read: tuple[str, ...] = ()  # addresses the run names besides targets (explain's): read, not filtered
    replace: tuple[str, ...] = ()  # addresses of declared policies / mappings to re-send unchanged
    exclude: tuple[str, ...] = ()  # addresses whose changes (and what waits for them) are left out
    # The plan's impact (engine/impact.py) over the partitions ``live`` holds; off when the caller totals it
    # itself with counted partitions, or does not need it (apply's convergence check).
    impact: bool = True


def _where(loc: Location | None) -> str:
    return f" ({loc})" if loc is not None else ""


class _Planner:
    """Differences -> changes. Everything it reads is computed in ``__init__``; ``plan()`` runs each step once."""

    def __init__(self, declaration: Declaration, live: LiveState, options: PlanOptions) -> None:
        self.declaration = declaration
        self.live = live
        self.options = options
        self.api = routes.ApiOptions.from_settings(declaration.cluster)
        self.preview = declaration.cluster.api_version.endswith("-preview")
        self.diagnostics: list[Diagnostic] = list(declaration.diagnostics)
        self.changes: list[Change] = []
        known_apps = [*declaration.applications, *live.applications]
        self.targets = parse_targets(options.targets, known_apps)
        self.binding = bind(declaration, live)
        self.levels = self.binding.levels
        self.replacements = selection.parse("--replace", options.replace, known_apps)
        self.excluded = selection.parse("--exclude", options.exclude, known_apps)
        declared_mappings = {
            level.ref: (level.settings.policy, level.settings.policy_location)
            for level in self.levels
            if level.settings.policy is not None
        }
        selection.Replacement(
            {name: p.location for name, p in declaration.policies.items()}, declared_mappings, live
        ).check(self.replacements)
        self.declared_mappings = declared_mappings
        selection.check_matches(
            "--exclude",
            self.excluded,
            selection.known_refs(
                live, [*(PolicyRef(n) for n in declaration.policies), *(level.ref for level in self.levels)]
            ),
        )
        self.differences: Differences = compare(
            declaration, live, self.levels, all_applications=options.all_applications
        )
        self.managed_apps = self.differences.managed_applications
        # the explicit mappings once the plan has run: what the declaration maps, and what it leaves alone
        # (orphaned mappings stay too: nothing can remove them; they keep no policy in use)
        self.orphaned = {o.ref for o in self.differences.orphans}
        self.purged: list[EntityRef] = []  # mappings a pruned policy's Delete purges
        self.after_mappings: dict[EntityRef, str] = {
            ref: pol
            for ref, pol in live.mappings.items()
            if ref.application not in self.managed_apps or ref in self.orphaned
        }
        for level in self.levels:
            if level.settings.policy is not None:
                self.after_mappings[level.ref] = level.settings.policy

    def error(self, message: str, loc: Location | None) -> None:
        self.diagnostics.append(Diagnostic("error", message, loc))

    def warn(self, message: str, loc: Location | None) -> None:
        self.diagnostics.append(Diagnostic("warning", message, loc))

    def plan(self) -> Plan:
        unmatched = unmatched_targets(
            self.options.targets, self.targets, self.declaration, self.live, self.binding
        )
        if unmatched:
            raise PlanError(unmatched)
        self.diagnostics.extend(self.differences.notes)
        self.check_binding()
        self.check_keyword_policies()
        self.plan_mappings(self.differences.mappings)
        after_suspensions = self.plan_suspensions(self.differences.suspensions)
        self.plan_policies(self.differences)
        after_suspensions = self.resume_before_purge(after_suspensions)
        self.check_overrides(self.levels)
        if any(d.severity == "error" for d in self.diagnostics):
            raise PlanError(self.diagnostics)

        self.plan_replacements()
        apps_mapped_now = {ref.application for ref in self.live.mappings}
        changes, left_out = selection.exclude(with_dependencies(self.changes, apps_mapped_now), self.excluded)
        self.diagnostics.extend(left_out)
        changes = filter_targets(changes, self.targets)
        shown_targets = self.targets
        if self.targets:
            changes = _pulled_in(changes, self.targets)
            # what the pulled-in changes do is part of the targeted plan's impact
            shown_targets = (*self.targets, *(c.target for c in changes))
        effects = effective_changes(
            self.live, self.after_mappings, after_suspensions, self.managed_apps, shown_targets, changes
        )
        in_order = ordered(changes)
        return Plan(
            tool_version=__version__,
            endpoint=self.options.endpoint,
            api_version=self.declaration.cluster.api_version,
            entity_ids=self.declaration.cluster.entity_ids,
            config_digest=self.declaration.digest,
            live_digest=live_digest(self.live),
            read_scope=read_scope(
                self.declaration,
                all_applications=self.options.all_applications,
                also_read=(*self.options.targets, *self.options.also_read),
            ),
            changes=in_order,
            effective_changes=effects.changes,
            diagnostics=tuple(self.diagnostics),
            refresh_secrets=self.options.refresh_secrets,
            partitions_changed=effects.partitions,
            services_changed=effects.services,
            partitions_unread=effects.unread,
            impact=plan_impact(in_order, self.live) if self.options.impact else None,
        )

    def plan_replacements(self) -> None:
        """``--replace``: re-send each named declared policy or mapping unchanged, unless the plan sends it."""
        self.changes.extend(
            selection.replacement_changes(
                self.replacements,
                self.changes,
                self.differences.policies,
                self.declared_mappings,
                self.live,
                self.api,
            )
        )

    # --- the declaration against the cluster -----------------------------------------------------------------

    def check_binding(self) -> None:
        """A declared entity the cluster lacks is an error here (drift reports it as ``missing``)."""
        for gone in self.binding.missing:
            self.error(gone.message, gone.settings.location)
        self.diagnostics.extend(self.binding.errors)
        for app in self.declaration.applications.values():
            live_app = self.live.applications.get(app.name)
            services = live_app.services if live_app is not None else None
            if (
                app.settings.policy is not None
                and services is not None
                and not any(s.backup_eligible for s in services)
            ):
                self.warn(
                    f"application {app.name} has no stateful service with persisted state: "
                    "its policy protects nothing",
                    app.settings.policy_location,
                )

    def check_keyword_policies(self) -> None:
        """A live policy named like a no-policy keyword (another tool may have created ``None``) makes the bare
        keyword ambiguous: refused with the explicit form, as the loader does for declared ones."""
        live_names = (*self.live.policies, *self.live.foreign_policies)  # another team's counts too
        named = {n.casefold(): n for n in live_names if is_no_policy_keyword(n)}
        if not named:
            return
        for app, svc, part in self.declaration.iter_levels():
            settings = part.settings if part else svc.settings if svc else app.settings
            written = settings.no_policy
            name = named.get(written.casefold()) if written else None
            if written and name and name not in self.declaration.policies:
                self.error(keyword_message(written, name, "exists on the cluster"), settings.policy_location)

    def check_overrides(self, levels: Sequence[Level]) -> None:
        desired = {level.ref: level.settings.policy for level in levels if level.settings.policy is not None}
        for level in levels:
            parent = level.ref.parent()
            if level.settings.policy is None or parent is None:
                continue
            inherited = effective(parent, desired, frozenset()).policy
            if inherited == level.settings.policy:
                self.warn(
                    f"{level.ref.address} declares policy {inherited}, which it would inherit anyway",
                    level.settings.policy_location,
                )

    # --- policies ----------------------------------------------------------------------------------------------

    def plan_policies(self, differences: Differences) -> None:
        for comparison in differences.policies:
            self.check_policy(comparison)
            if comparison.unresolved is not None:
                self.diagnostics.append(comparison.unresolved)
                continue
            self.plan_policy(comparison)
        for name, loc in differences.undefined_policies:
            self.error(f"policy {name} is not declared and does not exist on the cluster", loc)
        mapped_after = {p for ref, p in self.after_mappings.items() if ref not in self.orphaned}
        for name in differences.unmanaged_policies:
            self.plan_unmanaged_policy(name, mapped_after)

    def check_policy(self, comparison: PolicyComparison) -> None:
        """Rules a hand-built declaration may break (the loader refuses them in files)."""
        policy = comparison.declared
        for secret in policy.secret_fields():
            value = policy.body["Storage"][secret]
            if not isinstance(value, str) or not has_references(value):
                self.error(
                    f"policy {policy.name}: {policy_rules.secret_written_as_value(secret)}", policy.location
                )
        if self.preview and "RetentionPolicy" in policy.body:
            self.error(
                f"policy {policy.name}: {policy_rules.retention_on_preview(self.declaration.cluster.api_version)}",
                policy.location,
            )

    def plan_policy(self, comparison: PolicyComparison) -> None:
        name, loc, body = comparison.name, comparison.declared.location, comparison.body
        shown = _shown(body)
        if comparison.live is None:
            self.changes.append(
                Change(
                    target=PolicyRef(name),
                    action=Action.CREATE_POLICY,
                    before=None,
                    after=shown,
                    reason=f"declared{_where(loc)} and absent on the cluster",
                    request=routes.create_policy(name, request_body(body), self.api),
                    location=loc,
                )
            )
            return
        fields = comparison.fields
        # a policy that has or had credentials: re-sending it also removes the ones the file no longer holds
        had = comparison.live.get("Storage", {})
        refresh = self.options.refresh_secrets and bool(
            comparison.declared.secret_fields()
            or (isinstance(had, Mapping) and any(k in SECRET_FIELDS for k in had))
        )
        if not fields and not refresh:
            return
        if comparison.masked:
            paths = ", ".join(comparison.masked)
            self.error(
                f"policy {name}: the cluster holds {paths}, which sfdeclare does not model and reads back masked "
                "(****): an update would overwrite it, so the policy is not updated until the configuration "
                f"declares it under unmodelled_fields (e.g. {comparison.masked[0]}: ${{env:NAME}})",
                loc,
            )
            return
        if fields:
            reason = (
                f"declared{_where(loc)}; {len(fields)} field{'s differ' if len(fields) != 1 else ' differs'}"
            )
            if refresh:
                reason += "; secrets re-sent (--refresh-secrets)"
        else:
            reason = f"--refresh-secrets: re-send the credentials of the policy declared{_where(loc)}" + (
                "" if comparison.declared.secret_fields() else " (it declares none: removes the cluster's)"
            )
        if comparison.kept:
            count = len(comparison.kept)
            reason += f"; {count} field{'s' if count != 1 else ''} sfdeclare does not model kept as they are"
        self.changes.append(
            Change(
                target=PolicyRef(name),
                action=Action.UPDATE_POLICY,
                before=dict(comparison.live),
                after=shown,
                reason=reason,
                request=routes.update_policy(name, update_body(comparison.live, body), self.api),
                location=loc,
                fields=(*fields, *comparison.kept),
            )
        )

    def plan_unmanaged_policy(self, name: str, mapped_after: set[str]) -> None:
        if not self.declaration.prune_policies:
            self.warn(f"policy {name} exists on the cluster but nothing declares it", None)
            return
        entities = self.live.policy_entities.get(name)
        if entities is None:
            self.warn(f"policy {name} is not declared, but its mappings were not read: not pruned", None)
            return
        # entities that no longer exist do not keep a policy in use: its Delete purges their mappings (§2)
        still = [
            r
            for r in entities
            if (r.application not in self.managed_apps or self.after_mappings.get(r) == name)
            and r not in self.orphaned
            and self.live.exists(r) is not False
        ]
        if still or name in mapped_after:
            where = ", ".join(r.address for r in still[:3]) or "a planned mapping"
            self.warn(f"policy {name} is not declared but is still mapped ({where}): not pruned", None)
            return
        purged = [r for r in entities if r in self.orphaned or self.live.exists(r) is False]
        # the Delete purges them: an application left with no mapping at all cannot keep a declared suspension
        left = {ref for ref in self.after_mappings if ref not in purged}
        for level in self.levels:
            app = level.ref.application
            purges_last = any(r.application == app for r in purged) and not any(
                r.application == app for r in left
            )
            if level.settings.suspended and purges_last:
                self.warn(
                    f"policy {name} is not pruned: deleting it purges the last mappings of {app} (of "
                    f"entities that no longer exist), where {level.ref.address} is declared suspended",
                    level.settings.suspended_location or level.settings.location,
                )
                return
        self.purged.extend(purged)
        self.changes.append(
            Change(
                target=PolicyRef(name),
                action=Action.DELETE_POLICY,
                before=dict(self.live.policies[name]),
                after=None,
                reason="prune_policies: nothing declares this policy and nothing maps to it after this plan"
                + (
                    f"; deleting it purges {len(purged)} mapping{'s' if len(purged) != 1 else ''} of "
                    "entities that no longer exist"
                    if purged
                    else ""
                ),
                request=routes.delete_policy(name, self.api),
                destructive=True,
            )
        )

    def resume_before_purge(self, suspended: frozenset[EntityRef]) -> frozenset[EntityRef]:
        """A pruned policy's Delete purges the mappings of entities that no longer exist; where those were an
        application's last, its suspensions are resumed first, as before any last mapping goes (engine/diff.py,
        ``stranded``). Returns the suspensions the cluster holds afterwards."""
        for ref in self.purged:
            self.after_mappings.pop(ref, None)
        after = set(suspended)
        resumed = {c.target for c in self.changes if c.action is Action.RESUME_BACKUP}
        apps = {r.application for r in self.purged if r.application in self.managed_apps}
        for app in sorted(apps):
            if any(ref.application == app for ref in self.after_mappings):
                continue
            targets = sorted(
                (s for s in after if s.application == app and self.live.exists(s) is not False),
                key=EntityRef.sort_key,
            )
            hidden = app in self.live.hidden_application_suspension and EntityRef(app) not in targets
            for ref in [*([EntityRef(app)] if hidden else []), *targets]:
                if ref in resumed:
                    continue
                what = (
                    "the cluster does not show whether this application is suspended (resuming is a no-op if not)"
                    if hidden and ref == EntityRef(app)
                    else "suspended here where the configuration says nothing"
                )
                self.changes.append(
                    Change(
                        target=ref,
                        action=Action.RESUME_BACKUP,
                        before=ref in after,
                        after=False,
                        reason=f"{what}; pruning a policy purges the application's last mappings (of entities "
                        "that no longer exist), after which nothing could resume it: resumed first",
                        request=routes.resume_backup(ref, self.api),
                    )
                )
                after.discard(ref)
        return frozenset(after)

    # --- mappings and suspensions ------------------------------------------------------------------------------

    def clean_backup_for(self, settings: LevelSettings | None) -> tuple[bool, Location | None]:
        if settings is not None and settings.clean_backup is not None:
            return settings.clean_backup, settings.clean_backup_location
        return self.declaration.clean_backup, None

    def plan_mappings(self, differences: Iterable[MappingDifference]) -> None:
        for diff in differences:
            if diff.declared is not None:
                self.plan_enable(diff, diff.declared)
            elif diff.live is not None:
                self.plan_disable(diff, diff.live)

    def plan_enable(self, diff: MappingDifference, policy: str) -> None:
        settings = diff.settings
        loc = (settings.policy_location or settings.location) if settings else None
        if diff.live is None:
            reason = f"declared{_where(loc)}; the cluster has no mapping at this level"
        else:
            reason = f"declared{_where(loc)}; the cluster maps {diff.live} here"
        self.changes.append(
            Change(
                target=diff.ref,
                action=Action.ENABLE_BACKUP,
                before=diff.live,
                after=policy,
                reason=reason,
                request=routes.enable_backup(diff.ref, policy, self.api),
                location=loc,
            )
        )

    def plan_disable(self, diff: MappingDifference, policy: str) -> None:
        ref, settings = diff.ref, diff.settings
        clean, clean_loc = self.clean_backup_for(settings)
        declared_app = self.declaration.applications.get(ref.application)
        if diff.gone:
            reason = (
                f"the cluster keeps a mapping to {policy} for {ref.service}, which no longer exists "
                "(service-level calls are not looked up, so it can be removed)"
            )
        elif declared_app is not None:
            reason = (
                f"the cluster maps {policy} here; the declaration{_where(declared_app.settings.location)} has no "
                "policy at this level"
            )
        else:
            reason = f"the cluster maps {policy} here; application {ref.application} is not declared (scope: cluster)"
        if clean:
            reason += " -- clean_backup: its stored backups are deleted" + _where(clean_loc)
            if self.preview:
                self.error(
                    f"clean_backup on {ref.address} needs api-version 6.4 or later "
                    f"({self.declaration.cluster.api_version} has no CleanBackup)",
                    clean_loc,
                )
                return
        self.changes.append(
            Change(
                target=ref,
                action=Action.DISABLE_BACKUP,
                before=policy,
                after=None,
                reason=reason,
                request=routes.disable_backup(ref, clean, self.api),
                location=settings.location if settings else None,
                destructive=clean,
            )
        )

    def plan_suspensions(self, differences: Iterable[SuspensionDifference]) -> frozenset[EntityRef]:
        """Suspend and resume what differs; returns the suspensions the cluster holds afterwards."""
        apps_with_mapping_after = {ref.application for ref in self.after_mappings}
        refused: set[EntityRef] = set()
        for level in self.levels:
            ref = level.ref
            if level.settings.suspended and ref.application not in apps_with_mapping_after:
                refused.add(ref)
                self.error(
                    f"{ref.address} is declared suspended, but application {ref.application} would have no "
                    "backup mapping at all: Service Fabric suspends only where some policy is mapped",
                    level.settings.suspended_location or level.settings.location,
                )
        suspended = set(self.live.suspensions)
        for diff in differences:
            if diff.ref in refused:
                continue
            if diff.kind == "out_of_band":  # a plan leaves it as it is, and says so
                mapped = diff.ref.application in apps_with_mapping_after
                self.warn(unmanaged_suspension_note(diff.ref, mapped), None)
                continue
            if diff.kind == "unverifiable":
                self.warn(unverifiable_warning(diff.ref), diff.location)
                continue
            if diff.kind == "stuck":
                self.warn(stuck_warning(diff.ref), diff.location)
                continue
            want = bool(diff.declared)
            ref = diff.ref
            request = routes.suspend_backup(ref, self.api) if want else routes.resume_backup(ref, self.api)
            self.changes.append(
                Change(
                    target=ref,
                    action=Action.SUSPEND_BACKUP if want else Action.RESUME_BACKUP,
                    before=diff.live,
                    after=want,
                    reason=_suspension_reason(diff),
                    request=request,
                    location=diff.location,
                )
            )
            if want:
                suspended.add(ref)
            else:
                suspended.discard(ref)
        return frozenset(suspended)


def _pulled_in(changes: Sequence[Change], targets: Sequence[Ref]) -> list[Change]:
    """Mark the changes that are outside ``--target`` and kept only because a targeted change waits for them."""
    waiting: dict[str, list[str]] = {}
    for c in changes:
        for dep in c.depends_on:
            waiting.setdefault(dep, []).append(c.address)
    return [
        c
        if within(c.target, targets)
        else replace(
            c,
            reason=f"{c.reason} -- outside --target, pulled in: {', '.join(waiting.get(c.id, []))} "
            "waits for it",
        )
        for c in changes
    ]


def unmanaged_suspension_note(ref: EntityRef, mapped: bool) -> str:
    lift = (
        "write suspended: false at this level to lift it"
        if mapped
        else f"it can be lifted only once application {ref.application} has a backup mapping again "
        "(Service Fabric resumes only where some policy is mapped)"
    )
    return (
        f"{ref.address} stays suspended: the configuration does not write suspended there, so no plan "
        f"changes it; {lift}"
    )


def _suspension_reason(diff: SuspensionDifference) -> str:
    if diff.kind == "stranded":
        what = (
            "the cluster does not show whether this application is suspended (resuming is a no-op if not)"
            if diff.hidden
            else "suspended here where the configuration says nothing"
        )
        return (
            f"{what}; this plan removes the application's last mapping, after which nothing could resume it "
            "and it would return with the next mapping: resumed first"
        )
    if diff.kind == "leftover":
        return (
            f"left on {diff.ref.service}, which no longer exists (service-level calls are not looked up, so it "
            "can be resumed)"
        )
    want = "true" if diff.declared else "false"
    reason = f"declared suspended: {want}{_where(diff.location)}"
    if diff.hidden:
        reason += "; the cluster does not show this application's own suspension: sent to be sure"
    return reason


def _shown(body: Mapping[str, Any]) -> dict[str, Any]:
    """A body as plans show it: secret fields keep their references (they never hold a value here)."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in body.items()}


def plan(declaration: Declaration, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Plan the smallest set of actions that makes ``live`` match ``declaration``. Raises PlanError."""
    return _Planner(declaration, live, options or PlanOptions()).plan()
