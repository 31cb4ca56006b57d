"""The values every stage shares: entity references, the declaration (desired state) and the live state.

All are frozen. Policy bodies stay in the REST API's own JSON shape (PascalCase field names) because that is
the configuration language's shape too; ``sfdeclare.servicefabric.policies`` gives them a canonical, comparable form.
Strings in a declared policy body may hold ``${env:NAME}`` / ``${file:PATH}`` references; they are resolved
only where a value must be sent (see ``sfdeclare.model.references``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.guardrails import NO_GUARDRAILS, Guardrails

Scope = Literal["declared", "cluster"]
EntityIdStyle = Literal["slash", "tilde"]
SelectorKind = Literal["id", "name", "low_key"]

SECRET_FIELDS: tuple[str, ...] = ("ConnectionString", "PrimaryPassword", "SecondaryPassword")
# ``policy: none`` / ``null`` / ``false`` (any case) mean "no mapping at this level"; they stay keywords, so a
# policy whose name is one of them is referenced as ``policy: {name: None}``.
NO_POLICY_KEYWORDS: tuple[str, ...] = ("none", "null", "false")


def is_no_policy_keyword(name: str) -> bool:
    """Whether a policy named ``name`` can only be referenced in the explicit form ``{name: ...}``."""
    return name.casefold() in NO_POLICY_KEYWORDS


def explicit_form(name: str) -> str:
    """``policy: {name: None}``: how a configuration references a policy whose name is a keyword."""
    return f"policy: {{name: {name}}}"


def keyword_message(written: str, name: str, where: str) -> str:
    """Why a bare ``policy: none`` next to a policy named None is refused, and the two unambiguous forms
    (``where``: "is declared (file:line)" or "exists on the cluster")."""
    other = "false" if written.casefold() == "null" else "null"
    return (
        f"`policy: {written}` is ambiguous here: a policy named {name} {where}; write `{explicit_form(name)}` "
        f"to map that policy, or `policy: {other}` for no mapping at this level"
    )


MASKED_SECRET = "****"
# Keys of cluster settings that hold credentials (always references): never quoted back in a message.
CREDENTIAL_FIELDS: tuple[str, ...] = (
    "token",
    "client_cert_password",
    "client_secret",
    "client_certificate_password",
)


# --- the declaration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDecl:
    """A declared backup policy. ``body`` is the REST BackupPolicyDescription without ``Name``."""

    name: str
    body: Mapping[str, Any]
    location: Location | None = None
    # where each field of the body was written, by dotted path ("Storage.ManagedIdentityClientId")
    field_locations: Mapping[str, Location] = field(default_factory=dict)

    def where(self, path: str) -> Location | None:
        """Where a field (or, failing that, its nearest written parent, or the policy) was written."""
        probe = path
        while probe:
            if probe in self.field_locations:
                return self.field_locations[probe]
            probe = probe.rpartition(".")[0]
        return self.location

    def secret_fields(self) -> tuple[str, ...]:
        storage = self.body.get("Storage")
        if not isinstance(storage, Mapping):
            return ()
        return tuple(f for f in SECRET_FIELDS if f in storage)


@dataclass(frozen=True)
class LevelSettings:
    """What the file says at one level (application, service or partition); None means "not written"."""

    policy: str | None = None
    suspended: bool | None = None
    clean_backup: bool | None = None
    location: Location | None = None
    policy_location: Location | None = None
    no_policy: str | None = None  # the keyword written for "no mapping here" (none / null / false), if any
    suspended_location: Location | None = None
    clean_backup_location: Location | None = None


@dataclass(frozen=True)
class PartitionSelector:
    """Exactly one way of naming a partition: its id, its Named partition name, or its Int64Range low key."""

    kind: SelectorKind
    value: str | int

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass(frozen=True)
class PartitionDecl:
    selector: PartitionSelector
    settings: LevelSettings = field(default_factory=LevelSettings)


@dataclass(frozen=True)
class ServiceDecl:
    name: str
    settings: LevelSettings = field(default_factory=LevelSettings)
    partitions: tuple[PartitionDecl, ...] = ()


@dataclass(frozen=True)
class ApplicationDecl:
    name: str
    settings: LevelSettings = field(default_factory=LevelSettings)
    services: tuple[ServiceDecl, ...] = ()


@dataclass(frozen=True)
class TlsSettings:
    """``cluster.tls``: the client certificate (PEM, or PFX/PKCS#12 with ``client_cert_password``, a reference)
    and how the server's certificate is verified: CA bundle or system store with host name (default), pinned
    thumbprints (any of a list), or common name with the issuer pinned by thumbprint (cluster/tls.py)."""

    client_cert: str | None = None
    client_key: str | None = None
    client_cert_password: str | None = None
    ca_bundle: str | None = None
    server_cert_thumbprints: tuple[str, ...] = ()
    server_common_name: str | None = None
    server_issuer_thumbprints: tuple[str, ...] = ()
    verify: bool = True


EntraCredential = Literal[
    "workload_identity",
    "azure_pipelines",
    "managed_identity",
    "azure_cli",
    "client_secret",
    "client_certificate",
]
ENTRA_CREDENTIALS: tuple[EntraCredential, ...] = (
    "workload_identity",
    "azure_pipelines",
    "managed_identity",
    "azure_cli",
    "client_secret",
    "client_certificate",
)


@dataclass(frozen=True)
class EntraAuth:
    """``cluster.auth: {kind: entra, ...}``: tokens for the cluster application from Microsoft Entra ID.

    ``tenant``, ``authority`` (the login host URL) and ``cluster_application`` override what the cluster
    publishes at GetAadMetadata; the credential is named, never guessed. Secrets (``client_secret``,
    ``client_certificate_password``) are ``${env:...}`` / ``${file:...}`` references."""

    credential: EntraCredential
    tenant: str | None = None
    authority: str | None = None
    cluster_application: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_certificate: str | None = None
    client_certificate_password: str | None = None
    token_file: str | None = None
    service_connection_id: str | None = None
    location: Location | None = None


RUNTIME_AUTO = "auto"


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach and speak to the cluster.

    ``runtime`` is ``auto`` (read from the cluster on every run) or a runtime it names; ``api_version`` is what
    the backup routes are sent, written (``api_version_location`` set) or derived from the runtime;
    ``validate_storage`` None means "on where the runtime supports ValidateConnection"."""

    endpoint: str | None = None
    api_version: str = "6.4"
    entity_ids: EntityIdStyle = "slash"
    tls: TlsSettings = field(default_factory=TlsSettings)
    token: str | None = None
    auth: EntraAuth | None = None
    location: Location | None = None
    runtime: str = RUNTIME_AUTO
    validate_storage: bool | None = None
    api_version_location: Location | None = None
    runtime_location: Location | None = None


@dataclass(frozen=True)
class Declaration:
    """The desired state: everything the configuration files say, with where each thing was said."""

    files: tuple[str, ...] = ()
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    scope: Scope = "declared"
    prune_policies: bool = False
    prune_match: str | None = None  # prune only the policies whose names match this glob (fnmatch)
    clean_backup: bool = False
    policies: Mapping[str, PolicyDecl] = field(default_factory=dict)
    applications: Mapping[str, ApplicationDecl] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    digest: str = ""
    base_dir: str = "."
    guardrails: Guardrails = (
        NO_GUARDRAILS  # every file's rules and the --guardrails files', tightened together
    )

    def iter_levels(self) -> Iterator[tuple[ApplicationDecl, ServiceDecl | None, PartitionDecl | None]]:
        for app in self.applications.values():
            yield app, None, None
            for svc in app.services:
                yield app, svc, None
                for part in svc.partitions:
                    yield app, svc, part

    def referenced_policies(self) -> tuple[str, ...]:
        """Every policy a level names, in declaration order (levels missing live still reference theirs)."""
        names: dict[str, None] = {}
        for app, svc, part in self.iter_levels():
            settings = part.settings if part else svc.settings if svc else app.settings
            if settings.policy is not None:
                names.setdefault(settings.policy)
        return tuple(names)

    def prunes(self, name: str) -> bool:
        """Whether ``prune_policies`` covers an undeclared policy of this name (its ``match`` pattern)."""
        return self.prune_policies and (self.prune_match is None or fnmatchcase(name, self.prune_match))


# --- the live state ------------------------------------------------------------------------------------------
