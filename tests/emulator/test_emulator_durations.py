"""The emulator's own duration and run-time codec (XmlConvert behaviour), independent of sfdeclare.wire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfdeclare.emulator.durations import format_duration, parse_duration
from sfdeclare.emulator.run_times import parse_run_time


@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(min_value=0, max_value=999_999))
def test_format_then_parse_is_identity(seconds: int, micros: int) -> None:
    value = timedelta(seconds=seconds, microseconds=micros)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("P1Y", timedelta(days=365)),
        ("P1M", timedelta(days=30)),
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("-PT1M", timedelta(minutes=-1)),
        ("PT36H", timedelta(hours=36)),
    ],
)
def test_parse(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(hours=24), "P1D"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(days=-2), "-P2D"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "P1H", "PT1D", "P-1D", "P1.5D", "P99999999999D"])
def test_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0001-01-01T09:00:00Z", "0001-01-01T09:00:00Z"),
        ("2018-06-01T23:15:59.1234567Z", "0001-01-01T23:15:59Z"),
        ("2018-06-01T01:00:00+02:00", "0001-01-01T23:00:00Z"),
        ("2018-06-01T01:00:00", "0001-01-01T01:00:00Z"),
        # DateTime.Parse reads bare times and dates too (the server's RunTimesConverter)
        ("09:00", "0001-01-01T09:00:00Z"),
        ("2018-06-01", "0001-01-01T00:00:00Z"),
    ],
)
def test_run_times(text: str, stored: str) -> None:
    assert parse_run_time(text) == stored


@pytest.mark.parametrize("text", ["9", "24:00", "noon", "", "2018-02-30T09:00:00Z", "13:00 PM"])
def test_invalid_run_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_run_time(text)
