"""A cluster topology and a realistic configuration for it, at any scale.

The configuration is what a platform team with many applications writes: a few policies (blob and file share,
frequency- and time-based), an application-level policy on every application, service-level overrides on some
services, partition-level settings on some services and a few suspensions. Secrets are ``${env:...}``
references; ``Scenario.env`` holds values for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfdeclare.emulator.topology import derived_partition_id, int64_ranges

STORE_ENV = "SFDECLARE_BENCH_STORE"
SHARE_PASSWORD_ENV = "SFDECLARE_BENCH_SHARE_PASSWORD"
# every ``override_every``-th service (counting across applications) gets a service-level policy
OVERRIDE_EVERY = 5
PARTITION_SERVICE_INDEX = 7  # the service (by index, modulo the count) that carries partition-level settings
SUSPENDED_SERVICE_EVERY = 20  # applications whose service 1 is suspended
SUSPENDED_APP_EVERY = 100  # applications suspended at application level

POLICIES: dict[str, dict[str, Any]] = {
    "DailyBlob": {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": 3,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "FriendlyName": "BackupStore1",
            "ConnectionString": "${env:" + STORE_ENV + "}",
            "ContainerName": "backups",
        },
        "RetentionPolicy": {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": "P30D",
            "MinimumNumberOfBackups": 20,
        },
    },
    "HourlyBlob": {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": 12,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "FriendlyName": "BackupStore1",
            "ConnectionString": "${env:" + STORE_ENV + "}",
            "ContainerName": "hourly",
        },
        "RetentionPolicy": {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": "P7D",
            "MinimumNumberOfBackups": 24,
        },
    },
    "WeeklyShare": {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": 5,
        "Schedule": {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunDays": ["Monday", "Thursday"],
            "RunTimes": ["0001-01-01T02:00:00Z", "0001-01-01T14:30:00Z"],
        },
        "Storage": {
            "StorageKind": "FileShare",
            "FriendlyName": "Share1",
            "Path": "\\\\backupserver\\sf",
            "PrimaryUserName": "backup",
            "PrimaryPassword": "${env:" + SHARE_PASSWORD_ENV + "}",
        },
        "RetentionPolicy": {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": "P90D",
            "MinimumNumberOfBackups": 4,
        },
    },
    "LargePartition": {
        "AutoRestoreOnDataLoss": True,
        "MaxIncrementalBackups": 24,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT4H"},
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "FriendlyName": "BackupStore1",
            "ConnectionString": "${env:" + STORE_ENV + "}",
            "ContainerName": "large",
        },
        "RetentionPolicy": {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": "P14D",
            "MinimumNumberOfBackups": 10,
        },
    },
}


@dataclass(frozen=True)
class Scenario:
    """A generated topology and configuration, and what the configuration declares (for expected counts)."""

    topology: Path
    config: Path
    applications: int
    services_per_app: int
    partitions_per_service: int
    service_overrides: int
    partition_services: int  # services with partition-level declarations
    partition_settings: int
    suspensions: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> int:
        return self.applications * self.services_per_app

    @property
    def partitions(self) -> int:
        return self.services * self.partitions_per_service

    @property
    def expected_read_requests(self) -> int:
        """The issue's bound, reached exactly: one policy page, two per application, one per partition service."""
        return 1 + 2 * self.applications + self.partition_services

    @property
    def expected_plan_requests(self) -> int:
        """A plan run: the cluster's runtime (GetClusterVersion, once per run), then the reads."""
        return 1 + self.expected_read_requests

    @property
    def expected_first_plan_requests(self) -> int:
        """A plan from an empty cluster changes every service, so it also counts the partitions of each service
        it did not list (one GetPartitions each) to total the plan's impact (issue #20)."""
        return self.expected_plan_requests + self.services - self.partition_services


def app_name(index: int) -> str:
    return f"fabric:/BenchApp{index:05d}"


def svc_name(app_index: int, svc_index: int) -> str:
    return f"{app_name(app_index)}/Svc{svc_index:02d}"


