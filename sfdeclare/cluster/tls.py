"""The TLS side of talking to a cluster: the SSL context built from ``cluster.tls``, and thumbprint pinning.

Service Fabric clusters often use a self-signed certificate that operators trust by its thumbprint (SHA-1 in
Service Fabric's own tooling; a SHA-256 hex is accepted too). A pinned context skips CA and hostname checks and
instead compares the fingerprint of the certificate the server presents, right after the handshake and before
any byte of the request is sent.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any

from sfdeclare.errors import TlsConfigError
from sfdeclare.model.declaration import TlsSettings


class ThumbprintMismatch(ssl.SSLCertVerificationError):
    """The server's certificate does not have the pinned thumbprint."""

    def __init__(self, presented_sha1: str) -> None:
        super().__init__(f"server certificate thumbprint {presented_sha1} is not the pinned one")
        self.presented_sha1 = presented_sha1


def normalise_thumbprint(value: str) -> str:
    """Upper-case hex without separators; SF tools print thumbprints with spaces or colons at times."""
    cleaned = "".join(ch for ch in value if ch not in " :\t\u200e").upper()
    if len(cleaned) not in (40, 64) or any(ch not in "0123456789ABCDEF" for ch in cleaned):
        raise TlsConfigError(
            f"cluster.tls.server_cert_thumbprint {value!r} is not a SHA-1 (40 hex) or SHA-256 (64 hex) thumbprint"
        )
    return cleaned


def thumbprints(der: bytes) -> tuple[str, str]:
    """(SHA-1, SHA-256) fingerprints of a DER certificate, upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper()


class PinnedContext(ssl.SSLContext):
    """An SSL context that accepts exactly the server certificate with the pinned thumbprint."""

    pinned: str

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        wrapped = super().wrap_socket(sock, *args, **kwargs)
        try:
            self.check_peer(wrapped.getpeercert(binary_form=True))
        except BaseException:
            wrapped.close()
            raise
        return wrapped

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        # TLS inside TLS (an https:// proxy) would hand over the connection before the handshake can be checked.
        raise ssl.SSLError("server_cert_thumbprint pinning does not work through an https:// proxy")

    def check_peer(self, der: bytes | None) -> None:
        if not der:
            raise ThumbprintMismatch("(none)")
        sha1, sha256 = thumbprints(der)
        if self.pinned not in (sha1, sha256):
            raise ThumbprintMismatch(sha1)


def _path(base_dir: str, value: str) -> str:
    return os.path.join(base_dir, os.path.expanduser(value))


def _require_file(setting: str, value: str, base_dir: str) -> str:
    path = _path(base_dir, value)
    if not os.path.isfile(path):
        raise TlsConfigError(f"cluster.tls.{setting} {value} does not exist (looked in {path})")
    return path


def _encrypted_key(tls: TlsSettings) -> Callable[[], str]:
    # Without a password callback OpenSSL would prompt on the terminal, which hangs a CI job.
    def refuse() -> str:
        raise TlsConfigError(
            f"the private key of {tls.client_key or tls.client_cert} is encrypted: give sfdeclare an unencrypted "
            "PEM key (kept with file permissions) instead"
        )

    return refuse


def build_ssl_context(tls: TlsSettings, base_dir: str, warn: Callable[[str], None]) -> ssl.SSLContext:
    """The context for an https endpoint. Paths are relative to ``base_dir`` (the configuration's folder)."""
    context: ssl.SSLContext
    if tls.server_cert_thumbprint:
        pinned = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.pinned = normalise_thumbprint(tls.server_cert_thumbprint)
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
    elif tls.ca_bundle:
        path = _require_file("ca_bundle", tls.ca_bundle, base_dir)
        try:
            context = ssl.create_default_context(cafile=path)
        except (ssl.SSLError, ValueError) as exc:
            raise TlsConfigError(
                f"cluster.tls.ca_bundle {tls.ca_bundle} holds no usable certificate: {exc}"
            ) from None
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.client_key and not tls.client_cert:
        raise TlsConfigError("cluster.tls.client_key is set without cluster.tls.client_cert")
    if tls.client_cert:
        cert = _require_file("client_cert", tls.client_cert, base_dir)
        key = _require_file("client_key", tls.client_key, base_dir) if tls.client_key else None
        try:
            context.load_cert_chain(cert, key, password=_encrypted_key(tls))
        except ssl.SSLError as exc:
            what = f"{tls.client_cert} with key {tls.client_key}" if tls.client_key else tls.client_cert
            raise TlsConfigError(
                f"cannot load the client certificate {what}: {exc.reason or exc} "
                "(it must be PEM, holding the private key unless client_key is set)"
            ) from None
    return context
