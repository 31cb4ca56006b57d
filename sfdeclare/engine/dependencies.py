"""What a change waits for, which changes ``--target`` keeps, and which targets name nothing: pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sfdeclare.engine.bind import Binding
from sfdeclare.engine.plan import Action, Change
from sfdeclare.errors import Diagnostic, PlanError
from sfdeclare.model.addresses import AddressError, EntityRef, PolicyRef, Ref, parse_address, within
from sfdeclare.model.declaration import Declaration
from sfdeclare.model.live import LiveState


def parse_targets(targets: Iterable[str], applications: Iterable[str]) -> tuple[Ref, ...]:
    """``--target`` addresses as references (``applications``: the names known, see ``application_of``)."""
    known = tuple(applications)
    parsed: list[Ref] = []
    for text in targets:
        try:
            parsed.append(parse_address(text, known))
        except AddressError as exc:
            raise PlanError([Diagnostic("error", f"--target {exc}")]) from None
    return tuple(parsed)


def unmatched_targets(
    texts: Sequence[str], targets: Sequence[Ref], declaration: Declaration, live: LiveState, binding: Binding
) -> list[Diagnostic]:
    """An error for each target that names nothing the configuration declares or the cluster holds (as far as
    this run read it: a targeted plan reads its targets), with a "did you mean" where only the case differs
    (names are case-sensitive, as on the server). A target that matches nothing must never read as
    "No changes. The cluster matches the configuration."."""
    known = _known_addresses(declaration, live, binding)
    by_folded: dict[str, list[str]] = {}
    for address in sorted(known):
        by_folded.setdefault(address.casefold(), []).append(address)
    errors: list[Diagnostic] = []
    for text, ref in zip(texts, targets, strict=True):
        if ref.address in known:
            continue
        message = f"--target {text} matches nothing in the configuration or on the cluster"
        near = by_folded.get(ref.address.casefold())
        if near:
            message += f"; did you mean {' or '.join(near)}? (names are case-sensitive)"
        errors.append(Diagnostic("error", message))
    return errors


def _known_addresses(declaration: Declaration, live: LiveState, binding: Binding) -> set[str]:
    known = {PolicyRef(name).address for name in (*declaration.policies, *live.policies)}
    known |= {level.ref.address for level in binding.levels}
    known |= {gone.address for gone in binding.missing}
    for declared in declaration.applications.values():
        known.add(EntityRef(declared.name).address)
        known |= {EntityRef(declared.name, svc.name).address for svc in declared.services}
    for app in live.applications.values():
        known.add(EntityRef(app.name).address)
        for live_svc in app.services or ():
            known.add(EntityRef(app.name, live_svc.name).address)
            known |= {EntityRef(app.name, live_svc.name, p.id).address for p in live_svc.partitions or ()}
    return known


def with_dependencies(changes: Sequence[Change], apps_mapped_now: Iterable[str]) -> list[Change]:
    """``changes`` with ``depends_on`` filled in: an enable waits for the creation of its policy; a suspend or
    resume in an application without any mapping yet waits for the enables there; a delete waits for every
    change that moves a mapping off the policy."""
    created = {c.target: c.id for c in changes if c.action is Action.CREATE_POLICY}
    enables_by_app: dict[str, list[str]] = {}
    moving_off: dict[str, list[str]] = {}
    for c in changes:
        if c.action is Action.ENABLE_BACKUP and c.application:
            enables_by_app.setdefault(c.application, []).append(c.id)
        if c.action in (Action.ENABLE_BACKUP, Action.DISABLE_BACKUP) and isinstance(c.before, str):
            moving_off.setdefault(c.before, []).append(c.id)
    mapped_now = set(apps_mapped_now)
    out: list[Change] = []
    for c in changes:
        deps: list[str] = []
        if c.action is Action.ENABLE_BACKUP and isinstance(c.after, str):
            dep = created.get(PolicyRef(c.after))
            if dep:
                deps.append(dep)
        elif c.action in (Action.SUSPEND_BACKUP, Action.RESUME_BACKUP) and c.application:
            if c.application not in mapped_now:
                deps.extend(enables_by_app.get(c.application, []))
        elif c.action is Action.DELETE_POLICY and isinstance(c.target, PolicyRef):
            deps.extend(moving_off.get(c.target.name, []))
        out.append(replace(c, depends_on=tuple(sorted(set(deps)))))
    return out


def filter_targets(changes: Sequence[Change], targets: Sequence[Ref]) -> list[Change]:
    """The changes inside ``targets`` and, transitively, the changes they depend on (all, without targets)."""
    if not targets:
        return list(changes)
    by_id = {c.id: c for c in changes}
    keep = {c.id for c in changes if within(c.target, targets)}
    pending = list(keep)
    while pending:
        for dep in by_id[pending.pop()].depends_on:
            if dep not in keep and dep in by_id:
                keep.add(dep)
                pending.append(dep)
    return [c for c in changes if c.id in keep]
