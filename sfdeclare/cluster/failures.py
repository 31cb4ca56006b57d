"""Why a request failed, in one line that says what to check: transport failures and HTTP error answers.

- ``describe_transport_error``: an exception from below (httpcore from the client's own connections, httpx from
  any httpx transport, with ssl and socket errors in their chains) -> a ``Failure``: the message, whether it is
  worth repeating, and whether the request may have reached the server. httpcore and httpx exceptions are
  classified directly, pair by pair, so nothing translates one into the other first.
- ``http_error_message``: an error status with its FabricError (or none) -> the message.

No message holds a request or response body; the caller scrubs secrets (redact.py) before raising.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

import httpcore
import httpx

from sfdeclare.cluster.tls import ServerCertificateRefused
from sfdeclare.model.declaration import TlsSettings
from sfdeclare.servicefabric.replies import FabricError

# Every exception a transport raises for a failed exchange: httpx's base class and httpcore's families
# (httpcore has no common base; these are the roots of every class it raises, httpcore/_exceptions.py).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TransportError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)
_CONNECT_TIMEOUTS = (httpx.ConnectTimeout, httpx.PoolTimeout, httpcore.ConnectTimeout, httpcore.PoolTimeout)
_CONNECT_ERRORS = (httpx.ConnectError, httpcore.ConnectError)
_TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException)
_BROKEN = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpcore.ReadError,
    httpcore.WriteError,
    httpcore.RemoteProtocolError,
)


@dataclass(frozen=True)
class Failure:
    """A transport failure: its one-line message, whether a retry may help, and whether the request may have
    reached the server (so a write may have been carried out)."""

    message: str
    retryable: bool
    maybe_sent: bool


def describe_transport_error(
    exc: BaseException, *, where: str, tls: TlsSettings, connect_timeout: float, wait: float
) -> Failure:
    """``where`` is the endpoint's URL; ``wait`` how long the client waited for the answer."""
    chain = causes(exc)
    refused = next((e for e in chain if isinstance(e, ServerCertificateRefused)), None)
    if refused is not None:
        return Failure(f"the certificate of {where} {refused.detail}", False, False)
    untrusted = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if untrusted is not None:
        if untrusted.verify_code in (62, 64) or "mismatch" in str(untrusted.verify_message).lower():
            return Failure(
                f"the certificate of {where} is not issued for host {httpx.URL(where).host} "
                "(use the name in the certificate, or set cluster.tls.server_cert_thumbprint)",
                False,
                False,
            )
        if tls.ca_bundle:
            trust = f"is not trusted by ca_bundle {tls.ca_bundle} (or set server_cert_thumbprint)"
        else:
            trust = (
                "is not trusted by this machine's CAs: set cluster.tls.ca_bundle or server_cert_thumbprint"
            )
        return Failure(f"the certificate of {where} {trust}", False, False)
    tls_error = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls_error is not None and not isinstance(tls_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        reason = (tls_error.reason or str(tls_error)).lower()
        if "wrong_version_number" in reason or "record layer" in reason or "http_request" in reason:
            return Failure(
                f"TLS with {where} failed: the endpoint does not speak TLS (use http://?)", False, False
            )
        if "alert" in reason:
            hint = (
                "does the cluster require a client certificate? set cluster.tls.client_cert"
                if not tls.client_cert
                else f"does the cluster trust the client certificate {tls.client_cert}?"
            )
            return Failure(f"{where} refused the TLS handshake ({tls_error.reason}): {hint}", False, False)
        return Failure(
            f"TLS with {where} failed ({tls_error.reason or tls_error}): check cluster.tls", False, False
        )
    if any(isinstance(e, socket.gaierror) for e in chain):
        return Failure(f"cannot resolve the host of {where} -- is the cluster endpoint right?", True, False)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Failure(
            f"cannot connect to {where}: connection refused -- is the cluster endpoint right?", True, False
        )
    if isinstance(exc, _CONNECT_TIMEOUTS):
        return Failure(
            f"cannot connect to {where}: no answer within {connect_timeout:g}s -- "
            "is the cluster endpoint right and reachable?",
            True,
            False,
        )
    if isinstance(exc, _CONNECT_ERRORS):
        return Failure(
            f"cannot connect to {where}: {reason_of(exc)} -- is the cluster endpoint right?", True, False
        )
    if isinstance(exc, _TIMEOUTS):
        return Failure(f"{where} did not answer within {wait:g}s", True, True)
    if isinstance(exc, _BROKEN):
        return Failure(
            f"the connection to {where} broke before an answer arrived ({reason_of(exc)})", True, True
        )
    return Failure(f"talking to {where} failed: {reason_of(exc)}", False, True)


def http_error_message(status: int, error: FabricError | None, api_version: str) -> str:
    """The message for an error answer (4xx/5xx) to a request made with ``api_version``."""
    if error is not None and status == 400 and "api version" in error.message.lower():
        if api_version.endswith("-preview"):
            return (
                f'the cluster refused api-version {api_version}: set cluster.api_version to "6.4" '
                "(6.2-preview is only for 6.2/6.3 runtimes)"
            )
        return (
            f'the cluster refused api-version {api_version}: set cluster.api_version to "6.2-preview" '
            "for 6.2/6.3 runtimes"
        )
    if error is not None:
        return error.message or "(no message)"
    if status in (401, 403):
        return "access denied: check cluster.token or the client certificate (cluster.tls.client_cert)"
    return f"HTTP {status} without a Service Fabric error body (is the endpoint a Service Fabric cluster?)"


def refusal_message(
    status: int,
    error: FabricError | None,
    *,
    challenge: str | None,
    credential: str,
    write: bool,
    backup_route: bool,
    reads_ok: bool | None,
    backup_reads_ok: bool | None,
) -> str:
    """A 401 or 403, with what the probes after it found (client.py): which credential was refused, the
    cluster's reason, and for a 403 whether reads are refused too, only backup routes, or only writes."""
    reason = (error.message if error is not None else "") or _challenge_reason(challenge)
    if status == 401:
        return f"{reason or 'not authenticated'} -- the cluster refused {credential}"
    head = reason or "access denied"
    if reads_ok is False:
        return (
            f"{head} -- the cluster refuses {credential} for reads too (GetClusterVersion is refused as well): "
            "is it a credential this cluster knows (a client certificate it lists, or an Entra ID app role)?"
        )
    if reads_ok and backup_route and backup_reads_ok is False:
        return (
            f"{head} -- backup routes refuse {credential} while query routes accept it: likely the known "
            "Service Fabric issue on clusters whose certificates are declared by common name "
            "(microsoft/service-fabric#460, microsoft/service-fabric-issues#1553)"
        )
    if reads_ok and write:
        return (
            f"{head} -- writes are refused to {credential} while reads work: a read-only credential (the User "
            "role may only GET); use an admin client certificate or the Admin app role"
        )
    return f"{head} -- the cluster refused {credential}"


def _challenge_reason(challenge: str | None) -> str:
    """The error_description of a ``WWW-Authenticate: Bearer ...`` challenge (RFC 6750), if any."""
    if not challenge:
        return ""
    marker = 'error_description="'
    start = challenge.find(marker)
    if start < 0:
        return ""
    text = challenge[start + len(marker) :].split('"', 1)[0]
    return " ".join(text.split())[:200]


def attempts_note(attempts: int) -> str:
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


def maybe_done_note(ambiguous: bool) -> str:
    return "; it may have been carried out (its answer was lost)" if ambiguous else ""


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in chain:
        chain.append(node)
        node = node.__cause__ or node.__context__
    return chain


def reason_of(exc: BaseException) -> str:
    """The first line of the deepest cause's text (its class name when it has none)."""
    deepest = causes(exc)[-1]
    text = str(deepest) or type(deepest).__name__
    return text.splitlines()[0] if text else type(deepest).__name__
