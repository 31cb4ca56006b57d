"""Service Fabric's inheritance, once: the nearest explicit level wins (partition > service > application),
for the backup policy and for the suspension alike (SF-BACKUP-API.md §5.4, rule 20).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from sfdeclare.model.addresses import EntityRef


@dataclass(frozen=True)
class Effective:
    """The policy and suspension that apply to one entity, and the level each comes from (its sentence:
    ``render.summaries.effective_text``)."""

    policy: str | None = None
    policy_from: str | None = None
    suspended: bool = False
    suspended_from: str | None = None


def effective(
    ref: EntityRef, mappings: Mapping[EntityRef, str], suspensions: Iterable[EntityRef] | frozenset[EntityRef]
) -> Effective:
    """The policy and suspension that apply to ``ref``: the nearest explicit level wins."""
    suspended = suspensions if isinstance(suspensions, (set, frozenset)) else frozenset(suspensions)
    result = NOTHING
    for node in reversed(ref.lineage()):
        result = inherit(result, node, mappings, suspended)
    return result


NOTHING = Effective()


def inherit(
    parent: Effective, ref: EntityRef, mappings: Mapping[EntityRef, str], suspensions: AbstractSet[EntityRef]
) -> Effective:
    """``ref``'s settings given its parent's (``NOTHING`` above an application): its own mapping or suspension
    wins where it has one. Walking an application's entities top-down, each inherits its parent's result."""
    policy = mappings.get(ref)
    suspended_here = ref in suspensions
    if policy is None and not suspended_here:
        return parent
    return Effective(
        policy if policy is not None else parent.policy,
        ref.level if policy is not None else parent.policy_from,
        suspended_here or parent.suspended,
        ref.level if suspended_here else parent.suspended_from,
    )
