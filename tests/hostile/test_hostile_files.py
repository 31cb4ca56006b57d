"""Hostile configuration, topology and plan files (the corpus in tests/data/hostile, one test case per file).

Every file is refused the same way: exit 1, one clear line naming the file (and line, where there is one), no
traceback and no "internal error", in bounded time and memory, and nothing sent to the cluster. The few files
whose problem only shows later (a reference that apply must resolve, a name the cluster does not have) say at
which command they are refused; the interpolation loops are accepted and resolve exactly one level deep.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.engine.planfile import canonical_json

CORPUS = Path(__file__).resolve().parent.parent / "data" / "hostile"
MEMORY_LIMIT = 200 * 1024 * 1024
CANARY = "HOSTILE-CANARY-7f3a"

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 2
"""

BASE_CONFIG = """version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:HOSTILE_STORE}", ContainerName: backups}
applications:
  CalcApp:
    policy: Daily
"""


@dataclass(frozen=True)
class Case:
    """How one corpus file is refused: the message fragment, the line it points at, and each exit code."""

    message: str
    line: int | None = None
    validate: int = 1
    plan: int = 1
    apply: int = 1
    changes_cluster: bool = False
    from_config_endpoint: bool = False
    bug: str | None = None
    located: bool = True  # the message starts with the file's name


def refused(message: str, line: int | None = None, bug: str | None = None) -> Case:
    return Case(message, line, bug=bug)


def on_cluster(message: str, line: int) -> Case:
    """Valid offline; refused by plan (and apply) because only the cluster can tell."""
    return Case(message, line, validate=0)


def at_apply(message: str) -> Case:
    """validate and plan never need a reference's value; apply refuses to start without it."""
    return Case(message, None, validate=0, plan=0, located=False)


NOT_PLAIN = "is not allowed (only plain YAML data"
NOT_UTF8 = "the file is not UTF-8 text"
BOMB = "refusing it"  # "... expand(s) to more than N values ...; refusing it", at the alias that crosses the limit

