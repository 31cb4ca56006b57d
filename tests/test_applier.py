"""The executor's rules with a scripted sender: phases, skips of dependants only, reconciliation, Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sfdeclare.engine.applier import ActionResult, apply_plan
from sfdeclare.engine.plan import Action, Change, Plan, ordered
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.scope import ReadScope
from sfdeclare.render.summaries import apply_line
from sfdeclare.servicefabric.routes import (
    ApiOptions,
    WireRequest,
    create_policy,
    disable_backup,
    enable_backup,
)

API = ApiOptions()
BODY: dict[str, Any] = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
    "Storage": {"StorageKind": "FileShare", "Path": "\\\\s\\b"},
}


def enable(app: str, policy: str, deps: tuple[str, ...] = ()) -> Change:
    ref = EntityRef(app)
    return Change(
        ref,
        Action.ENABLE_BACKUP,
        None,
        policy,
        "r",
        enable_backup(ref, policy, API),
        depends_on=deps,
    )


def create(name: str) -> Change:
    return Change(PolicyRef(name), Action.CREATE_POLICY, None, BODY, "r", create_policy(name, BODY, API))


def make_plan(*changes: Change) -> Plan:
    return Plan("0", "emulator:x", "6.4", "slash", "c", "l", ReadScope(), ordered(changes))


class Scripted:
    def __init__(
        self, failures: Mapping[str, ClusterError] | None = None, live: Mapping[str, Any] | None = None
    ) -> None:
        self.failures = dict(failures or {})
        self.live = dict(live or {})
        self.sent: list[WireRequest] = []
        self.lock = threading.Lock()

    def execute(self, request: WireRequest) -> int:
        with self.lock:
            self.sent.append(request)
        for needle, exc in self.failures.items():
            if needle in request.path:
                raise exc
        return 1

    def get_policy(self, name: str) -> Mapping[str, Any] | None:
        return self.live.get(name)


def test_phases_run_in_order_and_everything_applies() -> None:
    a, b = create("A"), create("B")
    plan = make_plan(enable("fabric:/X", "A", (a.id,)), a, b, enable("fabric:/Y", "B", (b.id,)))
    sender = Scripted()
    result = apply_plan(plan, sender, parallelism=4)
    assert [r.status for r in result.results] == ["applied"] * 4
    assert [r.path.endswith("Create") for r in sender.sent[:2]] == [True, True]
    assert apply_line(result) == "Apply complete: 4 applied, 0 failed, 0 skipped."


def test_a_failed_action_skips_only_its_dependants() -> None:
    a, b = create("A"), create("B")
    plan = make_plan(a, b, enable("fabric:/X", "A", (a.id,)), enable("fabric:/Y", "B", (b.id,)))
    rejected = ClusterError("Create policy[A]", "Invalid argument", status=400, code="E_INVALIDARG")

    class RejectsA(Scripted):
        def execute(self, request: WireRequest) -> int:
            if request.body and request.body.get("Name") == "A":
                raise rejected
            return 1

    sender = RejectsA()
    seen: list[ActionResult] = []
    result = apply_plan(plan, sender, parallelism=1, on_result=seen.append)
    status = {r.change.address + r.change.action.value: r for r in result.results}
    assert status["policy[A]create_policy"].status == "failed"
    assert status["policy[A]create_policy"].code == "E_INVALIDARG"
    assert status["application[fabric:/X]enable_backup"].status == "skipped"
    assert status["application[fabric:/X]enable_backup"].waited_for == a.id
    assert status["application[fabric:/Y]enable_backup"].status == "applied"
    assert len(seen) == 4
    assert not result.ok


def test_retried_writes_that_already_landed_count_as_applied() -> None:
    ref = EntityRef("fabric:/X")
    disable = Change(
        ref,
        Action.DISABLE_BACKUP,
        "A",
        None,
        "r",
        disable_backup(ref, False, API),
    )
    a = create("A")
    plan = make_plan(a, disable)
    sender = Scripted(
        {
            "Create": ClusterError("c", "exists", status=409, code="FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS"),
            "DisableBackup": ClusterError("d", "not enabled", status=404, code="FABRIC_E_BACKUP_NOT_ENABLED"),
        },
        live={"A": {**BODY, "Storage": {**BODY["Storage"], "FriendlyName": ""}}},
    )
    result = apply_plan(plan, sender)
    assert [(r.status, bool(r.note)) for r in result.results] == [("applied", True), ("applied", True)]


def test_a_create_that_finds_a_different_policy_fails() -> None:
    sender = Scripted(
        {"Create": ClusterError("c", "exists", status=409, code="FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING")},
        live={"A": {**BODY, "MaxIncrementalBackups": 9}},
    )
    (r,) = apply_plan(make_plan(create("A")), sender).results
    assert r.status == "failed" and r.code == "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING"


def test_stop_lets_running_actions_finish_and_starts_no_more() -> None:
    stop = threading.Event()
    changes = [enable(f"fabric:/A{i}", "P") for i in range(10)]
    plan = make_plan(*changes)
    calls = 0

    class Stopping(Scripted):
        def execute(self, request: WireRequest) -> int:
            nonlocal calls
            calls += 1
            if calls == 3:
                stop.set()
            return 1

    result = apply_plan(plan, Stopping(), parallelism=1, stop=stop)
    assert result.interrupted
    assert result.count("applied") == 3
    assert result.not_started == 7
    assert "interrupted" in apply_line(result) and "7 not started" in apply_line(result)
