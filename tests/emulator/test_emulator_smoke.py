"""The emulator end to end in a few requests, both in-process and over HTTP."""

from __future__ import annotations

from emulator_support import CALC_PARTITIONS, Api, error_code


def test_policy_enable_and_configuration_round_trip(api: Api) -> None:
    assert api.create().status_code == 201
    assert api.enable("Services/CalcApp/CalcService").status_code == 202
    info = api.config(f"Partitions/{CALC_PARTITIONS[0]}")
    assert info.status_code == 200
    assert info.json()["PolicyName"] == "p1"
    assert info.json()["PolicyInheritedFrom"] == "Service"
    missing = api.get("/BackupRestore/BackupPolicies/nope")
    assert missing.status_code == 404
    assert error_code(missing) == "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"
