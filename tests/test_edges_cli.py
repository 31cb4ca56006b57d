"""The edges of real operations (issue 15), each through the CLI against the in-process emulator and named for
the guarantee it holds: a plan says exactly what the cluster ends up holding, and what it cannot do it refuses
in one line (exit 1) before anything changes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state

CANARY = "CANARY-c2VjcmV0LXZhbHVl"

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 3
      - name: fabric:/CalcApp/Names
        kind: Stateful
        partitions: [{name: east}, {name: west}]
      - name: fabric:/CalcApp/Web
        kind: Stateless
        partitions: 1
      - name: fabric:/CalcApp/Cache
        kind: Stateful
        has_persisted_state: false
        partitions: 1
  - name: fabric:/Other
    services:
      - name: fabric:/Other/Store
        kind: Stateful
        partitions: 1
"""

SHARE = """
version: 1
policies:
  Share:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage:
      StorageKind: FileShare
      Path: '\\\\nas01\\backups'
      PrimaryUserName: admin
      PrimaryPassword: ${env:SHARE_PASSWORD}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P7D, MinimumNumberOfBackups: 5}
  Blob:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage:
      StorageKind: AzureBlobStore
      ConnectionString: ${env:BLOB_STORE}
      ContainerName: ${env:CONTAINER}
applications:
  CalcApp:
    policy: Share
    services:
      CalcService:
        policy: Blob
"""


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def all(self) -> str:
        return self.out + self.err


def sfd(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    run = Run(code, out.getvalue(), err.getvalue())
    assert CANARY not in run.all and "Traceback" not in run.all
    return run


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    state = tmp_path / "cluster.state"
    init_state(str(state), str(topo))
    monkeypatch.setenv("SHARE_PASSWORD", CANARY)
    monkeypatch.setenv("BLOB_STORE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" + CANARY)
    monkeypatch.setenv("CONTAINER", "backups")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "sfdeclare.yaml"
    config.write_text(SHARE)
    return {"endpoint": f"emulator:{state}", "config": str(config), "state": str(state), "dir": tmp_path}


def _policies(endpoint: str) -> dict[str, dict[str, Any]]:
    with connect(endpoint) as client:
        return client.list_policies()


def _apply(cluster: dict[str, Any], *more: str) -> Run:
    return sfd("apply", cluster["config"], "--endpoint", cluster["endpoint"], "--auto-approve", *more)


# --- 11: the smaller ones ------------------------------------------------------------------------------------


def test_apply_with_nothing_to_do_still_writes_its_report(cluster: dict[str, Any]) -> None:
    assert _apply(cluster).code == 0
    run = _apply(cluster, "--report", "report.json")
    assert run.code == 0 and "No changes." in run.out
    report = json.loads(Path("report.json").read_text())
    assert report["summary"]["planned"] == 0 and report["summary"]["applied"] == 0
    assert report["summary"]["converged"] is True and report["results"] == []
    junit = _apply(cluster, "--report", "report.xml", "--report-format", "junit")
    assert junit.code == 0 and "<testsuite" in Path("report.xml").read_text()


def test_a_mistyped_emulator_path_is_refused_not_a_new_empty_cluster(cluster: dict[str, Any]) -> None:
    for command in (["plan"], ["drift"], ["apply", "--auto-approve"], ["explain", "application[fabric:/A]"]):
        run = sfd(command[0], cluster["config"], *command[1:], "--endpoint", "emulator:clustr.state")
        assert run.code == 1, command
        assert run.err.strip().splitlines() == [
            "error: emulator:clustr.state: there is no emulator state file clustr.state; check the path, or "
            "create one with `sfdeclare emulator init --state clustr.state --topology FILE`"
        ]
        assert not Path("clustr.state").exists()


def test_field_differences_show_durations_and_windows_paths_as_written(cluster: dict[str, Any]) -> None:
    assert _apply(cluster).code == 0
    config = Path(cluster["config"])
    config.write_text(
        config.read_text()
        .replace("RetentionDuration: P7D", "RetentionDuration: PT336H")
        .replace("\\\\nas01\\backups", "\\\\nas02\\backups")
    )
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert run.code == 0, run.all
    assert 'RetentionPolicy.RetentionDuration: "P7D" -> "PT336H"' in run.out
    assert 'Storage.Path: "\\\\nas01\\backups" -> "\\\\nas02\\backups"' in run.out
    assert "1209600" not in run.out and "604800" not in run.out
    assert "2 fields differ" in run.out
    drift = sfd("drift", cluster["config"], "--endpoint", cluster["endpoint"])
    assert 'Storage.Path: declared "\\\\nas02\\backups", live "\\\\nas01\\backups"' in drift.out


def test_one_differing_field_is_counted_in_the_singular(cluster: dict[str, Any]) -> None:
    assert _apply(cluster).code == 0
    config = Path(cluster["config"])
    config.write_text(config.read_text().replace("RetentionDuration: P7D", "RetentionDuration: P8D"))
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert "; 1 field differs" in run.out and "1 field differ\n" not in run.out


def test_a_whole_retention_policy_added_shows_its_duration_as_written_not_seconds(
    cluster: dict[str, Any],
) -> None:
    config = Path(cluster["config"])
    text = config.read_text()
    retention = "    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P7D, MinimumNumberOfBackups: 5}\n"
    config.write_text(text.replace(retention, ""))
    assert _apply(cluster).code == 0
    config.write_text(text)
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert run.code == 0, run.all
    assert '"RetentionDuration": "P7D"' in run.out and "604800" not in run.out


# --- 1: empty references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "field"), [("SHARE_PASSWORD", "PrimaryPassword"), ("BLOB_STORE", "ConnectionString")]
)
def test_a_secret_set_but_empty_is_refused_by_apply_before_any_change_and_plan_warns(
    cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch, variable: str, field: str
) -> None:
    monkeypatch.setenv(variable, "")
    plan = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert plan.code == 0, plan.all  # a pull request from a fork plans without secrets
    assert (
        f"warning: policy {'Share' if field == 'PrimaryPassword' else 'Blob'}: Storage.{field}: environment "
        f"variable {variable} is set but empty (referenced as ${{env:{variable}}}): apply will refuse to send "
        "an empty secret" in plan.err
    )
    run = _apply(cluster)
    assert run.code == 1
    assert f"environment variable {variable} is set but empty" in run.err and "nothing was changed" in run.err
    assert _policies(cluster["endpoint"]) == {}


