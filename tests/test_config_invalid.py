"""Every invalid fixture under tests/data/config/invalid/ and exactly what validate says about it.

Each fixture (a file, or a directory of files read together) exists for one kind of mistake; the table holds
every diagnostic it must produce, in order, as ``file:line:col: severity: message ($.path)``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from sfdeclare.cli import main
from sfdeclare.config.loader import load_declaration
from sfdeclare.errors import ConfigError

INVALID = Path(__file__).parent / "data" / "config" / "invalid"

EXPECTED: dict[str, list[str]] = {
    "bad-names.yaml": [
        "bad-names.yaml:3:3: error: 'fabric:/' is not an application name: write fabric:/ (or nothing) and then non-empty parts separated by / ($.applications['fabric:/'])",
        "bad-names.yaml:6:7: error: '' is not a service name: write its name relative to fabric:/A, or in full, with non-empty parts separated by / ($.applications.A.services[''])",
        "bad-names.yaml:7:7: error: 'fabric:/A/' is not a service name: write its name relative to fabric:/A, or in full, with non-empty parts separated by / ($.applications.A.services['fabric:/A/'])",
        "bad-names.yaml:8:7: error: 'Front//Back' is not a service name: write its name relative to fabric:/A, or in full, with non-empty parts separated by / ($.applications.A.services['Front//Back'])",
        "bad-names.yaml:9:3: error: 'fabric://App' is not an application name: write fabric:/ (or nothing) and then non-empty parts separated by / ($.applications['fabric://App'])",
        "bad-names.yaml:10:3: error: 'https://evil.example.com/x' is not an application name: write fabric:/ (or nothing) and then non-empty parts separated by / ($.applications['https://evil.example.com/x'])",
        "bad-names.yaml:11:3: error: the key 'App\\x1b[31mRED' holds a control character ('\\x1b'); write printable text ($.applications['App\\x1b[31mRED'])",
        "bad-names.yaml:13:3: error: the key 'Tab\\tName' holds a control character ('\\t'); write printable text ($.policies['Tab\\tName'])",
        "bad-names.yaml:13:3: warning: unusual policy name 'Tab\\tName': the name is part of request URLs; prefer letters, digits, '.', '_' and '-' ($.policies['Tab\\tName'])",
        "bad-names.yaml:16:45: error: the value holds a control character ('\\x07'); write printable text ($.policies['Tab\\tName'].Storage.Path)",
    ],
    "empty-policy-name.yaml": [
        "empty-policy-name.yaml:3:3: error: a policy name must not be empty or blank ($.policies[''])",
    ],
    "missing-version.yaml": [
        "missing-version.yaml:1:1: error: missing the required field 'version' (write `version: 1` at the top)",
    ],
    "across-files": [
        "across-files/b.yml:2:1: error: cluster is declared in two files: here and at across-files/a.yaml:2; declare it once ($.cluster)",
        "across-files/b.yml:6:3: error: policy Daily is declared twice: here and at across-files/a.yaml:5 ($.policies.Daily)",
        "across-files/b.yml:11:3: error: application fabric:/CalcApp is declared twice: here and at across-files/a.yaml:10 ($.applications['fabric:/CalcApp'])",
        "across-files/c.yaml:2:1: error: scope is set in two places: here and at across-files/b.yml:4 ($.scope)",
    ],
    "alias-bomb.yaml": [
        "alias-bomb.yaml:7:8: error: aliases in the file expand to more than 100,000 values (an alias bomb?); refusing it",
    ],
    "bad-reference.yaml": [
        "bad-reference.yaml:3:10: error: unknown reference kind 'vault' in ${vault:sf-token}: use env or file ($.cluster.token)",
        "bad-reference.yaml:10:25: error: unterminated reference ${env:... (no closing }): write ${env:NAME} or ${file:PATH} ($.policies.Daily.Storage.ConnectionString)",
        "bad-reference.yaml:11:22: error: reference ${BACKUP_CONTAINER} has no kind: write ${env:BACKUP_CONTAINER} or ${file:BACKUP_CONTAINER} (or $${ for a literal ${) ($.policies.Daily.Storage.ContainerName)",
    ],
    "clean-backup-with-policy.yaml": [
        "clean-backup-with-policy.yaml:10:5: error: clean_backup only applies when backup is disabled at this level, but it has policy Daily: remove one of them ($.applications.CalcApp.clean_backup)",
    ],
    "cluster.yaml": [
        'cluster.yaml:4:16: error: api_version must look like "6.4" or "6.2-preview", not the string \'6.2-beta\' ($.cluster.api_version)',
        "cluster.yaml:5:15: error: entity_ids must be one of slash, tilde, not the string 'dollar' ($.cluster.entity_ids)",
        "cluster.yaml:7:29: error: server_cert_thumbprint must be 40 (SHA-1) or 64 (SHA-256) hex digits, not the string 'not-hex' ($.cluster.tls.server_cert_thumbprint)",
        "cluster.yaml:8:13: error: verify must be true or false, not the string 'false' ($.cluster.tls.verify)",
        "cluster.yaml:9:5: error: unknown key 'client_certificate' in tls; did you mean 'client_cert'? ($.cluster.tls.client_certificate)",
    ],
    "deep-nesting.yaml": [
        "deep-nesting.yaml:66:129: error: the file nests deeper than 64 levels; refusing it",
    ],
    "disable-below-enabled.yaml": [
        "disable-below-enabled.yaml:12:9: error: backup cannot be disabled below the level it was enabled at: application fabric:/CalcApp has policy Daily (disable-below-enabled.yaml:9); to stop backups of this service, write `suspended: true` instead of `policy: null` ($.applications.CalcApp.services.CalcService.policy)",
        "disable-below-enabled.yaml:14:9: error: backup cannot be disabled below the level it was enabled at: application fabric:/CalcApp has policy Daily (disable-below-enabled.yaml:9); to stop backups of this service, write `suspended: true` instead of `policy: false` ($.applications.CalcApp.services.Reporting.policy)",
        "disable-below-enabled.yaml:16:9: error: backup cannot be disabled below the level it was enabled at: application fabric:/CalcApp has policy Daily (disable-below-enabled.yaml:9); to stop backups of this service, write `suspended: true` instead of `policy: none` ($.applications.CalcApp.services.Legacy.policy)",
        "disable-below-enabled.yaml:23:13: error: backup cannot be disabled below the level it was enabled at: service fabric:/OtherApp/Svc has policy Daily (disable-below-enabled.yaml:20); to stop backups of this partition, write `suspended: true` instead of `policy: None` ($.applications.OtherApp.services.Svc.partitions[0].policy)",
    ],
    "duplicate-entities.yaml": [
        "duplicate-entities.yaml:6:7: error: service fabric:/CalcApp/CalcService is declared twice: here and at duplicate-entities.yaml:5 ($.applications.CalcApp.services['fabric:/CalcApp/CalcService'])",
        "duplicate-entities.yaml:7:7: error: service fabric:/OtherApp/Svc is not a service of application fabric:/CalcApp (its full name must start with fabric:/CalcApp/) ($.applications.CalcApp.services['fabric:/OtherApp/Svc'])",
        "duplicate-entities.yaml:8:3: error: application fabric:/CalcApp is declared twice: here and at duplicate-entities.yaml:3 ($.applications['fabric:/CalcApp'])",
    ],
    "duplicate-key.yaml": [
        "duplicate-key.yaml:4:5: warning: policy Daily is not declared in this configuration; it must already exist on the cluster ($.applications.CalcApp.policy)",
        "duplicate-key.yaml:5:5: error: duplicate key 'policy' (first written at line 4) ($.applications.CalcApp.policy)",
    ],
    "empty.yaml": [
        "empty.yaml:1:1: error: the file is empty (write at least `version: 1`)",
    ],
    "flags-not-bool.yaml": [
        "flags-not-bool.yaml:2:15: error: clean_backup must be true or false, not the number 1 ($.clean_backup)",
        "flags-not-bool.yaml:5:16: error: suspended must be true or false, not the string 'true' ($.applications.CalcApp.suspended)",
        "flags-not-bool.yaml:8:23: error: clean_backup must be true or false, not the string 'false' ($.applications.CalcApp.services.CalcService.clean_backup)",
    ],
    "interval-truncated.yaml": [
        "interval-truncated.yaml:5:56: error: Interval PT1H30S would be stored as PT1H by the server (whole minutes or whole hours); write PT1H ($.policies.WithSeconds.Schedule.Interval)",
        "interval-truncated.yaml:9:56: error: Interval PT0S: Minimum time interval supported is 1 minute and precision in seconds is not supported. ($.policies.Zero.Schedule.Interval)",
        "interval-truncated.yaml:13:56: error: Interval P16D: Allowed maximum time interval between consecutive backups is 15 days. ($.policies.TooLong.Schedule.Interval)",
        "interval-truncated.yaml:17:56: error: Interval PT30S: Minimum time interval supported is 1 minute and precision in seconds is not supported. ($.policies.SecondsOnly.Schedule.Interval)",
        "interval-truncated.yaml:21:56: error: Interval must be an ISO-8601 duration such as PT30M, PT1H, P1D or P1DT12H, not the string '1 hour' ($.policies.NotADuration.Schedule.Interval)",
    ],
    "literal-secret.yaml": [
        "literal-secret.yaml:8:7: error: Storage.ConnectionString is a secret: write a ${env:NAME} or ${file:PATH} reference, never the value in the file ($.policies.Blob.Storage.ConnectionString)",
    ],
    "max-incremental-backups.yaml": [
        "max-incremental-backups.yaml:4:28: error: MaxIncrementalBackups must be a whole number from 0 to 255, not the number 256 ($.policies.TooMany.MaxIncrementalBackups)",
        "max-incremental-backups.yaml:8:28: error: MaxIncrementalBackups must be a whole number from 0 to 255, not the number -1 ($.policies.Negative.MaxIncrementalBackups)",
        "max-incremental-backups.yaml:12:28: error: MaxIncrementalBackups must be a whole number from 0 to 255, not the string '300' ($.policies.QuotedTooMany.MaxIncrementalBackups)",
    ],
    "missing-schedule-fields.yaml": [
        "missing-schedule-fields.yaml:5:5: error: ScheduleKind FrequencyBased requires Interval ($.policies.Frequency.Schedule)",
        "missing-schedule-fields.yaml:10:5: error: ScheduleKind TimeBased requires ScheduleFrequencyType ($.policies.Daily.Schedule)",
        "missing-schedule-fields.yaml:16:5: error: Schedule is missing the required field ScheduleKind ($.policies.NoKind.Schedule)",
    ],
    "missing-storage-fields.yaml": [
        "missing-storage-fields.yaml:6:5: error: StorageKind AzureBlobStore requires ConnectionString ($.policies.Blob.Storage)",
        "missing-storage-fields.yaml:6:5: error: StorageKind AzureBlobStore requires ContainerName ($.policies.Blob.Storage)",
        "missing-storage-fields.yaml:12:5: error: StorageKind DsmsAzureBlobStore requires StorageCredentialsSourceLocation ($.policies.Dsms.Storage)",
        "missing-storage-fields.yaml:18:5: error: StorageKind FileShare requires Path ($.policies.Share.Storage)",
        "missing-storage-fields.yaml:22:5: error: StorageKind ManagedIdentityAzureBlobStore requires ManagedIdentityType ($.policies.Identity.Storage)",
        "missing-storage-fields.yaml:22:5: error: StorageKind ManagedIdentityAzureBlobStore requires BlobServiceUri ($.policies.Identity.Storage)",
        "missing-storage-fields.yaml:23:3: error: policy NoStorage is missing the required field Storage ($.policies.NoStorage)",
    ],
    "name-in-body.yaml": [
        "name-in-body.yaml:4:11: error: do not write Name in a policy body: its key under policies is its name ($.policies.Daily.Name)",
    ],
    "non-utf8.yaml": [
        "non-utf8.yaml:3:6: error: the file is not UTF-8 text (byte 0xe9 cannot be decoded)",
    ],
    "partition-selectors.yaml": [
        "partition-selectors.yaml:7:13: error: a partition needs exactly one selector (id, name or low_key); it has none ($.applications.CalcApp.services.CalcService.partitions[0])",
        "partition-selectors.yaml:8:13: error: a partition needs exactly one selector (id, name or low_key); it has id and low_key ($.applications.CalcApp.services.CalcService.partitions[1])",
        "partition-selectors.yaml:11:17: error: id must be a GUID such as 8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e, not the string 'not-a-guid' ($.applications.CalcApp.services.CalcService.partitions[2].id)",
        "partition-selectors.yaml:14:13: error: partition name=east is declared twice in this service: here and at partition-selectors.yaml:12 ($.applications.CalcApp.services.CalcService.partitions[4])",
    ],
    "retention-on-preview.yaml": [
        "retention-on-preview.yaml:5:3: error: policy Daily: RetentionPolicy is not supported by api_version 6.2-preview (Service Fabric 6.2/6.3): remove it or use api_version 6.4 ($.policies.Daily)",
    ],
    "retention-truncated.yaml": [
        "retention-truncated.yaml:9:26: error: RetentionDuration P1DT30M would be stored as P1D by the server (whole hours); write P1D ($.policies.WithMinutes.RetentionPolicy.RetentionDuration)",
        "retention-truncated.yaml:16:26: error: RetentionDuration PT45M is under 1 hour; the server requires at least PT1H ($.policies.TooShort.RetentionPolicy.RetentionDuration)",
    ],
    "run-times.yaml": [
        "run-times.yaml:7:30: error: ScheduleFrequencyType must be one of Daily, Weekly, not the string 'Monthly' ($.policies.Daily.Schedule.ScheduleFrequencyType)",
        "run-times.yaml:8:18: error: RunTimes: '25:00' is not a valid time of day ($.policies.Daily.Schedule.RunTimes[0])",
        "run-times.yaml:8:27: error: RunTimes: 'noon' is not a time (write HH:MM, HH:MM:SS or a full ISO date-time) ($.policies.Daily.Schedule.RunTimes[1])",
        "run-times.yaml:8:44: warning: RunTimes: '2024-01-01T03:00:00+01:00' is the same UTC time as entry 2; the server keeps one ($.policies.Daily.Schedule.RunTimes[3])",
        "run-times.yaml:8:73: error: RunTimes must be a string, not the number 4 ($.policies.Daily.Schedule.RunTimes[4])",
    ],
    "top-level-list.yaml": [
        "top-level-list.yaml:1:1: error: the top level must be a mapping (version:, policies:, applications:, ...)",
    ],
    "two-documents.yaml": [
        "two-documents.yaml:2:1: error: a configuration file holds one YAML document; split it into files",
    ],
    "undeclared-policy.yaml": [
        "undeclared-policy.yaml:4:5: warning: policy ClusterWidePolicy is not declared in this configuration; it must already exist on the cluster (and 1 more references) ($.applications.CalcApp.policy)",
        "undeclared-policy.yaml:9:5: warning: policy Hourly is not declared in this configuration; it must already exist on the cluster ($.applications.OtherApp.policy)",
        "undeclared-policy.yaml:12:20: error: suspended must be true or false, not the string 'yes' ($.applications.OtherApp.services.Svc.suspended)",
    ],
    "unknown-key.yaml": [
        "unknown-key.yaml:2:1: error: unknown key 'aplications' at the top level; did you mean 'applications'? ($.aplications)",
        "unknown-key.yaml:9:7: error: unknown key 'Intervall' for ScheduleKind FrequencyBased; did you mean 'Interval'? ($.policies.Daily.Schedule.Intervall)",
        "unknown-key.yaml:14:7: error: unknown key 'Path' for StorageKind AzureBlobStore (Path belongs to StorageKind FileShare) ($.policies.Daily.Storage.Path)",
    ],
    "unsafe-tag.yaml": [
        "unsafe-tag.yaml:2:11: error: YAML tag !!python/object/apply:os.system is not allowed (only plain YAML data: strings, numbers, booleans, null, mappings, sequences)",
    ],
    "unusual-policy-name.yaml": [
        "unusual-policy-name.yaml:3:3: warning: unusual policy name 'Daily backups/EU': the name is part of request URLs; prefer letters, digits, '.', '_' and '-' ($.policies['Daily backups/EU'])",
        "unusual-policy-name.yaml:10:19: error: clean_backup must be true or false, not the string 'yes' ($.applications.CalcApp.clean_backup)",
    ],
    "version.yaml": [
        "version.yaml:1:10: error: version must be 1, not the number 2 ($.version)",
    ],
    "weekly-without-rundays.yaml": [
        "weekly-without-rundays.yaml:5:5: error: ScheduleFrequencyType Weekly requires RunDays ($.policies.Weekly.Schedule)",
        "weekly-without-rundays.yaml:16:16: error: RunDays must name at least one day for a Weekly schedule ($.policies.WeeklyEmpty.Schedule.RunDays)",
    ],
    "wrong-type.yaml": [
        "wrong-type.yaml:2:17: error: prune_policies must be true or false, not the string 'no' ($.prune_policies)",
        "wrong-type.yaml:3:8: error: scope must be one of declared, cluster, not the string 'everything' ($.scope)",
        "wrong-type.yaml:6:28: error: AutoRestoreOnDataLoss must be true or false, not the number 0 ($.policies.Daily.AutoRestoreOnDataLoss)",
        "wrong-type.yaml:9:21: error: ScheduleKind must be one of FrequencyBased, TimeBased, not the string 'frequencybased'; did you mean 'FrequencyBased'? (names are case-sensitive) ($.policies.Daily.Schedule.ScheduleKind)",
    ],
    "yaml-syntax.yaml": [
        "yaml-syntax.yaml:4:13: error: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping)",
    ],
}


def test_every_fixture_is_in_the_table() -> None:
    assert sorted(os.listdir(INVALID)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_fixture(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    with pytest.raises(ConfigError) as info:
        load_declaration([name])
    assert [str(d) for d in info.value.diagnostics] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_reports_every_problem_and_exits_1(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    out, err = io.StringIO(), io.StringIO()
    assert main(["validate", name, "--format", "json"], out=out, err=err) == 1
    document = json.loads(out.getvalue())
    shown = [
        f"{d['file']}:{d['line']}:{d['column']}: {d['severity']}: {d['message']}"
        + (f" ({d['path']})" if d["path"] not in ("$", None) else "")
        for d in document["diagnostics"]
    ]
    assert shown == EXPECTED[name]
    assert err.getvalue() == ""


def test_unsafe_tag_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    with pytest.raises(ConfigError):
        load_declaration(["unsafe-tag.yaml"])
    assert not Path("/tmp/sfdeclare-owned").exists()


def test_literal_secret_is_never_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    out, err = io.StringIO(), io.StringIO()
    for fmt in ("text", "json", "github"):
        main(["validate", "literal-secret.yaml", "--format", fmt], out=out, err=err)
    assert "c2VjcmV0" not in out.getvalue() + err.getvalue()
    assert "AccountKey" not in out.getvalue() + err.getvalue()
