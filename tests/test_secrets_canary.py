"""Secrets canary: every command, every output format, every file written, --debug, and the errors raised while
a secret is in a request. The canary values never appear in stdout, stderr or any file sfdeclare writes; the
cluster receives the real values."""

from __future__ import annotations

import functools
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faulty_server_support import FaultyServer, Rule

from sfdeclare.cli import main
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

MARK = "SECRET-CANARY"
STORE = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={MARK}-STORE-0001"
PASSWORD = f"{MARK}-PASSWORD-0002"
SECOND = f"{MARK}-SECOND-0003"
TOKEN = f"{MARK}-TOKEN-0004"

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - {name: fabric:/CalcApp/CalcService, kind: Stateful, partitions: 2}
      - {name: fabric:/CalcApp/Reporting, kind: Stateful, partitions: 1}
"""

CONFIG = r"""version: 1
cluster:
  token: ${env:CANARY_TOKEN}
policies:
  Blob:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:CANARY_STORE}", ContainerName: backups}
  Share:
    MaxIncrementalBackups: 2
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT12H}
    Storage:
      StorageKind: FileShare
      Path: \\nas01\sf-backups
      PrimaryUserName: backup
      PrimaryPassword: ${file:password.txt}
      SecondaryUserName: backup2
      SecondaryPassword: ${env:CANARY_SECOND}
applications:
  CalcApp:
    policy: Blob
    services:
      CalcService:
        policy: Share
      Reporting:
        suspended: true