def test_a_reviewed_plan_file_with_an_empty_secret_is_refused_too(
    cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--out", "p.json").code == 0
    monkeypatch.setenv("SHARE_PASSWORD", "")
    run = sfd("apply", "--plan", "p.json")
    assert run.code == 1 and "SHARE_PASSWORD is set but empty" in run.err
    assert _policies(cluster["endpoint"]) == {}


def test_an_empty_file_reference_for_a_secret_is_refused_like_an_empty_variable(
    cluster: dict[str, Any],
) -> None:
    Path("password.txt").write_text("")
    config = Path(cluster["config"])
    config.write_text(config.read_text().replace("${env:SHARE_PASSWORD}", "${file:password.txt}"))
    run = _apply(cluster)
    assert run.code == 1 and "file password.txt is empty (referenced as ${file:password.txt})" in run.err
    assert _policies(cluster["endpoint"]) == {}


def test_a_compared_value_whose_reference_is_empty_is_a_plan_error(
    cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINER", "")
    for command in ("plan", "drift"):
        run = sfd(command, cluster["config"], "--endpoint", cluster["endpoint"])
        assert run.code == 1, command
        assert (
            "sfdeclare.yaml:13:3: error: policy Blob: Storage.ContainerName: environment variable CONTAINER is "
            "set but empty (referenced as ${env:CONTAINER})" in run.err
        )
    assert _apply(cluster).code == 1 and _policies(cluster["endpoint"]) == {}


# --- 2: two selectors, one partition -------------------------------------------------------------------------


def _partition_ids(endpoint: str, service: str) -> list[Any]:
    with connect(endpoint) as client:
        return list(client.list_partitions(service))


@pytest.mark.parametrize("second", ["id", "name"])
def test_two_selectors_of_one_partition_are_a_plan_error_naming_both_lines(
    cluster: dict[str, Any], second: str
) -> None:
    service = "fabric:/CalcApp/Names" if second == "name" else "fabric:/CalcApp/CalcService"
    parts = _partition_ids(cluster["endpoint"], service)
    if second == "name":
        east = next(p for p in parts if p.name == "east")
        first, other, pid = f"id: {east.id}", "name: east", east.id
    else:
        low = min(parts, key=lambda p: p.low_key)
        first, other, pid = f"low_key: {low.low_key}", f"id: {low.id}", low.id
    block = f"""        partitions:
          - {first}
            policy: Blob
          - {other}
            policy: Share
"""
    config = Path(cluster["config"])
    text = config.read_text()
    if second == "name":
        config.write_text(text + "      Names:\n" + block)
    else:
        config.write_text(text.replace("        policy: Blob\n", "        policy: Blob\n" + block))
    lines = config.read_text().splitlines()
    first_line = next(i for i, line in enumerate(lines, 1) if line.strip() == f"- {first}")
    second_line = first_line + 2
    for command in ("plan", "drift", "apply"):
        args = ["--auto-approve"] if command == "apply" else []
        run = sfd(command, cluster["config"], "--endpoint", cluster["endpoint"], *args)
        assert run.code == 1, (command, run.all)
        kind1, value1 = first.split(": ")
        kind2, value2 = other.split(": ")
        assert (
            f"sfdeclare.yaml:{second_line}:13: error: partition {pid} of {service} is selected twice, by "
            f"{kind1}={value1} ({config}:{first_line}) and by {kind2}={value2} ({config}:{second_line}): "
            "declare its settings under one selector" in run.err
        ), run.err
    assert _policies(cluster["endpoint"]) == {}


# --- 3: a --target that matches nothing ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize(
    "target",
    [
        "application[fabric:/Nope]",
        "service[fabric:/CalcApp/Nope]",
        "partition[fabric:/CalcApp/CalcService/00000000-0000-0000-0000-000000000000]",
        "partition[fabric:/Nope/Svc/00000000-0000-0000-0000-000000000000]",
        "policy[Nope]",
    ],
)
def test_a_target_that_matches_nothing_is_an_error_not_no_changes(
    cluster: dict[str, Any], command: str, target: str
) -> None:
    assert _apply(cluster).code == 0  # converged: an empty plan would read "No changes"
    args = ["--auto-approve"] if command == "apply" else []
    run = sfd(command, cluster["config"], "--endpoint", cluster["endpoint"], "--target", target, *args)
    assert run.code == 1
    assert run.err.splitlines()[0] == (
        f"error: --target {target} matches nothing in the configuration or on the cluster"
    )
    assert "No changes" not in run.all


def test_a_mis_cased_target_is_refused_with_a_did_you_mean(cluster: dict[str, Any]) -> None:
    with connect(cluster["endpoint"]) as client:
        pid = client.list_partitions("fabric:/CalcApp/CalcService")[0].id
    cases = {
        "application[fabric:/calcapp]": "application[fabric:/CalcApp]",
        "service[fabric:/CalcApp/calcservice]": "service[fabric:/CalcApp/CalcService]",
        f"partition[fabric:/CalcApp/CalcService/{pid.upper()}]": f"partition[fabric:/CalcApp/CalcService/{pid}]",
        "policy[share]": "policy[Share]",
        "service[fabric:/CalcApp/web]": "service[fabric:/CalcApp/Web]",  # not declared: its application is read
    }
    for target, meant in cases.items():
        run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--target", target)
        assert run.code == 1, target
        assert run.err.splitlines()[0] == (
            f"error: --target {target} matches nothing in the configuration or on the cluster; "
            f"did you mean {meant}? (names are case-sensitive)"
        )


def test_a_target_that_exists_but_needs_nothing_still_plans_no_changes(cluster: dict[str, Any]) -> None:
    assert _apply(cluster).code == 0
    with connect(cluster["endpoint"]) as client:
        pid = client.list_partitions("fabric:/CalcApp/CalcService")[0].id
    for target in (
        "application[fabric:/Other]",  # exists, not declared
        "service[fabric:/CalcApp/Web]",  # exists, not declared
        f"partition[fabric:/CalcApp/CalcService/{pid}]",  # partitions read for the target
        "policy[Share]",
    ):
        run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--target", target)
        assert run.code == 0, (target, run.all)
        assert "No changes." in run.out
    # a reviewed targeted plan re-reads what it read: it is not stale
    target = f"partition[fabric:/CalcApp/CalcService/{pid}]"
    assert sfd(
        "plan", cluster["config"], "--endpoint", cluster["endpoint"], "--target", target, "--out", "p.json"
    )
    assert sfd("apply", "--plan", "p.json", cluster["config"]).code == 0


# --- 8: explain off the happy path ---------------------------------------------------------------------------


def _explain(cluster: dict[str, Any], address: str) -> Run:
    return sfd("explain", cluster["config"], address, "--endpoint", cluster["endpoint"])


def test_explain_answers_for_an_undeclared_application_that_exists(cluster: dict[str, Any]) -> None:
    from sfdeclare.model.addresses import EntityRef

    assert _apply(cluster).code == 0
    with connect(cluster["endpoint"]) as client:  # another team maps it behind the tool's back
        client.enable_backup(EntityRef("fabric:/Other"), "Share")
        client.suspend_backup(EntityRef("fabric:/Other", "fabric:/Other/Store"))
    run = _explain(cluster, "service[fabric:/Other/Store]")
    assert run.code == 0, run.all
    assert run.out.splitlines() == [
        "service[fabric:/Other/Store]",
        "  now:   Share (from application), suspended (at service)",
        "  after: Share (from application), suspended (at service)  (unchanged)",
        "  policy: inherited from application[fabric:/Other], set on the cluster at application[fabric:/Other], "
        "not by the configuration",
        "  suspension: set on the cluster at service[fabric:/Other/Store], not by the configuration",
        "  backups per partition now:   none (suspended)",
        "  backups per partition after: none (suspended)  (unchanged)",
    ]
    assert "does not exist" not in run.all


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("service[fabric:/CalcApp/Web]", "stateless"),
        ("service[fabric:/CalcApp/Cache]", "stateful without persisted state"),
    ],
)
def test_explain_says_a_stateless_or_non_persisted_service_is_never_backed_up(
    cluster: dict[str, Any], address: str, kind: str
) -> None:
    service = address.removeprefix("service[").removesuffix("]")
    run = _explain(cluster, address)
    assert run.code == 0, run.all
    assert "  now:   no backup" in run.out and "  after: no backup  (unchanged)" in run.out
    assert (
        f"  policy: not backed up: service {service} is {kind}, and Service Fabric backs up only stateful "
        "services with persisted state (policy Share, mapped at its application, does not apply to it)"
    ) in run.out
    with connect(cluster["endpoint"]) as client:
        pid = client.list_partitions(service)[0].id
    partition = _explain(cluster, f"partition[{service}/{pid}]")
    assert partition.code == 0 and f"not backed up: its service {service} is {kind}" in partition.out
    assert "Share (from" not in run.out + partition.out


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("application[fabric:/Nope]", "application fabric:/Nope does not exist on the cluster"),
        ("service[fabric:/CalcApp/Nope]", "service fabric:/CalcApp/Nope does not exist on the cluster"),
        ("service[fabric:/Nope/Svc]", "application fabric:/Nope does not exist on the cluster"),
        (
            "partition[fabric:/CalcApp/CalcService/00000000-0000-0000-0000-000000000000]",
            "partition 00000000-0000-0000-0000-000000000000 of fabric:/CalcApp/CalcService does not exist on the "
            "cluster",
        ),
        (
            "service[fabric:/CalcApp/calcservice]",
            "service fabric:/CalcApp/calcservice does not exist on the cluster; did you mean "
            "service[fabric:/CalcApp/CalcService]? (names are case-sensitive)",
        ),
    ],
)
def test_explain_of_an_entity_that_does_not_exist_exits_1(
    cluster: dict[str, Any], address: str, message: str
) -> None:
    run = _explain(cluster, address)
    assert run.code == 1 and run.out == ""
    assert run.err.strip().splitlines()[-1] == f"error: {message}"


