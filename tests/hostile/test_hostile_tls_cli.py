"""TLS through the CLI against the emulator served over HTTPS (what tests/test_tls.py checks on the client,
here end to end): verification on by default, clear refusals, `verify: false` warning on every run,
thumbprint pinning, client certificates with and without a separate key file."""

from __future__ import annotations

import hashlib
import io
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

TOPOLOGY = "applications:\n  - name: fabric:/CalcApp\n    services: []\n"
VERIFY_WARNING = "warning: cluster.tls.verify is false"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture()
def folder(tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Path:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "state"), str(tmp_path / "topology.yaml"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    return tmp_path


@pytest.fixture()
def https(folder: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(str(folder / "state"), tls_cert="server.crt", tls_key="server.key") as server:
        yield server


def configure(folder: Path, tls: str) -> str:
    (folder / "sfdeclare.yaml").write_text(f"version: 1\ncluster:\n  tls:\n{tls}applications: {{}}\n")
    return "sfdeclare.yaml"


def plan(endpoint: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", "sfdeclare.yaml", "--endpoint", endpoint], out=out, err=err)
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


def https_url(server: EmulatorServer) -> str:
    return server.url.replace("http://", "https://")


def test_verification_is_on_by_default_and_refuses_a_private_ca(folder: Path, https: EmulatorServer) -> None:
    (folder / "sfdeclare.yaml").write_text("version: 1\napplications: {}\n")
    code, out, err = plan(https_url(https))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "is not trusted by this machine's CAs" in err, err


def test_a_ca_bundle_makes_it_trusted(folder: Path, https: EmulatorServer) -> None:
    configure(folder, "    ca_bundle: ca.pem\n")
    code, out, err = plan(https_url(https))
    assert code == 0, err
    assert "No changes." in out


def test_verify_false_warns_on_every_run(folder: Path, https: EmulatorServer) -> None:
    configure(folder, "    verify: false\n")
    for _ in range(2):
        code, _, err = plan(https_url(https))
        assert code == 0, err
        assert err.count(VERIFY_WARNING) == 1, err


def test_a_hostname_the_certificate_does_not_name_is_refused(folder: Path, ca: trustme.CA) -> None:
    other = ca.issue_cert("cluster.example.com")
    other.cert_chain_pems[0].write_to_path(str(folder / "other.crt"))
    other.private_key_pem.write_to_path(str(folder / "other.key"))
    configure(folder, "    ca_bundle: ca.pem\n")
    with EmulatorServer(str(folder / "state"), tls_cert="other.crt", tls_key="other.key") as server:
        code, _, err = plan(https_url(server))
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "127.0.0.1" in err


def thumbprint(folder: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert((folder / "server.crt").read_text())
    return hashlib.sha1(der).hexdigest().upper()


def test_a_pinned_thumbprint_is_trusted_without_a_ca(folder: Path, https: EmulatorServer) -> None:
    spaced = " ".join(thumbprint(folder)[i : i + 2] for i in range(0, 40, 2))
    configure(folder, f'    server_cert_thumbprint: "{spaced}"\n')
    code, _, err = plan(https_url(https))
    assert code == 0, err


def test_a_wrong_thumbprint_is_refused(folder: Path, https: EmulatorServer) -> None:
    configure(folder, f"    server_cert_thumbprint: {'AB' * 20}\n")
    code, _, err = plan(https_url(https))
    assert code == 1
    assert f"(SHA-1 thumbprint {thumbprint(folder)}) does not match cluster.tls.server_cert_thumbprint" in err


@pytest.fixture()
def mutual(folder: Path) -> Iterator[tuple[EmulatorServer, trustme.CA]]:
    client_ca = trustme.CA()
    client_ca.cert_pem.write_to_path(str(folder / "client-ca.pem"))
    with EmulatorServer(
        str(folder / "state"), tls_cert="server.crt", tls_key="server.key", client_ca="client-ca.pem"
    ) as server:
        yield server, client_ca


def test_client_certificates_with_and_without_a_separate_key(
    folder: Path, mutual: tuple[EmulatorServer, trustme.CA]
) -> None:
    server, client_ca = mutual
    admin = client_ca.issue_cert("admin@example.com")
    admin.private_key_and_cert_chain_pem.write_to_path(str(folder / "admin.pem"))
    admin.cert_chain_pems[0].write_to_path(str(folder / "admin.crt"))
    admin.private_key_pem.write_to_path(str(folder / "admin.key"))
    configure(folder, "    ca_bundle: ca.pem\n    client_cert: admin.pem\n")
    assert plan(https_url(server))[0] == 0
    configure(folder, "    ca_bundle: ca.pem\n    client_cert: admin.crt\n    client_key: admin.key\n")
    assert plan(https_url(server))[0] == 0
    configure(folder, "    ca_bundle: ca.pem\n    client_cert: admin.crt\n")
    code, _, err = plan(https_url(server))
    assert code == 1 and "cannot load the client certificate admin.crt" in err, err
    configure(folder, "    ca_bundle: ca.pem\n")
    code, _, err = plan(https_url(server))
    assert code == 1 and "set cluster.tls.client_cert" in err, err