"""

STATE_FILES = ("cluster.state", "cluster.state-wal", "cluster.state-shm", "password.txt")


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "cluster.state"), str(tmp_path / "topology.yaml"))
    (tmp_path / "sfdeclare.yaml").write_text(CONFIG)
    (tmp_path / "password.txt").write_text(PASSWORD + "\n")
    monkeypatch.setenv("CANARY_STORE", STORE)
    monkeypatch.setenv("CANARY_SECOND", SECOND)
    monkeypatch.setenv("CANARY_TOKEN", TOKEN)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.delenv("SFDECLARE_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sfd(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert MARK not in text, f"a secret leaked from {args}:\n{text}"
    assert "Traceback" not in text or "--debug" in args or args[0] == "--debug"
    return code, text


def assert_no_file_holds_a_secret(folder: Path) -> int:
    """Every file under ``folder`` except the cluster's own state and the secret's source; returns the count."""
    checked = 0
    for path in folder.rglob("*"):
        if path.is_file() and path.name not in STATE_FILES:
            assert MARK.encode() not in path.read_bytes(), f"{path.name} holds a secret"
            checked += 1
    return checked


def stored_policies(state: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        return {name: json.loads(body) for name, body in conn.execute("SELECT name, body FROM policies")}


def assert_cluster_holds_the_real_values(state: Path) -> None:
    policies = stored_policies(state)
    assert policies["Blob"]["Storage"]["ConnectionString"] == STORE
    assert policies["Share"]["Storage"]["PrimaryPassword"] == PASSWORD
    assert policies["Share"]["Storage"]["SecondaryPassword"] == SECOND


@pytest.mark.timeout(60)
@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_no_command_or_format_or_file_shows_a_secret(
    folder: Path, debug: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if debug:
        monkeypatch.setenv("SFDECLARE_DEBUG", "1")
    ep = ["--endpoint", f"emulator:{folder / 'cluster.state'}"]
    cfg = "sfdeclare.yaml"
    for fmt in ("text", "json", "github"):
        assert sfd(*debug, "validate", cfg, "--format", fmt)[0] == 0
    for fmt in ("text", "json", "markdown", "github"):
        assert sfd(*debug, "plan", cfg, *ep, "--format", fmt)[0] == 0
    assert sfd(*debug, "plan", cfg, *ep, "--out", "reviewed.json")[0] == 0
    code, text = sfd(*debug, "apply", "--plan", "reviewed.json", cfg, *ep, "--report", "first.json")
    assert code == 0, text
    assert_cluster_holds_the_real_values(folder / "cluster.state")
    for fmt, name in (("json", "r.json"), ("junit", "r.xml"), ("markdown", "r.md")):
        code, text = sfd(
            *debug,
            "apply",
            cfg,
            *ep,
            "--auto-approve",
            "--refresh-secrets",
            "--report",
            name,
            "--report-format",
            fmt,
        )
        assert code == 0, text
        assert "2 applied" in text  # both policies re-sent with their real secrets
    assert sfd(*debug, "plan", cfg, *ep, "--refresh-secrets", "--out", "rotation.json")[0] == 0
    for fmt in ("text", "json", "markdown"):
        assert sfd(*debug, "drift", cfg, *ep, "--format", fmt)[0] == 0
    for fmt in ("text", "json", "markdown"):
        assert sfd(*debug, "status", cfg, *ep, "--format", fmt)[0] in (0, 2)
    assert sfd(*debug, "import", *ep)[0] == 0
    assert sfd(*debug, "import", *ep, "--output", "imported.yaml")[0] == 0
    assert sfd(*debug, "explain", cfg, "service[fabric:/CalcApp/CalcService]", *ep)[0] == 0
    assert_cluster_holds_the_real_values(folder / "cluster.state")
    assert assert_no_file_holds_a_secret(folder) >= 9


@pytest.fixture()
def served(folder: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(str(folder / "cluster.state")) as server:
        yield server


@pytest.mark.timeout(30)
@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
@pytest.mark.parametrize("fault", ["echo_400", "reset_before_answer", "reset_mid_response", "html_500"])
def test_an_error_while_a_secret_is_in_the_request_never_shows_it(
    folder: Path, served: EmulatorServer, fault: str, debug: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sfdeclare.cluster.client.RetryPolicy", functools.partial(RetryPolicy, base_delay=0.001)
    )
    rules = [Rule("POST", "/$/Create", fault), Rule("POST", "/$/Update", fault)]
    with FaultyServer(served, rules) as chaos:
        code, text = sfd(
            *debug,
            "apply",
            "sfdeclare.yaml",
            "--endpoint",
            chaos.url,
            "--auto-approve",
            "--report",
            "failed.json",
        )
        sent = [r.body for r in chaos.received if r.path.startswith("/BackupRestore/BackupPolicies/$/Create")]
    assert code == 1
    assert "failed: create_policy policy[Blob]" in text and "failed: create_policy policy[Share]" in text
    # the cluster (here the emulator, misbehaving) was sent the real values
    assert any(STORE.encode() in body for body in sent)
    assert any(PASSWORD.encode() in body and SECOND.encode() in body for body in sent)
    if fault == "echo_400":
        assert "The request body is invalid: " in text  # the server's message is shown, scrubbed
    assert assert_no_file_holds_a_secret(folder) >= 1
    assert stored_policies(folder / "cluster.state") == {}


@pytest.mark.timeout(30)
def test_the_echoed_message_is_scrubbed_not_dropped(folder: Path, served: EmulatorServer) -> None:
    with FaultyServer(served, [Rule("POST", "/$/Create", "echo_400")]) as chaos:
        code, text = sfd("apply", "sfdeclare.yaml", "--endpoint", chaos.url, "--auto-approve")
    assert code == 1
    assert '"ConnectionString":"****"' in text or "ConnectionString" in text
    assert "AccountKey=" not in text


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", ["echo_400", "echo_account_key_400"])
def test_secrets_the_server_echoes_escaped_or_in_part_are_scrubbed(
    folder: Path, served: EmulatorServer, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON escapes quotes, backslashes and non-ASCII in the body it echoes; a server may quote one part of a
    connection string (its AccountKey) alone. Neither form may pass."""
    tricky = f'{MARK}-"quoted"\\back\\slash-\u00e9t\u00e9-\u2603'
    (folder / "password.txt").write_text(tricky + "\n")
    monkeypatch.setenv(
        "CANARY_STORE", f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={MARK}Key01=="
    )
    with FaultyServer(served, [Rule("POST", "/$/Create", fault)]) as chaos:
        out, err = io.StringIO(), io.StringIO()
        code = main(["apply", "sfdeclare.yaml", "--endpoint", chaos.url, "--auto-approve"], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert code == 1
    assert "InvalidArgument" in text or "FABRIC_E_INVALID_ARGUMENT" in text, text
    assert MARK not in text, text
    assert "Key01" not in text and "quoted" not in text and "slash" not in text, text


MISTAKES = r"""version: 1
policies:
  Share:
    MaxIncrementalBackups: 2
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT12H}
    Storage:
      StorageKind: FileShare
      Path: \\nas01\sf-backups
      PrimaryUserName: backup
      PrimaryPassword: 98765432198765
      SecondaryUserName: backup2
      SecondaryPassword: [SECRET-CANARY-LIST]
  Blob:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "SECRET-CANARY-LITERAL${env:X", ContainerName: c}
  Blob2:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: {SECRET-CANARY-KEY: 1}, ContainerName: c}
  Blob3:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "SECRET-CANARY-LITERAL-VALUE", ContainerName: c}
"""


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_a_secret_written_into_the_file_by_mistake_is_refused_without_quoting_it(
    folder: Path, fmt: str
) -> None:
    (folder / "mistakes.yaml").write_text(MISTAKES)
    code, text = sfd("validate", "mistakes.yaml", "--format", fmt)
    assert code == 1
    assert "98765432198765" not in text
    assert text.count("ConnectionString") >= 3 and "PrimaryPassword" in text and "SecondaryPassword" in text


@pytest.mark.timeout(30)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_server_that_echoes_the_bearer_token_does_not_leak_it(
    folder: Path, served: EmulatorServer, command: str
) -> None:
    with FaultyServer(served, [Rule("GET", "/BackupRestore/BackupPolicies", "echo_headers_401")]) as chaos:
        extra = ["--auto-approve"] if command == "apply" else []
        code, text = sfd("--debug", command, "sfdeclare.yaml", "--endpoint", chaos.url, *extra)
        seen = [r for r in chaos.received if r.path.startswith("/BackupRestore/BackupPolicies")]
    assert code == 1
    assert "GetBackupPolicyList: 401 FABRIC_E_ACCESS_DENIED: Access denied" in text
    assert seen  # the token was sent (and echoed back), only never shown


@pytest.mark.timeout(30)
def test_a_write_rejected_with_the_token_echoed_does_not_leak_it(
    folder: Path, served: EmulatorServer
) -> None:
    with FaultyServer(served, [Rule("POST", "/$/Create", "echo_headers_401")]) as chaos:
        code, text = sfd("apply", "sfdeclare.yaml", "--endpoint", chaos.url, "--auto-approve")
    assert code == 1
    assert "failed: create_policy policy[Blob]" in text and "Access denied" in text


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "token", [f"{MARK}\r\nX-Injected: 1", f"{MARK}-\u00fcn\u00efc\u00f6d\u00e9", f"{MARK} with space", ""]
)
def test_a_token_that_cannot_be_a_header_is_refused_unsent_and_unshown(
    folder: Path, served: EmulatorServer, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANARY_TOKEN", token)
    with FaultyServer(served) as chaos:
        code, text = sfd("--debug", "plan", "sfdeclare.yaml", "--endpoint", chaos.url)
        assert chaos.received == []
    assert code == 1
    assert "sfdeclare.yaml:2:1: error: cluster.token (${env:CANARY_TOKEN}) resolves to " in text, text


# --- credentials of the cluster itself: a PFX password, an Entra ID client secret, private keys, tokens ------

PFX_PASSWORD = f"{MARK}-PFX-0009"
CLIENT_SECRET = f"{MARK}-CLIENT-SECRET-0010"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_cluster_credentials_never_show_in_any_output_file_or_report(
    folder: Path, debug: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster reached over mutual TLS with a PFX (its password by reference) and Entra ID tokens got with a
    client secret: neither secret, no private key and no acquired token appears anywhere, --debug included."""
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from entra_support import CLIENT_APP, CLUSTER_APP, TENANT, Authority, Registered

    from sfdeclare.emulator.auth import AadSetup, Access

    server_ca, client_ca = trustme.CA(), trustme.CA()
    server_ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server_ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    client_ca.cert_pem.write_to_path(str(folder / "client-ca.pem"))
    admin = client_ca.issue_cert("admin@example.com")
    key = serialization.load_pem_private_key(admin.private_key_pem.bytes(), password=None)
    (folder / "admin.pfx").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"admin",
            key,  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(admin.cert_chain_pems[0].bytes()),
            None,
            serialization.BestAvailableEncryption(PFX_PASSWORD.encode()),
        )
    )
    key_body = admin.private_key_pem.bytes().decode().splitlines()[1]
    monkeypatch.setenv("CANARY_PFX", PFX_PASSWORD)
    monkeypatch.setenv("CANARY_CLIENT_SECRET", CLIENT_SECRET)
    private_tmp = folder / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(private_tmp))
    if debug:
        monkeypatch.setenv("SFDECLARE_DEBUG", "1")
    with Authority(folder) as authority:
        authority.clients["app-admin"] = Registered(CLIENT_SECRET, ["Admin"])
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.ca_path))
        aad = AadSetup(TENANT, CLUSTER_APP, CLIENT_APP, authority.url, authority.public_key_pem)
        with EmulatorServer(
            str(folder / "cluster.state"),
            tls_cert=str(folder / "server.pem"),
            tls_key=str(folder / "server.pem"),
            client_ca=str(folder / "client-ca.pem"),
            access=Access(aad=aad),
        ) as server:
            cluster = (
                "cluster:\n"
                f"  endpoint: {server.url}\n"
                "  auth: {kind: entra, credential: client_secret, client_id: app-admin, "
                f"client_secret: '${{env:CANARY_CLIENT_SECRET}}', authority: '{authority.url}'}}\n"
                "  tls: {ca_bundle: ca.pem, client_cert: admin.pfx, client_cert_password: '${env:CANARY_PFX}'}\n"
            )
            (folder / "sfdeclare.yaml").write_text(
                CONFIG.replace("cluster:\n  token: ${env:CANARY_TOKEN}\n", cluster)
            )
            outputs: list[str] = []
            for args in (
                ["plan", "sfdeclare.yaml", "--out", "plan.json"],
                ["apply", "sfdeclare.yaml", "--auto-approve", "--report", "r.json"],
                [
                    "apply",
                    "sfdeclare.yaml",
                    "--auto-approve",
                    "--report",
                    "r.xml",
                    "--report-format",
                    "junit",
                ],
                ["drift", "sfdeclare.yaml", "--format", "markdown"],
                ["status", "sfdeclare.yaml", "--format", "markdown"],
                ["explain", "sfdeclare.yaml", "service[fabric:/CalcApp/CalcService]"],
            ):
                code, text = sfd(*debug, *args)
                assert code == 0, text
                outputs.append(text)
        issued = list(authority.issued)
    assert issued, "no token was acquired"
    everything = "\n".join(outputs)
    assert key_body not in everything and "PRIVATE KEY" not in everything
    for token in issued:
        assert token not in everything and token.split(".")[2] not in everything
    assert list(private_tmp.iterdir()) == [], "a one-time key file was left behind"
    for path in folder.rglob("*"):
        if path.is_file() and path.name not in (*STATE_FILES, "admin.pfx", "server.pem"):
            data = path.read_bytes()
            assert MARK.encode() not in data and key_body.encode() not in data, path.name
            assert not any(token.encode() in data for token in issued), path.name
