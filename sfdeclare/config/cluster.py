"""The ``cluster:`` section -> ClusterSettings, with the rules that span its keys (each reported at its line).

The schema checks each key's shape (secrets such as ``client_cert_password`` and ``client_secret`` must be
``${env:...}`` / ``${file:...}`` references there); here: ``token`` and ``auth`` exclude each other, pinned
thumbprints exclude a common name, issuer thumbprints need a common name, each Entra credential has the
settings it needs, and a named ``runtime`` is one sfdeclare knows (servicefabric/runtimes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sfdeclare.errors import Location
from sfdeclare.model.declaration import (
    ENTRA_CREDENTIALS,
    RUNTIME_AUTO,
    ClusterSettings,
    EntraAuth,
    EntraCredential,
    TlsSettings,
)
from sfdeclare.safeyaml.reader import Source
from sfdeclare.servicefabric import runtimes

# What each credential needs besides the discovered (or overridden) tenant, authority and cluster application.
REQUIRED: dict[str, tuple[str, ...]] = {
    "workload_identity": (),  # client_id and token_file default to AZURE_CLIENT_ID / AZURE_FEDERATED_TOKEN_FILE
    "azure_pipelines": ("client_id", "service_connection_id"),
    "managed_identity": (),  # client_id names a user-assigned identity
    "azure_cli": (),
    "client_secret": ("client_id", "client_secret"),
    "client_certificate": ("client_id", "client_certificate"),
}
_ONLY_FOR = {
    "client_secret": ("client_secret",),
    "client_certificate": ("client_certificate",),
    "client_certificate_password": ("client_certificate",),
    "token_file": ("workload_identity",),
    "service_connection_id": ("azure_pipelines",),
}


def _text(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _texts(mapping: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = mapping.get(key)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def cluster_settings(
    node: Mapping[str, Any], source: Source, error: Callable[[str, Location | None], None]
) -> ClusterSettings:
    location = source.location(("cluster",), key=True)
    tls_node = node.get("tls") if isinstance(node.get("tls"), Mapping) else {}
    assert isinstance(tls_node, Mapping)
    api_version = node.get("api_version", "6.4")
    if isinstance(api_version, float):
        api_version = repr(api_version)
    elif isinstance(api_version, int) and not isinstance(api_version, bool):
        api_version = f"{api_version}.0"
    entity_ids = node.get("entity_ids")
    runtime = node.get("runtime", RUNTIME_AUTO)
    if isinstance(runtime, (int, float)) and not isinstance(runtime, bool):
        runtime = repr(float(runtime)) if isinstance(runtime, float) else f"{runtime}.0"
    runtime_location = source.location(("cluster", "runtime")) if "runtime" in node else None
    if isinstance(runtime, str) and runtime != RUNTIME_AUTO:
        try:
            runtimes.parse(runtime)
        except ValueError as exc:
            error(f"cluster.runtime: {exc}", runtime_location)
            runtime = RUNTIME_AUTO
    validate_storage = node.get("validate_storage")
    verify = tls_node.get("verify")
    tls = TlsSettings(
        client_cert=_text(tls_node, "client_cert"),
        client_key=_text(tls_node, "client_key"),
        client_cert_password=_text(tls_node, "client_cert_password"),
        ca_bundle=_text(tls_node, "ca_bundle"),
        server_cert_thumbprints=_texts(tls_node, "server_cert_thumbprint"),
        server_common_name=_text(tls_node, "server_common_name"),
        server_issuer_thumbprints=_texts(tls_node, "server_issuer_thumbprints"),
        verify=verify if isinstance(verify, bool) else True,
    )
    if tls.server_cert_thumbprints and tls.server_common_name:
        error(
            "cluster.tls: set server_cert_thumbprint or server_common_name, not both",
            source.location(("cluster", "tls", "server_common_name"), key=True),
        )
    if tls.server_issuer_thumbprints and not tls.server_common_name:
        error(
            "cluster.tls.server_issuer_thumbprints needs server_common_name (the issuer of which certificate?)",
            source.location(("cluster", "tls", "server_issuer_thumbprints"), key=True),
        )
    if tls.client_cert_password and not tls.client_cert:
        error(
            "cluster.tls.client_cert_password is set without client_cert",
            source.location(("cluster", "tls", "client_cert_password"), key=True),
        )
    auth = _auth(node, source, error)
    token = _text(node, "token")
    if auth is not None and token is not None:
        error(
            "cluster.token and cluster.auth are both set: use one (auth gets and refreshes Entra ID tokens; "
            "token is a static bearer token)",
            source.location(("cluster", "auth"), key=True),
        )
    return ClusterSettings(
        endpoint=_text(node, "endpoint"),
        api_version=api_version if isinstance(api_version, str) else "6.4",
        api_version_location=source.location(("cluster", "api_version")) if "api_version" in node else None,
        runtime=runtime if isinstance(runtime, str) else RUNTIME_AUTO,
        runtime_location=runtime_location,
        validate_storage=validate_storage if isinstance(validate_storage, bool) else None,
        entity_ids="tilde" if entity_ids == "tilde" else "slash",
        tls=tls,
        token=token,
        auth=auth,
        location=location,
    )


def _auth(
    node: Mapping[str, Any], source: Source, error: Callable[[str, Location | None], None]
) -> EntraAuth | None:
    auth = node.get("auth")
    if not isinstance(auth, Mapping) or auth.get("kind") != "entra":
        return None
    where = source.location(("cluster", "auth"), key=True)
    credential = auth.get("credential")
    if credential not in ENTRA_CREDENTIALS:
        return None  # the schema reported it
    for key in REQUIRED[credential]:
        if not _text(auth, key):
            error(f"cluster.auth: credential {credential} needs {key}", where)
    for key, kinds in _ONLY_FOR.items():
        if key in auth and credential not in kinds:
            error(
                f"cluster.auth.{key} is for credential {' or '.join(kinds)}, not {credential}",
                source.location(("cluster", "auth", key), key=True),
            )
    return EntraAuth(
        credential=cast(EntraCredential, credential),
        tenant=_text(auth, "tenant"),
        authority=_text(auth, "authority"),
        cluster_application=_text(auth, "cluster_application"),
        client_id=_text(auth, "client_id"),
        client_secret=_text(auth, "client_secret"),
        client_certificate=_text(auth, "client_certificate"),
        client_certificate_password=_text(auth, "client_certificate_password"),
        token_file=_text(auth, "token_file"),
        service_connection_id=_text(auth, "service_connection_id"),
        location=where,
    )
