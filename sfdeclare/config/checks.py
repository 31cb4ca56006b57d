"""Checks on one declared policy body that the schema cannot express: what the server would silently change.

A value the server would store differently (an Interval with seconds, a RetentionDuration with minutes) is an
error naming the value it would become, so that no plan ever shows a change that can never converge. The body
itself is never rewritten: the planner compares values canonically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sfdeclare.errors import Diagnostic
from sfdeclare.model import references
from sfdeclare.model.declaration import SECRET_FIELDS
from sfdeclare.safeyaml.reader import Path, Source
from sfdeclare.servicefabric import policy_rules
from sfdeclare.servicefabric.durations import (
    format_duration,
    parse_duration,
    parse_run_time,
    server_interval,
    server_retention,
)

USUAL_POLICY_NAME = re.compile(r"[A-Za-z0-9._-]+")


def check_name(name: str, source: Source, path: Path) -> list[Diagnostic]:
    if USUAL_POLICY_NAME.fullmatch(name):
        return []
    return [
        Diagnostic(
            "warning",
            f"unusual policy name {name!r}: the name is part of request URLs; prefer letters, digits, '.', '_' "
            "and '-'",
            source.location(path, key=True),
        )
    ]


def _interval(text: str, source: Source, path: Path) -> list[Diagnostic]:
    try:
        given = parse_duration(text)
    except ValueError:
        return []  # the schema reported the form
    where = source.location(path)
    try:
        stored = server_interval(given)
    except ValueError as exc:
        return [Diagnostic("error", f"Interval {text}: {exc}", where)]
    if stored != given:
        shown = format_duration(stored)
        return [
            Diagnostic(
                "error",
                f"Interval {text} would be stored as {shown} by the server (whole minutes or whole hours); "
                f"write {shown}",
                where,
            )
        ]
    return []


def _retention(text: str, source: Source, path: Path) -> list[Diagnostic]:
    try:
        given = parse_duration(text)
    except ValueError:
        return []
    where = source.location(path)
    try:
        stored = server_retention(given)
    except ValueError:
        return [
            Diagnostic(
                "error", f"RetentionDuration {text} is under 1 hour; the server requires at least PT1H", where
            )
        ]
    if stored != given:
        shown = format_duration(stored)
        return [
            Diagnostic(
                "error",
                f"RetentionDuration {text} would be stored as {shown} by the server (whole hours); write {shown}",
                where,
            )
        ]
    return []


def _schedule(schedule: Mapping[str, Any], source: Source, path: Path) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    interval = schedule.get("Interval")
    if schedule.get("ScheduleKind") == "FrequencyBased" and isinstance(interval, str):
        found += _interval(interval, source, (*path, "Interval"))
    run_times = schedule.get("RunTimes")
    if schedule.get("ScheduleKind") == "TimeBased" and isinstance(run_times, list):
        if not run_times:
            found.append(
                Diagnostic(
                    "warning",
                    "RunTimes is empty: this schedule never takes a backup",
                    source.location((*path, "RunTimes")),
                )
            )
        seen: dict[Any, int] = {}
        for index, entry in enumerate(run_times):
            if not isinstance(entry, str):
                continue
            where = source.location((*path, "RunTimes", index))
            try:
                moment = parse_run_time(entry)
            except ValueError as exc:
                found.append(Diagnostic("error", f"RunTimes: {exc}", where))
                continue
            if moment in seen:
                found.append(
                    Diagnostic(
                        "warning",
                        f"RunTimes: {entry!r} is the same UTC time as entry {seen[moment]}; the server keeps one",
                        where,
                    )
                )
            seen.setdefault(moment, index)
    run_days = schedule.get("RunDays")
    if isinstance(run_days, list):
        days_seen: set[Any] = set()
        for index, day in enumerate(run_days):
            if isinstance(day, str) and day in days_seen:
                found.append(
                    Diagnostic(
                        "warning",
                        f"RunDays: {day} is listed twice; the server keeps one",
                        source.location((*path, "RunDays", index)),
                    )
                )
            if isinstance(day, str):
                days_seen.add(day)
    return found


def _storage(storage: Mapping[str, Any], source: Source, path: Path) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for secret in SECRET_FIELDS:
        value = storage.get(secret)
        if isinstance(value, str) and not references.has_references(value):
            found.append(
                Diagnostic(
                    "error",
                    policy_rules.secret_written_as_value(secret),
                    source.location((*path, secret), key=True),
                )
            )
    return found


def check_body(body: Mapping[str, Any], source: Source, path: Path) -> list[Diagnostic]:
    """Problems in one policy body at ``path`` (errors and warnings) beyond the schema's."""
    found: list[Diagnostic] = []
    schedule = body.get("Schedule")
    if isinstance(schedule, Mapping):
        found += _schedule(schedule, source, (*path, "Schedule"))
    storage = body.get("Storage")
    if isinstance(storage, Mapping):
        found += _storage(storage, source, (*path, "Storage"))
    retention = body.get("RetentionPolicy")
    if isinstance(retention, Mapping) and isinstance(retention.get("RetentionDuration"), str):
        found += _retention(
            retention["RetentionDuration"], source, (*path, "RetentionPolicy", "RetentionDuration")
        )
    return found


_CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_KEY = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_strings(source: Source) -> list[Diagnostic]:
    """Every malformed ``${...}`` reference, and every control character (which would reach terminals and
    URLs raw), in any key or string value."""
    found: list[Diagnostic] = []
    stack: list[tuple[Path, Any]] = [((), source.data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "${" in node:
                problem = references.check(node)
                if problem is not None:
                    found.append(Diagnostic("error", problem, source.location(path)))
            bad = _CONTROL_IN_VALUE.search(node)
            if bad:
                found.append(
                    Diagnostic(
                        "error",
                        f"the value holds a control character ({bad.group()!r}); write printable text",
                        source.location(path),
                    )
                )
        elif isinstance(node, Mapping):
            for key, value in node.items():
                bad = _CONTROL_IN_KEY.search(key)
                if bad:
                    found.append(
                        Diagnostic(
                            "error",
                            f"the key {key!r} holds a control character ({bad.group()!r}); write printable text",
                            source.location((*path, key), key=True),
                        )
                    )
                stack.append(((*path, key), value))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return found
