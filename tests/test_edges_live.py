"""The edges of real operations (issue #15, items 4, 5, 6, 9, 10), each through the CLI against the emulator:
services re-created or removed behind the tool's back, suspensions that would outlive an application's last
mapping, other teams' policies on a shared cluster, the impact a plan states, and changes that would otherwise
do nothing without saying so. Each test is named for the guarantee it holds (README, Guarantees)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import yaml

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import Store, init_state
from sfdeclare.model.addresses import EntityRef

APP, SVC, OTHER = "fabric:/App", "fabric:/App/Svc", "fabric:/App/Other"
TEAM_B = "fabric:/TeamB"
BODY: dict[str, Any] = {
    "MaxIncrementalBackups": 1,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
    "Storage": {"StorageKind": "FileShare", "Path": "\\\\server\\share"},
}


class Cli:
    """``sfdeclare`` in-process against one emulator state, with one configuration file."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.state = str(tmp / "state")
        self.endpoint = f"emulator:{self.state}"
        self.config = str(tmp / "sfdeclare.yaml")
        topology = {
            "applications": [
                {
                    "name": APP,
                    "services": [
                        {"name": SVC, "kind": "Stateful", "partitions": 2},
                        {"name": OTHER, "kind": "Stateful", "partitions": 1},
                    ],
                },
                {"name": TEAM_B, "services": [{"name": f"{TEAM_B}/Svc", "kind": "Stateful"}]},
            ]
        }
        (tmp / "topology.yaml").write_text(yaml.safe_dump(topology))
        init_state(self.state, str(tmp / "topology.yaml"))

    def write(self, applications: dict[str, Any], **top: Any) -> None:
        config = {"version": 1, **top, "policies": {"P": BODY}, "applications": applications}
        Path(self.config).write_text(yaml.safe_dump(config, sort_keys=False))

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = list(args)
        if args[0] in ("plan", "apply", "drift"):
            argv += ["--endpoint", self.endpoint]
            if "--plan" not in args:
                argv.insert(1, self.config)
        if env is None:
            code = main(argv, out=out, err=err)
        else:
            import os
            from unittest import mock

            with mock.patch.dict(os.environ, env):
                code = main(argv, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def plan_json(self, *extra: str) -> dict[str, Any]:
        code, out, err = self.run("plan", "--format", "json", *extra)
        assert code == 0, err
        return dict(json.loads(out))

    def apply(self, *extra: str) -> str:
        code, out, err = self.run("apply", "--auto-approve", *extra)
        assert code == 0, out + err
        return out + err

    def partitions(self, service: str) -> list[str]:
        with connect(self.endpoint) as client:
            return [p.id for p in client.list_partitions(service)]

    def stored(self) -> tuple[dict[str, str], set[str]]:
        """The emulator's stored truth: mapping keys -> policy, and suspension keys."""
        store = Store(self.state)
        try:
            with store.read() as tx:
                mappings = {m.key: str(m.policy) for m in tx.mappings_of_policy("P")}
                suspended = {s.key for app in (APP, TEAM_B) for s in tx.suspensions_in_app(app)}
        finally:
            store.close()
        return mappings, suspended


def actions(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["action"], a["address"]) for a in plan["actions"]]


