"""The pull-request comment at every size: complete (actions, effective changes, warnings and impact per
application) while it fits; past GitHub's 65,536-character limit (less room for a pipeline's marker) one row of
counts per application instead of nothing; always well-formed CommonMark/GFM, whatever the names hold."""

from __future__ import annotations

import html
from dataclasses import replace
from fractions import Fraction

import pytest
from markdown_support import well_formed

from sfdeclare.engine.impact_figures import ApplicationImpact, PlanImpact, Totals
from sfdeclare.engine.plan import Action, Change, EffectiveChange, Plan, ordered
from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.inheritance import Effective
from sfdeclare.model.scope import ReadScope
from sfdeclare.render.markdown import DEFAULT_LIMIT, GITHUB_COMMENT_LIMIT, render_plan
from sfdeclare.render.summaries import plan_line
from sfdeclare.servicefabric.backup_schedule import PolicyImpact
from sfdeclare.servicefabric.routes import WireRequest

MARKER_ROOM = GITHUB_COMMENT_LIMIT - DEFAULT_LIMIT
HOURLY = PolicyImpact(Fraction(24), Fraction(6), Fraction(18), (25, 28), "every PT1H: 24 a day")


def _request(path: str, operation: str, body: dict[str, str] | None = None) -> WireRequest:
    return WireRequest("POST", path, (("api-version", "6.4"),), body, operation)


def _enable(app: str, svc: str, policy: str, line: int) -> Change:
    return Change(
        target=EntityRef(app, svc),
        action=Action.ENABLE_BACKUP,
        before=None,
        after=policy,
        reason=f"declared (apps/{app[len('fabric:/') :]}.yaml:{line}:9); the cluster has no mapping at this level",
        request=_request(
            f"/Services/{svc[len('fabric:/') :]}/$/EnableBackup",
            f"EnableBackup service[{svc}]",
            {"BackupPolicyName": policy},
        ),
    )


def _plan(
    apps: int, services: int, *, destructive: int = 0, partitions: int = 4, names: str = "Application"
) -> Plan:
    """``apps`` applications of ``services`` services each gaining backup (one action each), with their
    effective changes, one warning each and their impact; plus 5 policies and ``destructive`` disables."""
    changes: list[Change] = []
    effective: list[EffectiveChange] = []
    impacts: list[ApplicationImpact] = []
    diagnostics: list[Diagnostic] = []
    for p in range(5):
        changes.append(
            Change(
                target=PolicyRef(f"Policy{p}"),
                action=Action.CREATE_POLICY,
                before=None,
                after={"MaxIncrementalBackups": 3, "Schedule": {"ScheduleKind": "FrequencyBased"}},
                reason="declared (sfdeclare.yaml:3:3) and absent on the cluster",
                request=_request("/BackupRestore/BackupPolicies/$/Create", f"CreateBackupPolicy Policy{p}"),
            )
        )
    protected = Totals(partitions=services * partitions)
    for a in range(apps):
        app = f"fabric:/{names}{a:04d}"
        for s in range(services):
            svc = f"{app}/StatefulService{s:03d}"
            changes.append(_enable(app, svc, f"Policy{s % 5}", 10 + s))
            effective.append(
                EffectiveChange(f"service[{svc}]", Effective(), Effective(f"Policy{s % 5}", "Service"))
            )
        n = services * partitions
        after = Totals(n, n, 0, 0, 0, 24 * Fraction(n), 6 * Fraction(n), 18 * Fraction(n), (25 * n, 28 * n))
        impacts.append(ApplicationImpact(app, protected, after, services, 0, 0))
        diagnostics.append(
            Diagnostic(
                "warning",
                f"service {app}/StatefulService000 has no partition-level setting",
                Location(f"apps/{names}{a:04d}.yaml", 4, 5, f"$.applications['{app}'].services"),
            )
        )
    for d in range(destructive):
        app = f"fabric:/Legacy{d:03d}"
        changes.append(
            Change(
                target=EntityRef(app),
                action=Action.DISABLE_BACKUP,
                before="OldPolicy",
                after=None,
                reason="clean_backup: true (legacy.yaml:4:5)",
                request=_request(f"/Applications/Legacy{d:03d}/$/DisableBackup", f"DisableBackup {app}"),
                destructive=True,
            )
        )
    total_before = Totals(partitions=apps * services * partitions)
    total_after = Totals()
    for i in impacts:
        total_after = total_after.plus(i.after)
    return Plan(
        tool_version="0.1.0",
        endpoint="https://cluster.example.com:19080",
        api_version="6.4",
        entity_ids="slash",
        config_digest="",
        live_digest="sha256:" + "0" * 64,
        read_scope=ReadScope(),
        changes=ordered(changes),
        effective_changes=tuple(effective),
        diagnostics=(
            Diagnostic("warning", "policy Old exists on the cluster but nothing declares it"),
            *diagnostics,
        ),
        services_changed=apps * services,
        impact=PlanImpact(
            {}, {f"Policy{p}": HOURLY for p in range(5)}, tuple(impacts), total_before, total_after
        ),
    )


