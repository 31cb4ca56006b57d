"""The pure planner: (declaration, live state, options) -> Plan. No I/O.

The comparison itself is ``engine/diff.py`` (shared with drift and explain); the planner turns its differences
into changes. Service Fabric's rules (SF-BACKUP-API.md §5) decide everything here: a mapping lives at exactly one
level and the nearest explicit mapping wins (partition > service > application); suspensions resolve the same
way; suspend and resume need some mapping in the application; a policy cannot be deleted while mapped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    unverifiable_warning,
)
from sfdeclare.engine.digest import live_digest
from sfdeclare.engine.effective import effective_changes
from sfdeclare.engine.impact import plan_impact
from sfdeclare.engine.plan import Action, Change, Plan, ordered
from sfdeclare.errors import Diagnostic, Location, PlanError
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.declaration import Declaration, LevelSettings, is_no_policy_keyword, keyword_message
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
        self.after_mappings: dict[EntityRef, str] = {
            ref: pol for ref, pol in live.mappings.items() if ref.application not in self.managed_apps
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
        self.check_binding()
        self.check_keyword_policies()
        self.plan_mappings(self.differences.mappings)
        after_suspensions = self.plan_suspensions(self.differences.suspensions)
        self.plan_policies(self.differences)
        self.check_overrides(self.levels)
        if any(d.severity == "error" for d in self.diagnostics):
            raise PlanError(self.diagnostics)

        self.plan_replacements()
        apps_mapped_now = {ref.application for ref in self.live.mappings}
        changes, left_out = selection.exclude(with_dependencies(self.changes, apps_mapped_now), self.excluded)
        self.diagnostics.extend(left_out)
        changes = filter_targets(changes, self.targets)
        effects, services_changed, partitions_changed = effective_changes(
            self.live, self.after_mappings, after_suspensions, self.managed_apps, self.targets
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
            effective_changes=effects,
            diagnostics=tuple(self.diagnostics),
            refresh_secrets=self.options.refresh_secrets,
            partitions_changed=partitions_changed,
            services_changed=services_changed,
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
        named = {n.casefold(): n for n in self.live.policies if is_no_policy_keyword(n)}
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
        mapped_after = set(self.after_mappings.values())
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
        refresh = self.options.refresh_secrets and bool(comparison.declared.secret_fields())
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
            reason = f"--refresh-secrets: re-send the secrets of the policy declared{_where(loc)}"
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
        still = [
            r
            for r in entities
            if r.application not in self.managed_apps or self.after_mappings.get(r) == name
        ]
        if still or name in mapped_after:
            where = ", ".join(r.address for r in still[:3]) or "a planned mapping"
            self.warn(f"policy {name} is not declared but is still mapped ({where}): not pruned", None)
            return
        self.changes.append(
            Change(
                target=PolicyRef(name),
                action=Action.DELETE_POLICY,
                before=dict(self.live.policies[name]),
                after=None,
                reason="prune_policies: nothing declares this policy and nothing maps to it after this plan",
                request=routes.delete_policy(name, self.api),
                destructive=True,
            )
        )

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
        if declared_app is not None:
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
            if diff.ref in refused or diff.declared is None:  # out of band: a plan leaves it as it is
                continue
            if diff.kind == "unverifiable":
                self.warn(unverifiable_warning(diff.ref), diff.location)
                continue
            want = diff.declared
            ref = diff.ref
            request = routes.suspend_backup(ref, self.api) if want else routes.resume_backup(ref, self.api)
            self.changes.append(
                Change(
                    target=ref,
                    action=Action.SUSPEND_BACKUP if want else Action.RESUME_BACKUP,
                    before=diff.live,
                    after=want,
                    reason=f"declared suspended: {'true' if want else 'false'}{_where(diff.location)}",
                    request=request,
                    location=diff.location,
                )
            )
            if want:
                suspended.add(ref)
            else:
                suspended.discard(ref)
        return frozenset(suspended)


def _shown(body: Mapping[str, Any]) -> dict[str, Any]:
    """A body as plans show it: secret fields keep their references (they never hold a value here)."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in body.items()}


def plan(declaration: Declaration, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Plan the smallest set of actions that makes ``live`` match ``declaration``. Raises PlanError."""
    return _Planner(declaration, live, options or PlanOptions()).plan()
