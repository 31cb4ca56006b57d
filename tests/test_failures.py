"""failures.py classifies the client's own connections' exceptions (httpcore) and any httpx transport's alike:
each pair gives the same one line, the same retry decision and the same "may have been carried out"."""

from __future__ import annotations

import httpcore
import httpx
import pytest

from sfdeclare.cluster.failures import TRANSPORT_ERRORS, Failure, describe_transport_error
from sfdeclare.model.declaration import TlsSettings

WHERE = "http://127.0.0.1:9"

PAIRS = [
    ("ConnectTimeout", "cannot connect to http://127.0.0.1:9: no answer within 10s", True, False),
    ("PoolTimeout", "cannot connect to http://127.0.0.1:9: no answer within 10s", True, False),
    (
        "ConnectError",
        "cannot connect to http://127.0.0.1:9: no route -- is the cluster endpoint right?",
        True,
        False,
    ),
    ("ReadTimeout", "http://127.0.0.1:9 did not answer within 0.5s", True, True),
    ("WriteTimeout", "http://127.0.0.1:9 did not answer within 0.5s", True, True),
    (
        "ReadError",
        "the connection to http://127.0.0.1:9 broke before an answer arrived (no route)",
        True,
        True,
    ),
    (
        "WriteError",
        "the connection to http://127.0.0.1:9 broke before an answer arrived (no route)",
        True,
        True,
    ),
    (
        "RemoteProtocolError",
        "the connection to http://127.0.0.1:9 broke before an answer arrived (no route)",
        True,
        True,
    ),
    ("LocalProtocolError", "talking to http://127.0.0.1:9 failed: no route", False, True),
    ("UnsupportedProtocol", "talking to http://127.0.0.1:9 failed: no route", False, True),
]


def describe(exc: BaseException) -> Failure:
    return describe_transport_error(exc, where=WHERE, tls=TlsSettings(), connect_timeout=10.0, wait=0.5)


@pytest.mark.parametrize(("name", "message", "retryable", "maybe_sent"), PAIRS)
def test_httpcore_and_httpx_exceptions_of_one_name_read_the_same(
    name: str, message: str, retryable: bool, maybe_sent: bool
) -> None:
    core: type[Exception] = getattr(httpcore, name)
    mapped: type[Exception] = getattr(httpx, name)
    raised = []
    for cls in (core, mapped):
        try:
            try:
                raise OSError("no route")
            except OSError as cause:
                raise cls("wrapped") from cause
        except Exception as exc:
            assert isinstance(exc, TRANSPORT_ERRORS)
            raised.append(describe(exc))
    assert raised[0] == raised[1]
    assert raised[0].retryable is retryable and raised[0].maybe_sent is maybe_sent
    assert raised[0].message.startswith(message), raised[0].message


def test_a_refused_connection_is_named_whatever_raised_it() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as cause:
            raise httpcore.ConnectError("x") from cause
    except httpcore.ConnectError as exc:
        failure = describe(exc)
    assert failure == Failure(
        "cannot connect to http://127.0.0.1:9: connection refused -- is the cluster endpoint right?",
        True,
        False,
    )


def test_a_403_on_reads_too_says_the_cluster_does_not_know_the_credential() -> None:
    from sfdeclare.cluster.failures import refusal_message
    from sfdeclare.servicefabric.replies import FabricError

    message = refusal_message(
        403,
        FabricError("E_ACCESSDENIED", "Access Denied."),
        challenge=None,
        credential="the client certificate admin.pfx",
        write=False,
        backup_route=True,
        reads_ok=False,
        backup_reads_ok=False,
    )
    assert message == (
        "Access Denied. -- the cluster refuses the client certificate admin.pfx for reads too (GetClusterVersion "
        "is refused as well): is it a credential this cluster knows (a client certificate it lists, or an Entra "
        "ID app role)?"
    )


def test_a_401_gives_the_clusters_reason_from_its_challenge() -> None:
    from sfdeclare.cluster.failures import refusal_message

    message = refusal_message(
        401,
        None,
        challenge='Bearer error="invalid_token", error_description="the token is expired"',
        credential="the bearer token cluster.token (${env:SF_TOKEN})",
        write=True,
        backup_route=True,
        reads_ok=None,
        backup_reads_ok=None,
    )
    assert (
        message
        == "the token is expired -- the cluster refused the bearer token cluster.token (${env:SF_TOKEN})"
    )
