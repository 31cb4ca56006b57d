"""The baseline: what a script author writes with Microsoft's SDK (azure-servicefabric) to read the same thing.

List the applications, list each application's services, ask each service for its backup configuration, one
request at a time. ``python -m benchmarks.sdk_baseline URL`` prints a JSON summary on stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from azure.servicefabric import ServiceFabricClientAPIs
from azure.servicefabric.models import FabricErrorException
from msrest.authentication import Authentication

BACKUP_NOT_ENABLED = "FABRIC_E_BACKUP_NOT_ENABLED"


@dataclass(frozen=True)
class BaselineResult:
    applications: int
    services: int
    configuration_items: int  # backup configuration entries read (service and partition levels)
    not_enabled: int  # services the cluster answered FABRIC_E_BACKUP_NOT_ENABLED for


def _entity_id(name: str) -> str:
    """``fabric:/App/Svc`` -> ``App~Svc`` (the id form the SDK's docs prescribe for 6.0+)."""
    return name.removeprefix("fabric:/").replace("/", "~")


def _error_code(exc: FabricErrorException) -> str | None:
    error = getattr(exc, "error", None)
    inner = getattr(error, "error", None)
    code = getattr(inner, "code", None)
    return str(code) if code is not None else None


def _all_pages(call: Any, *args: Any) -> list[Any]:
    items: list[Any] = []
    token: str | None = None
    while True:
        page = call(*args, continuation_token=token)
        items.extend(page.items or [])
        token = page.continuation_token or None
        if token is None:
            return items


def read_cluster(url: str) -> BaselineResult:
    """Every application's services and each service's backup configuration, sequentially."""
    client = ServiceFabricClientAPIs(Authentication(), base_url=url)  # no credentials: a plain HTTP endpoint
    applications = _all_pages(client.get_application_info_list)
    services = items = not_enabled = 0
    for app in applications:
        for service in _all_pages(client.get_service_info_list, _entity_id(app.name)):
            services += 1
            try:
                info = _all_pages(client.get_service_backup_configuration_info, _entity_id(service.name))
            except FabricErrorException as exc:
                if _error_code(exc) != BACKUP_NOT_ENABLED:
                    raise
                not_enabled += 1
                continue
            items += len(info)
    return BaselineResult(len(applications), services, items, not_enabled)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m benchmarks.sdk_baseline URL", file=sys.stderr)
        return 1
    print(json.dumps(asdict(read_cluster(args[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
