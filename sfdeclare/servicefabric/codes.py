"""FabricError codes as the tool knows them, in one place: their spellings and what each says about a retry.

- The codes the tool reacts to by name (a missing policy, a backup not enabled, ...), in the server's spelling.
- ``ALIASES``: the SDK (azure-servicefabric 8.2) spells two codes differently from the server (SF-BACKUP-API.md
  §0); ``normalise`` maps either to the server's, and ``spellings`` gives every spelling of one code.
- Which failures are worth repeating (``is_transient``: 429, 503, 504, and 500 with a transient code) and after
  which a write may have been carried out anyway (``is_ambiguous``: 504, FABRIC_E_TIMEOUT, 500 E_UNEXPECTED),
  PRODUCT.md §5.
- 500 E_UNEXPECTED: real clusters answer it when a request reaches a node without the Backup Restore Service's
  primary (fidelity audit b.13: microsoft/service-fabric#507, service-fabric-issues#1636 "must connect to the BRS
  primary node"), which goes away when the request is sent again, so it is retried within the same bounded budget.
  It is also the server's answer to any exception it does not map (6.4 source: the error mapper's default), which
  a retry does not cure: the budget bounds that case, and the error then says how many attempts were made. A write
  answered with it counts as possibly carried out: SF-BACKUP-API.md §6 says BRS commits before it answers, but
  the 500 may come from the gateway's forwarding rather than from the operation, after a commit the client never
  heard of, so the tool cannot rule it out; apply's re-read (a create met by "already exists" with the declared
  settings, a delete met by "does not exist") settles it.

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
UNEXPECTED = "E_UNEXPECTED"  # 500: e.g. a request that reached a node without the BRS primary (above)

# SDK spelling -> server spelling (SF-BACKUP-API.md §0).
ALIASES = {
    "FABRIC_E_BACKUP_POLICY_NOT_EXISTING": POLICY_DOES_NOT_EXIST,
    "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING": POLICY_ALREADY_EXISTS,
}

TRANSIENT_STATUSES = frozenset({429, 503, 504})
# Retried when they come with a 500.
TRANSIENT_CODES = frozenset(
    {TIMEOUT, NOT_PRIMARY, NOT_READY, RECONFIGURATION_PENDING, SERVICE_OFFLINE, NO_WRITE_QUORUM, UNEXPECTED}
)
# A write that failed this way may still have been carried out by the server.
AMBIGUOUS_CODES = frozenset({TIMEOUT})
# ... and these only with a 500.
AMBIGUOUS_500_CODES = frozenset({UNEXPECTED})


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
    return status == 504 or code in AMBIGUOUS_CODES or (status == 500 and code in AMBIGUOUS_500_CODES)
