"""The Service Fabric runtimes the emulator can be, and the one table of what each of them accepts.

A runtime is named by its branch (``--runtime 10.1``) and behaves as the latest cumulative update of that branch,
whose build number ``GetClusterVersion`` answers. Builds are the Windows ones (Ubuntu builds of the same update
carry other numbers) from the "Supported version names" table of learn.microsoft.com's service-fabric-versions page
and the release notes in microsoft/service-fabric ``release_notes/``.

Every behaviour that depends on the runtime asks ``supports(runtime, FEATURE)``; nothing else in the emulator
compares runtime names. A feature lists the first build of each branch that has it; a branch later than the last
one listed has it from its first build, an earlier or unlisted one does not. Each entry says whether public sources
confirm it or the emulator assumes it, and which source.
"""

from __future__ import annotations

from dataclasses import dataclass

# --runtime name -> the build of that branch's latest cumulative update.
BUILDS: dict[str, str] = {
    "6.2": "6.2.301.9494",  # 6.2 CU3 (service-fabric-versions table)
    "6.4": "6.4.670.9590",  # 6.4 CU8 (service-fabric-versions table)
    "9.1": "9.1.2937.9590",  # 9.1 CU14 (RN Service_Fabric_ReleaseNotes_91CU14.md)
    "10.1": "10.1.3033.1",  # 10.1 CU10 (RN Service_Fabric_ReleaseNotes_101CU10.md)
    "11.3": "11.3.365.1",  # "11 CU3" (RN Service_Fabric_ReleaseNotes_113.md)
}
RUNTIMES = tuple(BUILDS)
DEFAULT_RUNTIME = "10.1"


@dataclass(frozen=True)
class Feature:
    name: str
    first_builds: tuple[str, ...]  # the first build of each branch that has it, oldest branch first
    confirmed: bool  # False: the emulator assumes it (see source)
    source: str


NUMERIC_API_VERSION = "numeric api-version >= 6.4 on backup routes"
RETENTION_POLICY = "RetentionPolicy"
DISABLE_BACKUP_BODY = "DisableBackup body (CleanBackup)"
GET_CLUSTER_VERSION = "GetClusterVersion"
VALIDATE_CONNECTION = "ValidateConnection"
MANAGED_IDENTITY_STORAGE = "ManagedIdentityAzureBlobStore"
SKIP_AUTO_RESTORE = "SkipAutoRestore"
MANAGED_IDENTITY_CLIENT_ID = "ManagedIdentityClientId"
PLAIN_TEXT_CREDENTIAL_WARNING = "plain-text credential health warning"
QUICK_RECOVERY = "QuickRecovery"
COMPRESSION = "CompressionType"

FEATURES: tuple[Feature, ...] = (
    Feature(
        NUMERIC_API_VERSION,
        ("6.4",),
        True,
        "6.4 source OperationBase.cs (Double.TryParse >= 6.4, no -preview); before it, 6.2-preview only "
        "(REST reference v62/v63)",
    ),
    Feature(
        RETENTION_POLICY,
        ("6.4",),
        True,
        "REST reference v62/v63 have no RetentionPolicy; 6.4 source BasicRetentionPolicy.cs",
    ),
    Feature(
        DISABLE_BACKUP_BODY,
        ("6.4",),
        True,
        "REST reference v62/v63: DisableBackup has no body; 6.4 source CleanBackupView.cs",
    ),
    Feature(
        GET_CLUSTER_VERSION,
        ("6.4",),
        True,
        "REST spec 6.4 GetClusterVersion (example 6.4.514.9494); absent from the 6.2/6.3 specs",
    ),
    Feature(
        VALIDATE_CONNECTION,
        ("8.0",),
        True,
        "REST spec 8.0 ValidateConnectionOptionalQueryParam on Create and Update (absent in 7.2); "
        "what the check covers and its error code are assumptions (storage_check.py)",
    ),
    Feature(
        MANAGED_IDENTITY_STORAGE,
        ("8.0",),
        True,
        "REST spec 8.0 example CreateBackupPolicy-4.json; 9.1 definition (ManagedIdentityType VMSS|Cluster, "
        "BlobServiceUri, ContainerName required); that an 8.0 server accepts it is assumed from the spec",
    ),
    Feature(
        SKIP_AUTO_RESTORE,
        ("9.1",),
        True,
        "REST spec 9.1 SkipRestorePartition (POST /Partitions/{id}/$/SkipAutoRestore, ApiVersion_9-1, 202) and "
        "service-fabric-client-dotnet 10.1 BackupRestoreClient.cs; before 9.1 the route does not exist (404 "
        "FABRIC_E_INVALID_ADDRESS); its refusals and its api-version floor are assumed (backup_routes.py, app.py)",
    ),
    Feature(
        MANAGED_IDENTITY_CLIENT_ID,
        ("9.1.2833.9590", "10.0.2712.9590", "10.1.2409.9590"),
        True,
        "RN 9.1CU12, 10.0CU6, 10.1CU5 ('Adding a parameter ManagedIdentityClientId'); "
        "not in the 9.1 spec, SDK 8.2 or the .NET client 10.1",
    ),
    Feature(
        PLAIN_TEXT_CREDENTIAL_WARNING,
        ("9.0.1121.9590", "9.1.1436.9590"),
        True,
        "RN 9.0CU5 (per the fidelity audit) and 9.1CU1: a persistent health warning on the Backup Restore "
        "Service; a cluster health fact the emulator does not report (it serves no health routes)",
    ),
    Feature(
        QUICK_RECOVERY,
        ("11.3.365.1",),
        False,
        "RN 11.3 (QuickRecovery FromPrimary, default Disabled); the wire form is assumed (policy_fields.py)",
    ),
    Feature(
        COMPRESSION,
        ("11.3.365.1",),
        False,
        "RN 11.3 (Zstandard via BackupPolicy); the wire form is assumed (policy_fields.py)",
    ),
)
_BY_NAME = {f.name: f for f in FEATURES}


def build_of(runtime: str) -> str:
    """The build a runtime name stands for; ValueError for a name the emulator does not know."""
    try:
        return BUILDS[runtime]
    except KeyError:
        raise ValueError(f"unknown runtime {runtime!r} (expected one of: {', '.join(RUNTIMES)})") from None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def build_has(build: str, feature: str) -> bool:
    """Whether a runtime build has a feature of the table."""
    version = _version(build)
    branch = version[:2]
    firsts = [_version(b) for b in _BY_NAME[feature].first_builds]
    for first in firsts:
        if first[:2] == branch:
            width = max(len(first), len(version))
            return version + (0,) * (width - len(version)) >= first + (0,) * (width - len(first))
    return branch > max(first[:2] for first in firsts)


def supports(runtime: str, feature: str) -> bool:
    """Whether the emulator, as ``runtime``, has ``feature``."""
    return build_has(build_of(runtime), feature)


def check_runtime(runtime: str) -> str:
    """The runtime name, checked (ValueError otherwise)."""
    build_of(runtime)
    return runtime
