"""Table tests of the pure planner: (declaration, live) -> actions, without any server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfdeclare.engine.digest import live_digest
from sfdeclare.engine.plan import Action, Plan
from sfdeclare.engine.planfile import plan_from_json, to_json
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.errors import Location, PlanError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import (
    ApplicationDecl,
    ClusterSettings,
    Declaration,
    LevelSettings,
    PartitionDecl,
    PartitionSelector,
    PolicyDecl,
    ServiceDecl,
)
from sfdeclare.model.inheritance import NOTHING, Effective, effective, inherit
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState

APP = "fabric:/CalcApp"
SVC = "fabric:/CalcApp/CalcService"
REP = "fabric:/CalcApp/Reporting"
WEB = "fabric:/CalcApp/Web"
P1, P2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
LOC = Location("c.yaml", 3, 5, "$.x")


def body(interval: str = "PT24H", **extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": 3,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": interval},
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "FriendlyName": "",
            "ConnectionString": "${env:CONN}",
            "ContainerName": "backups",
        },
    }
    b.update(extra)
    return b


def live_body(interval: str = "P1D", **extra: Any) -> dict[str, Any]:
    b = body(interval, **extra)
    b["Storage"] = {**b["Storage"], "ConnectionString": "****"}
    return b


def settings(
    policy: str | None = None, suspended: bool | None = None, clean: bool | None = None
) -> LevelSettings:
    return LevelSettings(
        policy=policy,
        suspended=suspended,
        clean_backup=clean,
        location=LOC,
        policy_location=LOC if policy else None,
        suspended_location=LOC if suspended is not None else None,
    )


def topology(*, partitions: bool = False) -> dict[str, LiveApplication]:
    parts = (
        (
            LivePartition(P1, "Int64Range", low_key=0, high_key=9),
            LivePartition(P2, "Int64Range", low_key=10, high_key=19),
        )
        if partitions
        else None
    )
    return {
        APP: LiveApplication(
            APP,
            services=(
                LiveService(SVC, "Stateful", True, parts),
                LiveService(
                    REP, "Stateful", True, parts and (LivePartition(P2.replace("2", "3"), "Singleton"),)
                ),
                LiveService(WEB, "Stateless", False),
            ),
        )
    }


def decl(
    app: LevelSettings | None = None,
    services: tuple[ServiceDecl, ...] = (),
    policies: dict[str, dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Declaration:
    pols = {"Daily": body()} if policies is None else policies
    return Declaration(
        files=("c.yaml",),
        policies={n: PolicyDecl(n, b, LOC) for n, b in pols.items()},
        applications={APP: ApplicationDecl(APP, app or settings(), services)},
        digest="sha256:" + "0" * 64,
        **kwargs,
    )


def live(
    mappings: dict[EntityRef, str] | None = None,
    suspensions: frozenset[EntityRef] = frozenset(),
    policies: dict[str, dict[str, Any]] | None = None,
    *,
    partitions: bool = False,
    **kwargs: Any,
) -> LiveState:
    return LiveState(
        policies={"Daily": live_body()} if policies is None else policies,
        applications=topology(partitions=partitions),
        mappings=mappings or {},
        suspensions=suspensions,
        configured_applications=frozenset({APP}),
        **kwargs,
    )


def actions(p: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.address) for c in p.changes]


def test_nothing_planned_when_the_cluster_already_matches() -> None:
    p = plan(decl(settings("Daily")), live({EntityRef(APP): "Daily"}))
    assert p.empty
    assert p.effective_changes == ()


def test_new_policy_and_mapping_are_created_then_enabled_in_phase_order() -> None:
    p = plan(decl(settings("Daily")), live(policies={}))
    assert actions(p) == [("create_policy", "policy[Daily]"), ("enable_backup", f"application[{APP}]")]
    create, enable = p.changes
    assert enable.depends_on == (create.id,)
    assert create.request.method == "POST" and create.request.path == "/BackupRestore/BackupPolicies/$/Create"
    assert create.request.body is not None
    assert create.request.body["Name"] == "Daily"
    assert create.request.body["Storage"]["ConnectionString"] == "${env:CONN}"


@pytest.mark.parametrize(
    ("declared", "live_value"),
    [("PT24H", "P1D"), ("PT90M", "PT1H30M"), ("P1D", "PT24H"), ("PT1H30M", "PT90M")],
)
def test_durations_compare_by_value(declared: str, live_value: str) -> None:
    p = plan(
        decl(settings("Daily"), policies={"Daily": body(declared)}),
        live({EntityRef(APP): "Daily"}, policies={"Daily": live_body(live_value)}),
    )
    assert p.empty


def test_a_changed_field_updates_the_policy_and_names_the_field() -> None:
    p = plan(
        decl(settings("Daily"), policies={"Daily": body("PT12H")}),
        live({EntityRef(APP): "Daily"}),
    )
    assert actions(p) == [("update_policy", "policy[Daily]")]
    (f,) = p.changes[0].fields
    assert (f.path, f.before, f.after) == ("Schedule.Interval", "P1D", "PT12H")


def test_secrets_are_never_compared_but_refresh_re_sends_them() -> None:
    assert plan(decl(settings("Daily")), live({EntityRef(APP): "Daily"})).empty
    p = plan(decl(settings("Daily")), live({EntityRef(APP): "Daily"}), PlanOptions(refresh_secrets=True))
    assert actions(p) == [("update_policy", "policy[Daily]")]
    assert "refresh-secrets" in p.changes[0].reason


def test_time_based_run_times_and_days_compare_as_sets() -> None:
    sched = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunTimes": ["10:00", "2020-01-01T22:30:00+01:00"],
        "RunDays": ["Friday", "Monday", "Monday"],
    }
    live_sched = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunTimes": ["0001-01-01T21:30:00Z", "0001-01-01T10:00:00Z"],
        "RunDays": ["Monday", "Friday"],
    }
    p = plan(
        decl(settings("Daily"), policies={"Daily": body(Schedule=sched)}),
        live({EntityRef(APP): "Daily"}, policies={"Daily": live_body(Schedule=live_sched)}),
    )
    assert p.empty


def test_service_override_partition_override_and_effective_policies() -> None:
    d = decl(
        settings("Daily"),
        (
            ServiceDecl(
                SVC,
                settings("Hourly"),
                (PartitionDecl(PartitionSelector("low_key", 10), settings("Daily")),),
            ),
        ),
        policies={"Daily": body(), "Hourly": body("PT1H")},
    )
    p = plan(
        d,
        live(
            {EntityRef(APP): "Daily"},
            policies={"Daily": live_body(), "Hourly": live_body("PT1H")},
            partitions=True,
        ),
    )
    assert actions(p) == [
        ("enable_backup", f"service[{SVC}]"),
        ("enable_backup", f"partition[{SVC}/{P2}]"),
    ]
    assert not any("inherit anyway" in d.message for d in p.diagnostics)
    eff = {e.address: e for e in p.effective_changes}
    assert eff[f"partition[{SVC}/{P1}]"].after.policy == "Hourly"
    assert eff[f"partition[{SVC}/{P1}]"].after.policy_from == "Service"
    # same policy, now decided by the partition's own mapping: shown, but not counted as a policy change
    assert eff[f"partition[{SVC}/{P2}]"].after.policy_from == "Partition"
    assert p.services_changed == 1 and p.partitions_changed == 1


def test_an_override_identical_to_its_parent_is_a_warning() -> None:
    p = plan(decl(settings("Daily"), (ServiceDecl(SVC, settings("Daily")),)), live({EntityRef(APP): "Daily"}))
    assert actions(p) == [("enable_backup", f"service[{SVC}]")]
    assert any("inherit anyway" in d.message and d.severity == "warning" for d in p.diagnostics)


def test_undeclared_explicit_mapping_in_declared_app_is_disabled_at_its_level() -> None:
    p = plan(decl(settings("Daily")), live({EntityRef(APP): "Daily", EntityRef(APP, SVC): "Daily"}))
    assert actions(p) == [("disable_backup", f"service[{SVC}]")]
    c = p.changes[0]
    assert not c.destructive
    assert c.request.body == {"CleanBackup": False}


def test_clean_backup_makes_the_disable_destructive() -> None:
    d = decl(settings("Daily"), (ServiceDecl(SVC, settings(clean=True)),))
    p = plan(d, live({EntityRef(APP): "Daily", EntityRef(APP, SVC): "Daily"}))
    (c,) = p.changes
    assert c.destructive and c.request.body == {"CleanBackup": True}
    top = plan(
        decl(settings("Daily"), clean_backup=True),
        live({EntityRef(APP): "Daily", EntityRef(APP, SVC): "Daily"}),
    )
    assert top.changes[0].destructive


def test_scope_declared_leaves_other_applications_alone_and_scope_cluster_removes_their_mappings() -> None:
    other = "fabric:/Other"
    state = live({EntityRef(APP): "Daily", EntityRef(other): "Daily"})
    state = LiveState(
        policies=state.policies,
        applications={**state.applications, other: LiveApplication(other, services=())},
        mappings=state.mappings,
        configured_applications=frozenset({APP, other}),
    )
    assert plan(decl(settings("Daily")), state).empty
    p = plan(decl(settings("Daily"), scope="cluster"), state)
    assert actions(p) == [("disable_backup", f"application[{other}]")]
    assert "scope: cluster" in p.changes[0].reason


def test_suspension_is_managed_only_where_written() -> None:
    susp = frozenset({EntityRef(APP, SVC)})
    mapped = {EntityRef(APP): "Daily"}
    assert plan(decl(settings("Daily")), live(mapped, susp)).empty  # absent: left as it is
    p = plan(decl(settings("Daily"), (ServiceDecl(SVC, settings(suspended=False)),)), live(mapped, susp))
    assert actions(p) == [("resume_backup", f"service[{SVC}]")]
    p = plan(decl(settings("Daily"), (ServiceDecl(REP, settings(suspended=True)),)), live(mapped, susp))
    assert actions(p) == [("suspend_backup", f"service[{REP}]")]
    assert p.changes[0].phase == 3


def test_suspension_in_an_application_without_any_mapping_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="would have no backup mapping"):
        plan(decl(settings(), (ServiceDecl(SVC, settings(suspended=True)),)), live())


def test_resume_precedes_disables_and_deletes_come_last() -> None:
    d = decl(
        settings("Daily"),
        (ServiceDecl(SVC, settings(suspended=False)),),
        prune_policies=True,
    )
    state = live(
        {EntityRef(APP): "Daily", EntityRef(APP, REP): "Old"},
        frozenset({EntityRef(APP, SVC)}),
        policies={"Daily": live_body(), "Old": live_body()},
        policy_entities={"Old": (EntityRef(APP, REP),)},
    )
    p = plan(d, state)
    assert [c.action for c in p.changes] == [
        Action.RESUME_BACKUP,
        Action.DISABLE_BACKUP,
        Action.DELETE_POLICY,
    ]
    delete = p.changes[-1]
    assert delete.destructive and delete.depends_on == (p.changes[1].id,)


def test_unmanaged_policies_are_reported_and_not_pruned_while_mapped_elsewhere() -> None:
    state = live(
        {EntityRef(APP): "Daily"},
        policies={"Daily": live_body(), "Old": live_body()},
        policy_entities={"Old": (EntityRef("fabric:/Elsewhere"),)},
    )
    p = plan(
        decl(settings("Daily")), state
    )  # scope: declared: someone else's policy, an info line (#15 item 6)
    assert p.empty and any(
        d.severity == "info" and "policy Old is not part of this configuration" in d.message
        for d in p.diagnostics
    )
    p = plan(decl(settings("Daily"), prune_policies=True), state)
    assert p.empty and any("still mapped" in d.message for d in p.diagnostics)


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ((ServiceDecl("fabric:/CalcApp/Nope", settings("Daily")),), "does not exist on the cluster"),
        ((ServiceDecl(WEB, settings("Daily")),), "is stateless"),
        ((ServiceDecl(SVC, settings("Missing")),), "policy Missing is not declared and does not exist"),
        (
            (
                ServiceDecl(
                    SVC, partitions=(PartitionDecl(PartitionSelector("low_key", 5), settings("Daily")),)
                ),
            ),
            "no partition of",
        ),
        (
            (
                ServiceDecl(
                    SVC, partitions=(PartitionDecl(PartitionSelector("name", "x"), settings("Daily")),)
                ),
            ),
            "no partition of",
        ),
    ],
)
def test_errors_only_the_live_cluster_can_show(services: tuple[ServiceDecl, ...], message: str) -> None:
    with pytest.raises(PlanError, match=message) as info:
        plan(decl(settings("Daily"), services), live({EntityRef(APP): "Daily"}, partitions=True))
    assert info.value.diagnostics[-1].location == LOC or any(
        d.location == LOC for d in info.value.diagnostics
    )


def test_a_selector_matching_several_partitions_is_an_error() -> None:
    state = live(partitions=True)
    dup = LiveService(
        SVC, "Stateful", True, (LivePartition(P1, "Named", name="a"), LivePartition(P2, "Named", name="a"))
    )
    state = LiveState(
        policies=state.policies,
        applications={APP: LiveApplication(APP, services=(dup,))},
        configured_applications=frozenset({APP}),
    )
    d = decl(
        settings("Daily"),
        (ServiceDecl(SVC, partitions=(PartitionDecl(PartitionSelector("name", "a"), settings("Daily")),)),),
    )
    with pytest.raises(PlanError, match="2 partitions"):
        plan(d, state)


def test_missing_application_is_an_error() -> None:
    with pytest.raises(PlanError, match="application fabric:/CalcApp does not exist"):
        plan(decl(settings("Daily")), LiveState(policies={"Daily": live_body()}))


def test_retention_policy_on_a_preview_cluster_is_an_error() -> None:
    retention = {"RetentionPolicyType": "Basic", "RetentionDuration": "P30D", "MinimumNumberOfBackups": 1}
    d = decl(
        settings("Daily"),
        policies={"Daily": body(RetentionPolicy=retention)},
        cluster=ClusterSettings(api_version="6.2-preview"),
    )
    with pytest.raises(PlanError, match="RetentionPolicy"):
        plan(d, live({EntityRef(APP): "Daily"}))


def test_a_literal_secret_is_refused() -> None:
    b = body()
    b["Storage"]["ConnectionString"] = "DefaultEndpointsProtocol=https;AccountKey=abc"
    with pytest.raises(PlanError) as info:
        plan(decl(settings("Daily"), policies={"Daily": b}), live({EntityRef(APP): "Daily"}))
    assert "AccountKey=abc" not in str(info.value)
    assert "Storage.ConnectionString is a secret: write a ${env:NAME}" in str(info.value)


def test_changing_the_application_policy_enables_in_place() -> None:
    p = plan(
        decl(settings("Hourly"), policies={"Hourly": body("PT1H")}),
        live({EntityRef(APP): "Daily"}, policies={"Daily": live_body(), "Hourly": live_body("PT1H")}),
    )
    assert actions(p) == [("enable_backup", f"application[{APP}]")]
    assert (p.changes[0].before, p.changes[0].after) == ("Daily", "Hourly")


def test_targets_limit_the_plan_and_keep_dependencies() -> None:
    d = decl(
        settings("Daily"),
        (ServiceDecl(SVC, settings("New")),),
        policies={"Daily": body(), "New": body("PT2H")},
    )
    p = plan(d, live(), PlanOptions(targets=(f"service[{SVC}]",)))
    assert actions(p) == [("create_policy", "policy[New]"), ("enable_backup", f"service[{SVC}]")]


def test_a_target_that_is_not_an_address_is_an_error_not_an_empty_plan() -> None:
    d = decl(settings("Daily"))
    with pytest.raises(PlanError, match=r"--target 'service\[CalcService\]' is not an address"):
        plan(d, live(), PlanOptions(targets=("service[CalcService]",)))


def test_an_application_target_holds_its_own_entities_not_an_application_whose_name_continues_it() -> None:
    nested = "fabric:/CalcApp/Nested"
    nested_svc = f"{nested}/S"
    d = decl(settings("Daily"))
    d = Declaration(
        files=d.files,
        policies=d.policies,
        applications={
            **d.applications,
            nested: ApplicationDecl(nested, settings(), (ServiceDecl(nested_svc, settings("Daily")),)),
        },
        digest=d.digest,
    )
    apps = dict(topology())
    apps[nested] = LiveApplication(nested, services=(LiveService(nested_svc, "Stateful", True),))
    state = LiveState(
        policies={"Daily": live_body()}, applications=apps, configured_applications=frozenset({APP, nested})
    )
    p = plan(d, state, PlanOptions(targets=(f"application[{APP}]",)))
    assert actions(p) == [("enable_backup", f"application[{APP}]")]
    # the service of fabric:/CalcApp/Nested is addressed in its own application, not in fabric:/CalcApp
    p = plan(d, state, PlanOptions(targets=(f"service[{nested_svc}]",)))
    assert actions(p) == [("enable_backup", f"service[{nested_svc}]")]
    assert p.changes[0].application == nested


def test_effective_resolution_nearest_level_wins() -> None:
    maps = {EntityRef(APP): "A", EntityRef(APP, SVC): "S"}
    e = effective(EntityRef(APP, SVC, P1), maps, frozenset({EntityRef(APP)}))
    assert (e.policy, e.policy_from, e.suspended, e.suspended_from) == ("S", "Service", True, "Application")


def test_plan_json_round_trips_and_the_live_digest_tracks_the_cluster() -> None:
    p = plan(decl(settings("Daily")), live(policies={}))
    again = plan_from_json(to_json(p, "line"))
    assert to_json(again, "line") == to_json(p, "line")
    assert again == p
    assert live_digest(live()) != live_digest(live({EntityRef(APP): "Daily"}))
    assert live_digest(live()) == live_digest(live())


def test_unresolved_non_secret_references_are_refused_and_resolve_values_fills_them() -> None:
    from sfdeclare.commands.session import resolve_values
    from sfdeclare.errors import ConfigError

    b = body()
    b["Storage"]["ContainerName"] = "${env:CONTAINER}"
    d = decl(settings("Daily"), policies={"Daily": b})
    with pytest.raises(PlanError, match=r"Storage.ContainerName still hold"):
        plan(d, live({EntityRef(APP): "Daily"}))
    with pytest.raises(ConfigError, match="CONTAINER is not set"):
        resolve_values(d, {})
    resolved = resolve_values(d, {"CONTAINER": "backups"})
    assert resolved.policies["Daily"].body["Storage"]["ConnectionString"] == "${env:CONN}"
    assert plan(resolved, live({EntityRef(APP): "Daily"})).empty


def test_run_times_written_as_clock_times_are_sent_as_full_utc_date_times() -> None:
    sched = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Daily",
        "RunTimes": ["04:00", "2024-01-01T23:30:00+02:00"],
    }
    p = plan(decl(settings("Daily"), policies={"Daily": body(Schedule=sched)}), live(policies={}))
    request = p.changes[0].request
    assert request.body is not None
    assert request.body["Schedule"]["RunTimes"] == ["0001-01-01T04:00:00Z", "0001-01-01T21:30:00Z"]
    after = p.changes[0].after
    assert isinstance(after, Mapping)
    assert after["Schedule"]["RunTimes"] == ["04:00", "2024-01-01T23:30:00+02:00"]


def test_partition_ids_may_be_written_with_braces_and_in_any_case() -> None:
    d = decl(
        settings("Daily"),
        (
            ServiceDecl(
                SVC,
                partitions=(
                    PartitionDecl(PartitionSelector("id", "{" + P2.upper() + "}"), settings("Daily")),
                ),
            ),
        ),
    )
    p = plan(d, live({EntityRef(APP): "Daily"}, partitions=True))
    assert actions(p) == [("enable_backup", f"partition[{SVC}/{P2}]")]


def test_drift_and_plan_resolve_the_same_levels() -> None:
    """One resolution serves both: a braces-and-case partition id is found by drift as by the planner."""
    from sfdeclare.engine.drift import drift

    d = decl(
        settings("Daily"),
        (
            ServiceDecl(
                SVC,
                partitions=(
                    PartitionDecl(PartitionSelector("id", "{" + P2.upper() + "}"), settings("Daily")),
                ),
            ),
        ),
    )
    report = drift(d, live({EntityRef(APP): "Daily"}, partitions=True))
    assert [(i.drift_class, i.address) for i in report.items] == [("missing", f"partition[{SVC}/{P2}]")]


ENTITIES = [
    EntityRef("fabric:/A"),
    EntityRef("fabric:/A", "fabric:/A/S"),
    EntityRef("fabric:/A", "fabric:/A/S", "p1"),
    EntityRef("fabric:/A", "fabric:/A/S", "p2"),
    EntityRef("fabric:/A", "fabric:/A/T"),
    EntityRef("fabric:/A", "fabric:/A/T", "p3"),
]


@given(
    mappings=st.dictionaries(st.sampled_from(ENTITIES), st.sampled_from(["daily", "hourly"])),
    suspensions=st.frozensets(st.sampled_from(ENTITIES)),
)
def test_inheriting_top_down_agrees_with_walking_each_lineage(
    mappings: dict[EntityRef, str], suspensions: frozenset[EntityRef]
) -> None:
    resolved: dict[EntityRef, Effective] = {}
    for ref in ENTITIES:  # parents come before their children
        parent = ref.parent()
        resolved[ref] = inherit(resolved[parent] if parent else NOTHING, ref, mappings, suspensions)
        assert resolved[ref] == effective(ref, mappings, suspensions)
        # and both say what Service Fabric does: the nearest level with a mapping / a suspension wins
        mapped = next((node for node in ref.lineage() if node in mappings), None)
        suspended = next((node for node in ref.lineage() if node in suspensions), None)
        assert resolved[ref] == Effective(
            mappings[mapped] if mapped else None,
            mapped.level if mapped else None,
            suspended is not None,
            suspended.level if suspended else None,
        )
