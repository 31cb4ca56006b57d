"""The loader: valid fixtures -> Declaration values, their locations, directories and the digest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sfdeclare.config.digest import meaning
from sfdeclare.config.loader import expand_paths, load_declaration
from sfdeclare.errors import ConfigError, Location
from sfdeclare.model.declaration import Declaration, LevelSettings, PartitionSelector

VALID = Path(__file__).parent / "data" / "config" / "valid"

POLICY = """\
  {name}:
    MaxIncrementalBackups: 3
    Schedule: {{ScheduleKind: FrequencyBased, Interval: PT1H}}
    Storage: {{StorageKind: AzureBlobStore, ConnectionString: "${{env:STORE}}", ContainerName: backups}}
"""


@pytest.fixture
def every_kind(monkeypatch: pytest.MonkeyPatch) -> Declaration:
    monkeypatch.chdir(VALID)
    return load_declaration(["every-kind.yaml"])


@pytest.mark.parametrize("name", sorted(os.listdir(VALID)))
def test_valid_fixtures_load_without_errors(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(VALID)
    declaration = load_declaration([name])
    assert all(d.severity == "warning" for d in declaration.diagnostics)
    assert declaration.digest.startswith("sha256:") and len(declaration.digest) == 71


def test_top_level_and_cluster_settings(every_kind: Declaration) -> None:
    d = every_kind
    assert d.files == ("every-kind.yaml",)
    assert d.base_dir == "."
    assert (d.scope, d.prune_policies, d.clean_backup) == ("cluster", True, False)
    c = d.cluster
    assert (c.endpoint, c.api_version, c.entity_ids, c.token) == (
        "https://prod-cluster.example.com:19080",
        "6.4",
        "tilde",
        "${env:SF_AAD_TOKEN}",
    )
    assert c.tls.verify is False and c.tls.client_cert == "certs/admin.pem" and c.tls.ca_bundle is not None
    assert c.location == Location("every-kind.yaml", 4, 1, "$.cluster")


def test_policy_bodies_are_kept_exactly_as_written(every_kind: Declaration) -> None:
    policies = every_kind.policies
    assert list(policies) == [
        "DailyAzureBackupPolicy",
        "HourlyShare",
        "NightlyDsms",
        "WeekendIdentity",
        "Literal-Dollar_1.0",
    ]
    daily = policies["DailyAzureBackupPolicy"]
    assert daily.body["Schedule"] == {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"}
    assert daily.body["Storage"]["ConnectionString"] == "${env:BACKUP_STORE_1}"
    assert "Name" not in daily.body
    assert daily.location == Location("every-kind.yaml", 21, 3, "$.policies.DailyAzureBackupPolicy")
    assert daily.secret_fields() == ("ConnectionString",)
    share = policies["HourlyShare"].body
    assert share["MaxIncrementalBackups"] == "10"
    assert share["Schedule"]["Interval"] == "PT90M"
    assert share["RetentionPolicy"]["RetentionDuration"] == "PT48H"
    assert policies["HourlyShare"].secret_fields() == ("PrimaryPassword", "SecondaryPassword")
    assert policies["NightlyDsms"].body["Schedule"]["RunTimes"] == ["02:00", "2024-01-01T14:30:00Z"]
    assert policies["Literal-Dollar_1.0"].body["Storage"]["Path"] == "/mnt/backups/$${not-a-reference}"


def test_applications_services_and_partitions(every_kind: Declaration) -> None:
    apps = every_kind.applications
    assert list(apps) == ["fabric:/CalcApp", "fabric:/Orders", "fabric:/Retired"]
    calc = apps["fabric:/CalcApp"]
    assert calc.name == "fabric:/CalcApp"
    assert calc.settings == LevelSettings(
        policy="DailyAzureBackupPolicy",
        location=Location("every-kind.yaml", 76, 3, "$.applications.CalcApp"),
        policy_location=Location("every-kind.yaml", 77, 5, "$.applications.CalcApp.policy"),
    )
    assert [s.name for s in calc.services] == ["fabric:/CalcApp/CalcService", "fabric:/CalcApp/Reporting"]
    reporting = calc.services[1]
    assert reporting.settings.policy is None and reporting.settings.suspended is True
    assert reporting.settings.suspended_location == Location(
        "every-kind.yaml", 82, 9, "$.applications.CalcApp.services.Reporting.suspended"
    )
    selectors = [p.selector for p in reporting.partitions]
    assert selectors == [
        PartitionSelector("id", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e"),
        PartitionSelector("name", "east"),
        PartitionSelector("low_key", -9223372036854775808),
    ]
    first = reporting.partitions[0].settings
    assert first.policy == "NightlyDsms"
    assert first.location == Location(
        "every-kind.yaml", 84, 13, "$.applications.CalcApp.services.Reporting.partitions[0]"
    )
    assert first.policy_location is not None and first.policy_location.line == 85
    assert reporting.partitions[1].settings.suspended is False

    orders = apps["fabric:/Orders"]
    by_name = {s.name: s for s in orders.services}
    assert list(by_name) == [
        "fabric:/Orders/Ledger",
        "fabric:/Orders/Legacy",
        "fabric:/Orders/Archive",
        "fabric:/Orders/Cold",
        "fabric:/Orders/Empty",
    ]
    assert by_name["fabric:/Orders/Legacy"].settings.clean_backup is True
    assert by_name["fabric:/Orders/Archive"].settings.policy is None
    assert by_name["fabric:/Orders/Archive"].settings.policy_location is not None
    assert by_name["fabric:/Orders/Cold"].settings.clean_backup is False
    assert by_name["fabric:/Orders/Empty"].settings == LevelSettings(
        location=Location("every-kind.yaml", 101, 7, "$.applications['fabric:/Orders'].services.Empty")
    )
    retired = apps["fabric:/Retired"].settings
    assert retired.policy is None and retired.clean_backup is True


def test_warnings_are_returned_with_the_declaration(every_kind: Declaration) -> None:
    # cluster.runtime is auto: what the runtime accepts (managed identity storage) is checked at plan
    assert [str(d) for d in every_kind.diagnostics] == [
        "every-kind.yaml:58:5: warning: policy WeekendIdentity: AutoRestoreOnDataLoss: true restores the latest "
        "backup by itself after data loss, losing what was written since; Microsoft advises against it in "
        "production ($.policies.WeekendIdentity.AutoRestoreOnDataLoss)"
    ]


def test_directory_means_its_yaml_files_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(VALID)
    files, problems = expand_paths(["split"])
    assert files == [os.path.join("split", n) for n in ("00-policies.yaml", "calc.yaml", "orders.yml")]
    assert problems == []
    d = load_declaration(["split"])
    assert d.files == tuple(files)
    assert d.base_dir == "split"
    assert list(d.policies) == ["Daily"]
    assert list(d.applications) == ["fabric:/CalcApp", "fabric:/Orders"]
    ledger = d.applications["fabric:/Orders"].services[0]
    assert ledger.settings.policy_location == Location(
        os.path.join("split", "orders.yml"), 6, 9, "$.applications.Orders.services.Ledger.policy"
    )


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as info:
        load_declaration([str(tmp_path / "nope.yaml"), str(tmp_path / "empty")])
    assert [str(d) for d in info.value.diagnostics] == [
        f"error: {tmp_path / 'nope.yaml'}: no such file or directory",
        f"error: {tmp_path / 'empty'}: the directory holds no *.yaml or *.yml file",
    ]


def test_the_same_file_twice_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(VALID)
    d = load_declaration(["split", "split/calc.yaml"])
    assert len(d.files) == 3


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_digest_ignores_comments_key_order_and_file_split(tmp_path: Path) -> None:
    one = (
        "version: 1\n# a comment\npolicies:\n"
        + POLICY.format(name="P")
        + "applications:\n  App:\n    policy: P\n    services:\n      S: {suspended: true}\n"
    )
    _write(tmp_path / "a", "all.yaml", one)
    reordered = (
        "applications:\n  fabric:/App:\n    services:\n      fabric:/App/S:\n        suspended: true\n"
        "    policy: P   # trailing comment\nversion: 1\n"
    )
    _write(tmp_path / "b", "2-apps.yaml", reordered)
    _write(
        tmp_path / "b",
        "1-policies.yaml",
        "version: 1\npolicies:\n  P:\n    Storage: {ContainerName: backups, ConnectionString: '${env:STORE}', "
        "StorageKind: AzureBlobStore}\n    Schedule: {Interval: PT1H, ScheduleKind: FrequencyBased}\n"
        "    MaxIncrementalBackups: 3\n",
    )
    first = load_declaration([str(tmp_path / "a")]).digest
    assert load_declaration([str(tmp_path / "b")]).digest == first
    _write(tmp_path / "c", "all.yaml", one.replace("Interval: PT1H", "Interval: PT2H"))
    assert load_declaration([str(tmp_path / "c")]).digest != first
    _write(tmp_path / "d", "all.yaml", one.replace("suspended: true", "suspended: false"))
    assert load_declaration([str(tmp_path / "d")]).digest != first


def test_runtime_settings_change_the_digest_only_when_written(tmp_path: Path) -> None:
    # a plan made before cluster.runtime existed stays valid: unset runtime settings are not in the meaning
    base = "version: 1\ncluster:\n  endpoint: http://127.0.0.1:19080\n"
    _write(tmp_path / "plain", "c.yaml", base)
    plain = load_declaration([str(tmp_path / "plain")])
    assert not {"runtime", "validate_storage", "api_version_written"} & set(meaning(plain)["cluster"])
    digests = {plain.digest}
    for name, line in [
        ("runtime", '  runtime: "10.1"\n'),
        ("storage", "  validate_storage: false\n"),
        ("api", '  api_version: "6.4"\n'),
    ]:
        _write(tmp_path / name, "c.yaml", base + line)
        digests.add(load_declaration([str(tmp_path / name)]).digest)
    assert len(digests) == 4


def test_partition_order_does_not_change_the_digest(tmp_path: Path) -> None:
    base = "version: 1\napplications:\n  A:\n    services:\n      S:\n        partitions:\n"
    p1 = "          - {low_key: 0, suspended: true}\n"
    p2 = "          - {name: east, suspended: false}\n"
    _write(tmp_path / "x", "c.yaml", base + p1 + p2)
    _write(tmp_path / "y", "c.yaml", base + p2 + p1)
    assert load_declaration([str(tmp_path / "x")]).digest == load_declaration([str(tmp_path / "y")]).digest


def test_base_dir_is_the_first_paths_directory(tmp_path: Path) -> None:
    _write(tmp_path / "conf", "c.yaml", "version: 1\n")
    assert load_declaration([str(tmp_path / "conf" / "c.yaml")]).base_dir == str(tmp_path / "conf")
    assert load_declaration([str(tmp_path / "conf")]).base_dir == str(tmp_path / "conf")


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfdeclare.safeyaml import reader as yamlsource

    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 64)
    _write(tmp_path, "big.yaml", "version: 1\n" + "# padding\n" * 10)
    with pytest.raises(ConfigError) as info:
        load_declaration([str(tmp_path / "big.yaml")])
    assert info.value.diagnostics[0].message == "the file is 111 bytes, over the 64 bytes limit"


def test_config_error_message_is_the_first_error_and_a_count(tmp_path: Path) -> None:
    _write(tmp_path, "c.yaml", "version: 2\nscope: x\n")
    with pytest.raises(ConfigError) as info:
        load_declaration([str(tmp_path / "c.yaml")])
    assert str(info.value) == (
        f"{tmp_path / 'c.yaml'}:1:10: error: version must be 1, not the number 2 ($.version) (and 1 more)"
    )


@pytest.mark.parametrize(
    ("written", "kept"), [("6.4", "6.4"), ('"6.2-preview"', "6.2-preview"), ("7", "7.0"), ("8.2", "8.2")]
)
def test_api_version_may_be_written_as_a_number(tmp_path: Path, written: str, kept: str) -> None:
    _write(tmp_path, "c.yaml", f"version: 1\ncluster:\n  api_version: {written}\n")
    assert load_declaration([str(tmp_path / "c.yaml")]).cluster.api_version == kept
