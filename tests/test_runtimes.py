"""The client's runtime model and policy field facts: the copies agree with the emulator's (the emulator shares no
code with the client), runtimes answer what the feature table says, and the comparison treats the 11.3 fields,
managed identities and unmodelled fields as the issue asks (no field ever silently lost)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfdeclare.emulator import policies as emulator_policies
from sfdeclare.emulator import policy_fields as emulator_fields
from sfdeclare.emulator import runtimes as emulator_runtimes
from sfdeclare.engine.planner import plan
from sfdeclare.errors import PlanError
from sfdeclare.model.declaration import SECRET_FIELDS, Declaration, PolicyDecl
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric import policy_fields, runtimes
from sfdeclare.servicefabric.policies import (
    canonical,
    field_changes,
    kept_fields,
    masked_kept,
    request_body,
    update_body,
)

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "schemas" / "sfdeclare.schema.json").read_text()
)


def test_the_feature_table_agrees_with_the_emulators() -> None:
    client = [(f.name, f.first_builds, f.confirmed) for f in runtimes.FEATURES]
    emulator = [(f.name, f.first_builds, f.confirmed) for f in emulator_runtimes.FEATURES]
    assert client == emulator
    for build in emulator_runtimes.BUILDS.values():
        runtime = runtimes.parse(build)
        for feature in runtimes.FEATURES:
            assert runtime.has(feature.name) == emulator_runtimes.build_has(build, feature.name), (
                build,
                feature,
            )


def test_the_policy_field_names_agree_with_the_emulators() -> None:
    assert policy_fields.QUICK_RECOVERY == emulator_fields.QUICK_RECOVERY
    assert policy_fields.QUICK_RECOVERY_VALUES == emulator_fields.QUICK_RECOVERY_VALUES
    assert policy_fields.QUICK_RECOVERY_DEFAULT == emulator_fields.QUICK_RECOVERY_DEFAULT
    assert policy_fields.COMPRESSION == emulator_fields.COMPRESSION
    assert policy_fields.COMPRESSION_ALIASES == emulator_fields.COMPRESSION_ALIASES
    assert policy_fields.COMPRESSION_VALUES == emulator_fields.COMPRESSION_VALUES
    assert policy_fields.COMPRESSION_DEFAULT == emulator_fields.COMPRESSION_DEFAULT
    assert SECRET_FIELDS == emulator_policies.SECRET_FIELDS
    assert policy_fields.STORAGE_KINDS == emulator_policies.STORAGE_KINDS
    assert policy_fields.MANAGED_IDENTITY == emulator_policies.MANAGED_IDENTITY
    assert policy_fields.MANAGED_IDENTITY_TYPES == emulator_policies.MANAGED_IDENTITY_TYPES
    assert policy_fields.CLIENT_ID == emulator_policies.CLIENT_ID
    # the emulator binds ManagedIdentityType and the client id on their own, beside its table
    emulator_kinds = {
        kind: {*required, *optional}
        for kind, (required, optional) in emulator_policies._STORAGE_FIELDS.items()
    }
    emulator_kinds[emulator_policies.MANAGED_IDENTITY] |= {"ManagedIdentityType", emulator_policies.CLIENT_ID}
    assert {k: {*r, *o} for k, (r, o) in policy_fields.STORAGE_FIELDS.items()} == emulator_kinds


def test_the_configuration_schema_agrees_with_the_field_table() -> None:
    defs = SCHEMA["$defs"]
    assert tuple(defs["Storage"]["properties"]["StorageKind"]["enum"]) == policy_fields.STORAGE_KINDS
    managed = defs["ManagedIdentityAzureBlobStoreStorage"]["properties"]
    assert tuple(managed["ManagedIdentityType"]["enum"]) == policy_fields.MANAGED_IDENTITY_TYPES
    assert policy_fields.CLIENT_ID in managed
    policy = defs["Policy"]["properties"]
    assert tuple(policy["QuickRecovery"]["enum"]) == policy_fields.QUICK_RECOVERY_VALUES
    assert tuple(policy["CompressionType"]["enum"]) == policy_fields.COMPRESSION_VALUES
    for kind, (required, optional) in policy_fields.STORAGE_FIELDS.items():
        written = set(defs[f"{kind}Storage"]["properties"]) - {"StorageKind", "FriendlyName"}
        assert written == {*required, *optional}, kind


@pytest.mark.parametrize(
    ("written", "feature", "has"),
    [
        ("6.4", runtimes.MANAGED_IDENTITY_STORAGE, False),
        ("8.0", runtimes.MANAGED_IDENTITY_STORAGE, True),
        ("9.1.2000.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),  # before 9.1 CU12
        ("9.1.2833.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),
        ("9.1", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # a branch: its latest update
        ("10.0.2712.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),
        ("9.0", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),  # a branch the notes never name
        ("11.0", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # a later branch has it from its start
        ("10.1", runtimes.QUICK_RECOVERY, False),
        ("11.3.365.1", runtimes.QUICK_RECOVERY, True),
        ("9.0.1121.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, True),
        ("9.0.1000.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, False),
    ],
)
def test_a_runtime_has_what_the_table_says(written: str, feature: str, has: bool) -> None:
    assert runtimes.parse(written).has(feature) is has


def test_the_api_version_is_derived_from_the_runtime() -> None:
    assert runtimes.BEFORE_64.api_version == "6.2-preview"
    assert runtimes.from_cluster_version(None) is runtimes.BEFORE_64
    assert runtimes.from_cluster_version("6.4.670.9590").api_version == "6.4"
    assert runtimes.parse("11.3").api_version == "6.4"
    assert runtimes.api_version_conflict("6.4", runtimes.parse("10.1")) is None
    assert "takes api-version 6.4" in str(
        runtimes.api_version_conflict("6.2-preview", runtimes.parse("10.1"))
    )
    assert "takes api-version 6.2-preview" in str(runtimes.api_version_conflict("6.4", runtimes.BEFORE_64))
    with pytest.raises(ValueError, match="not a Service Fabric runtime"):
        runtimes.parse("ten")


STORAGE = {
    "StorageKind": "ManagedIdentityAzureBlobStore",
    "ManagedIdentityType": "VMSS",
    "BlobServiceUri": "https://demo.blob.core.windows.net",
    "ContainerName": "backups",
}
BODY: dict[str, object] = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
    "Storage": STORAGE,
    "RetentionPolicy": {"RetentionPolicyType": "Basic", "RetentionDuration": "P30D"},
}


@pytest.mark.parametrize(
    ("extra", "same_as"),
    [
        (
            {"QuickRecovery": "Disabled", "CompressionType": "CLUSTER_DEFINED"},
            {},
        ),  # the server's echoed defaults
        ({"QuickRecovery": False, "CompressionStrategy": "CLUSTER_DEFINED"}, {}),  # 2025 Explorer's spelling
        ({"QuickRecovery": True}, {"QuickRecovery": "FromPrimary"}),
        ({"QuickRecovery": "fromprimary"}, {"QuickRecovery": "FromPrimary"}),
        ({"CompressionStrategy": "ZSTANDARD"}, {"CompressionType": "ZSTANDARD"}),
    ],
)
def test_both_spellings_compare_equal_and_defaults_count_as_absent(
    extra: dict[str, object], same_as: dict[str, object]
) -> None:
    assert canonical({**BODY, **extra}) == canonical({**BODY, **same_as})
    assert field_changes({**BODY, **extra}, {**BODY, **same_as}) == ()


def test_a_modelled_field_left_out_means_the_servers_default() -> None:
    live = {
        **BODY,
        "QuickRecovery": "FromPrimary",
        "Storage": {**STORAGE, "ManagedIdentityClientId": "c1"},
    }
    changes = {c.path: (c.before, c.after) for c in field_changes(live, BODY)}
    assert changes == {
        "QuickRecovery": ("FromPrimary", None),
        "Storage.ManagedIdentityClientId": ("c1", None),
    }


LIVE_EXTRA = {
    **BODY,
    "BackupValidation": "Enabled",
    "Storage": {**STORAGE, "ManagedIdentityClientId": None, "SasExpiry": "P7D"},
}


def test_unmodelled_live_fields_are_kept_and_carried_over() -> None:
    assert kept_fields(LIVE_EXTRA, BODY) == {"BackupValidation": "Enabled", "Storage.SasExpiry": "P7D"}
    changed = {**BODY, "MaxIncrementalBackups": 5}
    sent = update_body(LIVE_EXTRA, changed)
    assert sent["BackupValidation"] == "Enabled" and sent["Storage"]["SasExpiry"] == "P7D"
    assert sent["MaxIncrementalBackups"] == 5
    assert [c.path for c in field_changes(LIVE_EXTRA, changed)] == ["MaxIncrementalBackups"]


def test_the_unmodelled_block_is_compared_and_sent_at_its_paths() -> None:
    declared = {
        **BODY,
        "unmodelled_fields": {"BackupValidation": "Disabled", "Storage": {"SasExpiry": "P7D"}},
    }
    assert kept_fields(LIVE_EXTRA, declared) == {}
    assert [(c.path, c.before, c.after) for c in field_changes(LIVE_EXTRA, declared)] == [
        ("BackupValidation", "Enabled", "Disabled")
    ]
    sent = request_body(declared)
    assert "unmodelled_fields" not in sent
    assert sent["BackupValidation"] == "Disabled" and sent["Storage"]["SasExpiry"] == "P7D"


def _declaration(body: dict[str, object]) -> Declaration:
    return Declaration(policies={"p": PolicyDecl("p", body)})


def test_plan_lists_kept_fields_and_sends_them() -> None:
    changed = {**BODY, "MaxIncrementalBackups": 5}
    result = plan(_declaration(changed), LiveState(policies={"p": LIVE_EXTRA}))
    (change,) = result.changes
    assert [(f.path, f.kept) for f in change.fields] == [
        ("MaxIncrementalBackups", False),
        ("BackupValidation", True),
        ("Storage.SasExpiry", True),
    ]
    assert "2 fields sfdeclare does not model kept as they are" in change.reason
    assert change.request.body is not None and change.request.body["BackupValidation"] == "Enabled"


def test_kept_fields_alone_plan_nothing() -> None:
    assert plan(_declaration(BODY), LiveState(policies={"p": LIVE_EXTRA})).changes == ()


def test_a_masked_unmodelled_field_blocks_the_update_until_declared() -> None:
    live = {**BODY, "Storage": {**STORAGE, "SasToken": "****"}}
    changed = {**BODY, "MaxIncrementalBackups": 5}
    assert masked_kept(live, changed) == ("Storage.SasToken",)
    with pytest.raises(PlanError) as caught:
        plan(_declaration(changed), LiveState(policies={"p": live}))
    assert "Storage.SasToken" in str(caught.value.diagnostics[0].message)
    assert "unmodelled_fields" in caught.value.diagnostics[0].message
    declared = {**changed, "unmodelled_fields": {"Storage": {"SasToken": "${env:SAS}"}}}
    (change,) = plan(_declaration(declared), LiveState(policies={"p": live})).changes
    assert change.request.body is not None and change.request.body["Storage"]["SasToken"] == "${env:SAS}"


def test_a_kept_field_is_shown_as_kept_in_the_plan() -> None:
    from sfdeclare.render.changes import detail_lines

    changed = {**BODY, "MaxIncrementalBackups": 5}
    (change,) = plan(_declaration(changed), LiveState(policies={"p": LIVE_EXTRA})).changes
    assert detail_lines(change) == [
        "MaxIncrementalBackups: 3 -> 5",
        'BackupValidation: "Enabled" (kept: sfdeclare does not model it)',
        'Storage.SasExpiry: "P7D" (kept: sfdeclare does not model it)',
    ]
