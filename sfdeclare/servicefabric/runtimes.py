"""Service Fabric runtimes as the client sees them: the one table of backup features with the first build of
each, and the api-version a runtime is spoken to with.

A runtime is what ``GET /$/GetClusterVersion`` answers (``{"Version": "10.1.3033.1"}``, served from 6.4; a cluster
that does not serve it is before 6.4), or what ``cluster.runtime`` names: a branch (``"10.1"``, meaning its latest
cumulative update) or a build (``"10.1.2409.9590"``). Builds are the Windows ones, from the "Supported version
names" table of learn.microsoft.com's service-fabric-versions page and microsoft/service-fabric's release notes.

Rules: every runtime-dependent decision asks ``Runtime.has(FEATURE)``; nothing else compares versions. A feature
lists the first build of each branch that has it; a later branch has it from its start, an earlier or unlisted
one does not. Each entry says whether public sources confirm it or sfdeclare assumes it, and which source. The
emulator keeps its own copy of this table (``sfdeclare/emulator/runtimes.py``, it shares no code with the
client); tests/test_runtimes.py checks that the two agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    first_builds: tuple[str, ...]  # the first build of each branch that has it, oldest branch first
    confirmed: bool  # False: sfdeclare assumes it (see source)
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
        "REST spec 8.0 ValidateConnectionOptionalQueryParam on Create and Update (absent in 7.2); Service Fabric "
        "Explorer always sends true; the error a refused storage gets is not public",
    ),
    Feature(
        MANAGED_IDENTITY_STORAGE,
        ("8.0",),
        True,
        "REST spec 8.0 example CreateBackupPolicy-4.json; 9.1 definition (ManagedIdentityType VMSS|Cluster, "
        "BlobServiceUri, ContainerName required)",
    ),
    Feature(
        SKIP_AUTO_RESTORE,
        ("9.1",),
        True,
        "service-fabric-client-dotnet 10.1 BackupRestoreClient.cs (api-version=9.1); sfdeclare does not use it",
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
        "RN 9.0CU5 and 9.1CU1: a persistent health warning while a policy holds plain-text credentials, which "
        "are 'on the deprecation path' (no later note confirms that they are refused)",
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

# The api-versions sfdeclare speaks: 6.4 to every runtime that takes a numeric one (Microsoft's SDK 8.2 sends 6.4
# to every runtime, ValidateConnection included), 6.2-preview to the 6.2/6.3 runtimes.
API_VERSION = "6.4"
PREVIEW_API_VERSION = "6.2-preview"
_WRITTEN = re.compile(r"^\d+\.\d+(\.\d+\.\d+)?$")
_LATEST = 1 << 30  # a branch named without its build: its latest cumulative update


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class Runtime:
    """One runtime: ``text`` as detected or written (a build, a branch, or ``before 6.4``)."""

    text: str
    version: tuple[int, ...]

    def has(self, feature: str) -> bool:
        """Whether this runtime has a feature of the table."""
        version = self.version + (_LATEST,) * (4 - len(self.version))
        branch = version[:2]
        firsts = [_version(b) for b in _BY_NAME[feature].first_builds]
        for first in firsts:
            if first[:2] == branch:
                return version >= first + (0,) * (4 - len(first))
        return branch > max(first[:2] for first in firsts)

    @property
    def api_version(self) -> str:
        """The api-version of the backup routes on this runtime."""
        return API_VERSION if self.has(NUMERIC_API_VERSION) else PREVIEW_API_VERSION

    def __str__(self) -> str:
        return self.text


BEFORE_64 = Runtime("before 6.4", (6, 3))


def parse(text: str) -> Runtime:
    """A runtime as ``cluster.runtime`` or GetClusterVersion writes it; ValueError for anything else."""
    value = text.strip()
    if not _WRITTEN.match(value):
        raise ValueError(
            f"{text!r} is not a Service Fabric runtime: write a branch such as 10.1, or a build such as "
            "10.1.2409.9590"
        )
    return Runtime(value, _version(value))


def from_cluster_version(version: str | None) -> Runtime:
    """The runtime of a GetClusterVersion answer; None (not served) means before 6.4."""
    if version is None:
        return BEFORE_64
    return parse(version)


def introduced(feature: str) -> str:
    """Which runtimes added a feature, for messages: ``8.0``, or ``9.1.2833.9590 (9.1), 10.0.2712.9590 ...``."""
    firsts = _BY_NAME[feature].first_builds
    if len(firsts) == 1:
        return f"Service Fabric {firsts[0]}"
    return "Service Fabric " + ", ".join(firsts[:-1]) + " and " + firsts[-1]


def api_version_conflict(api_version: str, runtime: Runtime) -> str | None:
    """Why an explicit api_version cannot speak to ``runtime``, or None when it can."""
    wanted = runtime.api_version
    preview = api_version.endswith("-preview")
    if preview == (wanted == PREVIEW_API_VERSION):
        return None
    return (
        f"api_version {api_version} does not speak to runtime {runtime}: that runtime takes api-version "
        f"{wanted} (leave api_version out and sfdeclare derives it)"
    )
