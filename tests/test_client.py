"""The client against scripted httpx.MockTransport answers: paging, errors, retries, secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sfdeclare.cluster.client import Client, Reply
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands.session import connect
from sfdeclare.errors import ClusterError, ClusterRequestError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ClusterSettings, TlsSettings
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService
from sfdeclare.servicefabric import routes

APP = EntityRef("fabric:/A")
SVC = EntityRef("fabric:/A", "fabric:/A/S")
PART = EntityRef("fabric:/A", "fabric:/A/S", "p1")

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests in order, recording each one."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def body(self, index: int) -> Any:
        return json.loads(self.seen[index].content) if self.seen[index].content else None


def fabric(status: int, code: str, message: str = "m", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"Error": {"Code": code, "Message": message}}, headers=headers)


def make(
    script: Script,
    *,
    sleeps: list[float] | None = None,
    settings: ClusterSettings | None = None,
    env: dict[str, str] | None = None,
    **retry: Any,
) -> Client:
    record = sleeps if sleeps is not None else []
    policy = RetryPolicy(sleep=record.append, random=lambda: 0.5, clock=lambda: 0.0, **retry)
    return connect(
        "http://cluster:19080",
        settings=settings,
        env=env or {},
        retry=policy,
        transport=httpx.MockTransport(script),
    )


def page(items: list[Any], token: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"ContinuationToken": token, "Items": items})


def test_send_builds_the_exact_request() -> None:
    script = Script(httpx.Response(202))
    with make(script) as client:
        reply = client.enable_backup(SVC, "daily")
    assert reply == Reply(202, None, 1, False)
    sent = script.seen[0]
    assert sent.method == "POST"
    assert sent.url.raw_path == b"/Services/A/S/$/EnableBackup?api-version=6.4&timeout=60"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {"BackupPolicyName": "daily"}
    assert client.requests == 1


def test_quoted_paths_are_not_quoted_twice() -> None:
    script = Script(httpx.Response(200))
    with make(script) as client:
        client.delete_policy("a b$c")
    assert script.seen[0].url.raw_path.startswith(b"/BackupRestore/BackupPolicies/a%20b%24c/$/Delete?")


def test_continuation_tokens_are_quoted_and_followed() -> None:
    script = Script(
        page([{"Name": "a", "MaxIncrementalBackups": 1}], "a+O"),
        page([{"Name": "b", "Storage": {"ConnectionString": "****"}}], ""),
    )
    with make(script) as client:
        policies = client.list_policies()
    assert policies == {"a": {"MaxIncrementalBackups": 1}, "b": {"Storage": {"ConnectionString": "****"}}}
    assert script.seen[1].url.params["ContinuationToken"] == "a+O"
    assert b"ContinuationToken=a%2BO" in script.seen[1].url.raw_path
    assert client.requests == 2


@pytest.mark.parametrize(
    "last", [{"Items": []}, {"ContinuationToken": None, "Items": []}, {"ContinuationToken": "", "Items": []}]
)
def test_every_end_of_list_form(last: dict[str, Any]) -> None:
    script = Script(page([], "t1"), httpx.Response(200, json=last))
    with make(script) as client:
        assert client.list_applications() == []
    assert len(script.seen) == 2


def test_a_repeated_token_is_an_error_not_a_loop() -> None:
    script = Script(page([], "t"), page([], "t"))
    with make(script) as client, pytest.raises(ClusterError, match="repeated a continuation token"):
        client.list_policies()


def test_get_policy_missing_in_either_spelling() -> None:
    script = Script(
        fabric(404, "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"),
        fabric(404, "FABRIC_E_BACKUP_POLICY_NOT_EXISTING"),
        httpx.Response(200, json={"Name": "p", "MaxIncrementalBackups": 2}),
    )
    with make(script) as client:
        assert client.get_policy("p") is None
        assert client.get_policy("p") is None
        assert client.get_policy("p") == {"MaxIncrementalBackups": 2}


def test_create_conflict_is_normalised() -> None:
    script = Script(
        fabric(409, "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING", "Fabric Backup Policy already exists.")
    )
    with make(script) as client, pytest.raises(ClusterRequestError) as info:
        client.create_policy("p", {"MaxIncrementalBackups": 1})
    err = info.value
    assert (err.status, err.code, err.transient, err.attempts, err.ambiguous) == (
        409,
        "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS",
        False,
        1,
        False,
    )
    assert str(err) == (
        "CreateBackupPolicy policy[p]: 409 FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS: "
        "Fabric Backup Policy already exists."
    )


def test_secret_references_resolve_only_at_send_time() -> None:
    script = Script(httpx.Response(201), httpx.Response(201))
    body = {
        "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:CS}", "ContainerName": "c"}
    }
    req = routes.create_policy("p", body, routes.ApiOptions())
    with make(script, env={"CS": "client-env-secret"}) as client:
        client.send(req)
        client.send(req, secrets_env={"CS": "given-secret"})
    assert script.body(0)["Storage"]["ConnectionString"] == "client-env-secret"
    assert script.body(1)["Storage"]["ConnectionString"] == "given-secret"
    assert req.body is not None and req.body["Storage"]["ConnectionString"] == "${env:CS}"


def test_missing_secret_refuses_before_sending() -> None:
    script = Script()
    req = routes.create_policy("p", {"Storage": {"ConnectionString": "${env:NOPE}"}}, routes.ApiOptions())
    with make(script) as client, pytest.raises(Exception, match=r"NOPE is not set"):
        client.send(req)
    assert script.seen == []


def test_a_secret_echoed_by_the_server_is_scrubbed() -> None:
    script = Script(fabric(400, "E_INVALIDARG", "bad connection string s3cr3t-value in request"))
    req = routes.create_policy("p", {"Storage": {"ConnectionString": "${env:CS}"}}, routes.ApiOptions())
    with make(script, env={"CS": "s3cr3t-value"}) as client, pytest.raises(ClusterError) as info:
        client.send(req)
    assert "s3cr3t-value" not in str(info.value)
    assert "****" in str(info.value)


def test_invalid_api_version_names_the_setting() -> None:
    script = Script(fabric(400, "E_INVALIDARG", "Invalid API Version"))
    with make(script) as client, pytest.raises(ClusterError) as info:
        client.suspend_backup(APP)
    assert 'set cluster.api_version to "6.2-preview" for 6.2/6.3 runtimes' in str(info.value)
    assert "refused api-version 6.4" in str(info.value)
    preview = ClusterSettings(api_version="6.2-preview")
    script = Script(fabric(400, "E_INVALIDARG", "Invalid API Version"))
    with make(script, settings=preview) as client, pytest.raises(ClusterError) as info:
        client.disable_backup(SVC)
    assert 'set cluster.api_version to "6.4"' in str(info.value)
    assert script.seen[0].content == b""
    assert script.seen[0].headers["Content-Length"] == "0"  # HTTP.sys answers 411 to a POST without it


def test_configuration_info_empty_forms() -> None:
    script = Script(fabric(404, "FABRIC_E_BACKUP_NOT_ENABLED"), httpx.Response(200, json=None))
    with make(script) as client:
        assert client.configuration_info(APP) == []
        assert client.configuration_info(PART) == []
    assert "ContinuationToken" not in script.seen[1].url.params


def test_configuration_info_pages_and_other_404s_raise() -> None:
    item = {
        "Kind": "Service",
        "ServiceName": "fabric:/A/S",
        "PolicyName": "p",
        "PolicyInheritedFrom": "Service",
        "SuspensionInfo": {"IsSuspended": False, "SuspensionInheritedFrom": "Invalid"},
    }
    other = dict(item, ServiceName="fabric:/A2/S")
    script = Script(page([item], "fabric:/A/S+O"), page([other]), fabric(404, "FABRIC_E_PARTITION_NOT_FOUND"))
    with make(script) as client:
        items = client.configuration_info(APP)
        assert [(i.ref, i.explicit_policy) for i in items] == [(SVC, "p")]
        with pytest.raises(ClusterError, match="FABRIC_E_PARTITION_NOT_FOUND"):
            client.configuration_info(PART)


def test_queries_parse_into_the_model() -> None:
    script = Script(
        page([{"Id": "A", "Name": "fabric:/A", "TypeName": "T"}]),
        page([{"Name": "fabric:/A/S", "ServiceKind": "Stateful", "HasPersistedState": True}]),
        page(
            [
                {
                    "PartitionInformation": {
                        "ServicePartitionKind": "Int64Range",
                        "Id": "p1",
                        "LowKey": "0",
                        "HighKey": "9",
                    }
                }
            ]
        ),
        page([{"EntityKind": "Partition", "ServiceName": "fabric:/A/S", "PartitionId": "p1"}]),
        httpx.Response(204),
        httpx.Response(200, json={"PartitionInformation": {"ServicePartitionKind": "Singleton", "Id": "p9"}}),
    )
    with make(script) as client:
        assert client.list_applications() == [LiveApplication("fabric:/A", "T")]
        assert client.list_services("fabric:/A") == [LiveService("fabric:/A/S", "Stateful", True)]
        assert client.list_partitions("fabric:/A/S") == [LivePartition("p1", "Int64Range", 0, 9)]
        assert client.policy_entities("p") == [PART]
        assert client.get_service("fabric:/A", "fabric:/A/S") is None
        assert client.get_partition("p9") == LivePartition("p9", "Singleton")
    paths = [r.url.path for r in script.seen]
    assert paths[:3] == ["/Applications", "/Applications/A/$/GetServices", "/Services/A~S/$/GetPartitions"]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (httpx.Response(200, json={"Items": "x"}), "Items is not a list"),
        (httpx.Response(200, content=b"<xml/>"), "not JSON"),
        (httpx.Response(200, json=[1]), "not a JSON object"),
    ],
)
def test_wrong_shapes_are_clear_errors(response: httpx.Response, problem: str) -> None:
    with make(Script(response)) as client, pytest.raises(ClusterError) as info:
        client.list_services("fabric:/A")
    assert str(info.value).startswith("GetServiceInfoList application[fabric:/A]: 200: unexpected reply")
    assert problem in str(info.value)


def test_error_without_fabric_body() -> None:
    with (
        make(Script(httpx.Response(502, text="<html>bad gateway</html>"))) as client,
        pytest.raises(ClusterError) as info,
    ):
        client.list_policies()
    assert str(info.value) == (
        "GetBackupPolicyList: 502: HTTP 502 without a Service Fabric error body (is the endpoint a Service Fabric cluster?)"
    )
    # a refused write: the client probes a query route and a backup read with the same credential (both work)
    script = Script(fabric(403, "E_ACCESSDENIED", "Access Denied."), httpx.Response(200, json={}), page([]))
    with make(script) as client, pytest.raises(ClusterError) as info:
        client.suspend_backup(APP)
    assert info.value.code == "E_ACCESSDENIED"
    assert [r.url.path for r in script.seen[1:]] == ["/$/GetClusterVersion", "/BackupRestore/BackupPolicies"]
    assert str(info.value).endswith(
        "Access Denied. -- writes are refused to a caller without credentials (set cluster.tls.client_cert or "
        "cluster.auth) while reads work: a read-only credential (the User role may only GET); use an admin "
        "client certificate or the Admin app role"
    )


def test_bearer_token_from_env() -> None:
    script = Script(page([]))
    settings = ClusterSettings(token="${env:TOK}")
    messages: list[str] = []
    client = connect(
        "http://cluster:1",
        settings=settings,
        env={"TOK": "abc"},
        transport=httpx.MockTransport(script),
        warn=messages.append,
    )
    with client:
        client.list_applications()
    assert script.seen[0].headers["Authorization"] == "Bearer abc"
    assert messages == ["warning: sending cluster.token over plain http to http://cluster:1"]


# --- retries ---------------------------------------------------------------------------------------------


def test_503_then_success() -> None:
    sleeps: list[float] = []
    script = Script(fabric(503, "FABRIC_E_NOT_PRIMARY"), httpx.Response(202))
    with make(script, sleeps=sleeps) as client:
        reply = client.suspend_backup(SVC)
    assert reply == Reply(202, None, attempts=2, ambiguous=False)
    assert sleeps == [0.1]  # full jitter: 0.5 * 0.2
    assert client.requests == 2


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    script = Script(httpx.Response(429, headers={"Retry-After": "3"}), page([]))
    with make(script, sleeps=sleeps) as client:
        client.list_policies()
    assert sleeps == [3.0]


def test_transient_500_codes_retry_and_others_do_not() -> None:
    sleeps: list[float] = []
    script = Script(
        fabric(500, "FABRIC_E_NOT_READY"),
        fabric(500, "E_UNEXPECTED", "must connect to the BRS primary"),  # retried too (codes.py)
        fabric(500, "FABRIC_E_RESTORE_SAFE_CHECK_FAILED", "boom"),
    )
    with make(script, sleeps=sleeps) as client, pytest.raises(ClusterRequestError) as info:
        client.list_policies()
    assert len(sleeps) == 2
    assert (info.value.attempts, info.value.transient, info.value.code) == (
        3,
        False,
        "FABRIC_E_RESTORE_SAFE_CHECK_FAILED",
    )


def test_a_400_is_not_retried() -> None:
    sleeps: list[float] = []
    script = Script(fabric(400, "E_INVALIDARG", "Invalid Arguments."))
    with make(script, sleeps=sleeps) as client, pytest.raises(ClusterRequestError) as info:
        client.create_policy("p", {})
    assert sleeps == []
    assert info.value.attempts == 1
    assert client.requests == 1


def test_attempts_exhausted() -> None:
    sleeps: list[float] = []
    script = Script(*[fabric(503, "FABRIC_E_NOT_READY", "not ready")] * 3)
    with make(script, sleeps=sleeps, max_attempts=3) as client, pytest.raises(ClusterRequestError) as info:
        client.list_policies()
    err = info.value
    assert str(err) == "GetBackupPolicyList: 503 FABRIC_E_NOT_READY: not ready (gave up after 3 attempts)"
    assert (err.attempts, err.transient) == (3, True)
    assert len(sleeps) == 2


def test_total_timeout_bounds_retries() -> None:
    sleeps: list[float] = []
    script = Script(httpx.Response(503, headers={"Retry-After": "120"}))
    with make(script, sleeps=sleeps) as client, pytest.raises(ClusterRequestError) as info:
        client.list_policies()
    assert sleeps == []
    assert info.value.attempts == 1


def test_connection_error_then_success_is_not_ambiguous() -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"), httpx.Response(202))
    with make(script) as client:
        assert client.enable_backup(APP, "p") == Reply(202, None, 2, False)


def test_a_write_retried_after_a_broken_answer_is_ambiguous() -> None:
    script = Script(httpx.ReadError("connection reset"), fabric(409, "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS"))
    with make(script) as client, pytest.raises(ClusterRequestError) as info:
        client.create_policy("p", {})
    assert (info.value.ambiguous, info.value.attempts, info.value.status) == (True, 2, 409)
    script = Script(fabric(504, "FABRIC_E_TIMEOUT"), httpx.Response(202))
    with make(script) as client:
        assert client.enable_backup(APP, "p") == Reply(202, None, 2, True)


def test_reads_are_never_ambiguous() -> None:
    script = Script(httpx.ReadTimeout("slow"), page([]))
    with make(script) as client:
        reply = client.send(routes.list_policies(routes.ApiOptions()))
    assert (reply.attempts, reply.ambiguous) == (2, False)


def test_transport_errors_give_up_with_a_clear_line() -> None:
    script = Script(*[httpx.ConnectError("refused")] * 2)
    with make(script, max_attempts=2) as client, pytest.raises(ClusterRequestError) as info:
        client.list_policies()
    assert str(info.value).startswith("GetBackupPolicyList: cannot connect to http://cluster:19080: refused")
    assert str(info.value).endswith("(gave up after 2 attempts)")


def test_tls_settings_on_plain_http_are_reported_unused() -> None:
    messages: list[str] = []
    settings = ClusterSettings(tls=TlsSettings(ca_bundle="ca.pem"))
    with connect("http://cluster:1", settings=settings, env={}, warn=messages.append):
        pass
    assert messages == ["warning: cluster.tls is set but http://cluster:1 is plain http: it is not used"]
