"""The rules engine for policy bodies: the organisation's guardrails (errors) and the best practices (warnings),
each rule with one wording, whichever severity it has.

A rule a guardrail sets is an error at the line that breaks it, naming the rule and the line that set it:
``policy Daily: guardrail min_retention (guardrails.yaml:4): RetentionDuration P7D ...``. A best practice is the
same rule with warning severity where no guardrail makes it an error: ``no_auto_restore`` on every runtime,
``no_credentials`` on runtimes that put a health warning on credentials (``runtime_practices``, run where the
runtime is known: the loader for a named ``cluster.runtime``, else plan once it read the cluster's);
``retention_policy`` (no RetentionPolicy, where the runtime supports one) is a best practice only. ``check_policy``
judges a body the files alone decide (declared policies, at validate and plan) and a body read from the cluster
(a policy only referenced, at plan: ``engine/guardrails.py``), given where to point for each field.
The rules that need the live cluster (``require_backup``) are in ``engine/guardrails.py``. This module sits in
servicefabric/ because both the loader (config/) and the engine judge bodies with it, and neither imports the
other; it judges the REST shape only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sfdeclare.errors import Diagnostic, Location, Severity
from sfdeclare.model import guardrails as g
from sfdeclare.model.declaration import SECRET_FIELDS
from sfdeclare.model.guardrails import Guardrails, Setting
from sfdeclare.servicefabric import policy_fields, runtimes
from sfdeclare.servicefabric.cadence import cadence
from sfdeclare.servicefabric.durations import format_duration, parse_duration
from sfdeclare.servicefabric.runtimes import Runtime

Where = Callable[[str], "Location | None"]
"""Where a field of the body (dotted: ``Storage.StorageKind``) was written, or the nearest place to point at."""

RETENTION_POLICY = "retention_policy"  # a best practice only: no guardrail sets it

# One wording per rule (the sentence after "policy NAME: [guardrail RULE (file:line): ]").
AUTO_RESTORE = (
    "AutoRestoreOnDataLoss: true restores the latest backup by itself after data loss, losing what was written "
    "since; Microsoft advises against it in production"
)


def secret_written_as_value(secret: str) -> str:
    """A secret field holding a value instead of a reference (the loader at its line, the planner for a
    declaration built by hand)."""
    return (
        f"Storage.{secret} is a secret: write a ${{env:NAME}} or ${{file:PATH}} reference, never the value in the "
        "file"
    )


def retention_on_preview(api_version: str) -> str:
    """A RetentionPolicy where the api-version is 6.2/6.3's, which has none."""
    return (
        f"RetentionPolicy is not supported by api_version {api_version} (Service Fabric 6.2/6.3): remove it or "
        "use api_version 6.4"
    )


def plain_text_credentials(secret: str, kind: str) -> str:
    instead = (
        "use ManagedIdentityAzureBlobStore storage on Azure"
        if kind == "AzureBlobStore"
        else "have the cluster encrypt them with its encryption certificate "
        "(BackupRestoreService SecretEncryptionCertThumbprint)"
    )
    return (
        f"Storage.{secret}: credentials in a backup policy are on the deprecation path (Service Fabric 9.0 CU5 "
        f"and 9.1 CU1 put a health warning on them): {instead}"
    )


def no_retention(runtime: Runtime) -> str:
    return (
        f"no RetentionPolicy: backups are kept for ever (runtime {runtime} supports one, e.g. "
        "RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D})"
    )


def storage_kind(kind: str, allowed: frozenset[str]) -> str:
    return f"StorageKind {kind} is not allowed (allowed: {', '.join(sorted(allowed))})"


def retention_too_short(written: str, least: str) -> str:
    return f"RetentionDuration {written} keeps backups for less than the minimum {least}"


def gap_too_long(what: str, gap: str, most: str) -> str:
    return f"{what} leaves up to {gap} between backups, more than the maximum {most}"


def too_many_per_day(what: str, count: int, most: int) -> str:
    return f"{what} takes up to {count} backups a day, more than the maximum {most}"


def guardrail_prefix(rule: str, setting: Setting[Any]) -> str:
    return f"guardrail {rule} ({setting.where()}): "


class _Judge:
    def __init__(self, name: str, where: Where) -> None:
        self.name = name
        self.where = where
        self.found: list[Diagnostic] = []

    def violation(self, rule: str, setting: Setting[Any], text: str, field: str) -> None:
        self.add("error", rule, guardrail_prefix(rule, setting) + text, field, "guardrail")

    def add(self, severity: Severity, rule: str, text: str, field: str, family: str) -> None:
        self.found.append(
            Diagnostic(severity, f"policy {self.name}: {text}", self.where(field), rule=f"{family}/{rule}")
        )


