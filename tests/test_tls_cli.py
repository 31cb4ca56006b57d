"""TLS through the CLI against the served emulator, each way a cluster is secured: a PFX client certificate with
its password by reference, pinned thumbprints (a list: a rotated certificate is accepted), and common-name
verification with the issuer pinned. Every refusal is one line; no secret is ever printed or left on disk."""

from __future__ import annotations

import hashlib
import io
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sfdeclare.cli import main
from sfdeclare.emulator.auth import Access
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

PFX_PASSWORD = "SECRET-CANARY-pfx-0005"
TOPOLOGY = "applications:\n  - name: fabric:/App0\n    services:\n      - {name: fabric:/App0/Store, kind: Stateful, partitions: 1}\n"
POLICIES = """policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\share\\\\backups'}
applications:
  App0:
    policy: Daily
"""


def sha1(pem: bytes) -> str:
    return hashlib.sha1(ssl.PEM_cert_to_DER_cert(pem.decode())).hexdigest().upper()


def write_pfx(path: Path, leaf: trustme.LeafCert, password: str | None) -> None:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"admin", key, cert, None, encryption)  # type: ignore[arg-type]
    )


class Cluster:
    """A served emulator over https with a given server certificate, requiring client certificates."""

    def __init__(
        self, folder: Path, server: trustme.LeafCert, client_ca: trustme.CA, access: Access | None = None
    ) -> None:
        server.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
        client_ca.cert_pem.write_to_path(str(folder / "client-ca.pem"))
        self.emulator = EmulatorServer(
            str(folder / "cluster.state"),
            tls_cert=str(folder / "server.pem"),
            tls_key=str(folder / "server.pem"),
            client_ca=str(folder / "client-ca.pem"),
            access=access,
        )

    def __enter__(self) -> str:
        self.emulator.__enter__()
        return self.emulator.url

    def __exit__(self, *exc: object) -> None:
        self.emulator.__exit__(None, None, None)


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "cluster.state"), str(tmp_path / "topology.yaml"))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(private_tmp))
    monkeypatch.setenv("PFX_PASSWORD", PFX_PASSWORD)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert list(private_tmp.iterdir()) == [], "a one-time key file was left behind"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Cluster CA")


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