CONFIGS: dict[str, Case] = {
    "config-alias-to-undefined-anchor.yaml": refused("alias *nowhere refers to no earlier anchor", 9),
    "config-application-key-is-url.yaml": refused(
        "'https://evil.example.com/x' is not an application name", 8
    ),
    "config-application-key-with-query.yaml": on_cluster(
        "application fabric:/App?api-version=1.0&x= does not exist on the cluster", 8
    ),
    "config-billion-laughs-mappings.yaml": refused(BOMB),
    "config-billion-laughs.yaml": refused(BOMB),
    "config-binary-png.yaml": refused(NOT_UTF8, 1),
    "config-complex-mapping-key.yaml": refused("a mapping key must be a plain string", 8),
    "config-control-characters.yaml": refused("holds a control character ('\\x1b')", 8),
    "config-deep-nesting-block.yaml": refused("nests deeper than 64 levels", 66),
    "config-deep-nesting-flow.yaml": refused("exceeded maximum nesting depth", 2),
    "config-deep-nesting-mixed.yaml": refused("nests deeper than 64 levels", 2),
    "config-duplicate-policy-field.yaml": refused("duplicate key 'MaxIncrementalBackups'", 5),
    "config-duplicate-quoted-and-plain-key.yaml": refused("duplicate key 'App'", 10),
    "config-duplicate-top-level-key.yaml": refused("duplicate key 'policies'", 7),
    "config-empty-segment-name.yaml": refused("'fabric://App' is not an application name", 8),
    "config-empty.yaml": refused("the file is empty", 1),
    "config-huge-integer.yaml": refused("MaxIncrementalBackups must be a whole number from 0 to 255", 4),
    "config-interpolation-endpoint-missing-env.yaml": Case(
        "environment variable HOSTILE_NO_ENDPOINT is not set",
        validate=0,
        from_config_endpoint=True,
        located=False,
    ),
    "config-interpolation-file-loop.yaml": Case("", validate=0, plan=0, apply=0, changes_cluster=True),
    "config-interpolation-missing-env.yaml": at_apply("environment variable HOSTILE_NOT_SET is not set"),
    "config-interpolation-missing-file.yaml": at_apply("no-such-secret.txt does not exist"),
    "config-interpolation-nested.yaml": refused("is not a valid environment variable name", 6),
    "config-interpolation-self-reference.yaml": Case("", validate=0, plan=0, apply=0, changes_cluster=True),
    "config-interpolation-unknown-kind.yaml": refused("unknown reference kind 'cmd'", 6),
    "config-interpolation-unterminated.yaml": refused("unterminated reference ${env:...", 6),
    "config-latin1.yaml": refused(NOT_UTF8, 8),
    "config-lone-surrogate-escape.yaml": refused("invalid Unicode character escape code", 8),
    "config-merge-key.yaml": refused("YAML merge keys (<<) are not supported", 8),
    "config-names-tilde-percent-space.yaml": on_cluster("application fabric:/A~B does not exist", 8),
    "config-names-unicode-bidi.yaml": on_cluster("does not exist on the cluster", 8),
    "config-nan-and-infinity.yaml": refused("not the number nan", 4),
    "config-non-string-key.yaml": refused("YAML tag !!int " + NOT_PLAIN, 8),
    "config-nul-bytes.yaml": refused("control characters are not allowed", 8),
    "config-only-comments.yaml": refused("the file is empty", 1),
    "config-partition-id-path.yaml": refused("id must be a GUID", 12),
    "config-policy-name-path-traversal.yaml": on_cluster("application fabric:/Ghost does not exist", 8),
    "config-service-key-with-dotdot.yaml": on_cluster("application fabric:/App does not exist", 8),
    "config-tab-indentation.yaml": refused("YAML syntax error", 3),
    "config-top-level-list.yaml": refused("the top level must be a mapping", 1),
    "config-top-level-scalar.yaml": refused("the top level must be a mapping", 1),
    "config-two-documents.yaml": refused("holds one YAML document", 7),
    "config-unsafe-tag-binary.yaml": refused("YAML tag !!binary " + NOT_PLAIN, 3),
    "config-unsafe-tag-custom-local.yaml": refused("YAML tag !Ref " + NOT_PLAIN, 9),
    "config-unsafe-tag-os-system.yaml": refused("!!python/object/apply:os.system " + NOT_PLAIN, 9),
    "config-unsafe-tag-python-name.yaml": refused("!!python/name:os.system " + NOT_PLAIN, 2),
    "config-unsafe-tag-python-object-new.yaml": refused("!!python/object/new:subprocess.Popen", 2),
    "config-unsafe-tag-timestamp-set.yaml": refused("YAML tag !!set " + NOT_PLAIN, 2),
    "config-unsafe-tag-verbatim.yaml": refused("!!python/object/apply:os.system " + NOT_PLAIN, 2),
    "config-utf16-be-no-bom.yaml": refused(NOT_UTF8),
    "config-utf16-le-bom.yaml": refused(NOT_UTF8, 1),
    "config-utf32.yaml": refused(NOT_UTF8, 1),
    "config-wrong-version.yaml": refused("version must be 1, not the number 2", 1),
    "config-yaml-syntax-error.yaml": refused("YAML syntax error", 9),
}

TOPOLOGIES: dict[str, tuple[str, int | None, str | None]] = {
    "topology-billion-laughs.yaml": ("aliases in the file expand to more than", 6, None),
    "topology-deep-block-nesting.yaml": ("nest", 1, None),
    "topology-deep-nesting.yaml": ("exceeded maximum nesting depth", 1, None),
    "topology-duplicate-keys.yaml": ("duplicate key 'name'", 3, None),
    "topology-huge-partition-count.yaml": ("a partition count must be between 1 and 10000", 6, None),
    "topology-name-with-tilde.yaml": ("must not contain whitespace or any of ~", 2, None),
    "topology-not-a-mapping.json": ("the top level must be a mapping (applications:, storage:)", 1, None),
    "topology-unsafe-tag.yaml": ("YAML tag !!python/object/apply:os.system is not allowed", 2, None),
    "topology-utf16.yaml": ("the file is not UTF-8 text", None, None),
}

