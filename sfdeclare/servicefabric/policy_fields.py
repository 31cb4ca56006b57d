"""Which BackupPolicyDescription fields sfdeclare models, and the wire form of the 11.3 fields.

Modelled fields are compared, shown and written by sfdeclare; every other field a live policy holds is
*unmodelled*: it is carried over unchanged into an update, listed as kept, and imported into a policy's
``unmodelled_fields`` block (``servicefabric.policies``).

The 11.3 fields (an assumption, the same one the emulator makes in ``sfdeclare/emulator/policy_fields.py``; the
two copies are checked against each other by tests/test_runtimes.py): release notes 11.3 add quick recovery
(``FromPrimary``, default ``Disabled``) and compression "configured through BackupPolicy". Today's Service Fabric
Explorer (2026-08, ``RawDataTypes.ts``) sends ``QuickRecovery`` as ``Disabled`` | ``FromPrimary`` and
``CompressionType`` as ``CLUSTER_DEFINED`` | ``ZIP`` | ``ZSTANDARD``; its 2025 versions sent
``CompressionStrategy`` and a boolean ``QuickRecovery`` (Microsoft's .NET client still has a boolean). sfdeclare
reads both spellings and types, writes today's Explorer form, and counts a value equal to the server's default
as absent (a server that echoes its defaults must not look like drift).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfdeclare.model.declaration import MASKED_SECRET

# A declared policy's block of fields sfdeclare does not model, sent as written (``import`` writes it).
UNMODELLED_BLOCK = "unmodelled_fields"
MASKED = MASKED_SECRET

QUICK_RECOVERY = "QuickRecovery"
QUICK_RECOVERY_VALUES = ("Disabled", "FromPrimary")
QUICK_RECOVERY_DEFAULT = "Disabled"
COMPRESSION = "CompressionType"
COMPRESSION_ALIASES = ("CompressionType", "CompressionStrategy")  # the written name first
COMPRESSION_VALUES = ("CLUSTER_DEFINED", "ZIP", "ZSTANDARD")
COMPRESSION_DEFAULT = "CLUSTER_DEFINED"

STORAGE_KINDS = ("AzureBlobStore", "FileShare", "DsmsAzureBlobStore", "ManagedIdentityAzureBlobStore")
MANAGED_IDENTITY = "ManagedIdentityAzureBlobStore"
MANAGED_IDENTITY_TYPES = ("VMSS", "Cluster")
CLIENT_ID = "ManagedIdentityClientId"

# StorageKind -> (required fields, optional fields); FriendlyName is optional in every kind.
STORAGE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "AzureBlobStore": (("ConnectionString", "ContainerName"), ()),
    "FileShare": (
        ("Path",),
        ("PrimaryUserName", "PrimaryPassword", "SecondaryUserName", "SecondaryPassword"),
    ),
    "DsmsAzureBlobStore": (("StorageCredentialsSourceLocation", "ContainerName"), ()),
    "ManagedIdentityAzureBlobStore": (
        ("ManagedIdentityType", "BlobServiceUri", "ContainerName"),
        (CLIENT_ID,),
    ),
}

# StorageKind -> its credentials (plain text in the policy, masked on every read)
SECRET_FIELDS_OF: dict[str, tuple[str, ...]] = {
    "AzureBlobStore": ("ConnectionString",),
    "FileShare": ("PrimaryPassword", "SecondaryPassword"),
}

# Modelled fields, per object of the body ("" is the top level). A storage field of any kind is modelled in
# every kind: a storage whose kind changes keeps nothing of its old kind.
MODELLED: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "Name",
            "AutoRestoreOnDataLoss",
            "MaxIncrementalBackups",
            "Schedule",
            "Storage",
            "RetentionPolicy",
            QUICK_RECOVERY,
            *COMPRESSION_ALIASES,
        }
    ),
    "Schedule": frozenset({"ScheduleKind", "Interval", "ScheduleFrequencyType", "RunTimes", "RunDays"}),
    "Storage": frozenset(
        {"StorageKind", "FriendlyName"}
        | {f for required, optional in STORAGE_FIELDS.values() for f in (*required, *optional)}
    ),
    "RetentionPolicy": frozenset({"RetentionPolicyType", "RetentionDuration", "MinimumNumberOfBackups"}),
}


def enum_name(value: Any, names: tuple[str, ...]) -> Any:
    """The canonical spelling of an enum value (Json.NET reads enum names in any case); other values as given."""
    if isinstance(value, str):
        for name in names:
            if name.lower() == value.strip().lower():
                return name
    return value


def quick_recovery(body: Mapping[str, Any]) -> Any:
    """QuickRecovery in today's Explorer form, None when absent or the server's default (Disabled)."""
    value = body.get(QUICK_RECOVERY)
    if isinstance(value, bool):
        value = "FromPrimary" if value else "Disabled"
    value = enum_name(value, QUICK_RECOVERY_VALUES)
    return None if value in (None, QUICK_RECOVERY_DEFAULT) else value


def compression(body: Mapping[str, Any]) -> Any:
    """The compression under either name, in today's Explorer form; None when absent or CLUSTER_DEFINED.
    Two names with different values give the first one's (CompressionType)."""
    for alias in COMPRESSION_ALIASES:
        value = body.get(alias)
        if value is not None:
            value = enum_name(value, COMPRESSION_VALUES)
            return None if value == COMPRESSION_DEFAULT else value
    return None
