from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfdeclare.servicefabric.durations import (
    format_duration,
    format_run_time,
    parse_duration,
    parse_run_time,
    server_interval,
    server_retention,
)

td = datetime.timedelta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT24H", td(days=1)),
        ("P1D", td(days=1)),
        ("PT90M", td(minutes=90)),
        ("PT1M30S", td(minutes=1, seconds=30)),
        ("PT0.5S", td(milliseconds=500)),
        ("P1Y", td(days=365)),
        ("P1M", td(days=30)),
        ("P1Y2M3DT4H5M6.25S", td(days=365 + 60 + 3, hours=4, minutes=5, seconds=6.25)),
        ("-PT1H", td(hours=-1)),
        (" PT1H ", td(hours=1)),
    ],
)
def test_parse_duration_accepts_xmlconvert_forms(text: str, expected: datetime.timedelta) -> None:
    assert parse_duration(text) == expected


def test_pt24h_equals_p1d_by_value() -> None:
    assert parse_duration("PT24H") == parse_duration("P1D")


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "1H", "PT1H30", "P1W", "pt1h", "PT1.5M", "P-1D", "P1H"]
)
def test_parse_duration_rejects_non_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO-8601 duration"):
        parse_duration(text)


def test_parse_duration_rejects_overflow() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_duration("P99999999999D")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (td(days=1), "P1D"),
        (td(minutes=90), "PT1H30M"),
        (td(minutes=1), "PT1M"),
        (td(days=10), "P10D"),
        (td(0), "PT0S"),
        (td(days=1, hours=2), "P1DT2H"),
        (td(seconds=1.5), "PT1.5S"),
        (td(hours=-2), "-PT2H"),
    ],
)
def test_format_duration_is_the_server_echo(value: datetime.timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("PT1H", "PT1H"),
        ("PT24H", "P1D"),
        ("PT90M", "PT1H30M"),
        ("PT1M30S", "PT1M"),
        ("PT1H30S", "PT1H"),
        ("PT1H0M59S", "PT1H"),
        ("P1DT30M15S", "P1DT30M"),
        ("PT2H59S", "PT2H"),
        ("P15D", "P15D"),
        ("PT1M", "PT1M"),
    ],
)
def test_server_interval_truncation_table(given: str, stored: str) -> None:
    assert format_duration(server_interval(parse_duration(given))) == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("P15DT1S", "maximum time interval between consecutive backups is 15 days"),
        ("P16D", "maximum time interval"),
        ("PT0S", "Minimum time interval supported is 1 minute"),
        ("PT30S", "Minimum time interval supported is 1 minute"),
        ("-PT1H", "must not be negative"),
    ],
)
def test_server_interval_rejects(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        server_interval(parse_duration(given))


@pytest.mark.parametrize(
    ("given", "stored"),
    [("P30D", "P30D"), ("PT1H", "PT1H"), ("PT1H30M", "PT1H"), ("P1DT59M59S", "P1D"), ("P1Y", "P365D")],
)
def test_server_retention_whole_hours(given: str, stored: str) -> None:
    assert format_duration(server_retention(parse_duration(given))) == stored


@pytest.mark.parametrize("given", ["PT59M", "PT0S", "-P1D"])
def test_server_retention_rejects_under_an_hour(given: str) -> None:
    with pytest.raises(ValueError, match="at least 1 hour"):
        server_retention(parse_duration(given))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02:00", datetime.time(2, 0)),
        ("2:05", datetime.time(2, 5)),
        ("23:59:59", datetime.time(23, 59, 59)),
        ("0001-01-01T10:00:00Z", datetime.time(10, 0)),
        ("2024-06-01T10:00:00+02:00", datetime.time(8, 0)),
        ("2024-06-01T01:30:00+02:00", datetime.time(23, 30)),
        ("2024-06-01T23:30:00-01:00", datetime.time(0, 30)),
        ("2024-06-01T10:00:00.9Z", datetime.time(10, 0)),
        ("2024-06-01T10:00", datetime.time(10, 0)),
        ("2024-06-01 10:00:00+0530", datetime.time(4, 30)),
    ],
)
def test_parse_run_time_keeps_the_utc_time_of_day(text: str, expected: datetime.time) -> None:
    assert parse_run_time(text) == expected


@pytest.mark.parametrize(
    "text", ["24:00", "10:60", "noon", "10", "2024-13-01T10:00:00Z", "10:00:00+25:00", ""]
)
def test_parse_run_time_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_run_time(text)


def test_format_run_time_is_the_server_read_back() -> None:
    assert format_run_time(datetime.time(9, 5, 3)) == "0001-01-01T09:05:03Z"
    assert parse_run_time(format_run_time(datetime.time(9, 5, 3))) == datetime.time(9, 5, 3)


durations = st.timedeltas(min_value=td(days=-100), max_value=td(days=100))


@given(durations)
def test_format_then_parse_is_the_identity(value: datetime.timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@given(st.timedeltas(min_value=td(0), max_value=td(days=15)))
def test_what_the_server_stores_is_stored_unchanged(value: datetime.timedelta) -> None:
    """A value validate accepts (one equal to its stored form) never changes again: plans converge."""
    try:
        stored = server_interval(value)
    except ValueError:
        return
    assert server_interval(stored) == stored
    if stored >= td(hours=1):
        assert server_retention(server_retention(stored)) == server_retention(stored)


@given(st.times())
def test_run_time_round_trip(value: datetime.time) -> None:
    whole = value.replace(microsecond=0, tzinfo=None)
    assert parse_run_time(format_run_time(whole)) == whole
