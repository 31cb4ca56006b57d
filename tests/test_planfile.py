"""The plan file's trust boundary (engine/planfile.py), refusal by refusal, without the CLI: every refusal is a
PlanFileError whose one line leads with the file; a genuine plan reads back as the same Plan."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.commands.session import read_plan_file
from sfdeclare.engine import planfile
from sfdeclare.engine.plan import Plan
from sfdeclare.engine.planner import plan
from sfdeclare.errors import PlanFileError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ApplicationDecl, Declaration, LevelSettings, PolicyDecl, ServiceDecl
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.servicefabric import routes

APP = "fabric:/A"
SVC = "fabric:/A/S"
BODY: dict[str, Any] = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
    "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:CS}", "ContainerName": "c"},
}


def genuine() -> Plan:
    """A plan with a create, an enable, a suspend and a destructive disable (clean_backup)."""
    declaration = Declaration(
        policies={"Daily": PolicyDecl("Daily", BODY)},
        applications={
            APP: ApplicationDecl(
                APP,
                LevelSettings(policy="Daily", suspended=True),
                (ServiceDecl(SVC, LevelSettings(clean_backup=True)),),
            )
        },
    )
    live = LiveState(
        applications={
            APP: LiveApplication(
                APP, services=(LiveService(SVC, "Stateful", True, (LivePartition("p1", "Singleton"),)),)
            )
        },
        mappings={EntityRef(APP, SVC): "Old"},
        configured_applications=frozenset({APP}),
        policies={"Old": {**BODY, "Storage": {**BODY["Storage"], "ConnectionString": "****"}}},
    )
    return plan(declaration, live)


def document() -> dict[str, Any]:
    return planfile.to_json(genuine(), "summary")


def resealed(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with a valid checksum again: what someone who knows the format could write."""
    doc["checksum"] = planfile.checksum(doc)
    return doc


def action(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["action"] == name)


def refused(doc: Any) -> str:
    with pytest.raises(PlanFileError) as caught:
        planfile.from_document(doc, source="p.json")
    message = str(caught.value)
    assert message.startswith("p.json: ") and "\n" not in message
    return message


def test_a_genuine_plan_reads_back_as_the_same_plan(tmp_path: Path) -> None:
    p = genuine()
    assert {c.action.value for c in p.changes} == {
        "create_policy",
        "enable_backup",
        "suspend_backup",
        "disable_backup",
    }
    path = tmp_path / "plan.json"
    path.write_text(planfile.dump(p, "summary"))
    assert read_plan_file(str(path)) == p
    assert planfile.load(path.read_bytes()) == p


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(planfile.MAX_BYTES + 1)
    with pytest.raises(
        PlanFileError, match=r"huge.json: the plan file is \d+ bytes; that is not a plan sfdeclare wrote"
    ):
        read_plan_file(str(huge))


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="cannot read the plan file"):
        read_plan_file(str(tmp_path / "absent.json"))
    with pytest.raises(PlanFileError, match="cannot read the plan file"):
        read_plan_file(str(tmp_path))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not a plan file (invalid JSON"),
        (b'{"format_version": 1\x00}', "not a plan file (invalid JSON"),
        ('{"format_version": 1}'.encode("utf-16"), "not a plan file (invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not a plan file"),
        (b"null", "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found None)"),
        (
            b'{"format_version": "1"}',
            "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found '1')",
        ),
        (
            b'{"format_version": 3}',
            "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found 3)",
        ),
    ],
    ids=["not-json", "nul", "utf16", "deep", "null", "version-string", "version-3"],
)
def test_content_that_is_not_a_plan_file_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(PlanFileError) as caught:
        planfile.load(raw, source="p.json")
    assert str(caught.value).startswith(f"p.json: {message}")


def test_an_altered_or_unsealed_plan_is_refused() -> None:
    doc = document()
    doc["endpoint"] = "https://elsewhere:19080"
    assert "altered after it was made (checksum mismatch)" in refused(doc)
    doc = document()
    del doc["checksum"]
    assert "checksum mismatch" in refused(doc)
    doc = document()
    doc["checksum"] = "sha256:" + "0" * 64
    assert "checksum mismatch" in refused(doc)


