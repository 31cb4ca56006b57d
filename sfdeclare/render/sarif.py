"""SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code scanning: validate's
diagnostics, a plan's diagnostics, a drift report and a status report, each as one log with one run.

What consumers rely on (GitHub code scanning, docs.github.com "SARIF support for code scanning"):
``version`` "2.1.0"; ``runs[].tool.driver.name`` and its ``rules`` (``id``, ``shortDescription.text``); each
result's ``ruleId`` and ``ruleIndex`` (the rule's place in ``rules``), ``level`` (error / warning / note),
``message.text`` and a ``physicalLocation`` with a relative ``artifactLocation.uri`` (forward slashes, relative
to the working directory, which is the repository root in CI) and a 1-based ``region``; ``automationDetails.id``
keeps the categories of validate, plan, drift and status apart. Code scanning refuses a result without a
physical location ("locationFromSarifResult: expected at least one location", github/codeql-action#2459), so a
finding without a line of its own (an unmanaged mapping in an undeclared application, a partition's status)
points at line 1 of the first configuration file and names its address as a logical location. Messages are the text views' own sentences (they never hold a
secret value).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sfdeclare import __version__
from sfdeclare.errors import Diagnostic, Location

if TYPE_CHECKING:  # validate renders SARIF without loading the engine
    from sfdeclare.engine.drift import DriftReport
    from sfdeclare.engine.plan import Plan
    from sfdeclare.engine.status import PartitionStatus, StatusReport

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/YOUR_ORG/sfdeclare/blob/main/docs/guardrails.md"

_RULE_TEXT = {
    "guardrail/require_backup": "Guardrail: every stateful persisted service has a backup policy",
    "guardrail/min_retention": "Guardrail: backups are kept at least the minimum retention",
    "guardrail/max_interval": "Guardrail: no longer than the maximum interval between backups",
    "guardrail/allowed_storage_kinds": "Guardrail: only the allowed storage kinds",
    "guardrail/no_credentials": "Guardrail: no credentials in backup policies",
    "guardrail/no_auto_restore": "Guardrail: no AutoRestoreOnDataLoss",
    "guardrail/max_backups_per_day": "Guardrail: at most the maximum backups per day",
    "best-practice/no_auto_restore": "Best practice: AutoRestoreOnDataLoss off in production",
    "best-practice/no_credentials": "Best practice: no credentials in policies (deprecated since 9.0 CU5)",
    "best-practice/retention_policy": "Best practice: a RetentionPolicy where the runtime supports one",
    "sfdeclare/error": "A configuration the cluster cannot take as written",
    "sfdeclare/warning": "A configuration that works but is probably not what was meant",
}


def _rule_text(rule: str) -> str:
    family, _, name = rule.partition("/")
    if family in ("drift", "status"):
        return f"{family.capitalize()}: " + name.replace("_", " ")
    return _RULE_TEXT.get(rule, rule)


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str  # error | warning | note
    message: str
    location: Location | None = None
    address: str | None = None


def rule_of(diagnostic: Diagnostic) -> str:
    return diagnostic.rule or f"sfdeclare/{diagnostic.severity}"


def from_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Finding]:
    return [Finding(rule_of(d), d.severity, d.message, d.location) for d in dict.fromkeys(diagnostics)]


def _uri(file: str) -> str:
    """A path relative to the working directory with forward slashes; outside it, a file: URI."""
    absolute = os.path.abspath(file)
    relative = os.path.relpath(absolute)
    if relative.startswith(".."):
        return PurePath(absolute).as_uri()
    return PurePath(relative).as_posix()


def _physical(location: Location) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(location.file)},
            "region": {"startLine": max(1, location.line), "startColumn": max(1, location.column)},
        }
    }


def log(category: str, findings: Sequence[Finding], files: Sequence[str] = ()) -> dict[str, Any]:
    """One SARIF log: one run of sfdeclare, its rules, its results (``category``: automationDetails.id).
    A finding without a place points at line 1 of the first file a finding names, else of ``files``."""
    rules: dict[str, int] = {}
    for finding in findings:
        rules.setdefault(finding.rule, len(rules))
    fallback = next((f.location.file for f in findings if f.location is not None), None)
    if fallback is None and files:
        fallback = files[0]
    results = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": rules[finding.rule],
            "level": finding.level,
            "message": {"text": finding.message},
        }
        where = finding.location or (Location(fallback, 1, 1) if fallback else None)
        location: dict[str, Any] = _physical(where) if where is not None else {}
        if finding.address:
            location["logicalLocations"] = [{"fullyQualifiedName": finding.address}]
        if location:
            result["locations"] = [location]
        results.append(result)
    driver = {
        "name": "sfdeclare",
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [
            {
                "id": rule,
                "name": rule.replace("/", ".").replace("-", "_"),
                "shortDescription": {"text": _rule_text(rule)},
            }
            for rule in rules
        ],
    }
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "automationDetails": {"id": f"sfdeclare/{category}/"},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_diagnostics(category: str, diagnostics: Iterable[Diagnostic]) -> str:
    """validate (and a plan that stopped on errors): every diagnostic."""
    return dumps(log(category, from_diagnostics(diagnostics)))


def render_plan(plan: Plan, *, color: bool = False) -> str:
    """A plan's diagnostics (the plan's actions are not findings: plan JSON carries them)."""
    return render_diagnostics("plan", plan.diagnostics)


def render_drift(report: DriftReport, *, color: bool = False) -> str:
    """Every drift item as a warning at the line that declares what drifted, and the report's diagnostics."""
    from sfdeclare.engine.drift import CLASS_TITLES

    findings = from_diagnostics(report.diagnostics)
    for item in report.items:
        findings.append(
            Finding(
                f"drift/{item.drift_class}",
                "warning",
                f"{CLASS_TITLES[item.drift_class]}: {item.address}: {item.message}",
                item.location,
                item.address,
            )
        )
    return dumps(log("drift", findings, report.files))


def render_status(report: StatusReport, *, color: bool = False) -> str:
    """Every partition with a problem (failing, late, no backup yet, unprotected) as a warning naming its
    address; partitions have no line of their own, so each points at the configuration (line 1)."""
    from sfdeclare.render.status import TITLES, message

    now = report.options.now
    findings = [
        Finding(
            f"status/{p.status}",
            "warning",
            f"{_partition_address(p)}: {TITLES[p.status]}: {message(p, now)}",
            None,
            _partition_address(p),
        )
        for p in report.partitions
        if p.problem
    ]
    return dumps(log("status", findings, report.files))


def _partition_address(p: PartitionStatus) -> str:
    return f"partition[{p.service}/{p.partition.id}]"
