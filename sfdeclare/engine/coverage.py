"""Backup coverage: how many stateful services with persisted state of the declared applications have an
effective backup policy on the cluster (partition > service > application), and which do not. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.inheritance import effective
from sfdeclare.model.live import LiveState


@dataclass(frozen=True)
class ServiceCoverage:
    """One stateful persisted service of a declared application without an effective policy everywhere."""

    service: str
    partitions_total: int | None  # None: partitions not read
    partitions_covered: int | None
    partial: bool  # some partitions are mapped explicitly, not all (or not known to be all)


@dataclass(frozen=True)
class Coverage:
    """Counts over the stateful persisted services of the declared applications (sentence: render.summaries)."""

    services_total: int = 0
    services_covered: int = 0
    services_suspended: int = 0
    without: tuple[ServiceCoverage, ...] = ()
    partitions_known: int = 0
    partitions_covered: int = 0


def coverage(live: LiveState, applications: Iterable[str]) -> Coverage:
    """The coverage of ``applications`` (those the cluster has) as the cluster holds it now."""
    total = covered = suspended = known = known_covered = 0
    without: list[ServiceCoverage] = []
    mappings = live.mappings
    for app_name in sorted(applications):
        live_app = live.applications.get(app_name)
        if live_app is None:
            continue
        for svc in sorted(live_app.services or (), key=lambda s: s.name):
            if not svc.backup_eligible:
                continue
            total += 1
            eff = effective(EntityRef(app_name, svc.name), mappings, live.suspensions)
            parts = svc.partitions
            part_covered: int | None = None
            if parts is not None:
                part_covered = sum(
                    1 for p in parts if effective(EntityRef(app_name, svc.name, p.id), mappings, ()).policy
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
