"""The cluster queries a planner reads: applications, services and partitions (gateway-native routes)."""

from __future__ import annotations

from typing import Any

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.entities import name_from_id
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.state import ApplicationRow, PartitionRow, ServiceRow, Tx
from sfdeclare.emulator.topology import is_guid


def entity_id(name: str) -> str:
    """``fabric:/a/b`` -> ``a~b``."""
    return name[len("fabric:/") :].replace("/", "~")


def _application_info(app: ApplicationRow, exclude_parameters: bool = False) -> dict[str, Any]:
    return {
        "Id": entity_id(app.name),
        "Name": app.name,
        "TypeName": app.type_name,
        "TypeVersion": app.type_version,
        "Status": "Ready",
        "Parameters": [] if exclude_parameters else [{"Key": k, "Value": v} for k, v in app.parameters],
        "HealthState": "Ok",
        "ApplicationDefinitionKind": "ServiceFabricApplicationDescription",
    }


def _service_info(svc: ServiceRow) -> dict[str, Any]:
    info: dict[str, Any] = {
        "Id": entity_id(svc.name),
        "ServiceKind": svc.kind,
        "Name": svc.name,
        "TypeName": svc.type_name,
        "ManifestVersion": "1.0.0",
        "HealthState": "Ok",
        "ServiceStatus": "Active",
        "IsServiceGroup": False,
    }
    if svc.kind == "Stateful":
        info["HasPersistedState"] = svc.persisted
    return info


def _partition_info(part: PartitionRow, svc: ServiceRow) -> dict[str, Any]:
    information: dict[str, Any] = {"ServicePartitionKind": part.kind, "Id": part.id}
    if part.kind == "Int64Range":
        information["LowKey"] = str(part.low_key)
        information["HighKey"] = str(part.high_key)
    elif part.kind == "Named":
        information["Name"] = part.name
    info: dict[str, Any] = {
        "ServiceKind": svc.kind,
        "HealthState": "Ok",
        "PartitionStatus": "Ready",
        "PartitionInformation": information,
    }
    if svc.kind == "Stateful":
        info.update(
            {
                "TargetReplicaSetSize": 3,
                "MinReplicaSetSize": 2,
                "LastQuorumLossDuration": "PT0S",
                "PrimaryEpoch": {"ConfigurationVersion": "1", "DataLossVersion": "1"},
            }
        )
    else:
        info["InstanceCount"] = 1
    return info


def applications(
    tx: Tx,
    token: str | None,
    max_results: int,
    type_name: str | None,
    page_size: int,
    exclude_parameters: bool = False,
) -> dict[str, Any]:
    limit = page_size if max_results == 0 else min(max_results, page_size)
    found = tx.applications(token, limit + 1, type_name)
    more = len(found) > limit
    page = found[:limit]
    return {
        "ContinuationToken": page[-1].name if more else "",
        "Items": [_application_info(a, exclude_parameters) for a in page],
    }


def _existing_application(tx: Tx, raw_id: str) -> str:
    name = name_from_id(raw_id, "application")
    if tx.application(name) is None:
        raise FabricFault(fe.APPLICATION_NOT_FOUND, f"Application {name} not found")
    return name


def services(
    tx: Tx, raw_app: str, token: str | None, type_name: str | None, page_size: int
) -> dict[str, Any]:
    app = _existing_application(tx, raw_app)
    found = tx.services(app, token, page_size + 1, type_name)
    more = len(found) > page_size
    page = found[:page_size]
    return {"ContinuationToken": page[-1].name if more else "", "Items": [_service_info(s) for s in page]}


def service(tx: Tx, raw_app: str, raw_service: str) -> dict[str, Any] | None:
    app = _existing_application(tx, raw_app)
    row = tx.service(name_from_id(raw_service, "service"))
    return _service_info(row) if row is not None and row.app == app else None


def partitions(tx: Tx, raw_service: str, token: str | None, page_size: int) -> dict[str, Any]:
    svc = tx.service(name_from_id(raw_service, "service"))
    if svc is None:
        raise FabricFault(fe.SERVICE_DOES_NOT_EXIST, "Service not found")
    after = -1
    if token:
        try:
            after = int(token)
        except ValueError:
            raise fe.invalid("Invalid continuation token.") from None
    found = tx.partitions(svc.name, after, page_size + 1)
    more = len(found) > page_size
    page = found[:page_size]
    return {
        "ContinuationToken": str(page[-1][0]) if more else "",
        "Items": [_partition_info(p, svc) for _, p in page],
    }


def partition(tx: Tx, raw_id: str) -> dict[str, Any] | None:
    if not is_guid(raw_id):
        raise fe.invalid(f"Invalid partition id '{raw_id}': a partition id is a GUID.")
    row = tx.partition(raw_id)
    if row is None:
        return None
    svc = tx.service(row.service)
    assert svc is not None
    return _partition_info(row, svc)