def plan(folder: Path, endpoint: str, tls: str) -> tuple[int, str]:
    (folder / "sfdeclare.yaml").write_text(
        f"version: 1\ncluster:\n  endpoint: {endpoint}\n  tls:\n{tls}{POLICIES}"
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", "sfdeclare.yaml"], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert PFX_PASSWORD not in text and "Traceback" not in text
    for path in folder.rglob("*"):
        if path.is_file():
            assert PFX_PASSWORD.encode() not in path.read_bytes(), path
    return code, err.getvalue()


def ca_name(ca: trustme.CA) -> str:
    """trustme's CAs have no common name: the issuer is named by its whole distinguished name."""
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.rfc4514_string()


def one_line(err: str) -> str:
    """The message of a one-line error raised by whichever of the parallel first reads failed first."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.split(": ", 2)[2] if err.count(": ") >= 2 else err


def test_a_pfx_client_certificate_with_its_password_by_reference(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    write_pfx(folder / "admin.pfx", client_ca.issue_cert("admin@example.com"), PFX_PASSWORD)
    tls = "    ca_bundle: ca.pem\n    client_cert: admin.pfx\n    client_cert_password: ${env:PFX_PASSWORD}\n"
    with Cluster(folder, ca.issue_cert("127.0.0.1"), client_ca) as url:
        code, err = plan(folder, url, tls)
    assert code == 0, err


def test_a_wrong_pfx_password_is_one_line_naming_the_reference(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    write_pfx(folder / "admin.pfx", client_ca.issue_cert("admin@example.com"), PFX_PASSWORD)
    monkeypatch.setenv("PFX_PASSWORD", "SECRET-CANARY-wrong-0006")
    tls = "    ca_bundle: ca.pem\n    client_cert: admin.pfx\n    client_cert_password: ${env:PFX_PASSWORD}\n"
    with Cluster(folder, ca.issue_cert("127.0.0.1"), client_ca) as url:
        code, err = plan(folder, url, tls)
    assert code == 1
    assert err == (
        "error: cannot open the PFX cluster.tls.client_cert admin.pfx: the password (${env:PFX_PASSWORD}) is "
        "wrong, or it is not a PFX/PKCS#12 file\n"
    )


def test_a_pfx_without_a_password_setting_says_to_set_one(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    write_pfx(folder / "admin.pfx", client_ca.issue_cert("admin@example.com"), PFX_PASSWORD)
    with Cluster(folder, ca.issue_cert("127.0.0.1"), client_ca) as url:
        code, err = plan(folder, url, "    client_cert: admin.pfx\n")
    assert code == 1 and "without a password: set cluster.tls.client_cert_password" in err, err


def test_a_password_written_as_a_value_is_refused_at_its_line(folder: Path) -> None:
    code, err = plan(
        folder, "https://127.0.0.1:9", "    client_cert: admin.pfx\n    client_cert_password: hunter2-plain\n"
    )
    assert code == 1
    assert (
        "sfdeclare.yaml:6:27: error: client_cert_password must be a ${env:NAME} or ${file:PATH} reference"
        in err
    )
    assert "hunter2-plain" not in err


def test_a_rotated_server_certificate_is_accepted_when_its_thumbprint_is_in_the_list(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    client_ca.issue_cert("admin@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "admin.pem")
    )
    old, new = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    old_print, new_print = sha1(old.cert_chain_pems[0].bytes()), sha1(new.cert_chain_pems[0].bytes())
    listed = f"    client_cert: admin.pem\n    server_cert_thumbprint: [{old_print}, {new_print}]\n"
    with Cluster(folder, new, client_ca) as url:
        code, err = plan(folder, url, listed)
        assert code == 0, err
        code, err = plan(
            folder,
            url,
            f"    client_cert: admin.pem\n    server_cert_thumbprint: [{old_print}, {'AB' * 20}]\n",
        )
    assert code == 1
    assert one_line(err) == (
        f"the certificate of {url} (SHA-1 thumbprint {new_print}) does not match any "
        "of the 2 thumbprints in cluster.tls.server_cert_thumbprint\n"
    )


def test_common_name_with_the_issuer_pinned_is_accepted(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    client_ca.issue_cert("admin@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "admin.pem")
    )
    issuer = sha1(ca.cert_pem.bytes())
    tls = (
        "    ca_bundle: ca.pem\n    client_cert: admin.pem\n    server_common_name: MyCluster.example.com\n"
        f"    server_issuer_thumbprints: ['{issuer[:2]}:{issuer[2:]}']\n"
    )
    # a certificate for another host name: common-name verification checks the name, not the host
    with Cluster(
        folder, ca.issue_cert("node1.example.com", common_name="mycluster.example.com"), client_ca
    ) as url:
        code, err = plan(folder, url, tls)
    assert code == 0, err


def test_a_wrong_common_name_is_refused_in_one_line(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    tls = "    ca_bundle: ca.pem\n    server_common_name: other.example.com\n"
    with Cluster(folder, ca.issue_cert("127.0.0.1", common_name="mycluster.example.com"), client_ca) as url:
        code, err = plan(folder, url, tls)
    assert code == 1
    assert one_line(err) == (
        f"the certificate of {url} is issued to common name 'mycluster.example.com', "
        "not to cluster.tls.server_common_name 'other.example.com'\n"
    )


def test_an_issuer_not_pinned_is_refused_in_one_line(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    tls = (
        "    ca_bundle: ca.pem\n    server_common_name: mycluster.example.com\n"
        f"    server_issuer_thumbprints: [{'CD' * 20}]\n"
    )
    with Cluster(folder, ca.issue_cert("127.0.0.1", common_name="mycluster.example.com"), client_ca) as url:
        code, err = plan(folder, url, tls)
    assert code == 1
    assert one_line(err) == (
        f"the certificate of {url} is issued by '{ca_name(ca)}' (SHA-1 thumbprint "
        f"{sha1(ca.cert_pem.bytes())}), which is not in cluster.tls.server_issuer_thumbprints\n"
    ), err


def test_an_issuer_the_client_cannot_see_is_refused_saying_how_to_show_it(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    """The server sends its intermediate, OpenSSL verifies the chain to the root in ca_bundle, but Python
    before 3.13 shows only the leaf: the intermediate's thumbprint cannot be checked unless it is in the bundle."""
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    intermediate = ca.create_child_ca()
    leaf = intermediate.issue_cert("127.0.0.1", common_name="mycluster.example.com")
    pinned = sha1(intermediate.cert_pem.bytes())
    client_ca.issue_cert("admin@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "admin.pem")
    )
    tls = (
        "    ca_bundle: ca.pem\n    client_cert: admin.pem\n    server_common_name: mycluster.example.com\n"
        f"    server_issuer_thumbprints: [{pinned}]\n"
    )
    with Cluster(folder, leaf, client_ca) as url:
        code, err = plan(folder, url, tls)
        if not hasattr(ssl.SSLSocket, "get_verified_chain"):
            assert code == 1
            assert "whose certificate sfdeclare cannot see to check its thumbprint" in err, err
            assert "add the issuer's certificate to cluster.tls.ca_bundle" in err
        else:
            assert code == 0, err
        (folder / "ca.pem").write_bytes(ca.cert_pem.bytes() + intermediate.cert_pem.bytes())
        code, err = plan(folder, url, tls)
    assert code == 0, err


# --- the 403 diagnosis ---------------------------------------------------------------------------------------


def test_backup_routes_refused_while_query_routes_work_names_the_common_name_issue(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    client_ca.issue_cert("admin@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(folder / "admin.pem")
    )
    access = Access(refuse_backup_routes=True)
    with Cluster(folder, ca.issue_cert("127.0.0.1"), client_ca, access) as url:
        code, err = plan(folder, url, "    ca_bundle: ca.pem\n    client_cert: admin.pem\n")
    assert code == 1
    assert one_line(err).startswith(
        "403 E_ACCESSDENIED: Access Denied. -- backup routes refuse the client "
    ), err
    assert one_line(err) == (
        "403 E_ACCESSDENIED: Access Denied. -- backup routes refuse the client certificate admin.pem while "
        "query routes accept it: likely the known Service Fabric issue on clusters whose certificates are "
        "declared by common name (microsoft/service-fabric#460, microsoft/service-fabric-issues#1553)\n"
    )


def test_a_read_only_client_certificate_is_named_as_such(
    folder: Path, ca: trustme.CA, client_ca: trustme.CA
) -> None:
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    reader = client_ca.issue_cert("reader@example.com")
    reader.private_key_and_cert_chain_pem.write_to_path(str(folder / "reader.pem"))
    access = Access(user_thumbprints=frozenset({sha1(reader.cert_chain_pems[0].bytes())}))
    (folder / "sfdeclare.yaml").write_text("")
    with Cluster(folder, ca.issue_cert("127.0.0.1"), client_ca, access) as url:
        code, err = plan(folder, url, "    ca_bundle: ca.pem\n    client_cert: reader.pem\n")
        assert code == 0, err  # reads work
        out = io.StringIO()
        code = main(["apply", "sfdeclare.yaml", "--auto-approve"], out=out, err=io.StringIO())
    assert code == 1
    assert (
        "failed: create_policy policy[Daily]: E_ACCESSDENIED: Access Denied. -- writes are refused to the client "
        "certificate reader.pem while reads work: a read-only credential (the User role may only GET); use an "
        "admin client certificate or the Admin app role"
    ) in out.getvalue().splitlines()
