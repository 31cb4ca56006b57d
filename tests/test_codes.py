"""FabricError codes: the tool's copy (servicefabric/codes.py) and the emulator's (emulator/fabric_errors.py)
are kept apart on purpose and must agree; SDK spellings normalise; what is retried and what is ambiguous."""

from __future__ import annotations

from sfdeclare.emulator import fabric_errors as emulator_codes
from sfdeclare.servicefabric import codes


def _code_constants(module: object) -> dict[str, str]:
    return {
        name: value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and ("FABRIC_E_" in value or value.startswith("E_"))
    }


def test_every_code_both_copies_name_is_spelled_the_same() -> None:
    ours, theirs = _code_constants(codes), _code_constants(emulator_codes)
    shared = set(ours) & set(theirs)
    assert len(shared) >= 8, shared  # the copies overlap where the tool reacts to the emulator's answers
    assert {name: ours[name] for name in shared} == {name: theirs[name] for name in shared}


def test_the_emulators_statuses_are_retried_and_classified_as_the_tool_expects() -> None:
    status = emulator_codes.status_for
    assert codes.is_transient(status(emulator_codes.NOT_PRIMARY), codes.NOT_PRIMARY)
    assert codes.is_transient(status(emulator_codes.SERVICE_TOO_BUSY), emulator_codes.SERVICE_TOO_BUSY)
    assert codes.is_ambiguous(status(emulator_codes.TIMEOUT), codes.TIMEOUT)
    assert emulator_codes.UNEXPECTED == codes.UNEXPECTED  # the --fault-codes 500 answer
    assert codes.is_transient(500, emulator_codes.UNEXPECTED) and codes.is_ambiguous(
        500, emulator_codes.UNEXPECTED
    )
    assert not codes.is_transient(status(emulator_codes.INVALID_ARG), emulator_codes.INVALID_ARG)
    assert not codes.is_transient(status(codes.POLICY_DOES_NOT_EXIST), codes.POLICY_DOES_NOT_EXIST)


def test_sdk_spellings_normalise_to_the_servers_and_spellings_lists_both() -> None:
    assert codes.normalise("FABRIC_E_BACKUP_POLICY_NOT_EXISTING") == codes.POLICY_DOES_NOT_EXIST
    assert codes.normalise("FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING") == codes.POLICY_ALREADY_EXISTS
    assert codes.normalise(codes.BACKUP_NOT_ENABLED) == codes.BACKUP_NOT_ENABLED
    assert codes.spellings(codes.POLICY_ALREADY_EXISTS) == {
        "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS",
        "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING",
    }
    assert codes.spellings(codes.BACKUP_NOT_ENABLED) == {codes.BACKUP_NOT_ENABLED}


def test_a_500_is_retried_only_with_a_transient_code() -> None:
    assert codes.is_transient(500, codes.NOT_READY)
    assert codes.is_transient(500, codes.UNEXPECTED)  # a node without the BRS primary (fidelity audit b.13)
    assert not codes.is_transient(500, "FABRIC_E_RESTORE_SAFE_CHECK_FAILED")
    assert not codes.is_transient(500, None)
    assert codes.is_ambiguous(500, codes.TIMEOUT) and not codes.is_ambiguous(503, None)