# --- 7: a policy named None ----------------------------------------------------------------------------------

NONE_POLICY = """
  None:
    MaxIncrementalBackups: 2
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT12H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: '${env:BLOB_STORE}', ContainerName: none}
"""


def _with_none_policy(cluster: dict[str, Any], other: str) -> Path:
    config = Path(cluster["config"])
    text = config.read_text().replace("policies:\n", "policies:" + NONE_POLICY, 1)
    config.write_text(text + "  Other:\n" + other)
    return config


def test_a_policy_named_none_is_mapped_through_the_explicit_form(cluster: dict[str, Any]) -> None:
    from sfdeclare.model.addresses import EntityRef

    _with_none_policy(cluster, "    policy: {name: None}\n")
    assert sfd("validate", cluster["config"]).code == 0
    run = _apply(cluster)
    assert run.code == 0, run.all
    assert "application[fabric:/Other] backup policy (none) -> None" in run.out
    with connect(cluster["endpoint"]) as client:
        (item,) = client.configuration_info(EntityRef("fabric:/Other"))
        assert item.policy == "None"
    assert "No changes." in sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"]).out


@pytest.mark.parametrize("written", ["None", "none", "'NONE'"])
def test_the_bare_keyword_next_to_a_declared_policy_named_none_is_refused_with_the_explicit_form(
    cluster: dict[str, Any], written: str
) -> None:
    config = _with_none_policy(cluster, f"    policy: {written}\n")
    line = len(config.read_text().splitlines())
    shown = written.strip("'")
    expected = (
        f"sfdeclare.yaml:{line}:5: error: `policy: {shown}` is ambiguous here: a policy named None is declared "
        f"({config}:4); write `policy: {{name: None}}` to map that policy, or `policy: null` for no mapping at "
        "this level"
    )
    for command in ("validate", "plan"):
        run = sfd(
            command, cluster["config"], *(["--endpoint", cluster["endpoint"]] if command == "plan" else [])
        )
        assert run.code == 1 and expected in run.err, run.err
    assert _policies(cluster["endpoint"]) == {}


