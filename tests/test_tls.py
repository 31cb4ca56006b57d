"""TLS against a real loopback HTTPS server with trustme certificates: CA bundles, pinning, client certs."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.cluster.tls import build_ssl_context, normalise_thumbprint
from sfdeclare.commands.session import connect
from sfdeclare.errors import ClusterError, TlsConfigError
from sfdeclare.model.declaration import ClusterSettings, TlsSettings


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        self.server.auth.append(self.headers.get("Authorization"))  # type: ignore[attr-defined]
        body = json.dumps({"ContinuationToken": None, "Items": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.requests = 0  # type: ignore[attr-defined]
        self.httpd.auth = []  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.scheme = "https" if context is not None else "http"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> int:
        return int(self.httpd.requests)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture
def certs(tmp_path: Path, ca: trustme.CA) -> Path:
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    return tmp_path


def server_context(cert: trustme.LeafCert, client_ca: trustme.CA | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture
def https(server_cert: trustme.LeafCert) -> Iterator[Server]:
    server = Server(server_context(server_cert))
    yield server
    server.stop()


def call(
    url: str, tls: TlsSettings, base_dir: Path, warnings: list[str] | None = None, **settings: Any
) -> int:
    cluster = ClusterSettings(tls=tls, **settings)
    sink = warnings if warnings is not None else []
    with connect(
        url,
        settings=cluster,
        base_dir=str(base_dir),
        env={"TOK": "t0k"},
        warn=sink.append,
        retry=RetryPolicy(max_attempts=2, sleep=lambda s: None),
    ) as client:
        client.list_policies()
        return client.requests


def der(cert: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


def test_ca_bundle_trusted(https: Server, certs: Path) -> None:
    assert call(https.url, TlsSettings(ca_bundle="ca.pem"), certs) == 1
    assert https.requests == 1


def test_wrong_ca_is_a_clear_refusal(https: Server, certs: Path) -> None:
    with pytest.raises(ClusterError) as info:
        call(https.url, TlsSettings(ca_bundle="other-ca.pem"), certs)
    assert str(info.value) == (
        f"GetBackupPolicyList: the certificate of {https.url} is not trusted by ca_bundle other-ca.pem "
        "(or set server_cert_thumbprint)"
    )
    assert https.requests == 0


def test_system_cas_do_not_trust_a_private_ca(https: Server, certs: Path) -> None:
    with pytest.raises(
        ClusterError, match=r"is not trusted by this machine's CAs: set cluster\.tls\.ca_bundle"
    ):
        call(https.url, TlsSettings(), certs)


def test_hostname_mismatch(ca: trustme.CA, certs: Path) -> None:
    server = Server(server_context(ca.issue_cert("cluster.example.com")))
    try:
        with pytest.raises(ClusterError, match=r"is not issued for host 127\.0\.0\.1"):
            call(server.url, TlsSettings(ca_bundle="ca.pem"), certs)
    finally:
        server.stop()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_pinned_thumbprint_is_accepted_whatever_the_ca(
    https: Server, server_cert: trustme.LeafCert, certs: Path, algorithm: str
) -> None:
    digest = hashlib.new(algorithm, der(server_cert)).hexdigest()
    spaced = " ".join(digest[i : i + 2] for i in range(0, len(digest), 2)).lower()
    assert (
        call(https.url, TlsSettings(server_cert_thumbprints=(spaced,), ca_bundle="other-ca.pem"), certs) == 1
    )
    assert https.requests == 1


def test_wrong_thumbprint_is_refused_before_any_request(
    https: Server, server_cert: trustme.LeafCert, certs: Path
) -> None:
    actual = hashlib.sha1(der(server_cert)).hexdigest().upper()
    with pytest.raises(ClusterError) as info:
        call(https.url, TlsSettings(server_cert_thumbprints=("AB" * 20,)), certs, token="${env:TOK}")
    assert str(info.value) == (
        f"GetBackupPolicyList: the certificate of {https.url} (SHA-1 thumbprint {actual}) does not match "
        "cluster.tls.server_cert_thumbprint"
    )
    assert https.requests == 0
    assert https.httpd.auth == []  # type: ignore[attr-defined]


def test_verify_false_warns_loudly(https: Server, certs: Path) -> None:
    warnings: list[str] = []
    assert call(https.url, TlsSettings(verify=False), certs, warnings) == 1
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: cluster.tls.verify is false")


@pytest.fixture
def mutual(server_cert: trustme.LeafCert) -> Iterator[tuple[Server, trustme.CA]]:
    client_ca = trustme.CA()
    server = Server(server_context(server_cert, client_ca))
    yield server, client_ca
    server.stop()


def test_required_client_certificate(mutual: tuple[Server, trustme.CA], certs: Path) -> None:
    server, client_ca = mutual
    admin = client_ca.issue_cert("admin@example.com")
    admin.private_key_and_cert_chain_pem.write_to_path(str(certs / "admin.pem"))
    admin.cert_chain_pems[0].write_to_path(str(certs / "admin.crt"))
    admin.private_key_pem.write_to_path(str(certs / "admin.key"))
    assert (
        call(server.url, TlsSettings(ca_bundle="ca.pem", client_cert="admin.pem"), certs, token="${env:TOK}")
        == 1
    )
    assert (
        call(
            server.url,
            TlsSettings(ca_bundle="ca.pem", client_cert="admin.crt", client_key="admin.key"),
            certs,
        )
        == 1
    )
    assert server.requests == 2
    assert server.httpd.auth == ["Bearer t0k", None]  # type: ignore[attr-defined]


def test_missing_client_certificate_says_so(mutual: tuple[Server, trustme.CA], certs: Path) -> None:
    server, _ = mutual
    with pytest.raises(ClusterError) as info:
        call(server.url, TlsSettings(ca_bundle="ca.pem"), certs)
    assert "set cluster.tls.client_cert" in str(info.value), str(info.value)
    assert server.requests == 0


def test_untrusted_client_certificate(mutual: tuple[Server, trustme.CA], ca: trustme.CA, certs: Path) -> None:
    server, _ = mutual
    ca.issue_cert("stranger@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(certs / "stranger.pem")
    )
    with pytest.raises(ClusterError) as info:
        call(server.url, TlsSettings(ca_bundle="ca.pem", client_cert="stranger.pem"), certs)
    assert "does the cluster trust the client certificate stranger.pem?" in str(info.value)


def test_https_to_a_plain_http_server(certs: Path) -> None:
    server = Server(None)
    try:
        with pytest.raises(ClusterError, match="does not speak TLS"):
            call(server.url.replace("http://", "https://"), TlsSettings(ca_bundle="ca.pem"), certs)
    finally:
        server.stop()


def test_connection_refused(certs: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ClusterError) as info:
        call(f"http://127.0.0.1:{port}", TlsSettings(), certs)
    assert str(info.value) == (
        f"GetBackupPolicyList: cannot connect to http://127.0.0.1:{port}: connection refused -- "
        "is the cluster endpoint right? (gave up after 2 attempts)"
    )


# --- settings errors ---------------------------------------------------------------------------------------


def test_thumbprint_forms() -> None:
    assert normalise_thumbprint("3a:1f" + "00" * 18) == "3A1F" + "00" * 18
    with pytest.raises(TlsConfigError, match="SHA-1"):
        normalise_thumbprint("3A1F")
    with pytest.raises(TlsConfigError, match="SHA-1"):
        normalise_thumbprint("ZZ" * 20)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError, match=r"cluster.tls.ca_bundle certs/ca.pem does not exist"):
        build_ssl_context(TlsSettings(ca_bundle="certs/ca.pem"), str(tmp_path), print)
    with pytest.raises(TlsConfigError, match="client_key is set without"):
        build_ssl_context(TlsSettings(client_key="k.pem"), str(tmp_path), print)
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(TlsConfigError, match=r"cannot load the client certificate junk\.pem"):
        build_ssl_context(TlsSettings(client_cert="junk.pem"), str(tmp_path), print)
    with pytest.raises(TlsConfigError, match="holds no usable certificate"):
        build_ssl_context(TlsSettings(ca_bundle="junk.pem"), str(tmp_path), print)


def test_encrypted_key_is_refused_without_prompting(tmp_path: Path, ca: trustme.CA) -> None:
    from cryptography.hazmat.primitives import serialization

    leaf = ca.issue_cert("admin@example.com")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "key.pem").write_bytes(encrypted)
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    with pytest.raises(TlsConfigError, match="is encrypted"):
        build_ssl_context(TlsSettings(client_cert="cert.pem", client_key="key.pem"), str(tmp_path), print)


def test_pinning_refuses_tls_in_tls(tmp_path: Path) -> None:
    context = build_ssl_context(TlsSettings(server_cert_thumbprints=("AB" * 20,)), str(tmp_path), print)
    with pytest.raises(ssl.SSLError, match="proxy"):
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
