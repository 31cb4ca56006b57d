"""``ValidateConnection=true``: the server checks a policy's storage before it accepts the policy.

Facts: the query parameter is on Create and Update from REST spec 8.0; Service Fabric Explorer always sends it;
an 8.x+ server then refuses storage it cannot reach or authenticate to. What exactly it checks, and the error it
answers with, are not public. The emulator's model (documented in docs/emulator.md):

- The topology's ``storage:`` section (``storage_topology``) is what the cluster can reach. Without one, every
  storage passes, so topologies that predate it keep working.
- AzureBlobStore: the ConnectionString's account (AccountName, or the BlobEndpoint host) must be declared, its
  AccountKey one of the account's keys, and the container one of its containers. Other credentials (a
  SharedAccessSignature) cannot be checked against the topology and are refused as such.
- ManagedIdentityAzureBlobStore: BlobServiceUri must be a declared account's, the container one of its
  containers, and the cluster must have the identity (ManagedIdentityType, plus ManagedIdentityClientId for a
  user-assigned one) with a role that can write blobs (Owner or Contributor) on that container.
- FileShare: the path must be declared; a share that declares credentials needs the primary or the secondary
  pair to match.
- DsmsAzureBlobStore: not checked (the emulator has no dSMS).

ASSUMED error: 400 ``E_INVALIDARG`` (``REFUSED_CODE``). Reasoning: the 6.4 service maps argument errors to
E_INVALIDARG, every other refusal of a policy body is E_INVALIDARG, and a client must treat a refused storage as
a permanent error of the request (retrying cannot fix it), which a 400 says and a 5xx would not. Messages name
the account, container, path or identity, never a key, password or connection string.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.state import Tx
from sfdeclare.emulator.storage_topology import WRITER_ROLES, BlobAccount, StorageSection, blob_uri, digest

STORAGE_META = "storage"
REFUSED_CODE = fe.INVALID_ARG
REFUSED_STATUS = 400


def stored_section(tx: Tx) -> StorageSection | None:
    raw = tx.meta(STORAGE_META)
    return None if raw is None else StorageSection.from_json(raw)


def validate(tx: Tx, storage: dict[str, Any]) -> None:
    """Raise the refusal when the cluster could not use ``storage`` (as bound); nothing without a section."""
    section = stored_section(tx)
    if section is None:
        return
    kind = storage["StorageKind"]
    problem: str | None = None
    if kind == "AzureBlobStore":
        problem = _blob(section, storage["ConnectionString"], storage["ContainerName"])
    elif kind == "ManagedIdentityAzureBlobStore":
        problem = _managed_identity(section, storage)
    elif kind == "FileShare":
        problem = _file_share(section, storage)
    if problem is not None:
        raise FabricFault(REFUSED_CODE, f"Backup storage validation failed: {problem}", status=REFUSED_STATUS)


def _connection_parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        key, sep, value = piece.partition("=")
        if sep and key.strip():
            parts[key.strip().lower()] = value.strip()
    return parts


def _account_for_uri(section: StorageSection, uri: str) -> BlobAccount | None:
    wanted = blob_uri(uri)
    return next((a for a in section.blob_accounts if a.blob_service_uri == wanted), None)


def _blob(section: StorageSection, connection_string: str, container: str) -> str | None:
    parts = _connection_parts(connection_string)
    account: BlobAccount | None = None
    name = parts.get("accountname")
    if name:
        account = next((a for a in section.blob_accounts if a.name.lower() == name.lower()), None)
        if account is None:
            return f"the storage account '{name}' cannot be reached from the cluster"
    elif parts.get("blobendpoint"):
        account = _account_for_uri(section, parts["blobendpoint"])
        if account is None:
            host = urlsplit(parts["blobendpoint"]).hostname or "?"
            return f"the blob endpoint host '{host}' cannot be reached from the cluster"
    else:
        return "the ConnectionString names no storage account (AccountName or BlobEndpoint)"
    key = parts.get("accountkey")
    if not key:
        return f"the ConnectionString for storage account '{account.name}' carries no AccountKey the emulator can check"
    if digest(key) not in account.key_digests:
        return f"storage account '{account.name}' refused the AccountKey (authentication failed)"
    if container not in account.containers:
        return f"the container '{container}' does not exist in storage account '{account.name}'"
    return None


def _managed_identity(section: StorageSection, storage: dict[str, Any]) -> str | None:
    uri, container = storage["BlobServiceUri"], storage["ContainerName"]
    account = _account_for_uri(section, uri)
    if account is None:
        return f"no storage account serves the BlobServiceUri '{uri}'"
    if container not in account.containers:
        return f"the container '{container}' does not exist in storage account '{account.name}'"
    kind, client_id = storage["ManagedIdentityType"], storage.get("ManagedIdentityClientId")
    wanted = None if client_id is None else client_id.lower()
    identity = next(
        (
            m
            for m in section.managed_identities
            if m.type == kind and (None if m.client_id is None else m.client_id.lower()) == wanted
        ),
        None,
    )
    who = f"the {kind} managed identity" + (
        f" with client id '{client_id}'" if client_id is not None else " (system-assigned)"
    )
    if identity is None:
        return f"the cluster has no {who[4:]}"
    roles = [
        a.role
        for a in identity.access
        if a.account == account.name and (a.containers is None or container in a.containers)
    ]
    if not roles:
        return f"{who} has no role on container '{container}' of storage account '{account.name}'"
    if not any(role in WRITER_ROLES for role in roles):
        return f"{who} has only {', '.join(sorted(set(roles)))} on container '{container}', which cannot write backups"
    return None


def _file_share(section: StorageSection, storage: dict[str, Any]) -> str | None:
    path = storage["Path"]
    share = next((s for s in section.file_shares if s.path.lower() == path.lower()), None)
    if share is None:
        return f"the file share '{path}' cannot be reached from the cluster"
    if share.username is None:
        return None
    for user_field, password_field in (
        ("PrimaryUserName", "PrimaryPassword"),
        ("SecondaryUserName", "SecondaryPassword"),
    ):
        user, password = storage.get(user_field), storage.get(password_field)
        if (
            user is not None
            and password is not None
            and user.lower() == share.username.lower()
            and digest(password) == share.password_digest
        ):
            return None
    return f"the file share '{path}' refused the credentials given (logon failure)"