def test_a_recreated_service_leaves_orphans_no_plan_acts_on_and_they_stay_out_of_the_exit_status(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    old = cli.partitions(SVC)
    cli.write({"App": {"policy": "P", "services": {"Svc": {"partitions": [{"id": old[0], "policy": "P"}]}}}})
    cli.apply()
    with connect(cli.endpoint) as client:
        client.suspend_backup(EntityRef(APP, SVC, old[1]))
    code, out, _ = cli.run("emulator", "recreate-service", "--state", cli.state, SVC)
    assert code == 0 and f"{old[0]} -> " in out
    new = cli.partitions(SVC)
    assert set(new).isdisjoint(old)
    # the file drops the partition override (its id is gone); the cluster keeps the old mapping and suspension
    cli.write({"App": {"policy": "P"}})
    code, out, err = cli.run("plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out + err
    assert f"partition[{SVC}/{old[0]}]: orphaned mapping to policy P" in err
    assert "deleting policy P purges it" in err
    assert f"partition[{SVC}/{old[1]}]: orphaned suspension" in err
    code, out, err = cli.run("drift")
    assert code == 0 and "No drift" in out, out + err
    assert "orphaned mapping" in err
    # apply has nothing to do (no request for the old ids, which the server would refuse every run)
    assert "No changes" in cli.apply()
    orphaned_key = f"fabric:/App/Svc/{old[0]}"
    assert cli.stored()[0] == {"fabric:/App": "P", orphaned_key: "P"}


def test_leftovers_of_a_removed_service_are_disabled_and_resumed_and_never_shown_as_alive(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P", "services": {"Svc": {"policy": "P", "suspended": True}}}})
    cli.apply()
    code, out, _ = cli.run("emulator", "remove-service", "--state", cli.state, SVC)
    assert code == 0 and "Removed fabric:/App/Svc" in out
    cli.write({"App": {"policy": "P"}})
    plan = cli.plan_json()
    assert actions(plan) == [
        ("resume_backup", f"service[{SVC}]"),
        ("disable_backup", f"service[{SVC}]"),
    ]
    reasons = " ".join(a["reason"] for a in plan["actions"])
    assert "no longer exists" in reasons
    assert not [e for e in plan["effective_changes"] if SVC in e["address"]]  # gone: never shown as alive
    cli.apply()
    assert cli.stored() == ({"fabric:/App": "P"}, set())
    assert cli.plan_json()["actions"] == []


def test_prune_does_not_count_mappings_of_entities_that_no_longer_exist_as_in_use(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("Old", BODY)
        client.create_policy("P", BODY)
        client.enable_backup(EntityRef(TEAM_B, f"{TEAM_B}/Svc"), "Old")  # in an application not declared
        client.enable_backup(EntityRef(APP, SVC, cli.partitions(SVC)[0]), "Old")
    cli.run("emulator", "remove-service", "--state", cli.state, f"{TEAM_B}/Svc")
    cli.run("emulator", "recreate-service", "--state", cli.state, SVC)
    cli.write({"App": {"policy": "P"}}, prune_policies=True)
    plan = cli.plan_json()
    assert ("delete_policy", "policy[Old]") in actions(plan)
    cli.apply("--allow-destructive")  # the server purges the mappings of entities that are gone, then deletes
    with connect(cli.endpoint) as client:
        assert client.get_policy("Old") is None
    assert cli.plan_json()["actions"] == []


def test_removing_an_applications_last_mapping_resumes_its_suspensions_first(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P", "suspended": True, "services": {"Svc": {"suspended": True}}}})
    cli.apply()
    cli.write({"App": {}})  # backup off for the application; suspended is no longer written
    plan = cli.plan_json()
    assert actions(plan) == [
        ("resume_backup", f"application[{APP}]"),
        ("resume_backup", f"service[{SVC}]"),
        ("disable_backup", f"application[{APP}]"),
    ]
    assert "removes the application's last mapping" in plan["actions"][0]["reason"]
    cli.apply()
    assert cli.stored() == ({}, set())
    # a later re-enable starts clean: no suspension returns with it
    cli.write({"App": {"policy": "P"}})
    assert actions(cli.plan_json()) == [("enable_backup", f"application[{APP}]")]
    cli.apply()
    assert cli.stored() == ({"fabric:/App": "P"}, set())


def test_a_hidden_application_suspension_is_resumed_before_the_last_mapping_goes(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("P", BODY)
        client.enable_backup(EntityRef(APP, SVC), "P")
        client.suspend_backup(EntityRef(APP))
        client.suspend_backup(EntityRef(APP, SVC))  # the only listed child: the application's is hidden
    cli.write({"App": {}})
    plan = cli.plan_json()
    assert ("resume_backup", f"application[{APP}]") in actions(plan)
    resume = next(a for a in plan["actions"] if a["address"] == f"application[{APP}]")
    assert "does not show whether this application is suspended" in resume["reason"]
    cli.apply()
    assert cli.stored() == ({}, set())
    assert cli.plan_json()["actions"] == []


def test_an_empty_listing_is_not_proof_that_an_application_is_not_suspended(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("P", BODY)
        client.enable_backup(EntityRef(APP), "P")
        client.suspend_backup(EntityRef(APP))
        client.disable_backup(EntityRef(APP))  # the suspension stays; the listing now answers 404
    cli.write({"App": {"policy": "P", "suspended": False}})
    plan = cli.plan_json()
    assert actions(plan) == [
        ("enable_backup", f"application[{APP}]"),
        ("resume_backup", f"application[{APP}]"),
    ]
    code, out, err = cli.run("explain", cli.config, "--endpoint", cli.endpoint, f"application[{APP}]")
    assert code == 0 and "does not show whether application fabric:/App itself is suspended" in out, out + err
    cli.apply()
    assert cli.stored() == ({"fabric:/App": "P"}, set())  # converged in the same apply
    assert cli.plan_json()["actions"] == []


def test_another_teams_policy_is_not_drift_and_does_not_make_a_plan_file_stale(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P"}})
    cli.apply()
    with connect(cli.endpoint) as client:
        client.create_policy("team-b-daily", BODY)
        client.enable_backup(EntityRef(TEAM_B), "team-b-daily")
    code, out, err = cli.run("drift")
    assert code == 0 and "No drift" in out, out + err
    assert "info: policy team-b-daily is not part of this configuration" in err
    cli.write({"App": {"policy": "P", "services": {"Svc": {"suspended": True}}}})
    code, _, err = cli.run("plan", "--out", str(tmp_path / "plan.json"))
    assert code == 0, err
    with connect(cli.endpoint) as client:  # another team creates a policy between review and apply
        client.create_policy("team-b-weekly", BODY)
    code, out, err = cli.run("apply", "--plan", str(tmp_path / "plan.json"))
    assert code == 0 and "the cluster changed" not in err, out + err


def test_prune_policies_match_prunes_only_the_teams_own_policies(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        for name in ("team-a-old", "team-b-new"):
            client.create_policy(name, BODY)
    cli.write({"App": {"policy": "P"}}, prune_policies={"match": "team-a-*"})
    plan = cli.plan_json()
    assert [a for a in actions(plan) if a[0] == "delete_policy"] == [("delete_policy", "policy[team-a-old]")]
    cli.apply("--allow-destructive")
    with connect(cli.endpoint) as client:
        assert client.get_policy("team-b-new") is not None and client.get_policy("team-a-old") is None
    Path(cli.config).write_text(Path(cli.config).read_text().replace("match: team-a-*", "match: 3"))
    code, _, err = cli.run("plan")
    assert code == 1 and "prune_policies" in err and "Traceback" not in err


def test_scope_cluster_lists_the_services_of_undeclared_applications_that_lose_backup(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("P", BODY)
        client.enable_backup(EntityRef(TEAM_B), "P")
    cli.write({"App": {"policy": "P"}}, scope="cluster", clean_backup=True)
    code, out, err = cli.run("plan")
    assert code == 0, err
    assert f"service[{TEAM_B}/Svc]: P (from application) -> no backup  (stored backups deleted)" in out
    assert "Effective backup changes for 3 services" in out  # App's two, and TeamB's
    assert "partitions of 3 services not read" in out


def test_the_summary_counts_suspension_changes(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P"}})
    cli.apply()
    cli.write({"App": {"policy": "P", "services": {"Svc": {"suspended": True}}}})
    plan = cli.plan_json()
    assert actions(plan) == [("suspend_backup", f"service[{SVC}]")]
    assert plan["summary"]["services_effective_changed"] == 1
    assert "Effective backup changes for 1 service and 0 partitions" in plan["summary_line"]


def test_a_targeted_plan_shows_the_enables_it_pulls_in(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"services": {"Svc": {"policy": "P"}, "Other": {"policy": "P", "suspended": True}}}})
    # suspending Other needs a mapping in the application first: every enable there is pulled in
    code, out, err = cli.run("plan", "--target", f"service[{OTHER}]")
    assert code == 0, err
    plan = cli.plan_json("--target", f"service[{OTHER}]")
    assert set(actions(plan)) == {
        ("create_policy", "policy[P]"),
        ("enable_backup", f"service[{SVC}]"),
        ("enable_backup", f"service[{OTHER}]"),
        ("suspend_backup", f"service[{OTHER}]"),
    }
    pulled = next(a for a in plan["actions"] if a["address"] == f"service[{SVC}]")
    assert f"outside --target, pulled in: service[{OTHER}] waits for it" in pulled["reason"]
    assert f"service[{SVC}]" in {e["address"] for e in plan["effective_changes"]}
    assert f"service[{SVC}]: no backup -> P (from service)" in out


def test_suspended_false_under_a_suspended_parent_warns_naming_the_level_that_decides(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P", "suspended": True, "services": {"Svc": {"suspended": False}}}})
    code, _, err = cli.run("plan")
    assert code == 0, err
    assert (
        f"service[{SVC}] declares suspended: false, but application[{APP}] is declared suspended" in err
        and "the application level decides" in err
    )


def test_deleting_suspended_true_says_the_unmanaged_suspension_remains_and_how_to_lift_it(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    cli.write({"App": {"policy": "P", "services": {"Svc": {"suspended": True}}}})
    cli.apply()
    cli.write({"App": {"policy": "P"}})
    code, out, err = cli.run("plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out
    assert f"service[{SVC}] stays suspended" in err and "write suspended: false at this level" in err


def test_refresh_secrets_propagates_a_removed_password(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    storage = {**BODY["Storage"], "PrimaryUserName": "svc", "PrimaryPassword": "${env:SHARE_PASSWORD}"}
    config = {"version": 1, "policies": {"P": {**BODY, "Storage": storage}}, "applications": {"App": {}}}
    Path(cli.config).write_text(yaml.safe_dump(config))
    cli.run("apply", "--auto-approve", env={"SHARE_PASSWORD": "s3cret-value"})
    del storage["PrimaryPassword"]
    Path(cli.config).write_text(yaml.safe_dump(config))
    assert cli.plan_json()["actions"] == []  # the cluster masks passwords: nothing to compare
    plan = cli.plan_json("--refresh-secrets")
    assert actions(plan) == [("update_policy", "policy[P]")]
    cli.apply("--refresh-secrets")
    store = Store(cli.state)
    try:
        with store.read() as tx:
            stored = tx.policy("P")
    finally:
        store.close()
    assert stored is not None
    assert stored["Storage"].get("PrimaryPassword") is None, stored["Storage"]


def test_emulator_service_commands_refuse_an_unknown_service_in_one_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    code, _, err = cli.run("emulator", "recreate-service", "--state", cli.state, "fabric:/App/Nope")
    assert code == 1 and "fabric:/App/Nope is not in the emulator's topology" in err
    assert "Traceback" not in err and err.splitlines()[0].startswith("error: service fabric:/App/Nope")
    code, _, err = cli.run("emulator", "remove-service", "--state", str(tmp_path / "missing"), SVC)
    assert code == 1 and "emulator init" in err


def test_another_teams_policy_is_a_notice_in_github_annotations(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("team-b-daily", BODY)
    cli.write({"App": {"policy": "P"}})
    code, out, err = cli.run("plan", "--format", "github")
    assert code == 0, err
    assert "::notice::policy team-b-daily is not part of this configuration" in out


def test_an_orphaned_suspension_keeps_hiding_the_application_so_no_resume_is_planned_forever(
    tmp_path: Path,
) -> None:
    """The listing keeps an orphaned partition suspension (suspended at its own level): the application's own
    suspension stays hidden after any apply, so the plan warns instead of resuming on every run."""
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("P", BODY)
        old = EntityRef(APP, SVC, cli.partitions(SVC)[0])
        client.enable_backup(old, "P")
        client.suspend_backup(old)
    cli.run("emulator", "recreate-service", "--state", cli.state, SVC)
    cli.write({"App": {"suspended": False}})
    code, out, err = cli.run("plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out + err
    assert "does not show whether this application is suspended" in err
    assert "orphaned suspension" in err and "orphaned mapping to policy P" in err


def test_pruning_a_policy_that_purges_an_applications_last_mappings_resumes_its_suspensions_first(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("Old", BODY)
        client.enable_backup(EntityRef(APP, SVC, cli.partitions(SVC)[0]), "Old")
        client.suspend_backup(EntityRef(APP, OTHER))
    cli.run("emulator", "recreate-service", "--state", cli.state, SVC)
    cli.write({"App": {}}, prune_policies=True)
    plan = cli.plan_json()
    assert actions(plan)[-2:] == [("resume_backup", f"service[{OTHER}]"), ("delete_policy", "policy[Old]")]
    assert "pruning a policy purges the application's last mappings" in plan["actions"][-2]["reason"]
    cli.apply("--allow-destructive")
    assert cli.stored() == ({}, set())
    assert cli.plan_json()["actions"] == []


def test_a_suspension_in_an_application_without_any_mapping_is_a_warning_never_a_refused_resume(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    with connect(cli.endpoint) as client:
        client.create_policy("P", BODY)
        client.enable_backup(EntityRef(APP, SVC), "P")
        client.suspend_backup(EntityRef(APP, SVC))
        client.disable_backup(EntityRef(APP, SVC))  # out of band: the suspension stays, nothing is mapped
    cli.write({"App": {"services": {"Svc": {"suspended": False}}}})
    code, out, err = cli.run("plan", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out + err
    assert "Service Fabric resumes only where some policy is mapped" in err
    code, out, err = cli.run("drift")
    assert code == 0 and "Service Fabric resumes only where some policy is mapped" in err, out + err
    # the plan that maps a policy again resumes it in the same apply
    cli.write({"App": {"policy": "P", "services": {"Svc": {"suspended": False}}}})
    assert actions(cli.plan_json()) == [
        ("enable_backup", f"application[{APP}]"),
        ("resume_backup", f"service[{SVC}]"),
    ]
    cli.apply()
    assert cli.stored() == ({"fabric:/App": "P"}, set())
