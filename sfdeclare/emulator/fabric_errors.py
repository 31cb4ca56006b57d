"""FabricError codes, the HTTP status each maps to, and the exception the emulator's rules raise."""

from __future__ import annotations

INVALID_ARG = "E_INVALIDARG"
ACCESS_DENIED = "E_ACCESSDENIED"
UNEXPECTED = "E_UNEXPECTED"
BACKUP_IS_ENABLED = "FABRIC_E_BACKUP_IS_ENABLED"
INVALID_FOR_STATELESS = "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"
BACKUP_NOT_ENABLED = "FABRIC_E_BACKUP_NOT_ENABLED"
POLICY_DOES_NOT_EXIST = "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"
POLICY_ALREADY_EXISTS = "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS"
APPLICATION_NOT_FOUND = "FABRIC_E_APPLICATION_NOT_FOUND"
SERVICE_DOES_NOT_EXIST = "FABRIC_E_SERVICE_DOES_NOT_EXIST"
PARTITION_NOT_FOUND = "FABRIC_E_PARTITION_NOT_FOUND"
NOT_PRIMARY = "FABRIC_E_NOT_PRIMARY"
TIMEOUT = "FABRIC_E_TIMEOUT"
SERVICE_TOO_BUSY = "FABRIC_E_SERVICE_TOO_BUSY"
INVALID_ADDRESS = "FABRIC_E_INVALID_ADDRESS"
BACKUP_IN_PROGRESS = "FABRIC_E_BACKUP_IN_PROGRESS"
RESTORE_IN_PROGRESS = "FABRIC_E_RESTORE_IN_PROGRESS"
RESTORE_PARTITION_MISMATCH = "FABRIC_E_RESTORE_SOURCE_TARGET_PARTITION_MISMATCH"
RESTORE_SAFE_CHECK_FAILED = "FABRIC_E_RESTORE_SAFE_CHECK_FAILED"  # not mapped: 500

_STATUS_BY_CODE = {
    INVALID_ARG: 400,
    BACKUP_IS_ENABLED: 400,
    INVALID_FOR_STATELESS: 400,
    RESTORE_PARTITION_MISMATCH: 400,
    ACCESS_DENIED: 403,
    BACKUP_NOT_ENABLED: 404,
    POLICY_DOES_NOT_EXIST: 404,
    APPLICATION_NOT_FOUND: 404,
    SERVICE_DOES_NOT_EXIST: 404,
    PARTITION_NOT_FOUND: 404,
    INVALID_ADDRESS: 404,
    POLICY_ALREADY_EXISTS: 409,
    BACKUP_IN_PROGRESS: 409,
    RESTORE_IN_PROGRESS: 409,
    SERVICE_TOO_BUSY: 429,
    NOT_PRIMARY: 503,
    TIMEOUT: 504,
}


def status_for(code: str) -> int:
    """The HTTP status the server answers a FabricError code with (500 for any code it does not map)."""
    return _STATUS_BY_CODE.get(code, 500)


class FabricFault(Exception):
    """A FabricError answer: the rules raise it, the application turns it into a response.

    ``status`` overrides the mapped status for the few answers that are not FabricError-mapped (413, 405).
    """

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else status_for(code)


def invalid(message: str) -> FabricFault:
    return FabricFault(INVALID_ARG, message)
