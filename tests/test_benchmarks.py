"""The request counts the benchmarks rely on, at small scale: a plan reads one policy page, two requests per
declared application and one per service with partition-level declarations; beyond that only one partition
listing per service holding partition-level mappings or suspensions the file does not place (README, Reads)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfdeclare.cli import main as cli_main
from sfdeclare.cluster.read import read_state
from sfdeclare.config.loader import load_declaration
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport
from sfdeclare.model.scope import read_scope

# benchmarks/ is not an installed package: import it from the repository root
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import throughput
from benchmarks.generate import Scenario, generate
from benchmarks.processes import SFDECLARE, Emulator, child_env, run_timed
from benchmarks.run import Measured, median_run
from benchmarks.sdk_baseline import read_cluster
from sfdeclare.commands.session import connect

APPS = 20
SERVICES = 3
POLICY_PAGE = "GET /BackupRestore/BackupPolicies"
SERVICES_ROUTE = "GET /Applications/{id}/$/GetServices"
APP_CONFIG = "GET /Applications/{id}/$/GetBackupConfigurationInfo"
PARTITIONS = "GET /Services/{id}/$/GetPartitions"


@dataclass
class Cluster:
    scenario: Scenario
    state: str
    transport: EmulatorTransport

    def read(self) -> dict[str, Any]:
        """read_state of the scenario's configuration; the emulator's request counts for it."""
        self.transport.app.stats.reset()
        declaration = load_declaration([str(self.scenario.config)])
        with connect("http://emulator", transport=self.transport, parallelism=16) as client:
            live = read_state(client, read_scope(declaration), parallelism=16)
        stats = self.transport.app.stats.snapshot()
        assert live.requests == stats["Total"]
        return stats


def make_cluster(tmp_path: Path, partition_every: int) -> Cluster:
    scenario = generate(tmp_path / "bench", APPS, services=SERVICES, partition_every=partition_every)
    state = str(tmp_path / "state.db")
    init_state(state, str(scenario.topology))
    return Cluster(scenario, state, EmulatorTransport(state))


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Cluster]:
    cluster = make_cluster(tmp_path, partition_every=0)
    yield cluster
    cluster.transport.close()


@pytest.fixture
def with_partitions(tmp_path: Path) -> Iterator[Cluster]:
    cluster = make_cluster(tmp_path, partition_every=3)
    yield cluster
    cluster.transport.close()


def test_plan_reads_one_policy_page_and_two_requests_per_application(plain: Cluster) -> None:
    assert plain.scenario.partition_services == 0
    stats = plain.read()
    assert stats["Routes"] == {POLICY_PAGE: 1, SERVICES_ROUTE: APPS, APP_CONFIG: APPS}
    assert stats["Total"] == 1 + 2 * APPS == plain.scenario.expected_read_requests


def test_partition_level_settings_add_exactly_one_request_per_service(with_partitions: Cluster) -> None:
    declared = with_partitions.scenario.partition_services
    assert declared == len(range(0, APPS, 3))  # every third application, one service each
    stats = with_partitions.read()
    assert stats["Routes"] == {
        POLICY_PAGE: 1,
        SERVICES_ROUTE: APPS,
        APP_CONFIG: APPS,
        PARTITIONS: declared,
    }
    assert stats["Total"] == 1 + 2 * APPS + declared


def test_partition_mappings_the_file_does_not_place_cost_one_listing_per_service(
    plain: Cluster, tmp_path: Path
) -> None:
    from benchmarks.generate import app_name, svc_name
    from sfdeclare.emulator.lifecycle import recreate_service
    from sfdeclare.emulator.state import Store
    from sfdeclare.model.addresses import EntityRef

    services = [(app_name(0), svc_name(0, 0)), (app_name(1), svc_name(1, 1))]
    with connect("http://emulator", transport=plain.transport) as client:
        client.create_policy(
            "extra",
            {
                "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
                "MaxIncrementalBackups": 1,
                "Storage": {"StorageKind": "FileShare", "Path": "\\\\s\\x"},
            },
        )
        for app, svc in services:
            for partition in client.list_partitions(svc)[:2]:
                client.enable_backup(EntityRef(app, svc, partition.id), "extra")
    stats = plain.read()
    assert stats["Routes"][PARTITIONS] == len(services)
    assert stats["Total"] == plain.scenario.expected_read_requests + len(services)
    store = Store(plain.state)  # re-created: the mappings are orphans now, told apart by the same one listing
    try:
        recreate_service(store, services[0][1])
    finally:
        store.close()
    assert plain.read()["Total"] == plain.scenario.expected_read_requests + len(services)


def test_a_converged_cluster_costs_the_same_reads(
    with_partitions: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in with_partitions.scenario.env.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    config = str(with_partitions.scenario.config)
    endpoint = f"emulator:{with_partitions.state}"
    assert cli_main(["apply", config, "--endpoint", endpoint, "--auto-approve"], out, err) == 0, (
        err.getvalue()
    )
    assert cli_main(["plan", config, "--endpoint", endpoint, "--detailed-exitcode"], out, err) == 0
    stats = with_partitions.read()
    assert stats["Total"] == with_partitions.scenario.expected_read_requests


def test_served_plan_and_sdk_baseline_request_counts(tmp_path: Path) -> None:
    scenario = generate(tmp_path / "bench", 6, services=2, partition_every=2)
    with Emulator(str(tmp_path / "state.db"), str(scenario.topology), latency_ms=0, timeout=30) as emulator:
        argv = [SFDECLARE, "plan", str(scenario.config), "--endpoint", emulator.url]
        run = run_timed([*argv, "--parallelism", "4"], env=child_env(scenario.env), timeout=60)
        assert run.returncode == 0, run.tail()
        # the runtime (one GetClusterVersion per run), one policy page, two per application, one per partition
        # service; and from an empty cluster every service changes, so the 9 whose partitions were not listed
        # are counted for the plan's impact
        stats = emulator.stats()
        assert stats["Routes"]["GET /$/GetClusterVersion"] == 1
        assert stats["Routes"]["GET /Services/{id}/$/GetPartitions"] == 3 + 9
        assert stats["Total"] == scenario.expected_first_plan_requests == 1 + 1 + 2 * 6 + 3 + 9
        emulator.reset_stats()
        baseline = read_cluster(emulator.url)
        assert (baseline.applications, baseline.services, baseline.not_enabled) == (6, 12, 12)
        stats = emulator.stats()
        # the per-service script: the application list, each application's services, each service's config
        assert stats["Total"] == 1 + 6 + 12
        assert stats["Routes"]["GET /Services/{id}/$/GetBackupConfigurationInfo"] == 12


def test_emulator_stats_reset_between_runs(tmp_path: Path) -> None:
    scenario = generate(tmp_path / "bench", 2, services=1, partition_every=0)
    with Emulator(str(tmp_path / "state.db"), str(scenario.topology), latency_ms=0, timeout=30) as emulator:
        with httpx.Client(base_url=emulator.url, trust_env=False) as client:
            client.get("/BackupRestore/BackupPolicies", params={"api-version": "6.4"})
        assert emulator.stats()["Total"] == 1
        emulator.reset_stats()
        assert emulator.stats()["Total"] == 0


@pytest.mark.parametrize("client", sorted(throughput.CLIENTS))
def test_throughput_clients_count_only_answers_the_emulator_gave(tmp_path: Path, client: str) -> None:
    scenario = generate(tmp_path / "bench", 3, services=1, partition_every=0)
    with Emulator(str(tmp_path / "state.db"), str(scenario.topology), latency_ms=0, timeout=30) as emulator:
        got = throughput.measure(emulator.url, 3, threads=2, seconds=0.3, client=client)
        served = emulator.stats()["Total"]
    assert got.errors == 0 and got.requests > 0
    # every counted answer was served, plus one warm-up request per thread before the clock started
    assert served == got.requests + 2


def test_repeated_runs_report_the_median_run_with_every_wall_time() -> None:
    def run(wall: float, cpu: float) -> Measured:
        return Measured("plan", wall, cpu, 50.0, 10, {}, 0.02, 0.02, 0)

    chosen = median_run([run(4.3, 3.4), run(3.9, 2.5), run(4.0, 2.6)])
    assert (chosen.wall_s, chosen.cpu_s, chosen.walls) == (4.0, 2.6, (3.9, 4.0, 4.3))
    assert median_run([run(5.0, 1.0), run(3.0, 1.0)]).wall_s == 3.0


def test_status_at_benchmark_shape_reads_its_budget_and_finds_every_backup(
    with_partitions: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the benchmark's status row measures: after apply and the clock advanced (as benchmarks.run does),
    status costs the plan's reads plus one GetBackups per application and the partitions of every service the
    plan did not list, asks no health (nothing is late), and finds every partition ok or suspended."""
    import json

    from benchmarks.run import STATUS_ADVANCE
    from sfdeclare.emulator.server import EmulatorServer

    scenario = with_partitions.scenario
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    config = str(scenario.config)
    endpoint = f"emulator:{with_partitions.state}"
    assert (
        cli_main(["apply", config, "--endpoint", endpoint, "--auto-approve"], io.StringIO(), io.StringIO())
        == 0
    )
    with EmulatorServer(with_partitions.state) as server:
        httpx.post(f"{server.url}/$/Emulator/Clock/$/Advance", params={"Duration": STATUS_ADVANCE})
        httpx.post(f"{server.url}/$/Emulator/Stats/$/Reset")
        out, err = io.StringIO(), io.StringIO()
        code = cli_main(["status", config, "--endpoint", server.url, "--format", "json"], out, err)
        stats = httpx.get(f"{server.url}/$/Emulator/Stats").json()
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    assert report["summary"]["problems"] == 0
    assert report["summary"]["ok"] + report["summary"]["suspended"] == report["summary"]["total"]
    assert report["summary"]["total"] == APPS * SERVICES * 4  # generate's default: 4 partitions per service
    assert stats["Routes"] == {
        "GET /$/GetClusterVersion": 1,  # the runtime, once per run, as for plan
        POLICY_PAGE: 1,
        SERVICES_ROUTE: APPS,
        APP_CONFIG: APPS,
        PARTITIONS: APPS * SERVICES,  # the plan's partition services, and every other one for status
        "GET /Applications/{id}/$/GetBackups": APPS,
    }
