"""Client certificates for mutual TLS: PEM (certificate and key in one file, or the key in ``client_key``) or
PFX/PKCS#12, the password given by reference (``client_cert_password: ${env:NAME}`` or ``${file:PATH}``).

Python's ssl module loads a key only from a file. A PEM file is loaded where it is (encrypted with the password,
or not). A PFX is opened in memory with ``cryptography``; its key is never written in the clear: it is
re-encrypted with a random one-time password into a private temporary file (created with mode 0600 by
tempfile.mkstemp), loaded, and the file is removed at once, in a ``finally`` (an exit hook removes it too, should
the process die between). Messages name the file and the password's reference, never the password.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import ssl
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sfdeclare.errors import TlsConfigError
from sfdeclare.model.declaration import TlsSettings

_DER_SEQUENCE = b"\x30"
_PENDING: set[str] = set()  # one-time key files not yet removed (removed at exit at the latest)


@atexit.register
def _remove_pending() -> None:
    for path in list(_PENDING):
        _remove(path)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    _PENDING.discard(path)


def require_file(setting: str, value: str, base_dir: str) -> str:
    """The path of ``value`` (relative to ``base_dir``), which must be an existing file."""
    path = os.path.join(base_dir, os.path.expanduser(value))
    if not os.path.isfile(path):
        raise TlsConfigError(f"cluster.tls.{setting} {value} does not exist (looked in {path})")
    return path


def load_client_certificate(
    context: ssl.SSLContext, tls: TlsSettings, base_dir: str, password: str | None
) -> None:
    """Load ``tls.client_cert`` (PEM or PFX) into ``context``; ``password`` is the resolved
    ``tls.client_cert_password``."""
    assert tls.client_cert is not None
    cert = require_file("client_cert", tls.client_cert, base_dir)
    key = require_file("client_key", tls.client_key, base_dir) if tls.client_key else None
    try:
        with open(cert, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise TlsConfigError(
            f"cannot read cluster.tls.client_cert {tls.client_cert}: {exc.strerror}"
        ) from None
    if data.startswith(_DER_SEQUENCE) and key is None:  # PKCS#12 is DER: a SEQUENCE; PEM is text
        _load_pfx(context, tls, data, password)
    else:
        _load_pem(context, tls, cert, key, password)


def _load_pem(
    context: ssl.SSLContext, tls: TlsSettings, cert: str, key: str | None, password: str | None
) -> None:
    def no_password() -> str:
        # Without a password callback OpenSSL would prompt on the terminal, which hangs a CI job.
        raise TlsConfigError(
            f"the private key of {tls.client_key or tls.client_cert} is encrypted: set "
            "cluster.tls.client_cert_password to a ${env:NAME} or ${file:PATH} reference"
        )

    try:
        context.load_cert_chain(cert, key, password=password if password is not None else no_password)
    except ssl.SSLError as exc:
        what = f"{tls.client_cert} with key {tls.client_key}" if tls.client_key else tls.client_cert
        if password is not None and "decrypt" in str(exc.reason or exc).lower():
            raise TlsConfigError(
                f"cannot load the client certificate {what}: cluster.tls.client_cert_password "
                f"({tls.client_cert_password}) does not decrypt its key"
            ) from None
        raise TlsConfigError(
            f"cannot load the client certificate {what}: {exc.reason or exc} "
            "(it must be PEM holding the private key unless client_key is set, or a PFX/PKCS#12 file)"
        ) from None


def _load_pfx(context: ssl.SSLContext, tls: TlsSettings, data: bytes, password: str | None) -> None:
    attempts = [password.encode()] if password is not None else [None, b""]
    opened = None
    for attempt in attempts:
        try:
            opened = pkcs12.load_key_and_certificates(data, attempt)
            break
        except (ValueError, TypeError):
            continue
    if opened is None:
        if password is None:
            raise TlsConfigError(
                f"cannot open the PFX cluster.tls.client_cert {tls.client_cert} without a password: set "
                "cluster.tls.client_cert_password to a ${env:NAME} or ${file:PATH} reference"
            )
        raise TlsConfigError(
            f"cannot open the PFX cluster.tls.client_cert {tls.client_cert}: the password "
            f"({tls.client_cert_password}) is wrong, or it is not a PFX/PKCS#12 file"
        )
    key, certificate, chain = opened
    if key is None or certificate is None:
        raise TlsConfigError(
            f"the PFX cluster.tls.client_cert {tls.client_cert} holds no "
            + ("private key" if key is None else "certificate")
        )
    one_time = secrets.token_urlsafe(32).encode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time),
    ) + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (certificate, *chain))
    fd, path = tempfile.mkstemp(prefix="sfdeclare-client-", suffix=".pem")  # mode 0600, this user only
    _PENDING.add(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        context.load_cert_chain(path, password=one_time)
    except ssl.SSLError as exc:
        raise TlsConfigError(
            f"cannot use the PFX cluster.tls.client_cert {tls.client_cert}: {exc.reason or exc}"
        ) from None
    finally:
        _remove(path)
