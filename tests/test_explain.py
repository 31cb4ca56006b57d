"""explain's decisions (engine/explain.py), from the same bound levels the planner compares: which level
decides an entity's policy and suspension after the plan, and whether the configuration says so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sfdeclare.engine.bind import bind
from sfdeclare.engine.explain import Decider, explain
from sfdeclare.engine.planner import plan
from sfdeclare.errors import Location, SfdeclareError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ApplicationDecl, Declaration, LevelSettings, PolicyDecl, ServiceDecl
from sfdeclare.model.inheritance import Effective
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState

APP, SVC, PID = "fabric:/A", "fabric:/A/S", "p1"
AT = Location("c.yaml", 7, 9, "$.applications.A.services.S.policy")
BODY = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
    "Storage": {"StorageKind": "FileShare", "Path": "\\\\s\\b"},
}


def _case(service: LevelSettings) -> tuple[Declaration, LiveState]:
    declaration = Declaration(
        policies={"Daily": PolicyDecl("Daily", BODY)},
        applications={APP: ApplicationDecl(APP, LevelSettings(), (ServiceDecl(SVC, service),))},
    )
    live = LiveState(
        policies={"Daily": BODY},
        applications={
            APP: LiveApplication(
                APP, services=(LiveService(SVC, "Stateful", True, (LivePartition(PID, "Singleton"),)),)
            )
        },
        suspensions=frozenset({EntityRef(APP)}),
        mappings={EntityRef(APP): "Daily"},
        configured_applications=frozenset({APP}),
    )
    return declaration, live


def test_a_partition_inherits_the_policy_the_file_declares_on_its_service() -> None:
    declaration, live = _case(LevelSettings(policy="Daily", policy_location=AT))
    changes = plan(declaration, live).changes
    answer = explain(declaration, bind(declaration, live), live, changes, f"partition[{SVC}/{PID}]")
    assert answer.now == Effective("Daily", "Application", True, "Application")
    assert answer.after == Effective("Daily", "Service", True, "Application")
    assert answer.policy == Decider("configuration", EntityRef(APP, SVC), AT, inherited=True)
    # the application's suspension is the cluster's own: nothing in the file says it
    assert answer.suspension == Decider("cluster", EntityRef(APP), None, inherited=True)


def test_a_level_that_declares_suspended_false_is_named_when_nothing_suspends() -> None:
    declaration, live = _case(LevelSettings(policy="Daily", suspended=False, suspended_location=AT))
    live = replace(live, suspensions=frozenset())
    answer = explain(declaration, bind(declaration, live), live, (), f"service[{SVC}]")
    assert answer.suspension == Decider("declared_false", EntityRef(APP, SVC), AT)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("nonsense", "'nonsense' is not an address"),
        ("policy[Daily]", "'policy[Daily]' is a policy: explain takes application["),
        ("application[fabric:/Gone]", "application fabric:/Gone does not exist on the cluster"),
    ],
)
def test_what_explain_cannot_answer_is_one_clear_error(address: str, message: str) -> None:
    declaration, live = _case(LevelSettings())
    with pytest.raises(SfdeclareError, match=message.replace("[", r"\[")):
        explain(declaration, bind(declaration, live), live, (), address)
