"""The digest of a live state: what a plan file records so that ``apply --plan`` can refuse a plan made from
a cluster that has changed since.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sfdeclare.engine.planfile import canonical_json
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric.policies import canonical, unmodelled


def live_digest(live: LiveState) -> str:
    """A digest of everything in the live state that a plan depends on."""
    apps: dict[str, Any] = {}
    for name, app in sorted(live.applications.items()):
        services = None
        if app.services is not None:
            services = [
                [
                    s.name,
                    s.kind,
                    s.has_persisted_state,
                    None
                    if s.partitions is None
                    else [[p.id, p.kind, p.low_key, p.name] for p in s.partitions],
                ]
                for s in sorted(app.services, key=lambda s: s.name)
            ]
        apps[name] = services
    data = {
        "runtime": live.runtime,
        "policies": {
            name: [canonical(body), unmodelled(body)] for name, body in sorted(live.policies.items())
        },
        "mappings": sorted([*ref.sort_key(), policy] for ref, policy in live.mappings.items()),
        "suspensions": sorted(list(ref.sort_key()) for ref in live.suspensions),
        "configured": sorted(live.configured_applications),
        "applications": apps,
        "policy_entities": {
            name: sorted(list(r.sort_key()) for r in refs)
            for name, refs in sorted(live.policy_entities.items())
        },
    }
    if live.gone_entities:  # only when pruning found some, so a digest without them stays what it was
        data["gone"] = sorted(list(r.sort_key()) for r in live.gone_entities)
    return "sha256:" + hashlib.sha256(canonical_json(data).encode()).hexdigest()
