"""Where backups are stored: a storage description -> the identity of its location, never its secrets.

Emulator decision (the server compares storages with ``BackupStorage.CompareStorage``, whose rule the 6.4 source
keeps per kind): two descriptions name the same location when their kind and location fields agree --
AzureBlobStore: the account (``AccountName`` or ``BlobEndpoint`` read from the connection string) and
ContainerName; FileShare: Path; DsmsAzureBlobStore: StorageCredentialsSourceLocation and ContainerName; any other
kind: its non-secret fields. FriendlyName, user names and every secret are left out, so a rotated key or
password is the same storage, and an identity can be stored and compared without holding a secret.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

SECRET_FIELDS = frozenset(
    {"ConnectionString", "PrimaryPassword", "SecondaryPassword", "PrimaryUserName", "SecondaryUserName"}
)
_ACCOUNT_KEYS = ("accountname", "blobendpoint")


def _account(connection_string: str) -> str:
    parts = dict(
        (k.strip().lower(), v.strip())
        for k, _, v in (item.partition("=") for item in connection_string.split(";"))
        if k.strip()
    )
    return "|".join(parts.get(key, "") for key in _ACCOUNT_KEYS)


def identity(storage: dict[str, Any]) -> str:
    """A short stable name (16 hex digits of a SHA-256) of the location a storage description points at; it is
    computed from the fields above only, so it carries no secret."""
    kind = storage.get("StorageKind")
    fields: dict[str, Any] = {"StorageKind": kind}
    if kind == "AzureBlobStore":
        fields["Account"] = _account(str(storage.get("ConnectionString") or ""))
        fields["ContainerName"] = storage.get("ContainerName")
    elif kind == "FileShare":
        fields["Path"] = storage.get("Path")
    else:
        for key, value in sorted(storage.items()):
            if key not in SECRET_FIELDS and key != "FriendlyName":
                fields[key] = value
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
