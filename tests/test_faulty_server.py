"""A cluster that misbehaves at the HTTP level (emulator chaos rules, tests/faulty_server_support.py):
invalid JSON, HTML error pages, a 200 of the wrong shape, a truncated body, silence, a reset mid-response. Each
gives one clear error naming the operation, never a traceback; apply reports exactly what it did and did not do,
and a re-run against a healthy cluster converges."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from faulty_server_support import FaultyServer, Rule

from sfdeclare.cli import main
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands.session import connect
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ClusterSettings

POLICIES = "/BackupRestore/BackupPolicies"
QUICK = RetryPolicy(max_attempts=2, base_delay=0.01, total_timeout=5)
ONCE = RetryPolicy(max_attempts=1)  # where each attempt waits out the timeout
# The cluster is told timeout=1 (whole seconds, its own budget); the client waits 0.2 s for a silent one.

TOPOLOGY = "applications:\n" + "".join(
    f"  - name: fabric:/App{a}\n    services:\n      - {{name: fabric:/App{a}/Store, kind: Stateful, partitions: 1}}\n"
    for a in range(4)
)
CONFIG = """version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\share\\\\backups'}
applications:
""" + "".join(f"  App{a}:\n    policy: Daily\n" for a in range(4))

CLIENT_FAULTS = {
    "invalid_json": "the body is not JSON (is the endpoint a Service Fabric cluster?)",
    "html_500": "500: HTTP 500 without a Service Fabric error body",
    "html_502": "502: HTTP 502 without a Service Fabric error body",
    "wrong_shape": "unexpected reply from the cluster: the page's Items is not a list",
    "truncated": "broke before an answer arrived",
    "reset_mid_response": "broke before an answer arrived",
}


@pytest.fixture()
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_retries: None) -> Iterator[EmulatorServer]:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "state"), str(tmp_path / "topology.yaml"))
    (tmp_path / "sfdeclare.yaml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    with EmulatorServer(str(tmp_path / "state")) as server:
        yield server


@pytest.mark.timeout(20)
@pytest.mark.parametrize("fault", sorted(CLIENT_FAULTS))
def test_each_fault_is_one_clear_error_naming_the_operation(fault: str, emulator: EmulatorServer) -> None:
    with (
        FaultyServer(emulator, [Rule("GET", POLICIES, fault)]) as chaos,
        connect(chaos.url, timeout=1, retry=QUICK) as client,
    ):
        with pytest.raises(ClusterError) as info:
            client.list_policies()
        assert client.list_services("fabric:/App1")[0].name == "fabric:/App1/Store"  # the rest still works
    message = str(info.value)
    assert message.startswith("GetBackupPolicyList: "), message
    assert CLIENT_FAULTS[fault] in message, message
    assert "\n" not in message and "<html" not in message, message


@pytest.mark.timeout(20)
@pytest.mark.parametrize("fault", sorted(CLIENT_FAULTS))
def test_plan_against_a_faulty_cluster_exits_1_with_one_line(fault: str, emulator: EmulatorServer) -> None:
    with FaultyServer(emulator, [Rule("GET", POLICIES, fault)]) as chaos:
        out, err = io.StringIO(), io.StringIO()
        code = main(["plan", "sfdeclare.yaml", "--endpoint", chaos.url], out=out, err=err)
    assert code == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: GetBackupPolicyList: "), lines
    assert CLIENT_FAULTS[fault] in lines[0]
    assert out.getvalue() == ""


def run_apply(endpoint: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["apply", "sfdeclare.yaml", "--endpoint", endpoint, "--auto-approve", *extra], out=out, err=err
    )
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def mapped(url: str) -> set[str]:
    with connect(url) as client:
        return {
            app
            for app in (f"fabric:/App{a}" for a in range(4))
            if any(item.explicit_policy for item in client.configuration_info(EntityRef(app)))
        }


@pytest.mark.timeout(30)
def test_apply_reports_exactly_what_was_and_was_not_done_then_converges(emulator: EmulatorServer) -> None:
    rules = [
        Rule("POST", "/Applications/App0/$/EnableBackup", "html_502"),
        Rule("POST", "/Applications/App1/$/EnableBackup", "reset_mid_response"),
        Rule("POST", "/Applications/App2/$/EnableBackup", "forward_then_reset", times=1),
    ]
    with FaultyServer(emulator, rules) as chaos:
        code, out, err = run_apply(chaos.url, "--report", "report.json")
        sent = chaos.received
    assert code == 1
    assert re.search(r"^applied: create_policy policy\[Daily\]", out, re.M), out
    assert re.search(r"^failed: enable_backup application\[fabric:/App0\] -- .*HTTP 502", out, re.M), out
    assert re.search(r"^failed: enable_backup application\[fabric:/App1\] -- .*broke before", out, re.M), out
    # carried out, its answer lost, retried: the repeat finds it done
    assert re.search(r"^applied: enable_backup application\[fabric:/App2\].*\[2 attempts\]", out, re.M), out
    assert re.search(r"^applied: enable_backup application\[fabric:/App3\]", out, re.M), out
    assert "Apply complete: 3 applied, 2 failed, 0 skipped." in out
    assert "not converged: a fresh plan still has 2 action(s)" in err
    assert (
        "enable_backup application[fabric:/App0]" in err and "enable_backup application[fabric:/App1]" in err
    )
    # what the report says is what the cluster holds
    assert mapped(emulator.url) == {"fabric:/App2", "fabric:/App3"}
    assert sum(1 for r in sent if r.path.startswith("/Applications/App1/$/EnableBackup")) >= 2  # retried
    report = json.loads(Path("report.json").read_text())
    statuses = {r["address"]: r["status"] for r in report["results"] if r["action"] == "enable_backup"}
    assert statuses == {
        "application[fabric:/App0]": "failed",
        "application[fabric:/App1]": "failed",
        "application[fabric:/App2]": "applied",
        "application[fabric:/App3]": "applied",
    }
    assert report["summary"]["converged"] is False
    assert sorted(r["address"] for r in report["remainder"]) == [
        "application[fabric:/App0]",
        "application[fabric:/App1]",
    ]

    code, out, err = run_apply(emulator.url)
    assert code == 0, out + err
    assert "Apply complete: 2 applied, 0 failed, 0 skipped." in out
    assert mapped(emulator.url) == {f"fabric:/App{a}" for a in range(4)}
    out_io, err_io = io.StringIO(), io.StringIO()
    assert (
        main(["plan", "sfdeclare.yaml", "--endpoint", emulator.url, "--detailed-exitcode"], out_io, err_io)
        == 0
    )


@pytest.mark.timeout(20)
def test_a_cluster_that_never_answers_times_out_within_the_client_timeout(emulator: EmulatorServer) -> None:
    with (
        FaultyServer(emulator, [Rule("POST", "/$/Create", "silent")]) as chaos,
        connect(chaos.url, timeout=1, wait=0.2, retry=ONCE) as client,
        pytest.raises(ClusterError) as info,
    ):
        client.create_policy("Daily", {"MaxIncrementalBackups": 1})
    assert "timeout=1" in chaos.received[-1].path  # the cluster's own budget, whole seconds, is unchanged
    assert str(info.value).startswith("CreateBackupPolicy policy[Daily]: ")
    assert "did not answer within 0.2s" in str(info.value)
    assert info.value.transient


@pytest.mark.timeout(20)
@pytest.mark.parametrize("fault", ["trickle", "trickle_headers"])
def test_a_cluster_that_trickles_its_answer_is_cut_off_at_the_timeout(
    emulator: EmulatorServer, fault: str
) -> None:
    """Every read arrives in time, the body (or the header) never ends: the whole answer has one deadline."""
    with (
        FaultyServer(emulator, [Rule("GET", POLICIES, fault)]) as chaos,
        connect(chaos.url, timeout=1, wait=0.2, retry=ONCE) as client,
        pytest.raises(ClusterError) as info,
    ):
        client.list_policies()
    assert "GetBackupPolicyList: " in str(info.value) and "did not answer within 0.2s" in str(info.value)


@pytest.mark.timeout(20)
def test_an_endless_answer_is_refused_at_the_size_limit(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sfdeclare.cluster.client.MAX_RESPONSE_BYTES", 4 * 1024 * 1024)
    tracemalloc.start()
    try:
        with (
            FaultyServer(emulator, [Rule("GET", POLICIES, "endless_body")]) as chaos,
            connect(chaos.url, timeout=1, retry=QUICK) as client,
        ):
            with pytest.raises(ClusterError) as info:
                client.list_policies()
            assert client.requests == 1  # not worth repeating
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "GetBackupPolicyList: " in str(info.value)
    assert "the answer is larger than 4 MiB" in str(info.value)
    assert peak < 64 * 1024 * 1024


@pytest.mark.timeout(20)
def test_a_redirect_is_not_followed_and_the_token_stays(emulator: EmulatorServer) -> None:
    settings = ClusterSettings(token="${env:TOKEN}")
    with (
        FaultyServer(emulator, [Rule("GET", POLICIES, "redirect_307")]) as chaos,
        connect(
            chaos.url, settings=settings, env={"TOKEN": "t0k"}, retry=QUICK, warn=lambda m: None
        ) as client,
    ):
        with pytest.raises(ClusterError) as info:
            client.list_policies()
        assert client.requests == 1
    assert "307" in str(info.value)


@pytest.mark.timeout(30)
def test_a_write_whose_answer_is_always_lost_is_reported_as_possibly_done(emulator: EmulatorServer) -> None:
    """The cluster carries the write out and the answer never arrives: apply cannot know, and says so; the
    convergence check then tells what the cluster holds, and the re-run has nothing left to do for it."""
    rules = [Rule("POST", "/Applications/App2/$/EnableBackup", "forward_then_reset")]
    with FaultyServer(emulator, rules) as chaos:
        code, out, err = run_apply(chaos.url)
    assert code == 1
    line = next(
        x for x in out.splitlines() if x.startswith("failed: enable_backup application[fabric:/App2]")
    )
    assert "broke before an answer arrived" in line and "it may have been carried out" in line, line
    assert "Apply complete: 4 applied, 1 failed, 0 skipped." in out
    assert "not converged" not in err  # it was carried out: a fresh plan is empty
    assert mapped(emulator.url) == {f"fabric:/App{a}" for a in range(4)}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("command", [["plan", "sfdeclare.yaml"], ["drift", "sfdeclare.yaml"], ["import"]])
def test_names_with_terminal_escapes_from_the_cluster_never_reach_the_output(
    command: list[str], emulator: EmulatorServer
) -> None:
    with FaultyServer(emulator, [Rule("GET", POLICIES + "?", "hostile_names")]) as chaos:
        out, err = io.StringIO(), io.StringIO()
        code = main([*command, "--endpoint", chaos.url], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert code == 1
    assert "\x1b" not in text and "Traceback" not in text
    assert text == (
        "error: GetBackupPolicyList: 200: unexpected reply from the cluster: "
        "a backup policy has a Name holding the control character '\\x1b'\n"
    )


@pytest.mark.timeout(20)
def test_a_policy_field_with_a_terminal_escape_is_refused_by_name_and_field(emulator: EmulatorServer) -> None:
    with FaultyServer(emulator, [Rule("GET", POLICIES + "?", "hostile_field")]) as chaos:
        out, err = io.StringIO(), io.StringIO()
        code = main(["drift", "sfdeclare.yaml", "--endpoint", chaos.url], out=out, err=err)
    assert code == 1 and out.getvalue() == ""
    assert err.getvalue() == (
        "error: GetBackupPolicyList: 200: unexpected reply from the cluster: backup policy Daily has "
        "Storage.ContainerName holding the control character '\\x1b'\n"
    )


@pytest.mark.timeout(30)
def test_a_failure_while_checking_convergence_still_reports_what_was_applied(
    emulator: EmulatorServer,
) -> None:
    with FaultyServer(emulator, [Rule("GET", POLICIES + "?", "html_502", after=1)]) as chaos:
        code, out, err = run_apply(chaos.url, "--report", "report.json")
    assert code == 1
    assert "Apply complete: 5 applied, 0 failed, 0 skipped." in out, out + err
    assert "GetBackupPolicyList" in err
    report = json.loads(Path("report.json").read_text())
    assert report["summary"]["applied"] == 5 and report["summary"]["converged"] is None
