"""What `status` reads beyond a plan's reads: the latest backup of every partition (one GetBackups?Latest=true
per declared application, plus its pages), the partitions of backup-eligible services a plan did not list (a
partition that never got a backup appears in no backup listing), the backup health of chosen partitions, and
the cluster's clock (the Date header of the backup listings' answers).

Independent reads run in parallel, ``parallelism`` at a time; failures are the client's ClusterErrors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sfdeclare.cluster.client import MAX_PAGES, Client
from sfdeclare.errors import ClusterError
from sfdeclare.model.live import LivePartition
from sfdeclare.servicefabric import backups, codes, replies


@dataclass(frozen=True)
class Backups:
    """Every listed latest backup, and the cluster's clock as its answers said (None: no Date header)."""

    points: tuple[backups.BackupPoint, ...]
    cluster_now: int | None


def latest_backups(client: Client, app: str) -> tuple[list[backups.BackupPoint], int | None]:
    """The newest backup of each partition of ``app`` (per storage), and the latest Date its answers carried.
    An application with no mapping under it (404 FABRIC_E_BACKUP_NOT_ENABLED) has none."""
    points: list[backups.BackupPoint] = []
    newest: int | None = None
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        req = backups.latest_backups(app, client.api, token)
        try:
            reply = client.send(req)
        except ClusterError as exc:
            if exc.status == 404 and exc.code in (codes.BACKUP_NOT_ENABLED, codes.APPLICATION_NOT_FOUND):
                return points, newest
            raise
        date = backups.parse_http_date(reply.date)
        if date is not None:
            newest = date if newest is None else max(newest, date)
        page = replies.parse_page(reply.body, req.operation, reply.status)
        for item in page.items:
            point = backups.parse_backup_info(item, req.operation, reply.status)
            if point is not None:
                points.append(point)
        if page.continuation is None:
            return points, newest
        if page.continuation in seen:
            raise replies.reject(req.operation, reply.status, "the cluster repeated a continuation token")
        seen.add(page.continuation)
        token = page.continuation
    raise replies.reject(f"GetBackups application[{app}]", None, f"more than {MAX_PAGES} pages")


def read_evidence(
    client: Client, applications: Sequence[str], services: Sequence[str], parallelism: int
) -> tuple[Backups, dict[str, tuple[LivePartition, ...] | None]]:
    """The latest backups of ``applications`` and the partitions of ``services``, all in parallel."""
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-status") as pool:
        try:
            listed = [pool.submit(latest_backups, client, app) for app in applications]
            partitions = {svc: pool.submit(_partitions_or_none, client, svc) for svc in services}
            points: list[backups.BackupPoint] = []
            newest: int | None = None
            for future in listed:
                found, date = future.result()
                points.extend(found)
                if date is not None:
                    newest = date if newest is None else max(newest, date)
            read = {svc: future.result() for svc, future in partitions.items()}
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return Backups(tuple(points), newest), read


def read_health(
    client: Client, partitions: Iterable[str], parallelism: int
) -> dict[str, backups.BackupHealth]:
    """The backup service's health report on each partition (a partition gone meanwhile: healthy)."""

    def one(partition: str) -> backups.BackupHealth:
        req = backups.partition_health(partition, client.api)
        try:
            reply = client.send(req)
        except ClusterError as exc:
            if exc.status == 404 and exc.code == codes.PARTITION_NOT_FOUND:
                return backups.BackupHealth(False)
            raise
        return backups.parse_partition_health(reply.body, req.operation, reply.status)

    wanted = list(dict.fromkeys(partitions))
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-health") as pool:
        try:
            futures = {pid: pool.submit(one, pid) for pid in wanted}
            return {pid: future.result() for pid, future in futures.items()}
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _partitions_or_none(client: Client, service: str) -> tuple[LivePartition, ...] | None:
    try:
        return tuple(client.list_partitions(service))
    except ClusterError as exc:
        if exc.status == 404 and exc.code in (codes.APPLICATION_NOT_FOUND, codes.SERVICE_DOES_NOT_EXIST):
            return None
        raise
