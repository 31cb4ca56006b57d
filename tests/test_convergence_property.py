"""The law the product rests on: for any topology, starting state and configuration, plan -> apply -> plan is
empty, and the emulator (which enforces the server's rules) rejects no planned action."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sfdeclare.cluster.client import Client
from sfdeclare.commands.session import connect, read_live
from sfdeclare.config.loader import load_declaration
from sfdeclare.emulator.state import Store, init_state
from sfdeclare.engine.applier import apply_plan
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.errors import PlanError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import Declaration
from sfdeclare.model.live import LiveState
from sfdeclare.model.scope import read_scope
from sfdeclare.servicefabric.policies import request_body
from sfdeclare.servicefabric.routes import WireRequest

POLICIES = ["P0", "P1", "P2"]
ENV = {"CONN": "UseDevelopmentStorage=true"}


def policy_body(index: int) -> dict[str, Any]:
    schedule: dict[str, Any] = {"ScheduleKind": "FrequencyBased", "Interval": f"PT{index + 1}H"}
    if index == 2:
        schedule = {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunDays": ["Monday"],
            "RunTimes": ["04:00"],
        }
    return {
        "MaxIncrementalBackups": index + 1,
        "Schedule": schedule,
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "ConnectionString": "${env:CONN}",
            "ContainerName": f"c{index}",
        },
    }


@dataclass
class Scenario:
    topology: dict[str, Any]
    config: dict[str, Any]
    before: list[tuple[str, EntityRef, str | None]]
    stale_policies: bool


CHOICES: list[tuple[str, ...]] = [(), ("enable",), ("suspend",), ("enable", "suspend")]
level: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={"policy": st.sampled_from(POLICIES), "suspended": st.booleans()},
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    apps = []
    config_apps: dict[str, Any] = {}
    before: list[tuple[str, EntityRef, str | None]] = []
    for a in range(draw(st.integers(1, 3))):
        app = f"fabric:/App{a}"
        services = []
        config_services: dict[str, Any] = {}
        for s in range(draw(st.integers(1, 3))):
            name = f"{app}/Svc{s}"
            stateful = draw(st.booleans()) or s == 0
            count = draw(st.integers(1, 3))
            services.append(
                {"name": name, "kind": "Stateful" if stateful else "Stateless", "partitions": count}
            )
            if not stateful:
                continue
            decl = dict(draw(level))
            parts = []
            for p in range(count):
                if draw(st.integers(0, 3)) == 0:
                    parts.append({"index": p, **draw(level)})
            if parts:
                decl["partitions"] = parts
            if decl and bool(draw(st.booleans())):
                config_services[f"Svc{s}"] = decl
            for action in draw(st.sampled_from(CHOICES)):
                before.append((action, EntityRef(app, name), draw(st.sampled_from(POLICIES))))
        apps.append({"name": app, "services": services})
        app_decl: dict[str, Any] = dict(draw(level))
        if config_services:
            app_decl["services"] = config_services
        if draw(st.integers(0, 3)) > 0:
            config_apps[f"App{a}"] = app_decl
        for action in draw(st.sampled_from(CHOICES)):
            before.append((action, EntityRef(app), draw(st.sampled_from(POLICIES))))
    if draw(st.booleans()):  # declare some live suspensions away, so that resumes get planned
        for action, ref, _ in before:
            short = ref.application.removeprefix("fabric:/")
            if action != "suspend" or short not in config_apps:
                continue
            if ref.service is None:
                config_apps[short]["suspended"] = False
            else:
                services = config_apps[short].setdefault("services", {})
                services.setdefault(ref.service.rsplit("/", 1)[1], {})["suspended"] = False
    config = {
        "version": 1,
        "scope": draw(st.sampled_from(["declared", "cluster"])),
        "prune_policies": draw(st.booleans()),
        "policies": {p: policy_body(i) for i, p in enumerate(POLICIES) if draw(st.booleans()) or i == 0},
        "applications": config_apps,
    }
    return Scenario({"applications": apps}, config, before, draw(st.booleans()))


class Sender:
    def __init__(self, client: Client) -> None:
        self.client = client

    def execute(self, request: WireRequest) -> int:
        return self.client.send(request, secrets_env=ENV).attempts

    def get_policy(self, name: str) -> Any:
        return self.client.get_policy(name)


def prepare(scenario: Scenario, folder: Path, client: Client) -> None:
    for i, name in enumerate(POLICIES):
        if i != 1:  # P1 exists only when declared: references to it must then be declared
            body = policy_body(i + 1 if scenario.stale_policies else i)
            client.create_policy(
                name, request_body({**body, "Storage": {**body["Storage"], "ConnectionString": "x"}})
            )
    for action, ref, policy in scenario.before:
        if action == "enable" and policy != "P1":
            client.enable_backup(ref, policy or "P0")
    mapped = {
        ref.application for action, ref, policy in scenario.before if action == "enable" and policy != "P1"
    }
    for action, ref, _ in scenario.before:
        if action == "suspend" and ref.application in mapped:
            client.suspend_backup(ref)


def write_config(scenario: Scenario, folder: Path, client: Client) -> Path:
    config = scenario.config
    for app_key, app in config["applications"].items():
        for svc_key, svc in app.get("services", {}).items():
            parts = client.list_partitions(f"fabric:/{app_key}/{svc_key}")
            svc["partitions"] = [
                {"id": parts[p.pop("index") % len(parts)].id, **p} for p in svc.get("partitions", [])
            ]
            ids = [p["id"] for p in svc["partitions"]]
            svc["partitions"] = [p for i, p in enumerate(svc["partitions"]) if p["id"] not in ids[:i]]
    path = folder / "sfdeclare.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def application_suspended_in(state: str, app: str) -> bool:
    """The emulator's stored truth: whether ``app`` is suspended at its own level."""
    store = Store(state)
    try:
        with store.read() as tx:
            return any(s.service is None and s.partition is None for s in tx.suspensions_in_app(app))
    finally:
        store.close()


