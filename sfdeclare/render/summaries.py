"""The summary sentences: one line each for a plan, a drift report, an apply, backup coverage and an entity's
effective settings. The engine computes the values; every sentence about them is written here.
"""

from __future__ import annotations

from sfdeclare.engine.applier import ApplyResult
from sfdeclare.engine.coverage import Coverage, ServiceCoverage
from sfdeclare.engine.drift import DriftReport
from sfdeclare.engine.plan import Plan
from sfdeclare.model.inheritance import Effective
from sfdeclare.render.common import plural


def plan_line(plan: Plan) -> str:
    """Terraform-style one-line summary: ``Plan: 2 policies to create, 1 to update, ...``."""
    if plan.empty:
        return "No changes. The cluster matches the configuration."
    s = plan.summary()
    parts = [
        f"{plural(s['create_policy'], 'policy', 'policies')} to create",
        f"{s['update_policy']} to update",
        f"{s['delete_policy']} to delete",
        f"{plural(s['enable_backup'], 'backup')} to enable",
        f"{s['disable_backup']} to disable",
        f"{s['suspend_backup']} to suspend",
        f"{s['resume_backup']} to resume",
    ]
    line = "Plan: " + ", ".join(parts) + "."
    line += (
        f" Effective backup changes for {plural(plan.services_changed, 'service')} and "
        f"{plural(plan.partitions_changed, 'partition')}"
    )
    if plan.partitions_unread:
        line += f" (partitions of {plural(plan.partitions_unread, 'service')} not read: they follow their service)"
    line += "."
    if s["destructive"]:
        line += f" {s['destructive']} destructive."
    return line


def drift_line(report: DriftReport) -> str:
    if not report.items:
        return "No drift. The cluster matches the configuration."
    c = report.counts()
    return (
        f"Drift: {c['changed']} changed, {c['missing']} missing, {c['unmanaged']} unmanaged, "
        f"{c['suspended_out_of_band']} suspended out of band."
    )


def apply_line(result: ApplyResult) -> str:
    line = (
        f"Apply complete: {result.count('applied')} applied, {result.count('failed')} failed, "
        f"{result.count('skipped')} skipped."
    )
    if result.interrupted:
        line = line.replace("Apply complete", "Apply interrupted")
        line += f" {result.not_started} not started."
    return line


def coverage_line(coverage: Coverage) -> str:
    total = coverage.services_total
    text = (
        f"Coverage: {coverage.services_covered} of {total} stateful "
        f"{'service has' if total == 1 else 'services have'} a backup policy"
    )
    if coverage.services_suspended:
        text += f" ({coverage.services_suspended} suspended)"
    if coverage.partitions_known:
        text += (
            f"; {coverage.partitions_covered} of {plural(coverage.partitions_known, 'partition')} read "
            "(partitions are read only where partition-level settings or mappings exist)"
        )
    if coverage.without:
        text += "; without: " + ", ".join(_without_text(w) for w in coverage.without)
    return text + "."


def _without_text(w: ServiceCoverage) -> str:
    if w.partial and w.partitions_total is not None:
        return f"{w.service} ({w.partitions_covered} of {w.partitions_total} partitions)"
    if w.partial:
        return f"{w.service} (some partitions only)"
    return w.service


def effective_text(e: Effective) -> str:
    """``Daily (from service), suspended (at application)``; ``no backup`` without a policy."""
    if e.policy is None:
        text = "no backup"
    else:
        text = f"{e.policy} (from {e.policy_from.lower() if e.policy_from else '?'})"
    if e.suspended:
        text += f", suspended (at {e.suspended_from.lower() if e.suspended_from else '?'})"
    return text
