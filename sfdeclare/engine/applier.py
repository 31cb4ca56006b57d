"""Executes a Plan through whatever sends its requests; knows nothing of HTTP.

Phases run in order; inside a phase actions run in parallel on a bounded pool (a pool of one is the serial
run: same code path). A failed action skips the actions that depend on it, and only those. Writes whose
outcome the server reports as "already so" (a create that finds the policy, a disable or delete that finds
nothing) are checked and counted as applied, so every action is safe to repeat.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sfdeclare.engine.plan import Action, Change, Plan
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import PolicyRef
from sfdeclare.servicefabric import codes
from sfdeclare.servicefabric.policies import canonical
from sfdeclare.servicefabric.routes import WireRequest

Status = Literal["applied", "failed", "skipped"]

_POLICY_MISSING = codes.spellings(codes.POLICY_DOES_NOT_EXIST)
_POLICY_EXISTS = codes.spellings(codes.POLICY_ALREADY_EXISTS)


class Sender(Protocol):
    def execute(self, request: WireRequest) -> int:
        """Send one request (retrying transient failures); return the attempts made or raise ClusterError."""

    def get_policy(self, name: str) -> Mapping[str, Any] | None:
        """The policy as the cluster holds it, or None."""


@dataclass(frozen=True)
class ActionResult:
    """What became of one change: applied, failed (``code`` and ``message`` from the cluster) or skipped
    (``waited_for`` the id of the change that did not apply); ``note`` says why a refusal counted as applied."""

    change: Change
    status: Status
    attempts: int = 0
    duration: float = 0.0
    code: str | None = None
    message: str | None = None
    waited_for: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    """The result of every change that started or was skipped, in plan order; ``planned`` counts them all."""

    results: tuple[ActionResult, ...]
    interrupted: bool = False

    planned: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def not_started(self) -> int:
        return self.planned - len(self.results)

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.count("failed") == 0 and self.count("skipped") == 0


def _already_done(change: Change, exc: ClusterError, sender: Sender) -> str | None:
    """When the cluster refused because the intended result already holds, say why; else None."""
    if change.action is Action.DISABLE_BACKUP and exc.code == codes.BACKUP_NOT_ENABLED:
        return "no mapping at this level any more: already disabled"
    if change.action is Action.DELETE_POLICY and exc.code in _POLICY_MISSING:
        return "the policy no longer exists: already deleted"
    if (
        change.action is Action.CREATE_POLICY
        and exc.code in _POLICY_EXISTS
        and isinstance(change.target, PolicyRef)
    ):
        live = sender.get_policy(change.target.name)
        body = change.request.body or {}
        if live is not None and canonical(live) == canonical(body):
            return "the policy already exists with the declared settings"
    return None


def _run_one(change: Change, sender: Sender) -> ActionResult:
    started = time.monotonic()
    try:
        attempts = sender.execute(change.request)
    except ClusterError as exc:
        try:
            note = _already_done(change, exc, sender)
        except ClusterError:
            note = None
        elapsed = time.monotonic() - started
        if note is not None:
            return ActionResult(change, "applied", exc.attempts, elapsed, exc.code, None, note=note)
        return ActionResult(change, "failed", exc.attempts, elapsed, exc.code, exc.cluster_message)
    return ActionResult(change, "applied", attempts, time.monotonic() - started)


def apply_plan(
    plan: Plan,
    sender: Sender,
    *,
    parallelism: int = 10,
    on_result: Callable[[ActionResult], None] | None = None,
    on_phase: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Execute ``plan`` phase by phase. ``stop`` (set on Ctrl-C) lets running actions finish and starts no more."""
    stop = stop or threading.Event()
    results: dict[str, ActionResult] = {}
    interrupted = False

    def record(result: ActionResult) -> None:
        results[result.change.id] = result
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="apply") as pool:
        for phase, changes in plan.phases():
            if on_phase is not None:
                on_phase(phase)
            running: dict[Future[ActionResult], Change] = {}
            for change in changes:
                blocker = next(
                    (d for d in change.depends_on if d in results and results[d].status != "applied"), None
                )
                if blocker is not None:
                    record(
                        ActionResult(
                            change, "skipped", waited_for=blocker, message=f"{blocker} did not apply"
                        )
                    )
                    continue
                while len(running) >= max(1, parallelism):
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        record(future.result())
                if stop.is_set():
                    interrupted = True
                    break
                running[pool.submit(_run_one, change, sender)] = change
            for future in list(running):
                record(future.result())
            if stop.is_set():
                interrupted = True
            if interrupted:
                break
    ordered = tuple(results[c.id] for c in plan.changes if c.id in results)
    return ApplyResult(ordered, interrupted, len(plan.changes))