def test_the_bare_keyword_next_to_a_live_policy_named_none_is_refused_at_plan(
    cluster: dict[str, Any],
) -> None:
    with connect(cluster["endpoint"]) as client:  # created by another tool
        body = {
            "MaxIncrementalBackups": 2,
            "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT12H"},
            "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "x", "ContainerName": "none"},
        }
        client.create_policy("None", body)
    config = Path(cluster["config"])
    config.write_text(config.read_text() + "  Other:\n    policy: none\n")
    assert sfd("validate", cluster["config"]).code == 0  # offline, nothing says a policy None exists
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert run.code == 1
    assert (
        "error: `policy: none` is ambiguous here: a policy named None exists on the cluster; write "
        "`policy: {name: None}` to map that policy, or `policy: null` for no mapping at this level"
    ) in run.err
    config.write_text(config.read_text().replace("policy: none\n", "policy: null\n"))
    assert sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"]).code == 0


def test_the_no_policy_keywords_stay_keywords(cluster: dict[str, Any]) -> None:
    from sfdeclare.model.addresses import EntityRef

    with connect(cluster["endpoint"]) as client:
        assert _apply(cluster).code == 0
        client.enable_backup(EntityRef("fabric:/Other"), "Share")
    config = Path(cluster["config"])
    base = config.read_text()
    for written in ("None", "'null'", "'False'"):
        config.write_text(base + f"  Other:\n    policy: {written}\n")
        run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
        assert run.code == 0, run.all
        assert "- application[fabric:/Other] backup policy Share -> (none)" in run.out


def test_import_writes_the_explicit_form_for_a_policy_named_none_and_plans_no_changes(
    cluster: dict[str, Any],
) -> None:
    _with_none_policy(cluster, "    policy: {name: None}\n")
    assert _apply(cluster).code == 0
    run = sfd("import", "--endpoint", cluster["endpoint"], "--output", "imported.yaml")
    assert run.code == 0, run.all
    text = Path("imported.yaml").read_text()
    assert "  Other:\n    policy:\n      name: None\n" in text
    plan = sfd("plan", "imported.yaml", "--endpoint", cluster["endpoint"])
    assert plan.code == 0 and "No changes." in plan.out, plan.all
