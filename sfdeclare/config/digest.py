"""The digest of a declaration: what it says (its meaning), without where it was said, hashed. A plan file
records it so that `apply --plan` can refuse a plan made from a configuration that has changed since."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sfdeclare.model.declaration import RUNTIME_AUTO, Declaration, LevelSettings


def _settings_meaning(settings: LevelSettings) -> dict[str, Any]:
    return {"policy": settings.policy, "suspended": settings.suspended, "clean_backup": settings.clean_backup}


def meaning(declaration: Declaration) -> dict[str, Any]:
    """What the declaration says, without where it was said: the input of the digest."""
    tls = declaration.cluster.tls
    pinned = tls.server_cert_thumbprints
    tls_meaning: dict[str, Any] = {
        "client_cert": tls.client_cert,
        "client_key": tls.client_key,
        "ca_bundle": tls.ca_bundle,
        "server_cert_thumbprint": pinned[0] if len(pinned) == 1 else (list(pinned) or None),
        "verify": tls.verify,
    }
    # settings added later enter the meaning only when set, so the digests of older configurations stay
    extra = {
        "client_cert_password": tls.client_cert_password,
        "server_common_name": tls.server_common_name,
        "server_issuer_thumbprints": list(tls.server_issuer_thumbprints) or None,
    }
    tls_meaning.update({k: v for k, v in extra.items() if v is not None})
    cluster: dict[str, Any] = {
        "endpoint": declaration.cluster.endpoint,
        "api_version": declaration.cluster.api_version,
        "entity_ids": declaration.cluster.entity_ids,
        "token": declaration.cluster.token,
        "tls": tls_meaning,
    }
    # the runtime settings enter it the same way: only when set (auto, derived and runtime-decided are unset)
    if declaration.cluster.api_version_location is not None:
        cluster["api_version_written"] = True
    if declaration.cluster.runtime != RUNTIME_AUTO:
        cluster["runtime"] = declaration.cluster.runtime
    if declaration.cluster.validate_storage is not None:
        cluster["validate_storage"] = declaration.cluster.validate_storage
    if declaration.cluster.auth is not None:
        cluster["auth"] = {k: v for k, v in vars(declaration.cluster.auth).items() if k != "location"}
    # prune_policies: {match: ...} the same way: only when written
    prune: dict[str, Any] = (
        {} if declaration.prune_match is None else {"prune_match": declaration.prune_match}
    )
    return {
        "cluster": cluster,
        "scope": declaration.scope,
        "prune_policies": declaration.prune_policies,
        **prune,
        "clean_backup": declaration.clean_backup,
        "policies": {name: dict(p.body) for name, p in declaration.policies.items()},
        "applications": {
            name: {
                **_settings_meaning(app.settings),
                "services": {
                    svc.name: {
                        **_settings_meaning(svc.settings),
                        "partitions": sorted(
                            (
                                {
                                    "selector": [p.selector.kind, p.selector.value],
                                    **_settings_meaning(p.settings),
                                }
                                for p in svc.partitions
                            ),
                            key=lambda item: json.dumps(item, sort_keys=True, default=str),
                        ),
                    }
                    for svc in app.services
                },
            }
            for name, app in declaration.applications.items()
        },
    }


def digest(declaration: Declaration) -> str:
    """sha256 of the declaration's meaning: the same whatever the file split, key order or comments."""
    text = json.dumps(
        meaning(declaration), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
