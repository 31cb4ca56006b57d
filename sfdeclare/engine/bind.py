"""Declared levels resolved against the live cluster: which entity each application, service and partition of
the declaration names, which do not exist, and which cannot take what the file asks. Pure; shared by the
planner (where a missing entity is an error) and drift (where it is ``missing`` drift). Two selectors of one
service that name the same partition (``low_key: 0`` and its ``id``) are an error, never merged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sfdeclare.errors import Diagnostic
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import Declaration, LevelSettings, PartitionDecl
from sfdeclare.model.live import LiveService, LiveState


@dataclass(frozen=True)
class Level:
    """A declared level and the entity it names on the cluster."""

    ref: EntityRef
    settings: LevelSettings


@dataclass(frozen=True)
class Missing:
    """A declared application, service or partition that the cluster does not have."""

    subject: Literal["application", "service", "partition"]
    address: str
    application: str
    settings: LevelSettings
    message: str


@dataclass(frozen=True)
class Binding:
    """The declaration bound to the cluster: the levels that exist, the ones that do not, and the errors of
    levels that cannot take what the file asks (a stateless service with a policy, an ambiguous selector)."""

    levels: tuple[Level, ...]
    missing: tuple[Missing, ...]
    errors: tuple[Diagnostic, ...]

    def settings_at(self, ref: EntityRef) -> LevelSettings | None:
        """What the file says at exactly ``ref``'s level, if it names it."""
        for level in self.levels:
            if level.ref == ref:
                return level.settings
        return None


def bind(declaration: Declaration, live: LiveState) -> Binding:
    """Bind every declared application, service and partition to the live entity it names."""
    levels: list[Level] = []
    missing: list[Missing] = []
    errors: list[Diagnostic] = []

    def ineligible(svc: LiveService, settings: LevelSettings, what: str) -> None:
        if settings.policy is not None and not svc.backup_eligible:
            kind = "stateless" if svc.kind == "Stateless" else "stateful without persisted state"
            errors.append(
                Diagnostic(
                    "error",
                    f"{what} is {kind}: Service Fabric backs up only stateful services with persisted state",
                    settings.policy_location or settings.location,
                )
            )

    for app in declaration.applications.values():
        live_app = live.applications.get(app.name)
        if live_app is None:
            message = f"application {app.name} does not exist on the cluster"
            missing.append(
                Missing("application", EntityRef(app.name).address, app.name, app.settings, message)
            )
            continue
        levels.append(Level(EntityRef(app.name), app.settings))
        for svc in app.services:
            ref = EntityRef(app.name, svc.name)
            live_svc = live_app.service(svc.name)
            if live_svc is None:
                message = f"service {svc.name} does not exist on the cluster (application {app.name})"
                missing.append(Missing("service", ref.address, app.name, svc.settings, message))
                continue
            ineligible(live_svc, svc.settings, f"service {svc.name}")
            levels.append(Level(ref, svc.settings))
            chosen: dict[str, PartitionDecl] = {}
            for part in svc.partitions:
                found = _select(live_svc, part, errors)
                if found and found in chosen:
                    errors.append(_selected_twice(svc.name, found, chosen[found], part))
                    continue
                if found:
                    chosen[found] = part
                if found is None:
                    address = f"partition[{svc.name}/{part.selector}]"
                    message = f"no partition of {svc.name} matches {part.selector}"
                    missing.append(Missing("partition", address, app.name, part.settings, message))
                elif found:
                    ineligible(live_svc, part.settings, f"partition {svc.name}/{found}")
                    levels.append(Level(EntityRef(app.name, svc.name, found), part.settings))
    return Binding(tuple(levels), tuple(missing), tuple(errors))


def _selected_twice(service: str, partition: str, first: PartitionDecl, second: PartitionDecl) -> Diagnostic:
    """Two selectors naming one partition would merge their settings silently (the last would win): refused."""

    def at(part: PartitionDecl) -> str:
        loc = part.settings.location
        return f"{part.selector} ({loc.file}:{loc.line})" if loc else str(part.selector)

    return Diagnostic(
        "error",
        f"partition {partition} of {service} is selected twice, by {at(first)} and by {at(second)}: "
        "declare its settings under one selector",
        second.settings.location,
    )


def _select(svc: LiveService, part: PartitionDecl, errors: list[Diagnostic]) -> str | None:
    """The id of the one partition the selector names; None when none does; "" after an error."""
    sel = part.selector
    loc = part.settings.location
    if svc.partitions is None:
        errors.append(
            Diagnostic("error", f"the partitions of {svc.name} were not read from the cluster", loc)
        )
        return ""
    if sel.kind == "id":
        wanted = str(sel.value).strip("{}").lower()
        found = [p for p in svc.partitions if p.id.lower() == wanted]
    elif sel.kind == "name":
        found = [p for p in svc.partitions if p.kind == "Named" and p.name == str(sel.value)]
    else:
        found = [p for p in svc.partitions if p.kind == "Int64Range" and p.low_key == int(sel.value)]
    if len(found) > 1:
        ids = ", ".join(p.id for p in found)
        message = f"{len(found)} partitions of {svc.name} match {sel} ({ids}): select one by id"
        errors.append(Diagnostic("error", message, loc))
        return ""
    return found[0].id if found else None
