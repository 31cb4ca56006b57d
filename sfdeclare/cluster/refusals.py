"""After a 403: what else does the cluster refuse to the same credential? The answer tells a credential the
cluster does not know (reads refused too) from a read-only one (only writes refused) and from the known
Service Fabric issue on common-name clusters (only backup routes refused); failures.refusal_message words it.

Probes go through the client's own send (same credential, same retries) and are made once per kind of refused
request (a write or a read, a backup route or not) for the client's life, so a parallel apply that meets many
refusals asks once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sfdeclare.errors import ClusterError
from sfdeclare.servicefabric import routes
from sfdeclare.servicefabric.routes import ApiOptions, WireRequest


class RefusalProbe:
    def __init__(self, send: Callable[[WireRequest], Any], api: ApiOptions) -> None:
        self._send = send
        self._api = api
        self._lock = threading.Lock()
        self._known: dict[tuple[bool, bool], tuple[bool | None, bool | None]] = {}

    def probe(self, refused: WireRequest) -> tuple[bool | None, bool | None]:
        """(do query routes answer, do backup reads answer) with the credential ``refused`` was sent with;
        None where no probe tells (the backup question for a query route, a probe that failed otherwise)."""
        backup = routes.is_backup_route(refused)
        key = (refused.method != "GET", backup)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        reads_ok = self._answers(routes.get_cluster_version(self._api))
        if reads_ok is None:  # a runtime without GetClusterVersion: another query route
            reads_ok = self._answers(routes.list_applications(self._api))
        backup_reads_ok: bool | None
        if not backup:
            backup_reads_ok = None
        elif refused.method == "GET":
            backup_reads_ok = False  # the refused request was one
        else:
            backup_reads_ok = self._answers(routes.list_policies(self._api, None, 1))
        with self._lock:
            self._known[key] = (reads_ok, backup_reads_ok)
        return reads_ok, backup_reads_ok

    def _answers(self, req: WireRequest) -> bool | None:
        """True: answered; False: refused (401/403); None: neither tells (not found, unreachable)."""
        try:
            self._send(req)
        except ClusterError as exc:
            return False if exc.status in (401, 403) else None
        return True