def test_a_sealed_document_outside_the_format_is_refused_with_its_place() -> None:
    doc = document()
    doc["extra"] = 1
    assert "does not match its format at $" in refused(resealed(doc))
    doc = document()
    action(doc, "enable_backup")["action"] = "format_disk"
    assert "does not match its format at $.actions" in refused(resealed(doc))
    doc = document()
    action(doc, "enable_backup")["address"] = "cluster[everything]"
    assert "does not match its format" in refused(resealed(doc))


def test_an_address_outside_its_application_is_refused() -> None:
    doc = document()
    action(doc, "disable_backup")["address"] = "service[fabric:/Other/S]"
    assert "not a valid plan file (service[fabric:/Other/S] is not in application fabric:/A)" in refused(
        resealed(doc)
    )


Tamper = Callable[[dict[str, Any]], None]


def _path(name: str, path: str) -> Tamper:
    return lambda doc: action(doc, name)["request"].__setitem__("path", path)


def _query(name: str, key: str, value: str) -> Tamper:
    return lambda doc: action(doc, name)["request"]["query"].__setitem__(key, value)


def _body(name: str, body: Any) -> Tamper:
    return lambda doc: action(doc, name)["request"].__setitem__("body", body)


def _field(name: str, key: str, value: Any) -> Tamper:
    return lambda doc: action(doc, name).__setitem__(key, value)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (_path("enable_backup", "/Applications/Other/$/EnableBackup"), "is not the one enable_backup sends"),
        (_path("create_policy", "//evil.example.com/x"), "is not the one create_policy sends"),
        (_path("suspend_backup", "/Applications/A/$/Delete"), "is not the one suspend_backup sends"),
        (_query("create_policy", "api-version", "6.0"), "is not the one create_policy sends"),
        (_query("enable_backup", "extra", "1"), "is not the one enable_backup sends"),
        (_body("enable_backup", {"BackupPolicyName": "Other"}), "is not the one enable_backup sends"),
        (_field("enable_backup", "after", "Other"), "is not the one enable_backup sends"),
        (_field("enable_backup", "after", True), "enable_backup does not apply to application[fabric:/A]"),
        (_field("create_policy", "action", "enable_backup"), "enable_backup does not apply to a policy"),
        (
            _field("disable_backup", "destructive", False),
            "a disable that deletes backups must be marked destructive",
        ),
        (_body("suspend_backup", {"Anything": 1}), "is not the one suspend_backup sends"),
    ],
    ids=[
        "another-entity",
        "network-path",
        "outside-backup-api",
        "another-api-version",
        "extra-query",
        "another-policy-in-body",
        "another-policy-in-after",
        "after-not-a-name",
        "entity-action-on-policy",
        "clean-backup-not-destructive",
        "a-body-where-none-is-sent",
    ],
)
def test_a_request_other_than_the_one_its_action_sends_refuses_the_whole_plan(
    tamper: Tamper, problem: str
) -> None:
    doc = document()
    tamper(doc)
    message = refused(resealed(doc))
    assert problem in message and message.endswith("; refusing the whole plan (nothing was changed)")


def test_a_policy_delete_must_be_marked_destructive() -> None:
    doc = document()
    delete = {
        **action(doc, "create_policy"),
        "id": "delete_policy:policy[Daily]",
        "action": "delete_policy",
        "phase": 5,
        "after": None,
        "destructive": False,
        "request": routes.delete_policy("Daily", routes.ApiOptions()).to_json(),
    }
    doc["actions"].append(delete)
    assert "a policy delete must be marked destructive" in refused(resealed(doc))
    delete["destructive"] = True
    assert planfile.from_document(resealed(doc)).changes[-1].destructive


def test_reading_a_file_and_loading_its_text_refuse_alike(tmp_path: Path) -> None:
    doc = document()
    doc["endpoint"] = "x"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanFileError, match=f"^{os.fspath(path)}: the plan file was altered"):
        read_plan_file(str(path))
