"""The TLS side of talking to a cluster: the SSL context built from ``cluster.tls``, and how the server's
certificate is verified. One of four ways, as Service Fabric clusters are secured:

- **CA bundle or the system store, with the host name** (the default; ``ca_bundle`` names the bundle).
- **Pinned thumbprints** (``server_cert_thumbprint``: one, or a list so a rotation needs no outage): the
  certificate the server presents must have one of them, as SHA-1 (Service Fabric's own tooling) or SHA-256.
  No CA or host-name check: clusters often use self-signed certificates trusted by thumbprint.
- **Common name** (``server_common_name``, optionally ``server_issuer_thumbprints``), as Service Fabric defines
  common-name verification: the chain is verified by OpenSSL against ``ca_bundle`` (or the system store), the
  subject common name of the server's certificate must equal the one set (case-insensitively; no host-name
  check), and, with issuer thumbprints, the certificate that issued it must have one of them. Python before
  3.13 hands over only the server's own certificate after a handshake, so the issuer is looked up among the
  certificates of ``ca_bundle`` (and the verified chain, on Python 3.13 and later) by name and signature; when
  it is in neither, the connection is refused with a line saying to add the issuer to ``ca_bundle``.
- ``verify: false``: nothing is checked, with a warning on every run.

Pinned and common-name checks run right after the handshake, before any byte of the request is sent, and are
refused through an https:// proxy (TLS inside TLS would hand over the connection before they can run).
Client certificates (PEM or PFX) are loaded by certificates.py.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from sfdeclare.cluster.certificates import load_client_certificate, require_file
from sfdeclare.errors import TlsConfigError
from sfdeclare.model.declaration import TlsSettings


class ServerCertificateRefused(ssl.SSLCertVerificationError):
    """The server's certificate failed a check of cluster.tls; ``detail`` completes "the certificate of URL"."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ThumbprintMismatch(ServerCertificateRefused):
    """The server's certificate has none of the pinned thumbprints."""

    def __init__(self, presented_sha1: str, pinned: int = 1) -> None:
        which = (
            "cluster.tls.server_cert_thumbprint" if pinned == 1 else f"any of the {pinned} thumbprints in "
        )
        super().__init__(
            f"(SHA-1 thumbprint {presented_sha1}) does not match "
            + (which if pinned == 1 else which + "cluster.tls.server_cert_thumbprint")
        )
        self.presented_sha1 = presented_sha1


def normalise_thumbprint(value: str, setting: str = "server_cert_thumbprint") -> str:
    """Upper-case hex without separators; SF tools print thumbprints with spaces or colons at times."""
    cleaned = "".join(ch for ch in value if ch not in " :\t\u200e").upper()
    if len(cleaned) not in (40, 64) or any(ch not in "0123456789ABCDEF" for ch in cleaned):
        raise TlsConfigError(
            f"cluster.tls.{setting} {value!r} is not a SHA-1 (40 hex) or SHA-256 (64 hex) thumbprint"
        )
    return cleaned


def thumbprints(der: bytes) -> tuple[str, str]:
    """(SHA-1, SHA-256) fingerprints of a DER certificate, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper()


class CheckedContext(ssl.SSLContext):
    """An SSL context that checks the server's certificate right after the handshake (``check``)."""

    check: Callable[[ssl.SSLSocket], None]

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        try:
            self.check(wrapped)
        except BaseException:
            wrapped.close()
            raise
        return wrapped

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        # TLS inside TLS (an https:// proxy) would hand over the connection before the handshake can be checked.
        raise ssl.SSLError("server_cert_thumbprint pinning does not work through an https:// proxy")


