"""Every error class of sfdeclare, the exit codes, and the Diagnostic value every command reports through.

The tree (every expected failure derives from SfdeclareError; the CLI prints it on one line and exits 1)::

    SfdeclareError
    ├── DiagnosticsError            carries every diagnostic found, each with its file:line
    │   ├── ConfigError             the configuration (or another input file) is invalid
    │   └── PlanError               the declaration cannot be planned against this cluster
    ├── ClusterError                the cluster answered with an error, or could not be reached
    │   └── ClusterRequestError     ... raised by one request, after its retries
    ├── EndpointError               no usable endpoint (or proxy) to reach the cluster through
    ├── TlsConfigError              cluster.tls cannot be used (a certificate, key or bundle)
    ├── AuthError                   no token for cluster.auth (a missing package, a refused sign-in)
    ├── ApplyError                  apply refused to start, or stopped
    └── EmulatorError               the emulator cannot start

Anything else that escapes a command is a bug in sfdeclare: the CLI exits EXIT_INTERNAL with one line saying
so (the traceback only with --debug). Messages must never contain a secret value: raise with references
(``${env:NAME}``), not values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

# Exit codes, the same for every command (README.md, docs/ci.md).
EXIT_OK = 0  # success; for plan --detailed-exitcode and drift: and nothing differs
EXIT_ERROR = 1  # an expected failure (any SfdeclareError), or apply did not converge
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes to make; drift: the cluster differs; status: a problem
EXIT_INTERNAL = 3  # a bug in sfdeclare (as pre-commit uses 3 for "unexpected error")
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file, a 1-based line and column, and its JSON path ($.a.b[0])."""

    file: str
    line: int
    column: int
    path: str = "$"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found, at its place when it has one. ``rule`` names the rule that found it where one did
    (``guardrail/min_retention``, ``best-practice/no_auto_restore``): SARIF's ruleId."""

    severity: Severity
    message: str
    location: Location | None = None
    rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The flat form every JSON output uses: severity, message, file, line, column, path (None without a place)."""
        where = self.location
        return {
            "severity": self.severity,
            "message": self.message,
            "file": where.file if where else None,
            "line": where.line if where else None,
            "column": where.column if where else None,
            "path": where.path if where else None,
        }

    def __str__(self) -> str:
        if self.location is None:
            return f"{self.severity}: {self.message}"
        where = str(self.location)
        path = f" ({self.location.path})" if self.location.path not in ("", "$") else ""
        return f"{where}: {self.severity}: {self.message}{path}"


class SfdeclareError(Exception):
    """Base of every expected failure; the CLI prints it on one line and exits 1."""


class DiagnosticsError(SfdeclareError):
    """An error that carries every diagnostic found (errors and warnings), not only the first."""

    empty_message = "invalid input"

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = str(errors[0]) if errors else self.empty_message
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)


class ConfigError(DiagnosticsError):
    """The configuration (or another input file) is invalid."""

    empty_message = "invalid configuration"


class ClusterError(SfdeclareError):
    """The cluster answered with an error, or could not be reached.

    ``status`` is the HTTP status (None when no response arrived), ``code`` the FabricError code, ``attempts``
    how many times the request was sent, ``ambiguous`` whether an earlier attempt of a write may have been carried
    out (its answer was lost), so that the applier can reconcile what the cluster then says.
    """

    def __init__(
        self,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        transient: bool = False,
        attempts: int = 1,
        ambiguous: bool = False,
    ) -> None:
        self.operation = operation
        self.status = status
        self.code = code
        self.cluster_message = message
        self.transient = transient
        self.attempts = attempts
        self.ambiguous = ambiguous
        detail = f"{status} {code}: " if status is not None and code else (f"{status}: " if status else "")
        super().__init__(f"{operation}: {detail}{message}")


class ClusterRequestError(ClusterError):
    """A ClusterError raised by one request (after its retries)."""


class EndpointError(SfdeclareError):
    """No endpoint, one that is not ``http(s)://host:port`` / ``emulator:PATH``, or a proxy that cannot be used."""


class TlsConfigError(SfdeclareError):
    """The TLS settings cannot be used (a missing or unreadable certificate, key or bundle)."""


class AuthError(SfdeclareError):
    """cluster.auth cannot produce a token: azure-identity is missing, or the identity provider refused."""


class EmulatorError(SfdeclareError):
    """The emulator cannot start (bad options, unusable certificates, address in use)."""


class PlanError(DiagnosticsError):
    """The declaration cannot be planned against this cluster (checks only the live cluster can answer)."""

    empty_message = "the plan has errors"


class ApplyError(SfdeclareError):
    """Apply refused to start or stopped; the message says what was (not) changed."""


class PlanFileError(SfdeclareError):
    """A plan file was refused before anything was sent: unreadable, not of the format, altered after it was
    made, or asking for a request its action does not send. The message leads with the file."""
