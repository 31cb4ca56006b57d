"""A plan of thousands of actions still fits one pull-request comment (GitHub allows 65,536 characters): past
the limit the Markdown keeps the summary, the action counts and the destructive warning, and drops the details."""

from __future__ import annotations

from dataclasses import replace

from sfdeclare.engine.plan import Action, Change, Plan, ordered
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.scope import ReadScope
from sfdeclare.render.markdown import GITHUB_COMMENT_LIMIT, render_plan
from sfdeclare.render.summaries import plan_line
from sfdeclare.servicefabric.routes import WireRequest

APPS = 40
SERVICES = 60  # 2,400 enables, plus policies and disables: far past what one comment holds in full


def _request(path: str, operation: str, body: dict[str, str] | None = None) -> WireRequest:
    return WireRequest("POST", path, (("api-version", "6.4"),), body, operation)


def _big_plan(destructive: int) -> Plan:
    changes: list[Change] = []
    for p in range(5):
        name = f"Policy{p}"
        changes.append(
            Change(
                target=PolicyRef(name),
                action=Action.CREATE_POLICY,
                before=None,
                after={"MaxIncrementalBackups": 3, "Schedule": {"ScheduleKind": "FrequencyBased"}},
                reason="declared (sfdeclare.yaml:3:3) and absent on the cluster",
                request=_request("/BackupRestore/BackupPolicies/$/Create", f"CreateBackupPolicy {name}"),
            )
        )
    for a in range(APPS):
        app = f"fabric:/Application{a:03d}"
        for s in range(SERVICES):
            svc = f"{app}/StatefulService{s:03d}"
            changes.append(
                Change(
                    target=EntityRef(app, svc),
                    action=Action.ENABLE_BACKUP,
                    before=None,
                    after=f"Policy{s % 5}",
                    reason=f"declared (apps/app{a:03d}.yaml:{10 + s}:9); the cluster has no mapping at this level",
                    request=_request(
                        f"/Services/{svc[len('fabric:/') :]}/$/EnableBackup",
                        f"EnableBackup service[{svc}]",
                        {"BackupPolicyName": f"Policy{s % 5}"},
                    ),
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
    return Plan(
        tool_version="0.1.0",
        endpoint="https://cluster.example.com:19080",
        api_version="6.4",
        entity_ids="slash",
        config_digest="0" * 64,
        live_digest="sha256:" + "0" * 64,
        read_scope=ReadScope(),
        changes=ordered(changes),
        services_changed=APPS * SERVICES,
    )


def test_a_plan_past_the_comment_limit_keeps_summary_counts_and_destructive_warning() -> None:
    plan = _big_plan(destructive=3)
    full = render_plan(plan, limit=10**9)
    assert len(full) > GITHUB_COMMENT_LIMIT  # the scenario really is past the limit

    text = render_plan(plan)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert f"**{plan_line(plan)}**" in text
    assert "> [!WARNING]" in text and "3 destructive action(s)" in text
    assert "--allow-destructive" in text
    for d in range(3):
        assert f"application[fabric:/Legacy{d:03d}]" in text
    assert "| `enable_backup` | 2400 |" in text and "| `create_policy` | 5 |" in text
    assert f"full plan ({len(plan.changes)} actions)" in text
    assert text.index("[!WARNING]") < text.index(plan_line(plan)) < text.index("| action | count |")


def test_many_destructive_actions_are_listed_up_to_twenty_and_counted() -> None:
    plan = _big_plan(destructive=500)
    text = render_plan(plan)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "500 destructive action(s)" in text
    assert "application[fabric:/Legacy019]" in text and "application[fabric:/Legacy020]" not in text
    assert "... and 480 more" in text


def test_a_plan_within_the_limit_is_rendered_in_full_and_grouped_by_application() -> None:
    small = _big_plan(destructive=1)
    changes = tuple(
        c for c in small.changes if c.application in (None, "fabric:/Application000", "fabric:/Legacy000")
    )
    plan = replace(small, changes=changes)
    text = render_plan(plan)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "<details><summary><code>fabric:/Application000</code> (60 actions)</summary>" in text
    assert "<details><summary>policies (5 actions)</summary>" in text
    assert "`service[fabric:/Application000/StatefulService059]`" in text
    assert "longer than a comment allows" not in text