def test_a_small_plan_is_complete_per_application() -> None:
    plan = _plan(apps=2, services=3, destructive=1)
    text = render_plan(plan)
    well_formed(text)
    assert "longer than a comment allows" not in text
    # the summary and the destructive warning first
    assert text.index("[!WARNING]") < text.index(plan_line(plan)) < text.index("**Impact on backups**")
    # the warning no application owns at the top, each application's own in its block
    assert text.index("policy Old exists") < text.index("<details><summary>policies")
    block = text[
        text.index("<code>fabric:/Application0000</code>") : text.index(
            "<code>fabric:/Application0001</code>"
        )
    ]
    assert "(3 actions; 3 services gain backup; backups per day 0 → 288)" in block
    assert "`service[fabric:/Application0000/StatefulService002]`" in block
    assert "<details><summary>Effective backup changes (3)</summary>" in block
    assert "no backup | Policy2 (from service)" in block
    assert "service fabric:/Application0000/StatefulService000 has no partition-level setting" in block
    assert "**Impact:** 12 partitions change, 3 services gain backup; backups per day 0 -\\> 288" not in block
    assert "**Impact:** 12 partitions change, 3 services gain backup; backups per day 0 -> 288;" in block
    assert "fabric:/Application0001/StatefulService000 has no" not in block


def test_past_the_limit_every_application_keeps_a_row_of_counts() -> None:
    plan = _plan(apps=1000, services=10, destructive=3)
    assert len(render_plan(plan, limit=None)) > GITHUB_COMMENT_LIMIT  # the scenario really is past the limit
    text = render_plan(plan)
    parsed = well_formed(text)
    assert len(text) + MARKER_ROOM <= GITHUB_COMMENT_LIMIT
    assert f"**{plan_line(plan)}**" in text
    assert "> [!WARNING]" in text and "3 destructive action(s)" in text
    assert text.index("[!WARNING]") < text.index(plan_line(plan)) < text.index("| action | count |")
    assert "| `enable_backup` | 10000 |" in text and "| `create_policy` | 5 |" in text
    assert "full plan (10,008 actions in 1,003 applications)" in text
    for a in range(1000):
        assert f"| `fabric:/Application{a:04d}` | 10 | 10 | 0 | 0 → 960 |" in text
    assert "| policies | 5 | | | |" in text
    assert parsed.tables == 3 + 1  # action counts, impact totals, per policy, and the per-application table
    table = text[text.index("| application |") :]
    assert "StatefulService" not in table  # entity names are left to the full plan
    # the warnings, every application's included, are listed up to 20 and counted
    assert "**1,001 warnings**:" in text and "- ... and 981 more (see the full plan)" in text


def test_many_destructive_actions_are_listed_up_to_twenty_and_counted() -> None:
    plan = _plan(apps=40, services=60, destructive=500)
    text = render_plan(plan)
    well_formed(text)
    assert len(text) <= DEFAULT_LIMIT
    assert "500 destructive action(s)" in text
    assert "application[fabric:/Legacy019]" in text and "application[fabric:/Legacy020]" not in text
    assert "... and 480 more" in text


