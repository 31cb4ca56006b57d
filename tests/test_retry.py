from __future__ import annotations

import email.utils

import pytest

from sfdeclare.cluster.retry import RetryPolicy, parse_retry_after
from sfdeclare.servicefabric.codes import is_ambiguous, is_transient


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, None, True),
        (503, "FABRIC_E_NOT_PRIMARY", True),
        (504, "FABRIC_E_TIMEOUT", True),
        (500, "FABRIC_E_NOT_READY", True),
        (500, "FABRIC_E_RECONFIGURATION_PENDING", True),
        (500, "FABRIC_E_NO_WRITE_QUORUM", True),
        (500, "E_UNEXPECTED", True),  # a node without the BRS primary (codes.py)
        (500, "FABRIC_E_RESTORE_SAFE_CHECK_FAILED", False),
        (500, None, False),
        (400, "E_INVALIDARG", False),
        (404, "FABRIC_E_BACKUP_NOT_ENABLED", False),
        (409, "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS", False),
    ],
)
def test_transient(status: int, code: str | None, expected: bool) -> None:
    assert is_transient(status, code) is expected


def test_ambiguous() -> None:
    assert is_ambiguous(504, None)
    assert is_ambiguous(500, "FABRIC_E_TIMEOUT")
    assert not is_ambiguous(503, "FABRIC_E_NOT_PRIMARY")
    assert not is_ambiguous(429, None)


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("-1") is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1000.0 + 7, usegmt=True)
    assert parse_retry_after(date, now=lambda: 1000.0) == 7.0
    assert parse_retry_after(date, now=lambda: 2000.0) == 0.0


def test_backoff_is_full_jitter_capped() -> None:
    top = RetryPolicy(random=lambda: 1.0)
    assert [top.backoff(n) for n in range(1, 7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
    assert RetryPolicy(random=lambda: 0.5).backoff(3) == 0.4
    assert RetryPolicy(random=lambda: 0.0).backoff(9) == 0.0


def test_budget_bounds_attempts_and_time() -> None:
    now = [0.0]
    policy = RetryPolicy(max_attempts=3, total_timeout=10.0, random=lambda: 1.0, clock=lambda: now[0])
    assert policy.next_delay(1, 0.0, None) == 0.2
    assert policy.next_delay(2, 0.0, 4.0) == 4.0
    assert policy.next_delay(3, 0.0, None) is None  # attempts spent
    now[0] = 8.0
    assert policy.next_delay(1, 0.0, 3.0) is None  # would end after the total timeout
    assert policy.next_delay(1, 0.0, 2.0) == 2.0
