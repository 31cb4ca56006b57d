"""The pure drift classifier: tables of (declaration, live) -> classified items, without a cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sfdeclare import schemas
from sfdeclare.engine.drift import DriftOptions, DriftReport, drift
from sfdeclare.engine.plan import Action
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.errors import Location, PlanError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import (
    ApplicationDecl,
    Declaration,
    LevelSettings,
    PartitionDecl,
    PartitionSelector,
    PolicyDecl,
    ServiceDecl,
)
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.render.drift import drift_to_json, render_markdown, render_text
from sfdeclare.render.summaries import coverage_line

APP = "fabric:/A"
SVC = "fabric:/A/S"
SVC2 = "fabric:/A/T"
P1 = "11111111-0000-4000-8000-000000000001"
P2 = "11111111-0000-4000-8000-000000000002"

BODY: dict[str, Any] = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
    "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:CS}", "ContainerName": "c"},
}
LIVE_BODY: dict[str, Any] = {
    "AutoRestoreOnDataLoss": False,
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "P1D"},
    "Storage": {
        "StorageKind": "AzureBlobStore",
        "FriendlyName": "",
        "ConnectionString": "****",
        "ContainerName": "c",
    },
    "RetentionPolicy": None,
}


def _services(partitions: bool = True) -> tuple[LiveService, ...]:
    parts = (LivePartition(P1, "Singleton"),) if partitions else None
    return (
        LiveService(SVC, "Stateful", True, parts),
        LiveService(SVC2, "Stateful", True, (LivePartition(P2, "Named", name="east"),)),
        LiveService("fabric:/A/Web", "Stateless", False),
    )


APP_MAPPED = LevelSettings(policy="p")


def _declaration(
    app: LevelSettings = APP_MAPPED,
    services: tuple[ServiceDecl, ...] = (),
    policies: dict[str, dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Declaration:
    bodies = {"p": BODY} if policies is None else policies
    return Declaration(
        policies={n: PolicyDecl(n, b, Location("c.yaml", 3, 3)) for n, b in bodies.items()},
        applications={APP: ApplicationDecl(APP, app, services)},
        **kwargs,
    )


def _live(
    mappings: dict[EntityRef, str] | None = None,
    suspensions: frozenset[EntityRef] = frozenset(),
    policies: dict[str, dict[str, Any]] | None = None,
    other_apps: tuple[str, ...] = (),
) -> LiveState:
    apps = {APP: LiveApplication(APP, services=_services())}
    apps.update({name: LiveApplication(name) for name in other_apps})
    return LiveState(
        policies={"p": LIVE_BODY} if policies is None else policies,
        applications=apps,
        mappings={EntityRef(APP): "p"} if mappings is None else mappings,
        suspensions=suspensions,
        configured_applications=frozenset(apps),
    )


def _classes(report: DriftReport) -> set[tuple[str, str, str]]:
    return {(i.drift_class, i.subject, i.address) for i in report.items}


def _check_formats(report: DriftReport) -> None:
    jsonschema.validate(drift_to_json(report), schemas.load("drift"))
    text = render_text(report)
    markdown = render_markdown(report)
    for item in report.items:
        assert item.address in text and item.address in markdown


def test_matching_state_has_no_drift_and_secrets_are_not_compared() -> None:
    report = drift(_declaration(), _live())
    assert report.items == ()
    assert not report.has_drift
    _check_formats(report)
    assert "No drift" in render_text(report)


def test_policy_fields_are_compared_after_normalisation_secrets_excluded() -> None:
    live_body = {**LIVE_BODY, "MaxIncrementalBackups": 5, "Schedule": {"ScheduleKind": "FrequencyBased"}}
    live_body["Schedule"] = {"ScheduleKind": "FrequencyBased", "Interval": "PT12H"}
    report = drift(_declaration(), _live(policies={"p": live_body}))
    (item,) = report.items
    assert (item.drift_class, item.subject, item.address) == ("changed", "policy", "policy[p]")
    assert [(f.path, f.after, f.before) for f in item.fields] == [
        ("MaxIncrementalBackups", 3, 5),
        ("Schedule.Interval", "PT24H", "PT12H"),  # each side as written
    ]
    assert item.location == Location("c.yaml", 3, 3)
    _check_formats(report)


def test_non_secret_references_are_resolved_from_the_environment_at_the_edge() -> None:
    from sfdeclare.commands.session import resolve_values

    body = {**BODY, "Storage": {**BODY["Storage"], "ContainerName": "${env:CONTAINER}"}}
    declaration = _declaration(policies={"p": body})
    assert drift(resolve_values(declaration, {"CONTAINER": "c"}), _live()).items == ()
    changed = drift(resolve_values(declaration, {"CONTAINER": "other"}), _live())
    assert [f.path for f in changed.items[0].fields] == ["Storage.ContainerName"]
    unresolved = drift(declaration, _live())
    assert unresolved.has_errors and "still holds" in str(unresolved.diagnostics[0])


def test_missing_and_unmanaged_policies() -> None:
    # under scope: declared an undeclared policy is someone else's (an info line); scope: cluster manages it
    declaration = _declaration(policies={"p": BODY, "q": BODY})
    shared = drift(declaration, _live(policies={"p": LIVE_BODY, "extra": LIVE_BODY}))
    assert _classes(shared) == {("missing", "policy", "policy[q]")}
    assert any(d.severity == "info" and "policy extra" in d.message for d in shared.diagnostics)
    declaration = replace(declaration, scope="cluster")
    report = drift(declaration, _live(policies={"p": LIVE_BODY, "extra": LIVE_BODY}))
    assert _classes(report) == {("missing", "policy", "policy[q]"), ("unmanaged", "policy", "policy[extra]")}
    unmanaged = next(i for i in report.items if i.drift_class == "unmanaged")
    assert isinstance(unmanaged.live, Mapping) and "ConnectionString" not in unmanaged.live["Storage"]
    missing = next(i for i in report.items if i.drift_class == "missing")
    assert isinstance(missing.declared, Mapping) and "ConnectionString" not in missing.declared["Storage"]


def test_a_referenced_policy_that_exists_live_is_not_unmanaged_and_one_that_does_not_is_missing() -> None:
    declaration = _declaration(policies={}, app=LevelSettings(policy="p"))
    assert drift(declaration, _live()).items == ()
    report = drift(declaration, _live(policies={}))
    assert _classes(report) == {("missing", "policy", "policy[p]")}


@pytest.mark.parametrize(
    ("live_mappings", "expected"),
    [
        ({}, {("missing", "mapping", f"application[{APP}]")}),
        ({EntityRef(APP): "q"}, {("changed", "mapping", f"application[{APP}]")}),
        (
            {EntityRef(APP): "p", EntityRef(APP, SVC): "q"},
            {("unmanaged", "mapping", f"service[{SVC}]")},
        ),
        (
            {EntityRef(APP): "p", EntityRef(APP, SVC, P1): "p"},
            {("unmanaged", "mapping", f"partition[{SVC}/{P1}]")},
        ),
    ],
)
def test_mappings(live_mappings: dict[EntityRef, str], expected: set[tuple[str, str, str]]) -> None:
    policies = {"p": LIVE_BODY, "q": LIVE_BODY}
    declaration = _declaration(policies={"p": BODY, "q": BODY})
    report = drift(declaration, _live(mappings=live_mappings, policies=policies))
    assert _classes(report) == expected
    _check_formats(report)


def test_mapping_items_carry_declared_and_live_policy() -> None:
    report = drift(
        _declaration(policies={"p": BODY, "q": BODY}),
        _live(mappings={EntityRef(APP): "q"}, policies={"p": LIVE_BODY, "q": LIVE_BODY}),
    )
    (item,) = report.items
    assert (item.declared, item.live) == ("p", "q")


def test_undeclared_applications_only_with_all_applications_or_cluster_scope() -> None:
    other = EntityRef("fabric:/B")
    live = _live(
        mappings={EntityRef(APP): "p", other: "p"}, suspensions=frozenset({other}), other_apps=("fabric:/B",)
    )
    assert drift(_declaration(), live).items == ()
    expected = {
        ("unmanaged", "mapping", "application[fabric:/B]"),
        ("suspended_out_of_band", "suspension", "application[fabric:/B]"),
    }
    assert _classes(drift(_declaration(), live, DriftOptions(all_applications=True))) == expected
    assert _classes(drift(_declaration(scope="cluster"), live)) == expected


def test_suspensions_written_and_unwritten() -> None:
    svc_suspended = ServiceDecl(SVC, LevelSettings(suspended=True))
    svc_resumed = ServiceDecl(SVC2, LevelSettings(suspended=False))
    declaration = _declaration(services=(svc_suspended, svc_resumed))
    live = _live(suspensions=frozenset({EntityRef(APP, SVC2), EntityRef(APP, SVC, P1)}))
    report = drift(declaration, live)
    assert _classes(report) == {
        ("missing", "suspension", f"service[{SVC}]"),
        ("changed", "suspension", f"service[{SVC2}]"),
        ("suspended_out_of_band", "suspension", f"partition[{SVC}/{P1}]"),
    }
    in_sync = _live(suspensions=frozenset({EntityRef(APP, SVC)}))
    assert drift(declaration, in_sync).items == ()
    _check_formats(report)


def test_declared_entities_that_do_not_exist_are_missing_not_errors() -> None:
    services = (
        ServiceDecl("fabric:/A/Gone", LevelSettings(policy="p")),
        ServiceDecl(
            SVC2, partitions=(PartitionDecl(PartitionSelector("name", "west"), LevelSettings(policy="p")),)
        ),
        ServiceDecl(
            SVC, partitions=(PartitionDecl(PartitionSelector("id", P1.upper()), LevelSettings(policy="p")),)
        ),
    )
    declaration = Declaration(
        policies={"p": PolicyDecl("p", BODY)},
        applications={
            APP: ApplicationDecl(APP, LevelSettings(policy="p"), services),
            "fabric:/Nowhere": ApplicationDecl("fabric:/Nowhere", LevelSettings(policy="p")),
        },
    )
    live = _live(mappings={EntityRef(APP): "p", EntityRef(APP, SVC, P1): "p"})
    report = drift(declaration, live)
    assert _classes(report) == {
        ("missing", "application", "application[fabric:/Nowhere]"),
        ("missing", "service", "service[fabric:/A/Gone]"),
        ("missing", "partition", f"partition[{SVC2}/name=west]"),
    }
    assert not report.has_errors
    _check_formats(report)


def test_a_policy_on_a_stateless_service_is_an_error_diagnostic() -> None:
    declaration = _declaration(services=(ServiceDecl("fabric:/A/Web", LevelSettings(policy="p")),))
    report = drift(declaration, _live(mappings={EntityRef(APP): "p", EntityRef(APP, "fabric:/A/Web"): "p"}))
    assert report.has_errors
    assert "stateless" in report.diagnostics[0].message


def test_coverage_counts_services_and_known_partitions() -> None:
    live = _live(mappings={EntityRef(APP, SVC, P1): "p"}, suspensions=frozenset({EntityRef(APP, SVC)}))
    report = drift(_declaration(app=LevelSettings()), live)
    cov = report.coverage
    # S is covered through its only partition (and suspended); T has none; Web is stateless
    assert (cov.services_total, cov.services_covered, cov.services_suspended) == (2, 1, 1)
    assert (cov.partitions_known, cov.partitions_covered) == (2, 1)
    assert [w.service for w in cov.without] == [SVC2]
    assert coverage_line(cov) == (
        "Coverage: 1 of 2 stateful services have a backup policy (1 suspended); 1 of 2 partitions read (partitions are read only where partition-level settings or mappings exist); "
        "without: fabric:/A/T."
    )
    full = drift(_declaration(), _live(suspensions=frozenset({EntityRef(APP, SVC2)}))).coverage
    assert (full.services_covered, full.services_suspended, full.without) == (2, 1, ())


def test_coverage_marks_partially_mapped_services_whose_partitions_are_unknown() -> None:
    live = LiveState(
        policies={"p": LIVE_BODY},
        applications={APP: LiveApplication(APP, services=_services(partitions=False))},
        mappings={EntityRef(APP, SVC, P1): "p"},
        configured_applications=frozenset({APP}),
    )
    cov = drift(_declaration(app=LevelSettings()), live).coverage
    assert [(w.service, w.partial) for w in cov.without] == [(SVC, True), (SVC2, False)]
    assert "fabric:/A/S (some partitions only)" in coverage_line(cov)


def test_markdown_stays_within_the_issue_limit() -> None:
    mappings = {EntityRef(APP, f"fabric:/A/S{i}"): "p" for i in range(400)}
    mappings[EntityRef(APP)] = "p"
    report = drift(_declaration(), _live(mappings=mappings))
    assert len(report.items) == 400
    short = render_markdown(report, limit=5000)
    assert len(short) <= 5000 and "--format json" in short


# --- drift and plan agree ------------------------------------------------------------------------------------

_VALIDATOR = jsonschema.Draft202012Validator(schemas.load("drift"))
_LEVELS = (EntityRef(APP), EntityRef(APP, SVC), EntityRef(APP, SVC2), EntityRef(APP, SVC, P1))
_OTHER = EntityRef("fabric:/B")
_BODIES = (LIVE_BODY, {**LIVE_BODY, "MaxIncrementalBackups": 5})
# (plan action, it has no "before") -> the drift (class, subject) that reports the same difference
_EXPECTED_CLASS = {
    ("create_policy", True): ("missing", "policy"),
    ("update_policy", False): ("changed", "policy"),
    ("enable_backup", True): ("missing", "mapping"),
    ("enable_backup", False): ("changed", "mapping"),
    ("disable_backup", False): ("unmanaged", "mapping"),
    ("suspend_backup", False): ("missing", "suspension"),
    ("resume_backup", False): ("changed", "suspension"),
}
_policy_names = st.sampled_from(["p", "q"])


@st.composite
def _case(draw: st.DrawFn) -> tuple[Declaration, LiveState, bool]:
    """Any declaration of the four levels against any live state of them, including the live subtleties the
    planner handles: an application's own suspension the cluster hides (SF-BACKUP-API.md §5.4), a policy in
    use or not by undeclared applications (pruning), a service whose partitions were not read, a stateless
    service, an undeclared application's mappings and suspensions, clean_backup on disable."""
    settings = [
        LevelSettings(
            policy=draw(st.none() | _policy_names),
            suspended=draw(st.sampled_from([None, True, False])),
            clean_backup=draw(st.sampled_from([None, True, False])),
        )
        for _ in _LEVELS
    ]
    app_settings, svc_settings, svc2_settings, part_settings = settings
    services = (
        ServiceDecl(SVC, svc_settings, (PartitionDecl(PartitionSelector("id", P1), part_settings),)),
        ServiceDecl(SVC2, svc2_settings),
    )
    declared_policies = draw(st.sets(_policy_names, min_size=1))
    declaration = Declaration(
        policies={
            n: PolicyDecl(n, draw(st.sampled_from([BODY, {**BODY, "MaxIncrementalBackups": 5}])))
            for n in declared_policies
        },
        applications={APP: ApplicationDecl(APP, app_settings, services)},
        scope=draw(st.sampled_from(["declared", "cluster"])),
        prune_policies=draw(st.booleans()),
    )
    live_policies = {n: draw(st.sampled_from(_BODIES)) for n in draw(st.sets(_policy_names | st.just("r")))}
    refs = (*_LEVELS, _OTHER)
    mappings = {r: draw(_policy_names | st.just("r")) for r in refs if draw(st.booleans())}
    suspensions = set(r for r in refs if draw(st.integers(0, 2)) == 0)
    hidden: frozenset[str] = frozenset()
    if draw(st.booleans()):
        # the listing hides the application's own suspension: no mapping of its own, every child suspended
        mappings.pop(EntityRef(APP), None)
        suspensions.discard(EntityRef(APP))
        suspensions |= {EntityRef(APP, SVC), EntityRef(APP, SVC2)}
        hidden = frozenset({APP})
    entities: dict[str, tuple[EntityRef, ...]] = {}
    for name in live_policies:
        users = [r for r, p in mappings.items() if p == name]
        if draw(st.booleans()):
            users.append(EntityRef("fabric:/C"))  # mapped in an application this run does not manage
        entities[name] = tuple(users)
    svc_partitions = (LivePartition(P1, "Singleton"),) if draw(st.integers(0, 9)) else None
    live = LiveState(
        policies=live_policies,
        applications={
            APP: LiveApplication(
                APP,
                services=(
                    LiveService(SVC, "Stateful", True, svc_partitions),
                    LiveService(
                        SVC2,
                        draw(st.sampled_from(["Stateful"] * 9 + ["Stateless"])),
                        True,
                        (LivePartition(P2, "Named", name="east"),),
                    ),
                    LiveService("fabric:/A/Web", "Stateless", False),
                ),
            ),
            "fabric:/B": LiveApplication("fabric:/B"),
        },
        mappings=mappings,
        suspensions=frozenset(suspensions),
        configured_applications=frozenset({APP, "fabric:/B"}),
        policy_entities=entities if declaration.prune_policies else {},
        hidden_application_suspension=hidden,
    )
    return declaration, live, draw(st.booleans())


