"""``--replace`` and ``--exclude``: which changes a plan adds to re-send things unchanged, and which it leaves out.

Both read addresses with the one parser (model/addresses.py) and are refused, before anything is sent, when an
address matches nothing. ``--replace policy[P]`` re-sends a declared policy unchanged (Microsoft's mitigation
for the 8.2 CU6 to 9.1 "backups stop after upgrade" breakage is to re-send each policy, Service Fabric release
notes 8.2 CU6 / 9.0 CU3 / 9.1); ``--replace`` of an application, service or partition re-sends the mapping the
configuration declares at exactly that level. A policy only referenced cannot be re-sent: the cluster reads its
secrets back masked. ``--exclude ADDRESS`` is the opposite of ``--target``: the changes inside it are left out,
and so, transitively, is every change that waits for one of them (engine/dependencies.py), each listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sfdeclare.engine.diff import PolicyComparison
from sfdeclare.engine.plan import Action, Change
from sfdeclare.errors import Diagnostic, Location, PlanError
from sfdeclare.model.addresses import AddressError, EntityRef, PolicyRef, Ref, contains, parse_address, within
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric import routes
from sfdeclare.servicefabric.policies import request_body


def parse(option: str, addresses: Iterable[str], applications: Iterable[str]) -> tuple[tuple[str, Ref], ...]:
    known = tuple(applications)
    parsed: list[tuple[str, Ref]] = []
    problems: list[Diagnostic] = []
    for text in addresses:
        try:
            parsed.append((text, parse_address(text, known)))
        except AddressError as exc:
            problems.append(Diagnostic("error", f"{option} {exc}"))
    if problems:
        raise PlanError(problems)
    return tuple(parsed)


def known_refs(live: LiveState, declared: Iterable[Ref]) -> set[Ref]:
    """Everything an address can name in this run: declared and live policies and entities, and the live
    explicit mappings and suspensions."""
    found: set[Ref] = set(declared)
    found |= {PolicyRef(name) for name in live.policies}
    for app in live.applications.values():
        found.add(EntityRef(app.name))
        for svc in app.services or ():
            found.add(EntityRef(app.name, svc.name))
            found |= {EntityRef(app.name, svc.name, p.id) for p in svc.partitions or ()}
    found |= set(live.mappings) | set(live.suspensions)
    return found


def check_matches(option: str, addresses: Sequence[tuple[str, Ref]], known: set[Ref]) -> None:
    """Refuse an address that names nothing the configuration or the cluster has."""
    problems = [
        Diagnostic(
            "error",
            f"{option} {text} matches nothing: no policy, application, service or partition of the "
            "configuration or the cluster is at or inside that address",
        )
        for text, ref in addresses
        if not any(contains(ref, other) for other in known)
    ]
    if problems:
        raise PlanError(problems)


def exclude(
    changes: Sequence[Change], excluded: Sequence[tuple[str, Ref]]
) -> tuple[list[Change], list[Diagnostic]]:
    """The changes outside ``excluded`` that wait for none left out; a warning lists each one left out only
    because it waits for an excluded one."""
    if not excluded:
        return list(changes), []
    refs = [ref for _, ref in excluded]
    out = {c.id for c in changes if within(c.target, refs)}
    why: dict[str, str] = {}
    grew = True
    while grew:
        grew = False
        for c in changes:
            if c.id in out:
                continue
            waits = next((dep for dep in c.depends_on if dep in out), None)
            if waits is not None:
                out.add(c.id)
                why[c.id] = waits
                grew = True
    notes = [
        Diagnostic(
            "warning",
            f"--exclude: {c.action.value} {c.address} is left out too: it waits for {why[c.id].replace(':', ' ', 1)}",
        )
        for c in changes
        if c.id in why
    ]
    return [c for c in changes if c.id not in out], notes


class Replacement:
    """The facts ``--replace`` needs from the planner: declared policies and their bodies' requests, declared
    mappings by level, and the live mappings."""

    def __init__(
        self,
        declared_policies: Mapping[str, Location | None],
        declared_mappings: Mapping[EntityRef, tuple[str, Location | None]],
        live: LiveState,
    ) -> None:
        self.declared_policies = declared_policies
        self.declared_mappings = declared_mappings
        self.live = live

    def refusal(self, text: str, ref: Ref) -> str | None:
        if isinstance(ref, PolicyRef):
            if ref.name in self.declared_policies:
                return None
            if ref.name in self.live.policies:
                return (
                    f"--replace {text}: policy {ref.name} is only referenced, not declared: the cluster reads its "
                    "secrets back masked (****), so its body cannot be re-sent; declare it to re-send it"
                )
            return f"--replace {text} matches nothing: no declared policy {ref.name}"
        if ref in self.declared_mappings:
            return None
        return (
            f"--replace {text} matches nothing: the configuration declares no policy at exactly {ref.address} "
            "(--replace re-sends a declared policy or the mapping declared at that level)"
        )

    def check(self, addresses: Sequence[tuple[str, Ref]]) -> None:
        problems = [Diagnostic("error", r) for text, ref in addresses if (r := self.refusal(text, ref))]
        if problems:
            raise PlanError(problems)


def planned(changes: Sequence[Change], ref: Ref, action: Action) -> bool:
    return any(c.target == ref and c.action is action for c in changes)


def _where(loc: Location | None) -> str:
    return f" ({loc})" if loc is not None else ""


def replacement_changes(
    replacements: Sequence[tuple[str, Ref]],
    changes: Sequence[Change],
    policies: Iterable[PolicyComparison],
    declared_mappings: Mapping[EntityRef, tuple[str, Location | None]],
    live: LiveState,
    api: routes.ApiOptions,
) -> list[Change]:
    """The changes ``--replace`` adds: an update of each named declared policy that exists on the cluster and
    an enable of each named declared mapping, each sent unchanged, unless ``changes`` already send it."""
    comparisons = {c.name: c for c in policies}
    added: list[Change] = []
    for text, ref in replacements:
        if isinstance(ref, PolicyRef):
            comparison = comparisons.get(ref.name)
            if (
                comparison is None
                or comparison.unresolved is not None
                or comparison.live is None
                or planned([*changes, *added], ref, Action.UPDATE_POLICY)
            ):
                continue  # created anyway, already re-sent, or its references are reported missing
            loc = comparison.declared.location
            body = comparison.body
            added.append(
                Change(
                    target=ref,
                    action=Action.UPDATE_POLICY,
                    before=dict(comparison.live),
                    after={k: (dict(v) if isinstance(v, Mapping) else v) for k, v in body.items()},
                    reason=f"--replace {text}: re-send the policy declared{_where(loc)} unchanged",
                    request=routes.update_policy(ref.name, request_body(body), api),
                    location=loc,
                )
            )
        elif not planned([*changes, *added], ref, Action.ENABLE_BACKUP):
            policy, loc = declared_mappings[ref]
            added.append(
                Change(
                    target=ref,
                    action=Action.ENABLE_BACKUP,
                    before=live.mappings.get(ref),
                    after=policy,
                    reason=f"--replace {text}: re-send the mapping declared{_where(loc)} unchanged",
                    request=routes.enable_backup(ref, policy, api),
                    location=loc,
                )
            )
    return added
