"""An application's own suspension that its configuration listing does not show (SF-BACKUP-API.md §5.4: no
mapping of its own, every listed child suspended at its own level, or nothing mapped at all) is unknown: no
request shows it (a 6.4 partition without an effective policy answers null, so no partition can be probed), and
the plan acts on it only where the result will show, or before the application's last mapping goes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from sfdeclare.cluster.client import Client
from sfdeclare.cluster.read import read_state
from sfdeclare.commands.session import connect
from sfdeclare.config.loader import load_declaration
from sfdeclare.emulator.state import init_state
from sfdeclare.engine.planner import plan
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.scope import read_scope

APP, SVC, OTHER = "fabric:/App", "fabric:/App/Svc", "fabric:/App/Other"
BODY = {
    "MaxIncrementalBackups": 1,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
    "Storage": {"StorageKind": "FileShare", "Path": "\\\\server\\share"},
}


def setup(tmp_path: Path, suspended: bool | None) -> tuple[Client, str]:
    topology = {
        "applications": [
            {
                "name": APP,
                "services": [
                    {"name": SVC, "kind": "Stateful", "partitions": 1},
                    {"name": OTHER, "kind": "Stateful", "partitions": 1},
                ],
            }
        ]
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(topology))
    init_state(str(tmp_path / "s"), str(tmp_path / "t.yaml"))
    client = connect(f"emulator:{tmp_path / 's'}")
    client.create_policy("P", BODY)
    client.enable_backup(EntityRef(APP, SVC), "P")
    client.suspend_backup(EntityRef(APP))
    client.suspend_backup(EntityRef(APP, SVC))  # the only listed child suspends itself: the app's is hidden
    app: dict[str, object] = {"services": {"Svc": {"policy": "P", "suspended": True}}}
    if suspended is not None:
        app["suspended"] = suspended
    config = {"version": 1, "policies": {"P": BODY}, "applications": {"App": app}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    return client, str(tmp_path / "c.yaml")


def test_the_listing_hides_it_and_the_plan_says_it_is_unknown_without_probing(tmp_path: Path) -> None:
    client, config = setup(tmp_path, suspended=False)
    with client:
        before = client.requests
        live = read_state(client, read_scope(load_declaration([config])))
        # the partitions of Other have no effective policy: the server would answer null, so none is asked
        assert live.hidden_application_suspension == frozenset({APP})
        assert EntityRef(APP) not in live.suspensions
        assert client.requests - before == 1 + 2  # policies, services + config: no probe
        p = plan(load_declaration([config]), live)
        assert p.empty
        assert any("does not show whether this application is suspended" in d.message for d in p.diagnostics)


def test_no_probe_when_the_file_does_not_manage_it(tmp_path: Path) -> None:
    client, config = setup(tmp_path, suspended=None)
    with client:
        before = client.requests
        live = read_state(client, read_scope(load_declaration([config])))
        assert client.requests - before == 3
        assert live.hidden_application_suspension == frozenset({APP})
        assert plan(load_declaration([config]), live).empty


def test_when_nothing_can_show_it_the_plan_acts_if_the_result_will_be_visible(tmp_path: Path) -> None:
    client, config = setup(tmp_path, suspended=False)
    with client:
        client.suspend_backup(EntityRef(APP, OTHER))  # now every service suspended itself: no probe possible
        text = Path(config).read_text().replace("suspended: true", "suspended: false")
        Path(config).write_text(text.replace("  App:\n", "  App:\n    policy: P\n"))
        declaration = load_declaration([config])
        live = read_state(client, read_scope(declaration))
        assert live.hidden_application_suspension == frozenset({APP})
        p = plan(declaration, live)
        # the application gets its own mapping, so its suspension shows after apply: resume (harmless) now
        assert ("resume_backup", f"application[{APP}]") in [(c.action.value, c.address) for c in p.changes]


def test_a_reviewed_plan_resuming_a_hidden_suspension_is_not_refused_as_stale_when_applied_alone(
    tmp_path: Path,
) -> None:
    import io

    from sfdeclare.cli import main

    client, config = setup(tmp_path, suspended=False)
    client.close()
    # the application gets its own mapping, so its suspension shows after apply: the plan resumes it now
    Path(config).write_text(Path(config).read_text().replace("  App:\n", "  App:\n    policy: P\n"))
    endpoint = f"emulator:{tmp_path / 's'}"
    out, err = io.StringIO(), io.StringIO()
    plan_file = str(tmp_path / "plan.json")
    assert main(["plan", config, "--endpoint", endpoint, "--out", plan_file], out=out, err=err) == 0
    assert "resume_backup" in Path(plan_file).read_text()
    code = main(
        ["apply", "--plan", plan_file], out=out, err=err
    )  # no configuration: the plan says what to read
    assert code == 0, err.getvalue()
    assert "the cluster changed" not in err.getvalue()


def test_drift_agrees_with_plan_on_an_application_suspension_the_cluster_hides(tmp_path: Path) -> None:
    """The review's problem 1: the application and every service suspended themselves, so the listing cannot
    show the application's own suspension and no probe can. ``plan`` warns and changes nothing; ``drift`` must
    not report drift that no apply can close: it warns the same and exits 0."""
    import io

    from sfdeclare.cli import main

    client, config = setup(tmp_path, suspended=True)
    with client:
        client.suspend_backup(EntityRef(APP, OTHER))
    text = Path(config).read_text()
    Path(config).write_text(
        text.replace("    services:\n", "    services:\n      Other:\n        suspended: true\n")
    )
    endpoint = f"emulator:{tmp_path / 's'}"
    warning = f"application[{APP}]: the cluster does not show whether this application is suspended"

    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", config, "--endpoint", endpoint, "--detailed-exitcode"], out=out, err=err) == 0
    assert "No changes" in out.getvalue() and warning in err.getvalue()

    out, err = io.StringIO(), io.StringIO()
    assert main(["drift", config, "--endpoint", endpoint], out=out, err=err) == 0, out.getvalue()
    assert "No drift" in out.getvalue() and warning in err.getvalue()
    assert "missing" not in out.getvalue().lower()


def test_drift_reports_a_hidden_application_suspension_a_plan_will_reveal(tmp_path: Path) -> None:
    """Once the application gets a mapping of its own, its suspension shows: the plan resumes it (harmless if it
    was not suspended) and drift reports that same change, exit 2, instead of claiming to know the state."""
    import io

    from sfdeclare.cli import main

    client, config = setup(tmp_path, suspended=False)
    with client:
        client.suspend_backup(EntityRef(APP, OTHER))  # every service suspended itself: no probe possible
    text = Path(config).read_text().replace("  App:\n", "  App:\n    policy: P\n")
    Path(config).write_text(
        text.replace("    services:\n", "    services:\n      Other:\n        suspended: true\n")
    )
    endpoint = f"emulator:{tmp_path / 's'}"

    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", config, "--endpoint", endpoint, "--format", "json"], out=out, err=err) == 0
    actions = {(a["action"], a["address"]) for a in json.loads(out.getvalue())["actions"]}
    assert ("resume_backup", f"application[{APP}]") in actions

    out, err = io.StringIO(), io.StringIO()
    assert main(["drift", config, "--endpoint", endpoint, "--format", "json"], out=out, err=err) == 2
    items = {(i["class"], i["subject"], i["address"]): i for i in json.loads(out.getvalue())["items"]}
    item = items["changed", "suspension", f"application[{APP}]"]
    assert item["live"] is None and "does not show whether this application is suspended" in item["message"]