@settings(max_examples=120, deadline=None)
@given(case=_case())
def test_drift_reports_exactly_what_a_plan_would_change_plus_what_no_plan_changes(
    case: tuple[Declaration, LiveState, bool],
) -> None:
    declaration, live, all_applications = case
    report = drift(declaration, live, DriftOptions(all_applications=all_applications))
    _VALIDATOR.validate(drift_to_json(report))
    try:
        result = plan(declaration, live, PlanOptions(all_applications=all_applications))
    except PlanError:
        assume(False)
        return  # unreachable: assume(False) ends the example
    assert not report.has_errors
    written = {
        ref.address
        for ref, level in zip(_LEVELS, _settings_of(declaration), strict=True)
        if level.suspended is not None
    }
    # a resume of a suspension the file does not write (it would outlive the application's last mapping) is
    # reported as suspended out of band, like every suspension the file does not write
    undeclared_resumes = {
        c.address for c in result.changes if c.action is Action.RESUME_BACKUP and c.address not in written
    }
    assert undeclared_resumes <= {i.address for i in report.by_class("suspended_out_of_band")}
    planned = {
        (_EXPECTED_CLASS[c.action.value, c.before is None], c.address)
        for c in result.changes
        if c.action is not Action.DELETE_POLICY
        and not (c.action is Action.RESUME_BACKUP and c.address in undeclared_resumes)
    }
    reported = {
        ((i.drift_class, i.subject), i.address)
        for i in report.items
        if i.drift_class != "suspended_out_of_band"
        and not (i.drift_class == "unmanaged" and i.subject == "policy")
    }
    assert reported == planned
    # what no plan changes is still drift; a policy a plan prunes is one of them; under scope: declared without
    # pruning an undeclared policy is someone else's: not drift
    referenced = {s.policy for s in _settings_of(declaration) if s.policy}
    unmanaged_policies = set(live.policies) - set(declaration.policies) - referenced
    if declaration.scope == "declared" and not all_applications and not declaration.prune_policies:
        unmanaged_policies = set()
    unmanaged_items = {
        i.address for i in report.items if i.subject == "policy" and i.drift_class == "unmanaged"
    }
    assert unmanaged_items == {f"policy[{n}]" for n in unmanaged_policies}
    assert {c.address for c in result.changes if c.action is Action.DELETE_POLICY} <= unmanaged_items
    # a warning the plan gives about what it cannot see, drift gives too (and reports no drift for it)
    plan_warnings = {d.message for d in result.diagnostics if "does not show" in d.message}
    assert plan_warnings == {d.message for d in report.diagnostics if "does not show" in d.message}


def _settings_of(declaration: Declaration) -> list[LevelSettings]:
    app = declaration.applications[APP]
    return [
        app.settings,
        app.services[0].settings,
        app.services[1].settings,
        app.services[0].partitions[0].settings,
    ]