def assert_cluster_holds(
    declaration: Declaration, live: LiveState, state: str, unobservable: frozenset[str] = frozenset()
) -> None:
    """An oracle independent of the planner: the live state says what the file says, level by level.

    An application's own suspension that the cluster's answers hide (SF-BACKUP-API.md section 5.4) is checked
    in the emulator's stored state instead, except for ``unobservable`` ones: those the plan said it could not
    see, and left alone."""
    wanted: dict[EntityRef, str] = {}
    for app in declaration.applications.values():
        levels = [(EntityRef(app.name), app.settings)]
        for svc in app.services:
            levels.append((EntityRef(app.name, svc.name), svc.settings))
            levels += [
                (EntityRef(app.name, svc.name, str(p.selector.value)), p.settings) for p in svc.partitions
            ]
        for ref, level in levels:
            if level.policy is not None:
                wanted[ref] = level.policy
            if level.suspended is None or ref.address in unobservable:
                continue
            if ref.level == "Application" and ref.application in live.hidden_application_suspension:
                assert application_suspended_in(state, ref.application) == level.suspended, ref
            else:
                assert (ref in live.suspensions) == level.suspended, ref
    managed = set(declaration.applications)
    if declaration.scope == "cluster":
        managed |= set(live.configured_applications)
    actual = {ref: policy for ref, policy in live.mappings.items() if ref.application in managed}
    assert actual == wanted
    for name, decl in declaration.policies.items():
        assert name in live.policies
        assert live.policies[name]["MaxIncrementalBackups"] == decl.body["MaxIncrementalBackups"]


@settings(
    max_examples=int(os.environ.get("SFDECLARE_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_plan_apply_plan_is_empty_and_no_action_is_rejected(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "topology.yaml").write_text(yaml.safe_dump(scenario.topology))
        init_state(str(folder / "state"), str(folder / "topology.yaml"))
        with connect(f"emulator:{folder / 'state'}", env=ENV) as client:
            prepare(scenario, folder, client)
            declaration = load_declaration([str(write_config(scenario, folder, client))])
            live = read_live(client, declaration, read_scope(declaration), 4)
            try:
                first = plan(declaration, live, PlanOptions())
            except PlanError as exc:
                assume(
                    all(
                        "would have no backup mapping" in d.message
                        for d in exc.diagnostics
                        if d.severity == "error"
                    )
                )
                return
            result = apply_plan(first, Sender(client), parallelism=4)
            rejected = [
                f"{r.change.id}: {r.code} {r.message}" for r in result.results if r.status != "applied"
            ]
            assert not rejected
            unobservable = frozenset(
                d.message.partition("]: ")[0] + "]"
                for d in first.diagnostics
                if d.severity == "warning"
                and "does not show whether this application is suspended" in d.message
            )
            final = read_live(client, declaration, read_scope(declaration), 4)
            assert_cluster_holds(declaration, final, str(folder / "state"), unobservable)
            again = plan(
                declaration, read_live(client, declaration, read_scope(declaration), 4), PlanOptions()
            )
            assert [c.id for c in again.changes if c.address not in unobservable] == []
            # A suspension the first plan could not see may show once the rest is applied (another service
            # now lists without a suspension of its own): then one more round settles it, and only it.
            if again.changes:
                second = apply_plan(again, Sender(client), parallelism=4)
                assert [r.change.id for r in second.results if r.status != "applied"] == []
                last = plan(
                    declaration, read_live(client, declaration, read_scope(declaration), 4), PlanOptions()
                )
                assert [c.id for c in last.changes] == []
