"""The plan as a value: a closed set of actions, ordered in phases, each with its target, before, after, a reason
and its request. The published JSON form of a plan lives in ``engine/planfile.py``; sentences about a plan in
``render/summaries.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeAlias

from sfdeclare.engine.impact_figures import PlanImpact
from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.inheritance import Effective
from sfdeclare.model.live import LiveState
from sfdeclare.model.scope import ReadScope
from sfdeclare.servicefabric.policies import FieldChange
from sfdeclare.servicefabric.routes import WireRequest


class Action(str, Enum):
    """What a change does; closed, each with its phase (policies first, deletes last)."""

    CREATE_POLICY = "create_policy"
    UPDATE_POLICY = "update_policy"
    ENABLE_BACKUP = "enable_backup"
    SUSPEND_BACKUP = "suspend_backup"
    RESUME_BACKUP = "resume_backup"
    DISABLE_BACKUP = "disable_backup"
    DELETE_POLICY = "delete_policy"

    @property
    def phase(self) -> int:
        return _PHASES[self]

    @property
    def on_policy(self) -> bool:
        """Whether the action's target is a policy (else an application, service or partition)."""
        return self in _POLICY_ACTIONS


_PHASES: dict[Action, int] = {
    Action.CREATE_POLICY: 1,
    Action.UPDATE_POLICY: 1,
    Action.ENABLE_BACKUP: 2,
    Action.SUSPEND_BACKUP: 3,
    Action.RESUME_BACKUP: 3,
    Action.DISABLE_BACKUP: 4,
    Action.DELETE_POLICY: 5,
}
_POLICY_ACTIONS = frozenset({Action.CREATE_POLICY, Action.UPDATE_POLICY, Action.DELETE_POLICY})

PHASE_NAMES: dict[int, str] = {
    1: "policies",
    2: "enable",
    3: "suspend/resume",
    4: "disable",
    5: "delete policies",
}

PolicyBody: TypeAlias = Mapping[str, Any]
"""A policy body as JSON: live ones as read back (secrets ``****``), declared ones with secrets as references."""

Value: TypeAlias = PolicyBody | str | bool | None
"""What ``Change.before`` / ``Change.after`` hold: a policy body, a policy name, a suspension flag or nothing."""


@dataclass(frozen=True)
class Change:
    """One action of a plan on one target (Terraform's ``plans.Change``).

    ``before`` is what the cluster holds, ``after`` what it will hold, by action:

    ================  ========================================  ====================================
    action            before                                    after
    ================  ========================================  ====================================
    create_policy     None                                      the declared body (PolicyBody)
    update_policy     the live body (PolicyBody, secrets ****)  the declared body (PolicyBody)
    delete_policy     the live body (PolicyBody)                None
    enable_backup     the policy mapped at this level, or None  the declared policy name (str)
    disable_backup    the policy mapped at this level (str)     None
    suspend_backup    suspended at this level now (bool)        True
    resume_backup     suspended at this level now (bool)        False
    ================  ========================================  ====================================

    A suspension the cluster hides (SF-BACKUP-API.md §5.4) reads ``before: False``. Policy actions target a
    PolicyRef, the others an EntityRef. ``reason`` is for people only: no decision may read it. ``fields`` are the
    differing fields of an update; ``depends_on`` the ids of changes that must apply first.
    """

    target: EntityRef | PolicyRef
    action: Action
    before: Value
    after: Value
    reason: str
    request: WireRequest
    location: Location | None = None
    destructive: bool = False
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return self.target.address

    @property
    def application(self) -> str | None:
        """The application an entity change acts in; None for a policy change."""
        return self.target.application if isinstance(self.target, EntityRef) else None

    @property
    def id(self) -> str:
        """Unique inside a plan: an address has at most one action of each kind."""
        return f"{self.action.value}:{self.address}"

    @property
    def phase(self) -> int:
        return self.action.phase

    @property
    def policy_name(self) -> str | None:
        """The policy this change is about: the target of a policy action, the policy an enable maps."""
        if isinstance(self.target, PolicyRef):
            return self.target.name
        if self.action is Action.ENABLE_BACKUP and isinstance(self.after, str):
            return self.after
        return None


@dataclass(frozen=True)
class EffectiveChange:
    """An entity whose effective policy or suspension differs before and after the plan."""

    address: str
    before: Effective
    after: Effective
    backups_deleted: bool = False  # a clean_backup disable deletes its stored backups


@dataclass(frozen=True)
class Plan:
    """A plan: its changes in apply order, what it was made from (endpoint, API options, digests, read scope)
    and the entities whose effective settings it changes (``services_changed`` / ``partitions_changed`` count
    those whose effective policy or suspension changes; ``partitions_unread``: how many of those services had
    their partitions not read, so their partitions are not counted); ``impact`` is what it changes in backups
    per day and restore points (None for a plan file of format version 1, which did not hold it)."""

    tool_version: str
    endpoint: str
    api_version: str
    entity_ids: str
    config_digest: str
    live_digest: str
    read_scope: ReadScope
    changes: tuple[Change, ...] = ()
    effective_changes: tuple[EffectiveChange, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    refresh_secrets: bool = False
    partitions_changed: int = 0
    services_changed: int = 0
    impact: PlanImpact | None = None
    partitions_unread: int = 0

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts["destructive"] = sum(1 for c in self.changes if c.destructive)
        counts["services_effective_changed"] = self.services_changed
        counts["partitions_effective_changed"] = self.partitions_changed
        counts["services_partitions_not_read"] = self.partitions_unread
        return counts

    def phases(self) -> list[tuple[int, list[Change]]]:
        grouped: dict[int, list[Change]] = {}
        for change in self.changes:
            grouped.setdefault(change.phase, []).append(change)
        return sorted(grouped.items())


def ordered(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Apply order: by phase, then application, level (application, service, partition) and address."""
    return tuple(sorted(changes, key=_order_key))


_LEVEL_RANK = {"Application": 1, "Service": 2, "Partition": 3}


def _order_key(c: Change) -> tuple[int, str, int, str, str]:
    rank = _LEVEL_RANK[c.target.level] if isinstance(c.target, EntityRef) else 0
    return (c.phase, c.application or "", rank, c.address, c.action.value)


def state_after(
    live: LiveState, changes: Iterable[Change]
) -> tuple[dict[EntityRef, str], frozenset[EntityRef]]:
    """The explicit mappings and suspensions the cluster holds once ``changes`` are applied."""
    mappings = dict(live.mappings)
    suspensions = set(live.suspensions)
    for change in changes:
        ref = change.target
        if not isinstance(ref, EntityRef):
            continue
        if change.action is Action.ENABLE_BACKUP and isinstance(change.after, str):
            mappings[ref] = change.after
        elif change.action is Action.DISABLE_BACKUP:
            mappings.pop(ref, None)
        elif change.action is Action.SUSPEND_BACKUP:
            suspensions.add(ref)
        elif change.action is Action.RESUME_BACKUP:
            suspensions.discard(ref)
    return mappings, frozenset(suspensions)