def topology(applications: int, services: int, partitions: int) -> dict[str, Any]:
    return {
        "applications": [
            {
                "name": app_name(a),
                "type_name": "BenchAppType",
                "type_version": "1.0.0",
                "services": [
                    {"name": svc_name(a, s), "kind": "Stateful", "partitions": partitions}
                    for s in range(services)
                ],
            }
            for a in range(applications)
        ]
    }


def _quote(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def _yaml_policy(name: str, body: dict[str, Any]) -> list[str]:
    lines = [f"  {name}:"]

    def emit(mapping: dict[str, Any], indent: int) -> None:
        pad = " " * indent
        for key, value in mapping.items():
            if isinstance(value, dict):
                lines.append(f"{pad}{key}:")
                emit(value, indent + 2)
            elif isinstance(value, list):
                lines.append(f"{pad}{key}: [{', '.join(_quote(str(v)) for v in value)}]")
            elif isinstance(value, bool):
                lines.append(f"{pad}{key}: {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{pad}{key}: {value}")
            else:
                lines.append(f"{pad}{key}: {_quote(str(value))}")

    emit(body, 4)
    return lines


def generate(
    directory: Path,
    applications: int,
    *,
    services: int = 10,
    partitions: int = 4,
    partition_every: int = 4,
) -> Scenario:
    """Write ``topology.json`` and ``config/backup.yaml`` into ``directory``.

    Every ``partition_every``-th application (0: none) declares partition-level settings on one service: a
    policy on the partition selected by ``low_key`` and, for even applications, a suspension of the partition
    selected by ``id``.
    """
    if applications < 1 or services < 1 or partitions < 1:
        raise ValueError("applications, services and partitions must be at least 1")
    directory.mkdir(parents=True, exist_ok=True)
    topology_path = directory / "topology.json"
    topology_path.write_text(json.dumps(topology(applications, services, partitions)), encoding="utf-8")

    low_keys = [low for low, _ in int64_ranges(partitions)]
    lines = ["version: 1", "scope: declared", "policies:"]
    for name, policy in POLICIES.items():
        lines.extend(_yaml_policy(name, policy))
    lines.append("applications:")
    overrides = partition_services = partition_settings = suspensions = 0
    for a in range(applications):
        app_policy = "WeeklyShare" if a % 3 == 2 else "DailyBlob"
        lines.append(f"  {_quote(app_name(a))}:")
        lines.append(f"    policy: {app_policy}")
        if a % SUSPENDED_APP_EVERY == SUSPENDED_APP_EVERY // 2:
            lines.append("    suspended: true")
            suspensions += 1
        service_lines: list[str] = []
        for s in range(services):
            body: list[str] = []
            if (a * services + s) % OVERRIDE_EVERY == 0:
                body.append("        policy: HourlyBlob")
                overrides += 1
            if s == min(1, services - 1) and a % SUSPENDED_SERVICE_EVERY == 3:
                body.append("        suspended: true")
                suspensions += 1
            if partition_every and a % partition_every == 0 and s == PARTITION_SERVICE_INDEX % services:
                partition_services += 1
                body.append("        partitions:")
                body.append(f"          - low_key: {low_keys[-1]}")
                body.append("            policy: LargePartition")
                partition_settings += 1
                if a % 2 == 0 and partitions > 1:
                    body.append(f"          - id: {derived_partition_id(svc_name(a, s), 0)}")
                    body.append("            suspended: true")
                    partition_settings += 1
                    suspensions += 1
            if body:
                service_lines.append(f"      Svc{s:02d}:")
                service_lines.extend(body)
        if service_lines:
            lines.append("    services:")
            lines.extend(service_lines)
    config_dir = directory / "config"
    config_dir.mkdir(exist_ok=True)
    config_path = config_dir / "backup.yaml"
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Scenario(
        topology=topology_path,
        config=config_path,
        applications=applications,
        services_per_app=services,
        partitions_per_service=partitions,
        service_overrides=overrides,
        partition_services=partition_services,
        partition_settings=partition_settings,
        suspensions=suspensions,
        env={
            STORE_ENV: "DefaultEndpointsProtocol=https;AccountName=bench;AccountKey=YmVuY2gta2V5",
            SHARE_PASSWORD_ENV: "bench-share-password",
        },
    )
