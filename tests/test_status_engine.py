"""The pure parts of `status`: schedules read as the cluster reads them back, when runs fall, the grace, the
classes from (declaration, live, backups, health, now), and the client's copy of the protocol facts the
emulator keeps too."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sfdeclare.emulator import health as emulator_health
from sfdeclare.engine.schedule import ScheduleError, parse_schedule
from sfdeclare.engine.status import StatusOptions, first_missed, grace_of, health_wanted, status
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ApplicationDecl, Declaration, LevelSettings, ServiceDecl
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.servicefabric import backups


def t(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def iso(seconds: int | None) -> str | None:
    return (
        None
        if seconds is None
        else datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def sched(**schedule: object) -> dict[str, object]:
    return {"Schedule": schedule}


DAILY = parse_schedule(
    sched(
        ScheduleKind="TimeBased",
        ScheduleFrequencyType="Daily",
        RunTimes=["0001-01-01T09:00:00Z", "0001-01-01T21:00:00Z"],
        RunDays=[],
    )
)
WEEKLY = parse_schedule(
    sched(
        ScheduleKind="TimeBased",
        ScheduleFrequencyType="Weekly",
        RunTimes=["0001-01-01T02:00:00Z"],
        RunDays=["Monday", "Thursday"],
    )
)
HOURLY = parse_schedule(sched(ScheduleKind="FrequencyBased", Interval="PT1H"))


def test_schedules_read_back_forms() -> None:
    assert parse_schedule(sched(ScheduleKind="FrequencyBased", Interval="P1D")).interval == 86400
    assert parse_schedule(sched(ScheduleKind="FrequencyBased", Interval="PT1H30M")).interval == 5400
    assert DAILY.run_times == (9 * 3600, 21 * 3600) and DAILY.describe() == "daily at 09:00, 21:00 UTC"
    assert WEEKLY.describe() == "weekly on Monday, Thursday at 02:00 UTC"
    assert HOURLY.describe() == "every 1 hour"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "the policy has no Schedule"),
        (sched(ScheduleKind="Hourly"), "unknown ScheduleKind 'Hourly'"),
        (sched(ScheduleKind="FrequencyBased", Interval="soon"), "is not a duration"),
        (sched(ScheduleKind="FrequencyBased", Interval="PT30S"), "shorter than a minute"),
        (sched(ScheduleKind="TimeBased", ScheduleFrequencyType="Monthly"), "unknown ScheduleFrequencyType"),
        (
            sched(ScheduleKind="TimeBased", ScheduleFrequencyType="Weekly", RunTimes=["09:00"]),
            "without RunDays",
        ),
        (
            sched(ScheduleKind="TimeBased", ScheduleFrequencyType="Weekly", RunTimes=[], RunDays=["Funday"]),
            "'Funday' is not a day of the week",
        ),
    ],
)
def test_unreadable_schedules_say_why(body: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(body)


def test_runs_and_gaps() -> None:
    # 2024-01-01 is a Monday
    assert iso(WEEKLY.next_run(t("2024-01-01T02:00:00Z"))) == "2024-01-04T02:00:00Z"  # strictly after
    assert iso(WEEKLY.previous_run(t("2024-01-04T02:00:00Z"))) == "2024-01-01T02:00:00Z"
    assert WEEKLY.gap_before(t("2024-01-04T02:00:00Z")) == 3 * 86400
    assert WEEKLY.gap_before(t("2024-01-08T02:00:00Z")) == 4 * 86400
    assert iso(DAILY.last_run(t("2024-01-01T21:00:00Z"))) == "2024-01-01T21:00:00Z"
    assert (
        iso(HOURLY.next_run(t("2024-01-01T00:10:00Z"), anchor=t("2024-01-01T00:00:00Z")))
        == "2024-01-01T01:00:00Z"
    )
    assert (
        parse_schedule(sched(ScheduleKind="TimeBased", ScheduleFrequencyType="Daily", RunTimes=[])).next_run(
            0
        )
        is None
    )


def test_default_grace_is_half_the_gap_at_least_30_minutes() -> None:
    assert grace_of(HOURLY, 0, None) == 1800
    assert grace_of(parse_schedule(sched(ScheduleKind="FrequencyBased", Interval="PT15M")), 0, None) == 1800
    assert grace_of(DAILY, t("2024-01-01T21:00:00Z"), None) == 6 * 3600
    assert grace_of(WEEKLY, t("2024-01-04T02:00:00Z"), None) == 36 * 3600
    assert grace_of(WEEKLY, t("2024-01-04T02:00:00Z"), 600) == 600


def test_a_later_run_with_a_shorter_grace_can_be_the_overdue_one() -> None:
    # latest backup Monday 02:00: Thursday's run (grace 36 h) is overdue from Friday 14:00, not earlier
    latest = t("2024-01-01T02:00:00Z")
    assert first_missed(WEEKLY, latest, t("2024-01-05T14:00:00Z"), None)[0] is None
    missed, upcoming = first_missed(WEEKLY, latest, t("2024-01-05T14:00:01Z"), None)
    assert (iso(missed), iso(upcoming)) == ("2024-01-04T02:00:00Z", "2024-01-04T02:00:00Z")
    # Daily 09:00 and 21:00: missing 21:00 (grace 6 h) is seen at 03:00:01, before 09:00's 12 h grace would
    missed, _ = first_missed(DAILY, t("2024-01-01T09:00:00Z"), t("2024-01-02T03:00:01Z"), None)
    assert iso(missed) == "2024-01-01T21:00:00Z"


APP = "fabric:/A"
SVC, OTHER, NAMED = "fabric:/A/S", "fabric:/A/T", "fabric:/A/N"
P1, P2, P3, P4 = "p-1", "p-2", "p-3", "p-4"


def live(mappings: dict[EntityRef, str], suspensions: frozenset[EntityRef] = frozenset()) -> LiveState:
    return LiveState(
        policies={"H": {"Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"}}},
        applications={
            APP: LiveApplication(
                APP,
                services=(
                    LiveService(SVC, "Stateful", True, (LivePartition(P1, "Singleton"),)),
                    LiveService(OTHER, "Stateful", True, (LivePartition(P2, "Named", name="x"),)),
                    LiveService(NAMED, "Stateful", True, (LivePartition(P3, "Int64Range", 0, 9),)),
                    LiveService("fabric:/A/Web", "Stateless", False, (LivePartition(P4, "Singleton"),)),
                ),
            )
        },
        mappings=mappings,
        suspensions=suspensions,
    )


DECL = Declaration(applications={"A": ApplicationDecl("A", services=(ServiceDecl("S"), ServiceDecl("N")))})
NOW = t("2024-01-01T12:00:00Z")


def point(service: str, partition: str, at: str) -> backups.BackupPoint:
    return backups.BackupPoint(service, partition, t(at), "Full")


def classes(report: object) -> dict[str, tuple[str, bool]]:
    return {p.partition.id: (p.status, p.problem) for p in report.partitions}  # type: ignore[attr-defined]


def test_classes_from_live_state_backups_and_health() -> None:
    state = live({EntityRef(APP, SVC): "H", EntityRef(APP, OTHER): "H"}, frozenset({EntityRef(APP, OTHER)}))
    points = [
        point(SVC, P1, "2024-01-01T10:00:00Z"),
        point(SVC, P1, "2024-01-01T08:00:00Z"),  # the same partition in another storage: the newest counts
    ]
    report = status(DECL, state, points, {}, StatusOptions(NOW))
    assert classes(report) == {
        P1: ("late", True),  # 11:00 missed, 12:00 > 11:30
        P2: ("suspended", False),
        P3: ("unprotected", True),  # N is named in the configuration and has no policy
    }
    assert health_wanted(report) == [P1]
    sick = {
        P1: backups.BackupHealth(True, "Failed to take periodic backup for this partition with error:\nX")
    }
    report = status(DECL, state, points, sick, StatusOptions(NOW))
    assert classes(report)[P1] == ("failing", True)
    assert next(p for p in report.partitions if p.partition.id == P2).suspended_from == "Service"
    # health is asked only of partitions that are not ok by their backups: an ok one keeps ok
    fresh = [point(SVC, P1, "2024-01-01T11:45:00Z")]
    assert classes(status(DECL, state, fresh, sick, StatusOptions(NOW)))[P1] == ("ok", False)


def test_no_backup_is_a_problem_only_past_the_first_run_after_since() -> None:
    state = live({EntityRef(APP): "H"})
    decl = Declaration(applications={"A": ApplicationDecl("A")})
    assert classes(status(decl, state, [], {}, StatusOptions(NOW)))[P1] == ("no_backup_yet", False)
    just = StatusOptions(NOW, since=t("2024-01-01T10:30:00Z"))  # first run 11:30, grace until 12:00
    assert classes(status(decl, state, [], {}, just))[P1] == ("no_backup_yet", False)
    over = StatusOptions(NOW, since=t("2024-01-01T10:29:59Z"))
    assert classes(status(decl, state, [], {}, over))[P1] == ("no_backup_yet", True)


def test_unprotected_is_required_where_the_application_declares_a_policy() -> None:
    state = live({})
    undeclared = Declaration(applications={"A": ApplicationDecl("A")})
    assert set(classes(status(undeclared, state, [], {}, StatusOptions(NOW))).values()) == {
        ("unprotected", False)
    }
    with_policy = Declaration(applications={"A": ApplicationDecl("A", LevelSettings(policy="H"))})
    assert set(classes(status(with_policy, state, [], {}, StatusOptions(NOW))).values()) == {
        ("unprotected", True)
    }


def test_a_missing_application_is_named_and_a_missing_policy_body_is_said() -> None:
    state = live({EntityRef(APP, SVC): "Gone"})
    decl = Declaration(applications={"A": ApplicationDecl("A"), "B": ApplicationDecl("B")})
    report = status(decl, state, [point(SVC, P1, "2024-01-01T01:00:00Z")], {}, StatusOptions(NOW))
    assert report.missing_applications == ("fabric:/B",)
    p1 = next(p for p in report.partitions if p.partition.id == P1)
    assert (p1.status, p1.problem, p1.schedule_error) == ("ok", False, "policy Gone is not on the cluster")


def test_backup_info_and_health_parsing() -> None:
    item = {
        "ServiceName": SVC,
        "PartitionInformation": {"Id": P1, "ServicePartitionKind": "Singleton"},
        "CreationTimeUtc": "2024-01-01T09:00:55.1234567Z",
        "BackupType": "Incremental",
        "FailureError": None,
    }
    assert backups.parse_backup_info(item, "op") == backups.BackupPoint(
        SVC, P1, t("2024-01-01T09:00:55Z"), "Incremental"
    )
    assert backups.parse_backup_info({**item, "FailureError": {"Code": "E", "Message": "m"}}, "op") is None
    with pytest.raises(
        Exception,
        match="unexpected reply from the cluster: a BackupInfo of fabric:/A/S has CreationTimeUtc 'x'",
    ):
        backups.parse_backup_info({**item, "CreationTimeUtc": "x"}, "op")
    event = {
        "SourceId": "System.BackupRestoreManager",
        "Property": "Backup",
        "HealthState": "Warning",
        "Description": "d",
    }
    other = {"SourceId": "System.FM", "Property": "State", "HealthState": "Warning", "Description": "fm"}
    assert backups.parse_partition_health({"HealthEvents": [other, event]}, "op") == backups.BackupHealth(
        True, "d"
    )
    assert (
        backups.parse_partition_health({"HealthEvents": [{**event, "HealthState": "Ok"}]}, "op").unhealthy
        is False
    )
    assert backups.parse_http_date("Mon, 01 Jan 2024 09:00:00 GMT") == t("2024-01-01T09:00:00Z")
    assert backups.parse_http_date("yesterday") is None and backups.parse_http_date(None) is None


def test_the_client_and_the_emulator_keep_the_same_health_facts() -> None:
    """Kept twice on purpose (the emulator shares no code with the client): the copies must agree."""
    assert backups.BACKUP_SOURCE_ID == emulator_health.SOURCE_ID
    assert backups.BACKUP_PROPERTY == emulator_health.PROPERTY
