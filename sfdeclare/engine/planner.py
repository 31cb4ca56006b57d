"""The pure planner: (declaration, live state, options) -> Plan. No I/O.

Service Fabric's rules (SF-BACKUP-API.md §5) decide everything here: a mapping lives at exactly one level and
the nearest explicit mapping wins (partition > service > application); suspensions resolve the same way;
suspend and resume need some mapping in the application; a policy cannot be deleted while mapped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sfdeclare import __version__
from sfdeclare.engine.bind import Level, resolve_declaration
from sfdeclare.engine.digest import live_digest
from sfdeclare.engine.plan import Action, Change, EffectiveChange, Plan, ordered
from sfdeclare.errors import Diagnostic, Location, PlanError
from sfdeclare.model.addresses import EntityRef, PolicyRef, _address_within
from sfdeclare.model.declaration import SECRET_FIELDS, Declaration, LevelSettings
from sfdeclare.model.inheritance import NOTHING, Effective, effective, inherit
from sfdeclare.model.live import LiveApplication, LiveState
from sfdeclare.model.references import has_references
from sfdeclare.model.scope import read_scope
from sfdeclare.servicefabric import routes
from sfdeclare.servicefabric.policies import field_changes, request_body


@dataclass(frozen=True)
class PlanOptions:
    endpoint: str = ""
    refresh_secrets: bool = False
    targets: tuple[str, ...] = ()
    all_applications: bool = False


# An entity with its effective settings before and after the plan.
_Resolved = tuple[EntityRef, Effective, Effective]


def _where(loc: Location | None) -> str:
    return f" ({loc})" if loc is not None else ""


class _Planner:
    def __init__(self, declaration: Declaration, live: LiveState, options: PlanOptions) -> None:
        self.d = declaration
        self.live = live
        self.options = options
        self.api = routes.ApiOptions(
            api_version=declaration.cluster.api_version, entity_ids=declaration.cluster.entity_ids
        )
        self.preview = declaration.cluster.api_version.endswith("-preview")
        self.diagnostics: list[Diagnostic] = list(declaration.diagnostics)
        self.changes: list[Change] = []

    def error(self, message: str, loc: Location | None) -> None:
        self.diagnostics.append(Diagnostic("error", message, loc))

    def warn(self, message: str, loc: Location | None) -> None:
        self.diagnostics.append(Diagnostic("warning", message, loc))

    # --- resolving the declaration against the cluster ----------------------------------------------------

    def resolve_levels(self) -> list[Level]:
        """The declared levels on the cluster; a declared entity the cluster lacks is an error here."""
        resolution = resolve_declaration(self.d, self.live)
        for gone in resolution.missing:
            self.error(gone.message, gone.settings.location)
        self.diagnostics.extend(resolution.errors)
        for app in self.d.applications.values():
            services = (
                self.live.applications[app.name].services if app.name in self.live.applications else None
            )
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
        return list(resolution.levels)

    # --- policies ----------------------------------------------------------------------------------------

    def plan_policies(self, referenced: Mapping[str, Location | None], mapped_after: set[str]) -> None:
        for name, policy in self.d.policies.items():
            loc = policy.location
            for secret in policy.secret_fields():
                value = policy.body["Storage"][secret]
                if not isinstance(value, str) or not has_references(value):
                    self.error(
                        f"policy {name}: Storage.{secret} is a secret and must be a ${{env:NAME}} or "
                        "${file:PATH} reference, never a value in the file",
                        loc,
                    )
            if self.preview and "RetentionPolicy" in policy.body:
                self.error(
                    f"policy {name} has a RetentionPolicy, which api-version {self.d.cluster.api_version} "
                    "(Service Fabric 6.2/6.3) does not support: remove it or use api_version 6.4",
                    loc,
                )
            body = _plain(policy.body)
            unresolved = [
                path
                for path, value in _strings(body)
                if has_references(value) and path.rsplit(".", 1)[-1] not in SECRET_FIELDS
            ]
            if unresolved:
                self.error(
                    f"policy {name}: {', '.join(unresolved)} still hold ${{...}} references: "
                    "resolve them before planning (sfdeclare.commands.common.resolve_values)",
                    loc,
                )
                continue
            address = PolicyRef(name).address
            live_body = self.live.policies.get(name)
            shown = _shown(body)
            if live_body is None:
                self.changes.append(
                    Change(
                        address=address,
                        action=Action.CREATE_POLICY,
                        before=None,
                        after=shown,
                        reason=f"declared{_where(loc)} and absent on the cluster",
                        request=routes.create_policy(name, request_body(body), self.api),
                        location=loc,
                    )
                )
                continue
            fields = field_changes(live_body, body)
            refresh = self.options.refresh_secrets and bool(policy.secret_fields())
            if fields or refresh:
                if fields:
                    reason = (
                        f"declared{_where(loc)}; {len(fields)} field{'s' if len(fields) != 1 else ''} differ"
                    )
                    if refresh:
                        reason += "; secrets re-sent (--refresh-secrets)"
                else:
                    reason = f"--refresh-secrets: re-send the secrets of the policy declared{_where(loc)}"
                self.changes.append(
                    Change(
                        address=address,
                        action=Action.UPDATE_POLICY,
                        before=dict(live_body),
                        after=shown,
                        reason=reason,
                        request=routes.update_policy(name, request_body(body), self.api),
                        location=loc,
                        fields=fields,
                    )
                )
        for name, loc in referenced.items():
            if name not in self.d.policies and name not in self.live.policies:
                self.error(f"policy {name} is not declared and does not exist on the cluster", loc)
        for name in sorted(self.live.policies):
            if name in self.d.policies or name in referenced:
                continue
            self.plan_unmanaged_policy(name, mapped_after)

    def plan_unmanaged_policy(self, name: str, mapped_after: set[str]) -> None:
        if not self.d.prune_policies:
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
                address=PolicyRef(name).address,
                action=Action.DELETE_POLICY,
                before=dict(self.live.policies[name]),
                after=None,
                reason="prune_policies: nothing declares this policy and nothing maps to it after this plan",
                request=routes.delete_policy(name, self.api),
                destructive=True,
            )
        )

    # --- mappings and suspensions --------------------------------------------------------------------------

    def plan(self) -> Plan:
        levels = self.resolve_levels()
        declared_apps = {a for a in self.d.applications if a in self.live.applications}
        self.managed_apps = set(declared_apps)
        if self.d.scope == "cluster" or self.options.all_applications:
            self.managed_apps |= set(self.live.configured_applications)

        desired_map: dict[EntityRef, tuple[str, Level]] = {}
        referenced: dict[str, Location | None] = {}
        for level in levels:
            if level.settings.policy is not None:
                desired_map[level.ref] = (level.settings.policy, level)
                referenced.setdefault(level.settings.policy, level.settings.policy_location)
        settings_by_ref = {level.ref: level.settings for level in levels}

        after: dict[EntityRef, str] = {
            ref: pol for ref, pol in self.live.mappings.items() if ref.application not in self.managed_apps
        }
        for ref, (pol, _) in desired_map.items():
            after[ref] = pol
        self.after_mappings = after

        self.plan_mapping_changes(desired_map, settings_by_ref)
        after_suspensions = self.plan_suspensions(levels, after)
        mapped_after = set(after.values())
        self.plan_policies(referenced, mapped_after)
        self.check_overrides(levels, desired_map)

        errors = [d for d in self.diagnostics if d.severity == "error"]
        if errors:
            raise PlanError(self.diagnostics)

        changes = self.with_dependencies(self.changes)
        changes = self.filter_targets(changes)
        effective_changes, services_changed, partitions_changed = self.effective_changes(
            after, after_suspensions
        )
        return Plan(
            tool_version=__version__,
            endpoint=self.options.endpoint,
            api_version=self.d.cluster.api_version,
            entity_ids=self.d.cluster.entity_ids,
            config_digest=self.d.digest,
            live_digest=live_digest(self.live),
            read_scope=read_scope(self.d, all_applications=self.options.all_applications),
            changes=ordered(changes),
            effective_changes=effective_changes,
            diagnostics=tuple(self.diagnostics),
            refresh_secrets=self.options.refresh_secrets,
            partitions_changed=partitions_changed,
            services_changed=services_changed,
        )

    def clean_backup_for(self, settings: LevelSettings | None) -> tuple[bool, Location | None]:
        if settings is not None and settings.clean_backup is not None:
            return settings.clean_backup, settings.clean_backup_location
        return self.d.clean_backup, None

    def plan_mapping_changes(
        self,
        desired_map: Mapping[EntityRef, tuple[str, Level]],
        settings_by_ref: Mapping[EntityRef, LevelSettings],
    ) -> None:
        for ref, (policy, level) in desired_map.items():
            current = self.live.mappings.get(ref)
            if current == policy:
                continue
            loc = level.settings.policy_location or level.settings.location
            if current is None:
                reason = f"declared{_where(loc)}; the cluster has no mapping at this level"
            else:
                reason = f"declared{_where(loc)}; the cluster maps {current} here"
            self.changes.append(
                Change(
                    address=ref.address,
                    action=Action.ENABLE_BACKUP,
                    before=current,
                    after=policy,
                    reason=reason,
                    request=routes.enable_backup(ref, policy, self.api),
                    location=loc,
                    application=ref.application,
                )
            )
        for ref, policy in sorted(self.live.mappings.items(), key=lambda kv: kv[0].sort_key()):
            if ref.application not in self.managed_apps or ref in desired_map:
                continue
            settings = settings_by_ref.get(ref)
            clean, clean_loc = self.clean_backup_for(settings)
            if ref.application in self.d.applications:
                app_loc = self.d.applications[ref.application].settings.location
                reason = f"the cluster maps {policy} here; the declaration{_where(app_loc)} has no policy at this level"
            else:
                reason = f"the cluster maps {policy} here; application {ref.application} is not declared (scope: cluster)"
            if clean:
                reason += " -- clean_backup: its stored backups are deleted" + _where(clean_loc)
                if self.preview:
                    self.error(
                        f"clean_backup on {ref.address} needs api-version 6.4 or later "
                        f"({self.d.cluster.api_version} has no CleanBackup)",
                        clean_loc,
                    )
                    continue
            self.changes.append(
                Change(
                    address=ref.address,
                    action=Action.DISABLE_BACKUP,
                    before=policy,
                    after=None,
                    reason=reason,
                    request=routes.disable_backup(ref, clean, self.api),
                    location=settings.location if settings else None,
                    destructive=clean,
                    application=ref.application,
                )
            )

    def plan_suspensions(self, levels: list[Level], after: Mapping[EntityRef, str]) -> frozenset[EntityRef]:
        suspended = set(self.live.suspensions)
        apps_with_mapping_after = {ref.application for ref in after}
        resumed_apps = {
            level.ref.application
            for level in levels
            if level.settings.suspended is False and level.ref in self.live.suspensions
        }
        for level in levels:
            want = level.settings.suspended
            if want is None:
                continue
            ref = level.ref
            loc = level.settings.suspended_location or level.settings.location
            now = ref in self.live.suspensions
            if want and ref.application not in apps_with_mapping_after:
                self.error(
                    f"{ref.address} is declared suspended, but application {ref.application} would have no "
                    "backup mapping at all: Service Fabric suspends only where some policy is mapped",
                    loc,
                )
                continue
            hidden = ref.level == "Application" and ref.application in self.live.hidden_application_suspension
            if hidden and ref not in after and ref.application not in resumed_apps:
                self.warn(
                    f"{ref.address}: the cluster does not show whether this application is suspended (it has no "
                    "mapping of its own and every service suspended itself): suspended is not managed here",
                    loc,
                )
                continue
            # Hidden, but visible once this plan has run: suspend and resume are harmless to repeat.
            if want == now and not hidden:
                continue
            action = Action.SUSPEND_BACKUP if want else Action.RESUME_BACKUP
            request = routes.suspend_backup(ref, self.api) if want else routes.resume_backup(ref, self.api)
            self.changes.append(
                Change(
                    address=ref.address,
                    action=action,
                    before=now,
                    after=want,
                    reason=f"declared suspended: {'true' if want else 'false'}{_where(loc)}",
                    request=request,
                    location=loc,
                    application=ref.application,
                )
            )
            if want:
                suspended.add(ref)
            else:
                suspended.discard(ref)
        return frozenset(suspended)

    def check_overrides(
        self, levels: list[Level], desired_map: Mapping[EntityRef, tuple[str, Level]]
    ) -> None:
        desired = {ref: pol for ref, (pol, _) in desired_map.items()}
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

    # --- ordering, dependencies, targets -------------------------------------------------------------------

    def with_dependencies(self, changes: list[Change]) -> list[Change]:
        created = {c.address: c.id for c in changes if c.action is Action.CREATE_POLICY}
        enables_by_app: dict[str, list[str]] = {}
        moving_off: dict[str, list[str]] = {}
        for c in changes:
            if c.action is Action.ENABLE_BACKUP and c.application:
                enables_by_app.setdefault(c.application, []).append(c.id)
            if c.action in (Action.ENABLE_BACKUP, Action.DISABLE_BACKUP) and isinstance(c.before, str):
                moving_off.setdefault(c.before, []).append(c.id)
        apps_mapped_now = {ref.application for ref in self.live.mappings}
        out: list[Change] = []
        for c in changes:
            deps: list[str] = []
            if c.action is Action.ENABLE_BACKUP and isinstance(c.after, str):
                dep = created.get(PolicyRef(c.after).address)
                if dep:
                    deps.append(dep)
            elif c.action in (Action.SUSPEND_BACKUP, Action.RESUME_BACKUP) and c.application:
                if c.application not in apps_mapped_now:
                    deps.extend(enables_by_app.get(c.application, []))
            elif c.action is Action.DELETE_POLICY:
                name = c.address[len("policy[") : -1]
                deps.extend(moving_off.get(name, []))
            out.append(replace(c, depends_on=tuple(sorted(set(deps)))))
        return out

    def filter_targets(self, changes: list[Change]) -> list[Change]:
        targets = self.options.targets
        if not targets:
            return changes
        by_id = {c.id: c for c in changes}
        keep = {c.id for c in changes if any(_address_within(c.address, t) for t in targets)}
        pending = list(keep)
        while pending:
            for dep in by_id[pending.pop()].depends_on:
                if dep not in keep and dep in by_id:
                    keep.add(dep)
                    pending.append(dep)
        return [c for c in changes if c.id in keep]

    # --- effective policy before and after -----------------------------------------------------------------

    def effective_changes(
        self, after: Mapping[EntityRef, str], after_suspensions: frozenset[EntityRef]
    ) -> tuple[tuple[EffectiveChange, ...], int, int]:
        out: list[EffectiveChange] = []
        services = partitions = 0
        before_s = self.live.suspensions
        mapped_by_app: dict[str, set[EntityRef]] = {}
        for ref in (*self.live.mappings, *after):
            mapped_by_app.setdefault(ref.application, set()).add(ref)

        def below(parent: _Resolved, ref: EntityRef) -> _Resolved:
            return (
                ref,
                inherit(parent[1], ref, self.live.mappings, before_s),
                inherit(parent[2], ref, after, after_suspensions),
            )

        for app_name in sorted(self.managed_apps):
            live_app: LiveApplication | None = self.live.applications.get(app_name)
            # Top-down: each entity inherits from its parent's result instead of walking its own lineage.
            app_ref = EntityRef(app_name)
            app = below((app_ref, NOTHING, NOTHING), app_ref)
            resolved = [app]
            for svc in (live_app.services or ()) if live_app else ():
                if not svc.backup_eligible:
                    continue
                service = below(app, EntityRef(app_name, svc.name))
                resolved.append(service)
                resolved.extend(
                    below(service, EntityRef(app_name, svc.name, p.id)) for p in svc.partitions or ()
                )
            known = {ref for ref, _, _ in resolved}
            extra = mapped_by_app.get(app_name, set()) - known
            for ref in sorted(extra, key=EntityRef.sort_key):
                resolved.append(
                    (
                        ref,
                        effective(ref, self.live.mappings, before_s),
                        effective(ref, after, after_suspensions),
                    )
                )
            for ref, b, a in resolved:
                if a == b:
                    continue
                if self.options.targets and not any(
                    _address_within(ref.address, t) for t in self.options.targets
                ):
                    continue
                out.append(EffectiveChange(ref.address, b, a))
                if a.policy != b.policy:
                    if ref.level == "Service":
                        services += 1
                    elif ref.level == "Partition":
                        partitions += 1
        return tuple(out), services, partitions


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _shown(body: Mapping[str, Any]) -> dict[str, Any]:
    """A body as plans show it: secret fields keep their references (they never hold a value here)."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in body.items()}


def plan(declaration: Declaration, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Plan the smallest set of actions that makes ``live`` match ``declaration``. Raises PlanError."""
    return _Planner(declaration, live, options or PlanOptions()).plan()