ALTERED = "the plan file was altered after it was made (checksum mismatch)"
NOT_FORMAT = "the plan file does not match its format"
PLANS: dict[str, tuple[str, str | None]] = {
    "plan-deep-nesting.json": ("not a plan file", None),
    "plan-format-version-as-string.json": (
        "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found '1')",
        None,
    ),
    "plan-from-another-cluster.json": ("the plan was made for https://other-cluster.example.com:19080", None),
    "plan-not-json.json": ("not a plan file (invalid JSON", None),
    "plan-nul-bytes.json": ("not a plan file (invalid JSON", None),
    "plan-null.json": (
        "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found None)",
        None,
    ),
    "plan-request-does-not-match-action.json": (
        "is not the one enable_backup sends; refusing the whole plan",
        None,
    ),
    "plan-request-extra-query.json": ("is not the one create_policy sends; refusing the whole plan", None),
    "plan-request-for-another-address.json": (
        "is not the one enable_backup sends; refusing the whole plan",
        None,
    ),
    "plan-request-network-path.json": ("is not the one create_policy sends; refusing the whole plan", None),
    "plan-request-outside-backup-api.json": (
        "is not the one enable_backup sends; refusing the whole plan",
        None,
    ),
    "plan-schema-violation.json": (NOT_FORMAT, None),
    "plan-stale-live-digest.json": ("the cluster changed since this plan was made", None),
    "plan-tampered-after-it-was-made.json": (ALTERED, None),
    "plan-tampered-forged-checksum.json": (ALTERED, None),
    "plan-unknown-action.json": (NOT_FORMAT, None),
    "plan-utf16.json": ("not a plan file (invalid JSON", None),
    "plan-without-checksum.json": (ALTERED, None),
    "plan-wrong-format-version.json": (
        "not a plan file this sfdeclare reads (it reads format versions 1 and 2; found 3)",
        None,
    ),
}

AUXILIARY = {"loop-a.txt", "loop-b.txt", "self-reference.txt"}


def params(cases: dict[str, Any], bug_of: Any) -> list[Any]:
    out = []
    for name in sorted(cases):
        bug = bug_of(cases[name])
        marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_every_corpus_file_is_a_case() -> None:
    files = {p.name for p in CORPUS.iterdir()}
    assert files == set(CONFIGS) | set(TOPOLOGIES) | set(PLANS) | AUXILIARY
    assert len(files - AUXILIARY) >= 40


# --- running the CLI ------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


