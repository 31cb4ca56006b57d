"""FabricError codes as the tool knows them, in one place: their spellings and what each says about a retry.

- The codes the tool reacts to by name (a missing policy, a backup not enabled, ...), in the server's spelling.
- ``ALIASES``: the SDK (azure-servicefabric 8.2) spells two codes differently from the server (SF-BACKUP-API.md
  §0); ``normalise`` maps either to the server's, and ``spellings`` gives every spelling of one code.
- Which failures are worth repeating (``is_transient``: 429, 503, 504, and 500 with a transient code) and after
  which a write may have been carried out anyway (``is_ambiguous``: 504 or FABRIC_E_TIMEOUT), PRODUCT.md §5.

The emulator keeps its own copy of the codes it answers with (emulator/fabric_errors.py): the protocol facts are
kept twice on purpose, and tests/test_codes.py checks that the copies agree.
"""

from __future__ import annotations

POLICY_DOES_NOT_EXIST = "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"
POLICY_ALREADY_EXISTS = "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS"
BACKUP_NOT_ENABLED = "FABRIC_E_BACKUP_NOT_ENABLED"
BACKUP_IS_ENABLED = "FABRIC_E_BACKUP_IS_ENABLED"
APPLICATION_NOT_FOUND = "FABRIC_E_APPLICATION_NOT_FOUND"
SERVICE_DOES_NOT_EXIST = "FABRIC_E_SERVICE_DOES_NOT_EXIST"
PARTITION_NOT_FOUND = "FABRIC_E_PARTITION_NOT_FOUND"
ACCESS_DENIED = "E_ACCESSDENIED"
INVALID_ADDRESS = "FABRIC_E_INVALID_ADDRESS"  # an unknown route (GetClusterVersion before 6.4)

TIMEOUT = "FABRIC_E_TIMEOUT"
NOT_PRIMARY = "FABRIC_E_NOT_PRIMARY"
NOT_READY = "FABRIC_E_NOT_READY"
RECONFIGURATION_PENDING = "FABRIC_E_RECONFIGURATION_PENDING"
SERVICE_OFFLINE = "FABRIC_E_SERVICE_OFFLINE"
NO_WRITE_QUORUM = "FABRIC_E_NO_WRITE_QUORUM"

# SDK spelling -> server spelling (SF-BACKUP-API.md §0).
ALIASES = {
    "FABRIC_E_BACKUP_POLICY_NOT_EXISTING": POLICY_DOES_NOT_EXIST,
    "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING": POLICY_ALREADY_EXISTS,
}

TRANSIENT_STATUSES = frozenset({429, 503, 504})
# Retried when they come with a 500.
TRANSIENT_CODES = frozenset(
    {TIMEOUT, NOT_PRIMARY, NOT_READY, RECONFIGURATION_PENDING, SERVICE_OFFLINE, NO_WRITE_QUORUM}
)
# A write that failed this way may still have been carried out by the server.
AMBIGUOUS_CODES = frozenset({TIMEOUT})


def normalise(code: str) -> str:
    """The server's spelling of ``code``."""
    return ALIASES.get(code, code)


def spellings(code: str) -> frozenset[str]:
    """Every spelling of ``code`` (given in the server's spelling): itself and its SDK aliases."""
    return frozenset({code, *(alias for alias, target in ALIASES.items() if target == code)})


def is_transient(status: int, code: str | None) -> bool:
    """Is a failure with this status and code worth repeating?"""
    if status in TRANSIENT_STATUSES:
        return True
    return status == 500 and code in TRANSIENT_CODES


def is_ambiguous(status: int, code: str | None) -> bool:
    """After this answer, did the server possibly carry out the request anyway?"""
    return status == 504 or code in AMBIGUOUS_CODES
