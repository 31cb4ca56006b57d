"""The figures of a plan's impact on backups (per partition, per application, overall) and their published
JSON form (a plan file's ``impact``), both ways, so the values and their file form change together. Computed
by ``engine/impact.py``; carried by ``engine/plan.Plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sfdeclare.model.inheritance import Effective
from sfdeclare.servicefabric.backup_schedule import PolicyImpact


@dataclass(frozen=True)
class Totals:
    """Sums over a set of partitions: how many, how many take backups (``protected``), are ``suspended``, use a
    policy whose body is not known (``unpriced``) or keep backups for ever (``unbounded``, left out of
    ``restore_points``, which is (fewest, most) summed)."""

    partitions: int = 0
    protected: int = 0
    suspended: int = 0
    unpriced: int = 0
    unbounded: int = 0
    backups_per_day: Fraction = Fraction(0)
    full_per_day: Fraction = Fraction(0)
    incremental_per_day: Fraction = Fraction(0)
    restore_points: tuple[int, int] = (0, 0)

    def plus(self, other: Totals) -> Totals:
        return Totals(
            self.partitions + other.partitions,
            self.protected + other.protected,
            self.suspended + other.suspended,
            self.unpriced + other.unpriced,
            self.unbounded + other.unbounded,
            self.backups_per_day + other.backups_per_day,
            self.full_per_day + other.full_per_day,
            self.incremental_per_day + other.incremental_per_day,
            (
                self.restore_points[0] + other.restore_points[0],
                self.restore_points[1] + other.restore_points[1],
            ),
        )


def priced(setting: Effective, impact: PolicyImpact | None, count: int = 1) -> Totals:
    """``count`` partitions with ``setting``, priced with their policy's ``impact`` (None: body unknown)."""
    if setting.policy is None:
        return Totals(partitions=count)
    if setting.suspended:
        return Totals(partitions=count, suspended=count)
    if impact is None:
        return Totals(partitions=count, unpriced=count)
    points = impact.restore_points
    return Totals(
        partitions=count,
        protected=count,
        unbounded=count if points is None else 0,
        backups_per_day=impact.backups_per_day * count,
        full_per_day=impact.full_per_day * count,
        incremental_per_day=impact.incremental_per_day * count,
        restore_points=(0, 0) if points is None else (points[0] * count, points[1] * count),
    )


@dataclass(frozen=True)
class ApplicationImpact:
    """One application's partitions whose backups the plan changes, priced before and after."""

    application: str
    before: Totals = Totals()
    after: Totals = Totals()
    services_gaining: int = 0  # services that take no backups now (none, or suspended) and will
    services_losing: int = 0  # services that take backups now and will not
    unknown_services: int = 0  # services the plan changes whose partition count is not known


@dataclass(frozen=True)
class PlanImpact:
    """The impact of a plan: per-partition figures of every policy before and after, and the totals over the
    partitions whose backups change (the others cost the same before and after), per application and overall."""

    policies_before: Mapping[
        str, PolicyImpact
    ]  # the policies the changed partitions use now, or the plan changes
    policies_after: Mapping[str, PolicyImpact]  # the same, once the plan is applied
    applications: tuple[ApplicationImpact, ...]
    before: Totals
    after: Totals

    @property
    def unknown_services(self) -> int:
        return sum(a.unknown_services for a in self.applications)

    @property
    def services_gaining(self) -> int:
        return sum(a.services_gaining for a in self.applications)

    @property
    def services_losing(self) -> int:
        return sum(a.services_losing for a in self.applications)

    def application(self, name: str) -> ApplicationImpact | None:
        return next((a for a in self.applications if a.application == name), None)


def shown(value: Fraction) -> int | float:
    """A rate as plan files and every view show it: a whole number, or rounded to two decimals. Plan files store
    this value, so a plan rendered again from its file reads the same as when it was made."""
    return int(value) if value.denominator == 1 else round(float(value), 2)


def _rate(value: Any) -> Fraction:
    return Fraction(str(value))


def _points_json(points: tuple[int, int] | None) -> dict[str, int] | None:
    return None if points is None else {"fewest": points[0], "most": points[1]}


def _points_from(data: Any) -> tuple[int, int] | None:
    return None if data is None else (int(data["fewest"]), int(data["most"]))


def policy_json(impact: PolicyImpact) -> dict[str, Any]:
    return {
        "schedule": impact.schedule,
        "backups_per_day": shown(impact.backups_per_day),
        "full_per_day": shown(impact.full_per_day),
        "incremental_per_day": shown(impact.incremental_per_day),
        "restore_points": _points_json(impact.restore_points),
    }


def _policy_from(data: Mapping[str, Any]) -> PolicyImpact:
    return PolicyImpact(
        _rate(data["backups_per_day"]),
        _rate(data["full_per_day"]),
        _rate(data["incremental_per_day"]),
        _points_from(data.get("restore_points")),
        str(data["schedule"]),
    )


def totals_json(t: Totals) -> dict[str, Any]:
    return {
        "partitions": t.partitions,
        "protected": t.protected,
        "suspended": t.suspended,
        "unpriced": t.unpriced,
        "unbounded": t.unbounded,
        "backups_per_day": shown(t.backups_per_day),
        "full_per_day": shown(t.full_per_day),
        "incremental_per_day": shown(t.incremental_per_day),
        "restore_points": _points_json(t.restore_points),
    }


def _totals_from(data: Mapping[str, Any]) -> Totals:
    points = _points_from(data["restore_points"]) or (0, 0)
    return Totals(
        int(data["partitions"]),
        int(data["protected"]),
        int(data["suspended"]),
        int(data["unpriced"]),
        int(data["unbounded"]),
        _rate(data["backups_per_day"]),
        _rate(data["full_per_day"]),
        _rate(data["incremental_per_day"]),
        points,
    )


def impact_json(impact: PlanImpact) -> dict[str, Any]:
    """The impact as a plan file holds it (schemas/plan.schema.json ``$defs/impact``)."""
    return {
        "policies": {
            "before": {name: policy_json(i) for name, i in impact.policies_before.items()},
            "after": {name: policy_json(i) for name, i in impact.policies_after.items()},
        },
        "applications": [
            {
                "application": a.application,
                "services_gaining": a.services_gaining,
                "services_losing": a.services_losing,
                "unknown_services": a.unknown_services,
                "before": totals_json(a.before),
                "after": totals_json(a.after),
            }
            for a in impact.applications
        ],
        "before": totals_json(impact.before),
        "after": totals_json(impact.after),
    }


def impact_from_json(data: Mapping[str, Any]) -> PlanImpact:
    """The impact from a plan file's ``impact``; raises KeyError, TypeError or ValueError on a malformed one."""
    policies = data["policies"]
    return PlanImpact(
        {str(n): _policy_from(p) for n, p in policies["before"].items()},
        {str(n): _policy_from(p) for n, p in policies["after"].items()},
        tuple(
            ApplicationImpact(
                str(a["application"]),
                _totals_from(a["before"]),
                _totals_from(a["after"]),
                int(a["services_gaining"]),
                int(a["services_losing"]),
                int(a["unknown_services"]),
            )
            for a in data["applications"]
        ),
        _totals_from(data["before"]),
        _totals_from(data["after"]),
    )