def pinned_check(pinned: Iterable[str]) -> Callable[[ssl.SSLSocket], None]:
    """Accept exactly the certificates with one of the ``pinned`` thumbprints (normalised)."""
    accepted = frozenset(pinned)

    def check(sock: ssl.SSLSocket) -> None:
        der = sock.getpeercert(binary_form=True)
        if not der:
            raise ThumbprintMismatch("(none)", len(accepted))
        sha1, sha256 = thumbprints(der)
        if sha1 not in accepted and sha256 not in accepted:
            raise ThumbprintMismatch(sha1, len(accepted))

    return check


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def common_name_check(
    common_name: str, issuer_thumbprints: Iterable[str], known_issuers: list[x509.Certificate]
) -> Callable[[ssl.SSLSocket], None]:
    """Service Fabric's common-name verification, after OpenSSL verified the chain: the subject common name,
    then (with issuer thumbprints) the direct issuer, found among ``known_issuers`` or the verified chain."""
    pinned = frozenset(issuer_thumbprints)

    def check(sock: ssl.SSLSocket) -> None:
        der = sock.getpeercert(binary_form=True)
        if not der:
            raise ServerCertificateRefused("was not presented")
        leaf = x509.load_der_x509_certificate(der)
        presented = _common_name(leaf.subject)
        if presented.casefold() != common_name.casefold():
            raise ServerCertificateRefused(
                f"is issued to common name {presented or '(none)'!r}, not to cluster.tls.server_common_name "
                f"{common_name!r}"
            )
        if not pinned:
            return
        issuer = _find_issuer(leaf, [*_verified_chain(sock)[1:], *known_issuers])
        issuer_name = _common_name(leaf.issuer) or leaf.issuer.rfc4514_string()
        if issuer is None:
            raise ServerCertificateRefused(
                f"is issued by {issuer_name!r}, whose certificate sfdeclare cannot see to check its thumbprint "
                "(Python before 3.13 shows only the server's own certificate): add the issuer's certificate "
                "to cluster.tls.ca_bundle"
            )
        sha1, sha256 = thumbprints(issuer.public_bytes(Encoding.DER))
        if sha1 not in pinned and sha256 not in pinned:
            raise ServerCertificateRefused(
                f"is issued by {issuer_name!r} (SHA-1 thumbprint {sha1}), which is not in "
                "cluster.tls.server_issuer_thumbprints"
            )

    return check


def _verified_chain(sock: ssl.SSLSocket) -> list[x509.Certificate]:
    """The chain OpenSSL verified, leaf first, where Python exposes it (3.13 and later); else empty."""
    getter = getattr(sock, "get_verified_chain", None)
    if getter is None:
        return []
    return [x509.load_der_x509_certificate(bytes(der)) for der in getter()]  # DER bytes, leaf first


def _find_issuer(leaf: x509.Certificate, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != leaf.issuer:
            continue
        try:
            leaf.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _bundle_certificates(path: str) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificates(handle.read())
    except (OSError, ValueError):
        return []


def build_ssl_context(
    tls: TlsSettings,
    base_dir: str,
    warn: Callable[[str], None],
    *,
    client_cert_password: str | None = None,
) -> ssl.SSLContext:
    """The context for an https endpoint. Paths are relative to ``base_dir`` (the configuration's folder);
    ``client_cert_password`` is the resolved value of ``tls.client_cert_password`` (a reference)."""
    context: ssl.SSLContext
    if tls.server_cert_thumbprints and tls.server_common_name:
        raise TlsConfigError("cluster.tls: set server_cert_thumbprint or server_common_name, not both")
    if tls.server_issuer_thumbprints and not tls.server_common_name:
        raise TlsConfigError("cluster.tls.server_issuer_thumbprints is set without server_common_name")
    if tls.server_cert_thumbprints:
        pinned = CheckedContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.check = pinned_check(normalise_thumbprint(t) for t in tls.server_cert_thumbprints)
        pinned.check_hostname = False
        pinned.verify_mode = ssl.CERT_NONE
        context = pinned
    elif not tls.verify:
        warn(
            "warning: cluster.tls.verify is false: the cluster's certificate is NOT checked, so anyone on the "
            "network path can impersonate it (set ca_bundle or server_cert_thumbprint instead)"
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        bundle = require_file("ca_bundle", tls.ca_bundle, base_dir) if tls.ca_bundle else None
        if tls.server_common_name:
            by_name = CheckedContext(ssl.PROTOCOL_TLS_CLIENT)
            _load_trust(by_name, bundle, tls)
            by_name.check_hostname = False  # the common name is checked instead of the host name
            by_name.verify_mode = ssl.CERT_REQUIRED
            by_name.check = common_name_check(
                tls.server_common_name,
                [normalise_thumbprint(t, "server_issuer_thumbprints") for t in tls.server_issuer_thumbprints],
                _bundle_certificates(bundle) if bundle else [],
            )
            context = by_name
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            _load_trust(context, bundle, tls)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.client_key and not tls.client_cert:
        raise TlsConfigError("cluster.tls.client_key is set without cluster.tls.client_cert")
    if tls.client_cert:
        load_client_certificate(context, tls, base_dir, client_cert_password)
    return context


def _load_trust(context: ssl.SSLContext, bundle: str | None, tls: TlsSettings) -> None:
    """Verify chains against ``bundle`` or, without one, the system store."""
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    if bundle is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return
    try:
        context.load_verify_locations(cafile=bundle)
    except (ssl.SSLError, ValueError) as exc:
        raise TlsConfigError(
            f"cluster.tls.ca_bundle {tls.ca_bundle} holds no usable certificate: {exc}"
        ) from None
