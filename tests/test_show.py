"""`sfdeclare show PLANFILE`: a saved plan rendered for approvers, checked as apply --plan checks it, without the
cluster; an altered or unknown file shows nothing, changes nothing and exits 1."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from sfdeclare.cli import main
from sfdeclare.emulator.state import init_state
from sfdeclare.engine import planfile

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "examples" / "calc" / "sfdeclare.yaml")
TOPOLOGY = str(ROOT / "examples" / "calc" / "cluster" / "topology.yaml")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def plan_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BACKUP_STORE_1", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=secret-key")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    state = tmp_path / "state"
    init_state(str(state), TOPOLOGY)
    path = tmp_path / "plan.json"
    code, _, err = run("plan", CONFIG, "--endpoint", f"emulator:{state}", "--out", str(path))
    assert code == 0, err
    state.unlink()  # show never reads the cluster: the state behind the plan's endpoint is gone
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_show_renders_every_format_without_the_cluster(plan_file: Path) -> None:
    code, text, err = run("show", str(plan_file))
    assert (code, err) == (0, "")
    assert "+ service[fabric:/CalcApp/CalcService] backup policy (none) -> DailyAzureBackupPolicy" in text
    assert "Backups per day: 0 -> 3 (+3) on 3 partitions whose backups change" in text
    code, markdown, _ = run("show", str(plan_file), "--format", "markdown")
    assert code == 0 and markdown.startswith("### sfdeclare plan\n")
    assert "| restore points kept | 0 | 93-102 | +93 to +102 |" in markdown
    code, document, _ = run("show", str(plan_file), "--format", "json")
    assert code == 0 and json.loads(document) == json.loads(plan_file.read_text())
    assert "secret-key" not in text + markdown + document


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        (lambda d: d.__setitem__("endpoint", "https://elsewhere:19080"), "altered after it was made"),
        (
            lambda d: d["actions"][1]["request"].__setitem__("path", "/Services/Other/$/EnableBackup"),
            "altered",
        ),
        (lambda d: d["impact"]["after"].__setitem__("backups_per_day", 0), "altered after it was made"),
        (lambda d: d.pop("checksum"), "altered after it was made"),
    ],
    ids=["endpoint", "request", "impact", "no-checksum"],
)
def test_an_altered_plan_file_shows_nothing_changes_nothing_and_exits_1(
    plan_file: Path, alter: object, message: str
) -> None:
    document = json.loads(plan_file.read_text())
    alter(document)  # type: ignore[operator]
    plan_file.write_text(json.dumps(document, indent=2))
    before, mtime = digest(plan_file), os.stat(plan_file).st_mtime_ns
    for fmt in ("text", "markdown", "json"):
        code, out, err = run("show", str(plan_file), "--format", fmt)
        assert (code, out) == (1, "")
        assert err.startswith(f"error: {plan_file}: ") and message in err and err.count("\n") == 1
        assert "Traceback" not in err
    assert (digest(plan_file), os.stat(plan_file).st_mtime_ns) == (before, mtime)


def test_show_and_apply_say_which_versions_they_read(plan_file: Path, tmp_path: Path) -> None:
    document = json.loads(plan_file.read_text())
    assert document["format_version"] == planfile.FORMAT_VERSION == 2
    document["format_version"] = 3
    document["checksum"] = planfile.checksum(document)
    plan_file.write_text(json.dumps(document))
    wanted = "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found 3)"
    code, out, err = run("show", str(plan_file))
    assert (code, out) == (1, "") and wanted in err
    code, out, err = run("apply", "--plan", str(plan_file), "--endpoint", f"emulator:{tmp_path / 'other'}")
    assert code == 1 and wanted in err and not (tmp_path / "other").exists()
    assert "Reads plan files of format versions 1 and 2." in run_help("show")
    assert "--plan: Reads plan files of format versions 1 and 2." in run_help("apply")


def run_help(command: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([command, "--help"]) == 0
    return " ".join(out.getvalue().split())


def test_a_version_1_plan_file_is_still_shown_without_its_impact(plan_file: Path) -> None:
    document = json.loads(plan_file.read_text())
    del document["impact"]
    document["format_version"] = 1
    document["checksum"] = planfile.checksum(document)
    plan_file.write_text(json.dumps(document))
    code, text, err = run("show", str(plan_file))
    assert (code, err) == (0, "")
    assert "backup policy (none) -> DailyAzureBackupPolicy" in text and "Impact on backups" not in text
    code, markdown, _ = run("show", str(plan_file), "--format", "markdown")
    assert code == 0 and "Impact on backups" not in markdown


def test_a_missing_plan_file_is_one_line(tmp_path: Path) -> None:
    code, out, err = run("show", str(tmp_path / "absent.json"))
    assert (code, out) == (1, "")
    assert (
        err.startswith(f"error: {tmp_path / 'absent.json'}: cannot read the plan file")
        and err.count("\n") == 1
    )