def test_long_application_names_are_shortened_rather_than_dropped() -> None:
    plan = _plan(apps=1000, services=2, names="A" * 120 + "-")
    text = render_plan(plan)
    well_formed(text)
    assert len(text) <= DEFAULT_LIMIT
    rows = [line for line in text.split("\n") if line.startswith("| `fabric:/")]
    assert len(rows) == 1000 and "…" in rows[0]
    assert len({row.split("`")[1] for row in rows}) == 1000  # still told apart
    assert rows[-1].split("`")[1].endswith("-0999")


def test_a_plan_without_an_impact_or_changes_still_renders() -> None:
    plan = replace(_plan(apps=1, services=1), impact=None)
    assert "Impact on backups" not in render_plan(plan)
    empty = replace(
        plan,
        changes=(),
        effective_changes=(),
        diagnostics=(),
        impact=PlanImpact({}, {}, (), Totals(), Totals()),
    )
    text = render_plan(empty)
    well_formed(text)
    assert "No changes. The cluster matches the configuration." in text
    assert "no partition's backups change" in text


HOSTILE = [
    "fabric:/A|B",  # a pipe would split a table cell
    "fabric:/Tick`s``",  # backticks would end a code span
    "fabric:/<script>alert(1)</script>",
    "fabric:/</details>x",  # would close a folded block
    "fabric:/*bold*_and_~~struck~~[link](http://x)",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_names_reasons_and_messages_cannot_break_the_markdown(name: str) -> None:
    svc = f"{name}/Svc|`<b>`"
    change = replace(_enable(name, svc, "P|`x`", 3), reason=f"declared in {name} | `weird` <i>file</i>.yaml")
    plan = Plan(
        tool_version="0.1.0",
        endpoint="e",
        api_version="6.4",
        entity_ids="slash",
        config_digest="",
        live_digest="sha256:" + "0" * 64,
        read_scope=ReadScope(),
        changes=(change,),
        effective_changes=(EffectiveChange(f"service[{svc}]", Effective(), Effective("P|`x`", "Service")),),
        diagnostics=(
            Diagnostic("warning", f"about {name}: <img src=x> | `tick`", Location("f|`.yaml", 1, 1, "$")),
        ),
        impact=PlanImpact(
            {},
            {"P|`x`": HOURLY},
            (
                ApplicationImpact(
                    name,
                    Totals(partitions=1),
                    Totals(1, 1, 0, 0, 0, Fraction(24), Fraction(6), Fraction(18), (25, 28)),
                    1,
                ),
            ),
            Totals(partitions=1),
            Totals(1, 1, 0, 0, 0, Fraction(24), Fraction(6), Fraction(18), (25, 28)),
        ),
    )
    for limit in (None, 1500):  # complete, and the table of counts
        parsed = well_formed(render_plan(plan, limit=limit))
        assert "<script>" not in parsed.html and "<img" not in parsed.html and "<i>" not in parsed.html
    full = well_formed(render_plan(plan, limit=None))
    assert f"<code>{html.escape(f'service[{svc}]', quote=False)}</code>" in full.html
    assert "about " in full.html and "tick" in full.html


def test_an_effective_change_no_action_names_gets_its_application_block() -> None:
    plan = _plan(apps=1, services=1)
    stray = EffectiveChange("service[fabric:/Other/S]", Effective("Old", "Service"), Effective())
    text = render_plan(replace(plan, effective_changes=(*plan.effective_changes, stray)))
    well_formed(text)
    block = text[text.index("<details><summary><code>fabric:/Other</code> (0 actions)</summary>") :]
    assert "`service[fabric:/Other/S]` | Old (from service) | no backup |" in block
    policies = text[
        text.index("<details><summary>policies") : text.index("<code>fabric:/Application0000</code>")
    ]
    assert "fabric:/Other" not in policies
