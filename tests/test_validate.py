"""``sfdeclare validate`` end to end through the CLI: formats, streams and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sfdeclare.cli import main
from sfdeclare.errors import Diagnostic, Location
from sfdeclare.render.annotations import diagnostic_annotation

DATA = Path(__file__).parent / "data" / "config"

BROKEN = """\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT1H30S}
    Storage: {StorageKind: FileShare, Path: x}
applications:
  CalcApp:
    policy: Hourly
    suspended: "yes"
"""


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    Path("broken.yaml").write_text(BROKEN, encoding="utf-8")
    return "broken.yaml"


def test_text_valid_with_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    code, out, err = _run("every-kind.yaml", "microsoft-json.yaml")
    assert code == 0
    assert out == "valid: 0 errors, 1 warning in 2 files (6 policies, 4 applications)\n"
    assert err == (
        "every-kind.yaml:58:5: warning: policy WeekendIdentity: AutoRestoreOnDataLoss: true restores the latest "
        "backup by itself after data loss, losing what was written since; Microsoft advises against it in "
        "production ($.policies.WeekendIdentity.AutoRestoreOnDataLoss)\n"
        "note: cluster.runtime is auto: the checks that depend on the cluster's runtime run at plan, against the "
        "runtime it reads from the cluster (set cluster.runtime to check them here)\n"
    )


def test_text_invalid_reports_every_problem_on_stderr(broken: str) -> None:
    code, out, err = _run(broken)
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "broken.yaml:5:56: error: Interval PT1H30S would be stored as PT1H by the server (whole minutes or "
        "whole hours); write PT1H ($.policies.Daily.Schedule.Interval)",
        "broken.yaml:9:5: warning: policy Hourly is not declared in this configuration; it must already exist "
        "on the cluster ($.applications.CalcApp.policy)",
        "broken.yaml:10:16: error: suspended must be true or false, not the string 'yes' "
        "($.applications.CalcApp.suspended)",
        "invalid: 2 errors, 1 warning in 1 file",
    ]


def test_json_format(broken: str) -> None:
    code, out, err = _run(broken, "--format", "json")
    assert code == 1 and err == ""
    document = json.loads(out)
    assert document["valid"] is False
    assert document["files"] == ["broken.yaml"]
    assert (document["errors"], document["warnings"]) == (2, 1)
    assert document["diagnostics"][0] == {
        "severity": "error",
        "message": "Interval PT1H30S would be stored as PT1H by the server (whole minutes or whole hours); "
        "write PT1H",
        "file": "broken.yaml",
        "line": 5,
        "column": 56,
        "path": "$.policies.Daily.Schedule.Interval",
    }
    assert [d["severity"] for d in document["diagnostics"]] == ["error", "warning", "error"]


def test_json_format_when_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    code, out, err = _run("minimal.yaml", "--format", "json")
    assert code == 0 and err == ""
    assert json.loads(out) == {
        "valid": True,
        "files": ["minimal.yaml"],
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
        "notes": [
            "cluster.runtime is auto: the checks that depend on the cluster's runtime run at plan, against the "
            "runtime it reads from the cluster (set cluster.runtime to check them here)"
        ],
    }


def test_github_format(broken: str) -> None:
    code, out, err = _run(broken, "--format", "github")
    assert code == 1 and err == ""
    assert out.splitlines() == [
        "::error file=broken.yaml,line=5,col=56,title=sfdeclare validate::Interval PT1H30S would be stored as "
        "PT1H by the server (whole minutes or whole hours); write PT1H ($.policies.Daily.Schedule.Interval)",
        "::warning file=broken.yaml,line=9,col=5,title=sfdeclare validate::policy Hourly is not declared in this "
        "configuration; it must already exist on the cluster ($.applications.CalcApp.policy)",
        "::error file=broken.yaml,line=10,col=16,title=sfdeclare validate::suspended must be true or false, not "
        "the string 'yes' ($.applications.CalcApp.suspended)",
        "invalid: 2 errors, 1 warning in 1 file",
    ]


def github_annotation(d: Diagnostic) -> str:
    return diagnostic_annotation(d, title="sfdeclare validate", with_path=True)


def test_github_escaping() -> None:
    d = Diagnostic("error", "50% done\nnext", Location("dir,a:b.yaml", 1, 2, "$"))
    assert (
        github_annotation(d)
        == "::error file=dir%2Ca%3Ab.yaml,line=1,col=2,title=sfdeclare validate::50%25 done%0Anext"
    )
    assert github_annotation(Diagnostic("warning", "no place")) == "::warning::no place"


def test_missing_path_is_reported_not_raised(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    code, out, err = _run(missing)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"error: {missing}: no such file or directory",
        "invalid: 1 error, 0 warnings in 0 files",
    ]


def test_syntax_error_is_one_line_without_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("version: 1\npolicies: [\n", encoding="utf-8")
    code, _, err = _run("bad.yaml")
    assert code == 1
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("bad.yaml:3:1: error: YAML syntax error:")


def test_validate_needs_no_secret_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "valid")
    monkeypatch.delenv("BACKUP_STORE_1", raising=False)
    code, _, _ = _run("every-kind.yaml")
    assert code == 0
