"""Entra ID through the CLI, all on loopback: the emulator publishes GetAadMetadata and checks bearer tokens
(signature, audience, issuer, expiry, role) of a local test authority (entra_support.py), and the real
azure-identity client-secret path gets them. Discovery, acquisition, refresh during a long apply, and each
refusal; no secret or token is ever printed."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from entra_support import CLIENT_APP, CLUSTER_APP, TENANT, Authority, Registered

from sfdeclare.cli import main
from sfdeclare.emulator.auth import AadSetup, Access
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

SECRET = "SECRET-CANARY-client-secret-0007"
APPS = 6
TOPOLOGY = "applications:\n" + "".join(
    f"  - name: fabric:/App{a}\n    services:\n      - {{name: fabric:/App{a}/Store, kind: Stateful, partitions: 1}}\n"
    for a in range(APPS)
)
POLICIES = """policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\share\\\\backups'}
applications:
""" + "".join(f"  App{a}:\n    policy: Daily\n" for a in range(APPS))


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "cluster.state"), str(tmp_path / "topology.yaml"))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SFDECLARE_ENDPOINT", "SFDECLARE_DEBUG", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SF_CLIENT_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture()
def authority(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Authority]:
    with Authority(folder) as running:
        running.clients["app-admin"] = Registered(SECRET, ["Admin"])
        running.clients["app-reader"] = Registered(SECRET, ["User"])
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_path))  # azure-core trusts the test authority
        yield running


def serve(folder: Path, authority: Authority, **options: object) -> EmulatorServer:
    aad = AadSetup(TENANT, CLUSTER_APP, CLIENT_APP, authority.url, authority.public_key_pem)
    return EmulatorServer(str(folder / "cluster.state"), access=Access(aad=aad), **options)  # type: ignore[arg-type]


def write_config(folder: Path, endpoint: str, auth: str) -> None:
    (folder / "sfdeclare.yaml").write_text(
        f"version: 1\ncluster:\n  endpoint: {endpoint}\n  auth:\n{auth}{POLICIES}"
    )


def auth_lines(authority: Authority, client_id: str = "app-admin", extra: str = "") -> str:
    return (
        "    kind: entra\n    credential: client_secret\n"
        f"    client_id: {client_id}\n    client_secret: ${{env:SF_CLIENT_SECRET}}\n"
        f"    authority: {authority.url}\n{extra}"
    )


def sfd(authority: Authority | None, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert SECRET not in text, text
    for token in authority.issued if authority else []:
        assert token not in text and token.split(".")[2] not in text, "an acquired token was printed"
    return code, out.getvalue(), err.getvalue()


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.startswith("warning: sending Entra ID tokens")]


def test_discovery_and_acquisition_then_plan_and_apply(folder: Path, authority: Authority) -> None:
    with serve(folder, authority) as cluster:
        write_config(folder, cluster.url, auth_lines(authority))  # tenant and cluster application: discovered
        code, out, err = sfd(
            authority, "--debug", "apply", "sfdeclare.yaml", "--auto-approve", "--report", "r.json"
        )
        assert code == 0, err
        stats = cluster.app.stats.snapshot() if cluster.app else {}
    assert f"Apply complete: {APPS + 1} applied" in out
    assert authority.issued, "no token was acquired"
    assert f"POST /{TENANT}/oauth2/v2.0/token" in authority.requests
    assert "unauthorized" not in stats.get("requests", stats), stats
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".md", ".xml"):
            text = path.read_text(errors="replace")
            assert SECRET not in text and not any(t in text for t in authority.issued), path


def test_a_short_lived_token_is_refreshed_during_a_long_apply(folder: Path, authority: Authority) -> None:
    """Tokens live 1.5 s; at 60 ms a request (a floor), one at a time, the apply's 30-odd requests take over 2 s,
    so the first token expires mid-run: each is replaced before it expires, the cluster never refuses one, and
    the run completes."""
    authority.lifetime = 1.5
    with serve(folder, authority, latency_ms=60) as cluster:
        write_config(folder, cluster.url, auth_lines(authority))
        code, out, err = sfd(authority, "apply", "sfdeclare.yaml", "--auto-approve", "--parallelism", "1")
        assert code == 0, err
        snapshot = cluster.app.stats.snapshot() if cluster.app else {}
    assert f"Apply complete: {APPS + 1} applied" in out
    assert len(authority.issued) >= 2, "the token was never refreshed"
    assert "unauthorized" not in str(snapshot), snapshot  # never an expired token sent


def test_a_login_host_only_the_cluster_names_is_not_trusted(folder: Path, authority: Authority) -> None:
    with serve(folder, authority) as cluster:
        write_config(
            folder,
            cluster.url,
            "    kind: entra\n    credential: client_secret\n    client_id: app-admin\n"
            "    client_secret: ${env:SF_CLIENT_SECRET}\n",
        )
        code, _, err = sfd(authority, "plan", "sfdeclare.yaml")
    assert code == 1
    assert errors(err) == [
        f"error: the cluster names the login host {authority.url}, which is not a known Entra ID host: set "
        "cluster.auth.authority to it if you trust it (a credential is never sent to a host the cluster alone "
        "names)"
    ]
    assert authority.requests == []  # the secret went nowhere


def test_a_wrong_client_secret_is_one_line_with_the_authoritys_reason(
    folder: Path, authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_CLIENT_SECRET", "SECRET-CANARY-wrong-0008")
    with serve(folder, authority) as cluster:
        write_config(folder, cluster.url, auth_lines(authority))
        code, _, err = sfd(authority, "plan", "sfdeclare.yaml")
    assert code == 1
    lines = errors(err)
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"error: cannot get a token for the cluster from {authority.url}/{TENANT} with Entra ID (client_secret "
        "credential, client id app-admin): "
    ), lines
    assert "AADSTS7000215" in lines[0] and "SECRET-CANARY-wrong" not in err


def test_a_token_for_another_audience_is_refused_by_the_cluster_with_its_reason(
    folder: Path, authority: Authority
) -> None:
    with serve(folder, authority) as cluster:
        write_config(folder, cluster.url, auth_lines(authority, extra="    cluster_application: other-app\n"))
        code, _, err = sfd(authority, "plan", "sfdeclare.yaml")
    assert code == 1
    lines = errors(err)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert lines[0].endswith(
        "401: the token's audience other-app is not the cluster application -- the cluster refused the Entra ID "
        "(client_secret credential, client id app-admin) token"
    ), lines
    assert len(authority.issued) >= 2  # the refused token was replaced once before giving up


def test_a_read_only_credential_is_named_as_such(folder: Path, authority: Authority) -> None:
    with serve(folder, authority) as cluster:
        write_config(folder, cluster.url, auth_lines(authority, client_id="app-reader"))
        code, out, _ = sfd(authority, "apply", "sfdeclare.yaml", "--auto-approve")
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("failed: create_policy policy[Daily]: ")]
    assert failed == [
        "failed: create_policy policy[Daily]: E_ACCESSDENIED: Access Denied. -- writes are refused to the Entra ID "
        "(client_secret credential, client id app-reader) token while reads work: a read-only credential (the "
        "User role may only GET); use an admin client certificate or the Admin app role"
    ], out


def test_azure_identity_missing_is_one_line(
    folder: Path, authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import azure.identity raises ImportError
    with serve(folder, authority) as cluster:
        write_config(folder, cluster.url, auth_lines(authority))
        code, _, err = sfd(authority, "plan", "sfdeclare.yaml")
    assert code == 1
    assert errors(err) == [
        "error: cluster.auth kind entra needs azure-identity: pip install 'sfdeclare[entra]'"
    ]


def test_token_and_auth_together_are_refused_at_the_line(folder: Path, authority: Authority) -> None:
    (folder / "sfdeclare.yaml").write_text(
        "version: 1\ncluster:\n  endpoint: http://127.0.0.1:9\n  token: ${env:TOK}\n  auth:\n"
        + auth_lines(authority)
        + POLICIES
    )
    code, _, err = sfd(None, "validate", "sfdeclare.yaml")
    assert code == 1
    assert err.splitlines()[0] == (
        "sfdeclare.yaml:5:3: error: cluster.token and cluster.auth are both set: use one (auth gets and "
        "refreshes Entra ID tokens; token is a static bearer token) ($.cluster.auth)"
    )


def test_each_credential_names_what_it_needs_at_the_line(folder: Path) -> None:
    (folder / "sfdeclare.yaml").write_text(
        "version: 1\ncluster:\n  auth:\n    kind: entra\n    credential: azure_pipelines\n"
        "    client_secret: ${env:X}\n" + POLICIES
    )
    code, _, err = sfd(None, "validate", "sfdeclare.yaml")
    assert code == 1
    lines = err.splitlines()
    assert (
        "sfdeclare.yaml:3:3: error: cluster.auth: credential azure_pipelines needs client_id ($.cluster.auth)"
        in lines
    )
    assert (
        "sfdeclare.yaml:3:3: error: cluster.auth: credential azure_pipelines needs service_connection_id "
        "($.cluster.auth)"
    ) in lines
    assert any(
        "cluster.auth.client_secret is for credential client_secret, not azure_pipelines" in x for x in lines
    )