def check_policy(name: str, body: Mapping[str, Any], rules: Guardrails, where: Where) -> list[Diagnostic]:
    """Every rule a policy body breaks: guardrail errors and best-practice warnings."""
    judge = _Judge(name, where)
    if body.get("AutoRestoreOnDataLoss") is True:
        banned = rules.prohibition(g.NO_AUTO_RESTORE)
        if banned is not None:
            judge.violation(g.NO_AUTO_RESTORE, banned, AUTO_RESTORE, "AutoRestoreOnDataLoss")
        else:
            judge.add("warning", g.NO_AUTO_RESTORE, AUTO_RESTORE, "AutoRestoreOnDataLoss", "best-practice")
    storage = body.get("Storage")
    if isinstance(storage, Mapping):
        _storage(judge, storage, rules)
    retention = body.get("RetentionPolicy")
    least = rules.strictest_min_retention()
    if least is not None and isinstance(retention, Mapping):
        written = retention.get("RetentionDuration")
        try:
            kept = parse_duration(str(written))
        except ValueError:
            kept = None  # the schema reports the form
        if kept is not None and kept < least.value:
            judge.violation(
                g.MIN_RETENTION,
                least,
                retention_too_short(str(written), least.text or format_duration(least.value)),
                "RetentionPolicy.RetentionDuration",
            )
    schedule = body.get("Schedule")
    if isinstance(schedule, Mapping):
        _schedule(judge, schedule, rules)
    return judge.found


def runtime_practices(
    name: str, body: Mapping[str, Any], rules: Guardrails, where: Where, runtime: Runtime
) -> list[Diagnostic]:
    """The best practices that depend on the cluster's runtime, as warnings: credentials on runtimes that put a
    health warning on them (unless a guardrail forbids them: ``check_policy`` made that an error already), and
    no RetentionPolicy on runtimes that support one."""
    judge = _Judge(name, where)
    storage = body.get("Storage")
    storage = storage if isinstance(storage, Mapping) else {}
    kind = storage.get("StorageKind")
    if (
        runtime.has(runtimes.PLAIN_TEXT_CREDENTIAL_WARNING)
        and isinstance(kind, str)
        and rules.prohibition(g.NO_CREDENTIALS) is None
    ):
        for secret in policy_fields.SECRET_FIELDS_OF.get(kind, ()):
            if storage.get(secret):
                wording = plain_text_credentials(secret, kind)
                judge.add("warning", g.NO_CREDENTIALS, wording, f"Storage.{secret}", "best-practice")
    if runtime.has(runtimes.RETENTION_POLICY) and "RetentionPolicy" not in body:
        judge.add("warning", RETENTION_POLICY, no_retention(runtime), "RetentionPolicy", "best-practice")
    return judge.found


def _storage(judge: _Judge, storage: Mapping[str, Any], rules: Guardrails) -> None:
    kind = storage.get("StorageKind")
    if isinstance(kind, str):
        forbidding = rules.forbidding_storage_kind(kind)
        if forbidding is not None:
            judge.violation(
                g.ALLOWED_STORAGE_KINDS,
                forbidding,
                storage_kind(kind, forbidding.value),
                "Storage.StorageKind",
            )
    banned = rules.prohibition(g.NO_CREDENTIALS)
    if banned is not None:
        for secret in SECRET_FIELDS:
            if storage.get(secret):
                wording = plain_text_credentials(secret, str(kind))
                judge.violation(g.NO_CREDENTIALS, banned, wording, f"Storage.{secret}")


def _schedule(judge: _Judge, schedule: Mapping[str, Any], rules: Guardrails) -> None:
    longest = rules.strictest_max_interval()
    most = rules.strictest_max_backups_per_day()
    if longest is None and most is None:
        return
    try:
        figures = cadence(schedule)
    except ValueError:
        return  # the schema and the duration checks report it
    frequency = schedule.get("ScheduleKind") == "FrequencyBased"
    what = f"Interval {schedule.get('Interval')}" if frequency else "the schedule"
    field = "Schedule.Interval" if frequency else "Schedule.RunTimes"
    if longest is not None and figures.longest_gap is not None and figures.longest_gap > longest.value:
        gap_field = (
            field if frequency or schedule.get("ScheduleFrequencyType") == "Daily" else "Schedule.RunDays"
        )
        judge.violation(
            g.MAX_INTERVAL,
            longest,
            gap_too_long(
                what, format_duration(figures.longest_gap), longest.text or format_duration(longest.value)
            ),
            gap_field,
        )
    if most is not None and figures.most_per_day > most.value:
        judge.violation(
            g.MAX_BACKUPS_PER_DAY, most, too_many_per_day(what, figures.most_per_day, most.value), field
        )
