"""The topology's optional ``storage:`` section: the backup storage the emulated cluster can reach.

```yaml
storage:
  blob_accounts:
    - name: demo                         # the storage account
      keys: [<key1>, <key2>]             # account keys a ConnectionString may carry (none: key auth disabled)
      containers: [backups]
      blob_service_uri: https://demo.blob.core.windows.net   # optional; this is the default
  file_shares:
    - path: \\\\fileserver\\backups
      username: backup-user              # optional: the credentials the share requires
      password: <password>
  managed_identities:
    - type: VMSS                         # VMSS | Cluster
      client_id: <guid>                  # optional: a user-assigned identity; absent: the system-assigned one
      access:
        - account: demo
          containers: [backups]          # optional; absent: every container of the account
          role: Storage Blob Data Contributor   # Owner | Contributor (can write backups) | Reader
```

Only ``ValidateConnection=true`` consults it (``storage_check``). Keys and passwords are kept as SHA-256 digests
from the moment they are read, so the state file never holds them and no message can show them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

MANAGED_IDENTITY_TYPES = ("VMSS", "Cluster")
ROLES = ("Storage Blob Data Owner", "Storage Blob Data Contributor", "Storage Blob Data Reader")
WRITER_ROLES = ROLES[:2]


class Checker(Protocol):
    def error(self, where: str, message: str) -> None: ...

    def keys(self, obj: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None: ...


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def blob_uri(text: str) -> str:
    """A blob service URI compared the way a host name is: scheme and host lower-cased, no trailing slash."""
    scheme, sep, rest = text.strip().partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}".rstrip("/")


@dataclass(frozen=True)
class BlobAccount:
    name: str
    key_digests: tuple[str, ...]
    containers: tuple[str, ...]
    blob_service_uri: str


@dataclass(frozen=True)
class FileShare:
    path: str
    username: str | None
    password_digest: str | None


@dataclass(frozen=True)
class Access:
    account: str
    containers: tuple[str, ...] | None  # None: every container of the account
    role: str


@dataclass(frozen=True)
class ManagedIdentity:
    type: str
    client_id: str | None
    access: tuple[Access, ...]


@dataclass(frozen=True)
class StorageSection:
    blob_accounts: tuple[BlobAccount, ...] = ()
    file_shares: tuple[FileShare, ...] = ()
    managed_identities: tuple[ManagedIdentity, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "blob_accounts": [a.__dict__ for a in self.blob_accounts],
                "file_shares": [s.__dict__ for s in self.file_shares],
                "managed_identities": [
                    {"type": m.type, "client_id": m.client_id, "access": [x.__dict__ for x in m.access]}
                    for m in self.managed_identities
                ],
            },
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str) -> StorageSection:
        data = json.loads(text)

        def tup(value: Any) -> Any:
            return tuple(value) if isinstance(value, list) else value

        return StorageSection(
            tuple(BlobAccount(**{k: tup(v) for k, v in a.items()}) for a in data["blob_accounts"]),
            tuple(FileShare(**s) for s in data["file_shares"]),
            tuple(
                ManagedIdentity(
                    m["type"],
                    m["client_id"],
                    tuple(Access(**{k: tup(v) for k, v in x.items()}) for x in m["access"]),
                )
                for m in data["managed_identities"]
            ),
        )


def parse_storage(raw: Any, where: str, check: Checker) -> StorageSection | None:
    """The ``storage:`` section, or None with diagnostics recorded in ``check``."""
    if not isinstance(raw, dict):
        check.error(where, "'storage' must be a mapping")
        return None
    check.keys(raw, where, ("blob_accounts", "file_shares", "managed_identities"))
    accounts = [_account(item, w, check) for item, w in _items(raw, "blob_accounts", where, check)]
    shares = [_share(item, w, check) for item, w in _items(raw, "file_shares", where, check)]
    identities = [_identity(item, w, check) for item, w in _items(raw, "managed_identities", where, check)]
    names = [a.name for a in accounts if a is not None]
    for i, name in enumerate(names):
        if name in names[:i]:
            check.error(f"{where}.blob_accounts", f"duplicate storage account {name}")
    for i, identity in enumerate(identities):
        for j, access in enumerate(identity.access if identity else ()):
            if access.account not in names:
                check.error(
                    f"{where}.managed_identities[{i}].access[{j}].account",
                    f"storage account {access.account!r} is not among storage.blob_accounts",
                )
    return StorageSection(
        tuple(a for a in accounts if a is not None),
        tuple(s for s in shares if s is not None),
        tuple(m for m in identities if m is not None),
    )


def _items(raw: dict[str, Any], key: str, where: str, check: Checker) -> list[tuple[Any, str]]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        check.error(f"{where}.{key}", f"'{key}' must be a list")
        return []
    return [(item, f"{where}.{key}[{i}]") for i, item in enumerate(value)]


def _text(obj: dict[str, Any], key: str, where: str, check: Checker, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        check.error(f"{where}.{key}", f"'{key}' must be a non-empty string")
        return None
    return value


def _names(obj: dict[str, Any], key: str, where: str, check: Checker) -> tuple[str, ...] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        check.error(f"{where}.{key}", f"'{key}' must be a list of non-empty strings")
        return None
    return tuple(value)


def _account(raw: Any, where: str, check: Checker) -> BlobAccount | None:
    if not isinstance(raw, dict):
        check.error(where, "a blob account must be a mapping")
        return None
    check.keys(raw, where, ("name", "keys", "containers", "blob_service_uri"))
    name = _text(raw, "name", where, check, required=True)
    keys = _names(raw, "keys", where, check) or ()
    containers = _names(raw, "containers", where, check) or ()
    uri = _text(raw, "blob_service_uri", where, check, required=False)
    if name is None:
        return None
    default_uri = f"https://{name.lower()}.blob.core.windows.net"
    return BlobAccount(name, tuple(digest(k) for k in keys), containers, blob_uri(uri or default_uri))


def _share(raw: Any, where: str, check: Checker) -> FileShare | None:
    if not isinstance(raw, dict):
        check.error(where, "a file share must be a mapping")
        return None
    check.keys(raw, where, ("path", "username", "password"))
    path = _text(raw, "path", where, check, required=True)
    username = _text(raw, "username", where, check, required=False)
    password = _text(raw, "password", where, check, required=False)
    if (username is None) != (password is None):
        check.error(where, "a file share needs both 'username' and 'password', or neither")
        return None
    if path is None:
        return None
    return FileShare(path, username, None if password is None else digest(password))


def _identity(raw: Any, where: str, check: Checker) -> ManagedIdentity | None:
    if not isinstance(raw, dict):
        check.error(where, "a managed identity must be a mapping")
        return None
    check.keys(raw, where, ("type", "client_id", "access"))
    kind = raw.get("type")
    if kind not in MANAGED_IDENTITY_TYPES:
        check.error(f"{where}.type", f"a managed identity's type must be VMSS or Cluster, not {kind!r}")
        return None
    client_id = _text(raw, "client_id", where, check, required=False)
    access: list[Access] = []
    for item, at in _items(raw, "access", where, check):
        if not isinstance(item, dict):
            check.error(at, "an access entry must be a mapping")
            continue
        check.keys(item, at, ("account", "containers", "role"))
        account = _text(item, "account", at, check, required=True)
        role = item.get("role", "Storage Blob Data Contributor")
        if role not in ROLES:
            check.error(f"{at}.role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
            continue
        if account is not None:
            access.append(Access(account, _names(item, "containers", at, check), role))
    return ManagedIdentity(kind, client_id, tuple(access))