def sfd(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


def assert_clear_refusal(run: Run, message: str, where: str | None) -> None:
    text = run.out + run.err
    assert run.code == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    errors = [line for line in run.err.splitlines() if "error" in line]
    assert errors, text
    assert any(message in line for line in errors), text
    if where is not None:
        assert any(line.startswith(where) for line in errors), text
    assert CANARY not in text


def cluster_rows(state: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        rows: list[tuple[Any, ...]] = []
        for table in ("policies", "mappings", "suspensions"):
            rows.extend((table, *row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"))
    return rows


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    state = tmp_path / "cluster.state"
    init_state(str(state), str(tmp_path / "topology.yaml"))
    monkeypatch.setenv("HOSTILE_STORE", CANARY)
    for name in ("HOSTILE_NOT_SET", "HOSTILE_NO_ENDPOINT", "SFDECLARE_ENDPOINT", "SFDECLARE_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return state


@contextmanager
def memory_bound(active: bool = True) -> Iterator[None]:
    """Peak Python memory below MEMORY_LIMIT while the block runs (tracing costs time: only where it matters)."""
    if not active:
        yield
        return
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"peak memory {peak / 1e6:.0f} MB"


@pytest.fixture()
def bounded_memory() -> Iterator[None]:
    with memory_bound():
        yield


EXPANSIVE = ("laughs", "nesting", "alias", "huge")


# --- configuration files ----------------------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", params(CONFIGS, lambda case: case.bug))
def test_hostile_configuration(name: str, cluster: Path) -> None:
    case = CONFIGS[name]
    path = str(CORPUS / name)
    where = f"{path}:{case.line}:" if case.line is not None else (f"{path}:" if case.located else None)
    endpoint = [] if case.from_config_endpoint else ["--endpoint", f"emulator:{cluster}"]
    before = cluster_rows(cluster)
    commands = {
        "validate": ["validate", path],
        "plan": ["plan", path, *endpoint],
        "apply": ["apply", path, *endpoint, "--auto-approve"],
    }
    for command, argv in commands.items():
        expected = getattr(case, command)
        with memory_bound(any(word in name for word in EXPANSIVE)):
            run = sfd(*argv)
        if expected == 0:
            assert run.code == 0, run.out + run.err
            assert "Traceback" not in run.err and CANARY not in run.out + run.err
        else:
            assert_clear_refusal(run, case.message, where)
    if not case.changes_cluster:
        assert cluster_rows(cluster) == before, "something was sent to the cluster"


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("name", "literal"),
    [
        ("config-interpolation-file-loop.yaml", "${file:loop-b.txt}"),
        ("config-interpolation-self-reference.yaml", "prefix-${file:self-reference.txt}-suffix"),
    ],
)
def test_interpolation_resolves_one_level_and_never_recurses(name: str, literal: str, cluster: Path) -> None:
    run = sfd("apply", str(CORPUS / name), "--endpoint", f"emulator:{cluster}", "--auto-approve")
    assert run.code == 0, run.err
    with sqlite3.connect(f"file:{cluster}?mode=ro", uri=True) as conn:
        (body,) = conn.execute("SELECT body FROM policies WHERE name = 'Daily'").fetchone()
    assert json.loads(body)["Storage"]["ConnectionString"] == literal


def write_sparse(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


@pytest.mark.timeout(20)
def test_a_file_over_the_size_limit_is_refused_without_reading_it(
    cluster: Path, bounded_memory: None
) -> None:
    huge = cluster.parent / "huge.yaml"
    write_sparse(huge, 11 * 1024 * 1024)
    for argv in (["validate"], ["plan", "--endpoint", f"emulator:{cluster}"]):
        run = sfd(argv[0], str(huge), *argv[1:])
        assert_clear_refusal(run, "over the 10 MiB limit", f"{huge}:1:1:")


@pytest.mark.timeout(20)
def test_a_file_of_many_aliases_in_a_long_document_is_bounded(cluster: Path, bounded_memory: None) -> None:
    lines = ["version: 1", "policies:", "  Daily: &daily", "    MaxIncrementalBackups: 3"]
    lines += ["applications:"] + [f"  App{i}: {{policy: *big}}" for i in range(20_000)]
    lines.insert(4, "big: &big [" + ", ".join(["x"] * 200) + "]")
    path = cluster.parent / "aliases.yaml"
    path.write_text("\n".join(lines) + "\n")
    run = sfd("validate", str(path))
    assert_clear_refusal(run, BOMB, f"{path}:")


@pytest.mark.timeout(20)
def test_a_huge_scalar_is_refused(cluster: Path, bounded_memory: None) -> None:
    path = cluster.parent / "scalar.yaml"
    path.write_text(
        BASE_CONFIG.replace("ContainerName: backups", "ContainerName: " + "c" * (9 * 1024 * 1024))
    )
    assert_clear_refusal(sfd("validate", str(path)), "is over the 65,536-character limit", f"{path}:6:")


# --- topology files ---------------------------------------------------------------------------------------


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", params(TOPOLOGIES, lambda case: case[2]))
def test_hostile_topology(name: str, tmp_path: Path, bounded_memory: None) -> None:
    message, line, _ = TOPOLOGIES[name]
    path = str(CORPUS / name)
    state = tmp_path / "state"
    run = sfd("emulator", "init", "--state", str(state), "--topology", path)
    where = f"{path}:{line}:" if line is not None else None
    if where is None:
        assert path in run.err
    assert_clear_refusal(run, message, where)
    assert not state.exists(), "a state was created from a refused topology"


# --- plan files -------------------------------------------------------------------------------------------


@pytest.fixture()
def served(cluster: Path) -> Iterator[tuple[EmulatorServer, dict[str, Any]]]:
    """A served emulator and a genuine plan made against it (its digests fill the corpus' placeholders)."""
    (cluster.parent / "sfdeclare.yaml").write_text(BASE_CONFIG)
    with EmulatorServer(str(cluster)) as server:
        run = sfd("plan", "sfdeclare.yaml", "--endpoint", server.url, "--out", "genuine.json")
        assert run.code == 0, run.err
        yield server, json.loads((cluster.parent / "genuine.json").read_text())


def posts(server: EmulatorServer) -> int:
    stats = httpx.get(server.url + "/$/Emulator/Stats").json()
    return sum(n for route, n in stats["Routes"].items() if route.startswith("POST"))


def fill(text: str, url: str, genuine: dict[str, Any]) -> str:
    """A corpus plan with its placeholders filled in; ``@CHECKSUM@`` becomes a valid checksum of the result."""
    for key, value in (
        ("@ENDPOINT@", url),
        ("@LIVE_DIGEST@", genuine["live_digest"]),
        ("@CONFIG_DIGEST@", genuine["config_digest"]),
        ("@CHECKSUM_OF_ORIGINAL@", genuine["checksum"]),
    ):
        text = text.replace(key, value)
    data = json.loads(text)
    if data.get("checksum") == "@CHECKSUM@":
        rest = {k: v for k, v in data.items() if k != "checksum"}
        data["checksum"] = "sha256:" + hashlib.sha256(canonical_json(rest).encode()).hexdigest()
    return json.dumps(data, indent=2)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", params(PLANS, lambda case: case[1]))
def test_hostile_plan_file(
    name: str, served: tuple[EmulatorServer, dict[str, Any]], bounded_memory: None
) -> None:
    server, genuine = served
    message, _ = PLANS[name]
    plan_file = Path("hostile-plan.json")
    raw = (CORPUS / name).read_bytes()
    plan_file.write_bytes(fill(raw.decode(), server.url, genuine).encode() if b'"@' in raw else raw)
    run = sfd("apply", "--plan", str(plan_file), "--endpoint", server.url)
    assert posts(server) == 0, "apply sent a request from a plan file it should have refused"
    assert_clear_refusal(run, message, None)


@pytest.mark.timeout(20)
def test_a_plan_file_over_the_size_limit_is_refused_unread(
    served: tuple[EmulatorServer, dict[str, Any]], bounded_memory: None
) -> None:
    server, _ = served
    huge = Path("huge-plan.json")
    write_sparse(huge, 65 * 1024 * 1024)
    run = sfd("apply", "--plan", str(huge), "--endpoint", server.url)
    assert_clear_refusal(run, "that is not a plan sfdeclare wrote", None)
    assert posts(server) == 0


@pytest.mark.timeout(20)
def test_the_corpus_template_with_a_valid_checksum_applies(
    served: tuple[EmulatorServer, dict[str, Any]],
) -> None:
    """The control case: the template the plan corpus is cut from is a plan apply accepts and executes."""
    server, genuine = served
    template = json.loads((CORPUS / "plan-stale-live-digest.json").read_text())
    template["live_digest"] = "@LIVE_DIGEST@"
    Path("control.json").write_text(fill(json.dumps(template), server.url, genuine))
    run = sfd("apply", "--plan", "control.json", "--endpoint", server.url)
    assert run.code == 0, run.out + run.err
    assert posts(server) == 2
