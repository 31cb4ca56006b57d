"""``make bench``: plan and apply at scale against the served emulator with injected latency, against the bound.

For each scale: generate a topology and a configuration, serve the emulator in its own process, run
``validate``, ``plan`` (empty cluster), ``apply --auto-approve`` and ``plan`` again (converged) as whole
processes, count their requests from the emulator's statistics, and run the SDK baseline on the same cluster.
Then time planning alone in-process and the emulator's own throughput, and write the tables into
benchmarks/RESULTS.md (between the result markers; the text around them is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks import throughput
from benchmarks.generate import Scenario, generate
from benchmarks.processes import PYTHON, ROOT, SFDECLARE, BenchError, Emulator, Run, child_env, run_timed

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
STATUS_ADVANCE = "P8D"  # the emulator's clock before status: every schedule (weekly included) has run
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"

# Which apply phase each write route belongs to (sfdeclare's phases: PRODUCT.md §4).
_PHASE_OF_ROUTE = {
    "POST /BackupRestore/BackupPolicies/$/Create": 1,
    "POST /BackupRestore/BackupPolicies/{name}/$/Update": 1,
    "EnableBackup": 2,
    "SuspendBackup": 3,
    "ResumeBackup": 3,
    "DisableBackup": 4,
    "POST /BackupRestore/BackupPolicies/{name}/$/Delete": 5,
}


@dataclass(frozen=True)
class Measured:
    """One command run against the emulator: the process's numbers and the requests it made."""

    name: str
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    requests: int
    routes: dict[str, int]
    bound_s: float  # ceil(requests / parallelism) x latency
    phase_bound_s: float  # the same, phase by phase (reads, then each apply phase, then the re-read)
    returncode: int
    emulator_cpu_s: float | None = None
    summary: str = ""
    walls: tuple[float, ...] = ()  # every run's wall time when the command was repeated, sorted

    @property
    def over_bound(self) -> float:
        return self.wall_s / self.bound_s if self.bound_s > 0 else math.inf


@dataclass
class ScaleResult:
    applications: int
    services: int
    partitions: int
    partition_services: int
    service_overrides: int
    suspensions: int
    expected_plan_requests: int
    commands: list[Measured] = field(default_factory=list)
    validate_s: float | None = None
    validate_error: str = ""
    inprocess: dict[str, Any] = field(default_factory=dict)
    baseline: Measured | None = None
    throughput: list[dict[str, Any]] = field(default_factory=list)
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load at the start and the end of this scale

    def command(self, name: str) -> Measured | None:
        return next((c for c in self.commands if c.name == name), None)


def lower_bound(requests: int, parallelism: int, latency_ms: float) -> float:
    return math.ceil(requests / parallelism) * latency_ms / 1000.0


def phase_bound(routes: dict[str, int], parallelism: int, latency_ms: float) -> float:
    """Reads and each apply phase cannot overlap: the bound summed stage by stage.

    An apply's reads are two equal passes (the plan, then the convergence check); a plan's reads are one.
    """
    reads = sum(n for route, n in routes.items() if route.startswith("GET "))
    phases: dict[int, int] = {}
    for route, n in routes.items():
        if route.startswith("GET "):
            continue
        phase = _PHASE_OF_ROUTE.get(route) or next(
            (p for key, p in _PHASE_OF_ROUTE.items() if route.endswith(f"/$/{key}")), 0
        )
        phases[phase] = phases.get(phase, 0) + n
    passes = 2 if phases else 1
    stages = [math.ceil(reads / passes)] * passes + list(phases.values())
    return sum(math.ceil(n / parallelism) for n in stages if n) * latency_ms / 1000.0


def median_run(runs: list[Measured]) -> Measured:
    """The run with the median wall time (the lower middle one of an even count), carrying every run's wall."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    return replace(ordered[(len(ordered) - 1) // 2], walls=tuple(m.wall_s for m in ordered))


def _remove_state(state: str) -> None:
    for path in (state, state + "-wal", state + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _cli(*args: str) -> list[str]:
    return [SFDECLARE, *args]


def _last_line(run: Run, prefix: str) -> str:
    lines = [line for line in run.stdout.splitlines() if line.startswith(prefix)]
    return lines[-1] if lines else ""


def _measure(
    name: str, argv: list[str], emulator: Emulator, env: dict[str, str], opts: argparse.Namespace
) -> Measured:
    emulator.reset_stats()
    cpu_before = emulator.cpu_seconds()
    run = run_timed(argv, env=env, timeout=opts.timeout)
    cpu_after = emulator.cpu_seconds()
    stats = emulator.stats()
    if run.returncode != 0 and not (name == "status" and run.returncode == 2):  # status: 2 = a problem found
        raise BenchError(f"{name} exited {run.returncode}: {run.tail()}")
    routes = {k: int(v) for k, v in stats["Routes"].items()}
    requests = int(stats["Total"])
    summary = _last_line(run, "Plan:") or _last_line(run, "Apply complete") or _last_line(run, "No changes")
    if name == "status":
        summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""  # its summary line
    if name == "sdk baseline":
        summary = run.stdout.strip()
    return Measured(
        name=name,
        wall_s=run.wall_s,
        cpu_s=run.cpu_s,
        maxrss_mb=run.maxrss_mb,
        requests=requests,
        routes=routes,
        bound_s=lower_bound(requests, opts.parallelism, opts.latency_ms),
        phase_bound_s=phase_bound(routes, opts.parallelism if name != "sdk baseline" else 1, opts.latency_ms),
        returncode=run.returncode,
        emulator_cpu_s=None if cpu_before is None or cpu_after is None else cpu_after - cpu_before,
        summary=summary,
    )


def measure_scale(
    applications: int, workdir: Path, opts: argparse.Namespace, *, baseline: bool
) -> ScaleResult:
    print(f"== {applications} applications", file=sys.stderr, flush=True)
    load_start = os.getloadavg()[0]
    scenario: Scenario = generate(
        workdir / f"apps{applications}",
        applications,
        services=opts.services,
        partitions=opts.partitions,
        partition_every=opts.partition_every,
    )
    result = ScaleResult(
        applications=applications,
        services=scenario.services,
        partitions=scenario.partitions,
        partition_services=scenario.partition_services,
        service_overrides=scenario.service_overrides,
        suspensions=scenario.suspensions,
        expected_plan_requests=scenario.expected_plan_requests,
    )
    env = child_env(scenario.env)
    config = str(scenario.config)
    state = str(scenario.config.parent.parent / "state.db")
    validate = run_timed(_cli("validate", config), env=env, timeout=opts.timeout)
    if validate.returncode == 0:
        result.validate_s = validate.wall_s
    else:
        result.validate_error = validate.tail(1)
    common = ["--endpoint", "", "--parallelism", str(opts.parallelism)]
    runs: dict[str, list[Measured]] = {}
    for run_index in range(opts.repeat):
        _remove_state(state)  # every run starts from the empty cluster of the topology
        with Emulator(state, str(scenario.topology), latency_ms=opts.latency_ms) as emulator:
            common[1] = emulator.url
            steps = [
                ("plan (empty cluster)", _cli("plan", config, *common)),
                ("apply", _cli("apply", config, *common, "--auto-approve")),
                ("plan (converged)", _cli("plan", config, *common)),
            ]
            # status judges backups: two days of the emulator's clock first, so every schedule has run
            steps.append(("status", _cli("status", config, *common)))
            for name, argv in steps:
                print(f"   {name} (run {run_index + 1}/{opts.repeat}) ...", file=sys.stderr, flush=True)
                if name == "status":
                    emulator.advance(STATUS_ADVANCE)
                measured = _measure(name, argv, emulator, env, opts)
                runs.setdefault(name, []).append(measured)
                print(
                    f"   {name}: {measured.requests} requests, {measured.wall_s:.2f}s "
                    f"(bound {measured.bound_s:.2f}s)",
                    file=sys.stderr,
                    flush=True,
                )
            if baseline and run_index == opts.repeat - 1:
                print("   sdk baseline ...", file=sys.stderr, flush=True)
                argv = [PYTHON, "-m", "benchmarks.sdk_baseline", emulator.url]
                result.baseline = _measure("sdk baseline", argv, emulator, env, opts)
                print(f"   sdk baseline: {result.baseline.wall_s:.2f}s", file=sys.stderr, flush=True)
    result.commands = [median_run(measured) for measured in runs.values()]
    inproc = run_timed([PYTHON, "-m", "benchmarks.inprocess", state, config], env=env, timeout=opts.timeout)
    if inproc.returncode != 0:
        raise BenchError(f"in-process planning failed: {inproc.tail()}")
    result.inprocess = json.loads(inproc.stdout)
    result.inprocess["maxrss_mb"] = inproc.maxrss_mb
    if opts.throughput_seconds > 0:
        with Emulator(state, None, latency_ms=0) as emulator:
            for client in throughput.CLIENTS:
                cpu_before = emulator.cpu_seconds()
                got = throughput.measure(
                    emulator.url,
                    applications,
                    threads=opts.threads,
                    seconds=opts.throughput_seconds,
                    client=client,
                )
                cpu_after = emulator.cpu_seconds()
                stats = emulator.stats()["Total"]
                emulator.reset_stats()
                cpu_per_request = (
                    (cpu_after - cpu_before) / stats
                    if cpu_before is not None and cpu_after and stats
                    else None
                )
                result.throughput.append(
                    {**asdict(got), "per_second": got.per_second, "emulator_cpu_ms": _ms(cpu_per_request)}
                )
    result.load_average = (load_start, os.getloadavg()[0])
    return result


# --- the report ----------------------------------------------------------------------------------------------


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _machine(opts: argparse.Namespace) -> list[str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- Code: {_revision()}",
        f"- Date: {now}",
        f"- Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu or 'unknown CPU'}, "
        f"{platform.system()} {platform.release()}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- Parameters: {opts.services} stateful services x {opts.partitions} partitions per application, "
        f"latency {opts.latency_ms:g} ms per request (injected by the emulator), parallelism {opts.parallelism}",
        f"- Command: `{' '.join(['python -m benchmarks.run', *sys.argv[1:]])}`",
    ]


def _revision() -> str:
    """The commit measured, and whether sfdeclare/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sfdeclare"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if not head:
        return "unknown (not a git checkout)"
    return f"commit {head}" + (" with uncommitted changes in sfdeclare/" if dirty else "")


def render(results: list[ScaleResult], opts: argparse.Namespace) -> str:
    lines = [BEGIN, "", "## Measurements", "", *_machine(opts), ""]
    lines += [
        "Each scale runs plan / apply / plan `--repeat` times, each time from an empty cluster; a row is the "
        "run with the median wall time, and lists every run's wall time. "
        "Wall and CPU time and peak memory are those of the whole `sfdeclare` process (interpreter start, "
        "loading, reading, planning, rendering). Requests are counted by the emulator. Bound = "
        "ceil(requests / parallelism) x latency; phase bound = the same summed over stages that cannot "
        "overlap (reads, each apply phase, the convergence re-read).",
        "",
        "| apps | services | partitions | command | requests | expected | wall s (median) | wall s (runs) "
        "| bound s | wall/bound | phase bound s | CPU s | emulator CPU s | peak MB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for c in r.commands:
            expected = str(r.expected_plan_requests) if c.name.startswith("plan") else ""
            lines.append(
                f"| {r.applications} | {r.services} | {r.partitions} | {c.name} | {c.requests} | {expected} "
                f"| {_s(c.wall_s)} | {', '.join(_s(w) for w in c.walls)} | {_s(c.bound_s)} "
                f"| {c.over_bound:.2f} | {_s(c.phase_bound_s)} "
                f"| {_s(c.cpu_s)} | {_s(c.emulator_cpu_s)} | {c.maxrss_mb:.0f} |"
            )
    lines += ["", "1-minute load average of the machine while measuring (start -> end of each scale):", ""]
    for r in results:
        lines.append(f"- {r.applications} apps: {r.load_average[0]:.1f} -> {r.load_average[1]:.1f}")
    lines += ["", "Plan and apply summaries:", ""]
    for r in results:
        for c in r.commands:
            lines.append(f"- {r.applications} apps, {c.name}: {c.summary}")
    lines += [
        "",
        "Expected plan requests = 1 runtime read (GetClusterVersion) + 1 policy page + 2 per application "
        "(services, application-level backup configuration) + 1 per service with partition-level declarations.",
        "",
        "### Declared at each scale",
        "",
        "| apps | service overrides | services with partition settings | suspensions |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.applications} | {r.service_overrides} | {r.partition_services} | {r.suspensions} |"
        )
    lines += [
        "",
        "### Baseline: a per-service reader with azure-servicefabric (sequential)",
        "",
        "Lists applications, each application's services and each service's backup configuration, one request "
        "at a time, against the converged cluster; compared with `plan (converged)`, which reads what a plan "
        "needs of the same cluster.",
        "",
        "| apps | baseline requests | baseline wall s | sfdeclare plan requests | sfdeclare plan wall s "
        "| requests ratio | wall ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ours = r.command("plan (converged)")
        if r.baseline is None or ours is None:
            continue
        lines.append(
            f"| {r.applications} | {r.baseline.requests} | {_s(r.baseline.wall_s)} | {ours.requests} "
            f"| {_s(ours.wall_s)} | {r.baseline.requests / max(1, ours.requests):.1f}x "
            f"| {r.baseline.wall_s / max(1e-9, ours.wall_s):.1f}x |"
        )
    lines += [
        "",
        "### Planning alone, validate, and the emulator",
        "",
        "| apps | load_declaration s | read_state in-process s | plan() s (min) | plan() s (median) "
        "| `validate` process s | in-process peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        i = r.inprocess
        validate = _s(r.validate_s) if r.validate_s is not None else f"failed: {r.validate_error}"
        lines.append(
            f"| {r.applications} | {_s(i.get('load_declaration_s'))} | {_s(i.get('read_state_inprocess_s'))} "
            f"| {i.get('plan_s_min', 0):.3f} | {i.get('plan_s_median', 0):.3f} | {validate} "
            f"| {i.get('maxrss_mb', 0):.0f} |"
        )
    lines += [
        "",
        "Emulator throughput without injected latency (keep-alive clients, one per thread, in one process), "
        "and the emulator's own CPU time per request; 1000 / that = the requests per second one core of it "
        "serves.",
        "",
        "| apps | client | threads | requests/s | errors | emulator CPU ms/request | emulator capacity req/s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for t in r.throughput:
            cpu = t.get("emulator_cpu_ms")
            capacity = f"{1000.0 / cpu:.0f}" if cpu else "n/a"
            lines.append(
                f"| {r.applications} | {t['client']} | {t['threads']} | {t['per_second']:.0f} | {t['errors']} "
                f"| {_s(cpu)} | {capacity} |"
            )
    lines += ["", *_scaling(results), "", *_targets(results, opts), "", END]
    return "\n".join(lines) + "\n"


def _scaling(results: list[ScaleResult]) -> list[str]:
    by_apps = {r.applications: r for r in results}
    small, large = min(by_apps), max(by_apps)
    if small == large:
        return []
    factor = large / small
    lines = [
        f"### Scaling: {small} -> {large} applications ({factor:g}x)",
        "",
        "| command | wall ratio | requests ratio |",
        "|---|---:|---:|",
    ]
    for c in by_apps[large].commands:
        base = by_apps[small].command(c.name)
        if base is not None:
            lines.append(
                f"| {c.name} | {c.wall_s / base.wall_s:.2f}x | {c.requests / max(1, base.requests):.2f}x |"
            )
    return lines


def _targets(results: list[ScaleResult], opts: argparse.Namespace) -> list[str]:
    r = max(results, key=lambda x: x.applications)
    small = min(results, key=lambda x: x.applications)
    checks: list[tuple[str, str, bool]] = []
    plan = r.command("plan (converged)")
    apply = r.command("apply")
    if plan is not None:
        checks.append(
            (
                "plan requests <= 1 runtime + 1 policy page + 2/app + 1/partition service",
                f"{plan.requests} vs {r.expected_plan_requests}",
                plan.requests <= r.expected_plan_requests,
            )
        )
    for c in (r.command("plan (empty cluster)"), plan, apply, r.command("status")):
        if c is not None:
            checks.append((f"{c.name} wall <= 1.5 x bound", f"{c.over_bound:.2f}x", c.over_bound <= 1.5))
    plan_s = r.inprocess.get("plan_s_median")
    if plan_s is not None:
        checks.append(("planning alone <= 1 s", f"{plan_s:.3f} s", plan_s <= 1.0))
    checks.append(
        (
            "validate <= 2 s",
            _s(r.validate_s) if r.validate_s is not None else "failed",
            r.validate_s is not None and r.validate_s <= 2.0,
        )
    )
    peak = max([c.maxrss_mb for c in r.commands] + [0.0])
    checks.append(("peak memory <= 250 MB", f"{peak:.0f} MB", peak <= 250))
    if small is not r:
        factor = r.applications / small.applications
        for c in r.commands:
            base = small.command(c.name)
            if base is not None:
                ratio = c.wall_s / base.wall_s
                limit = 1.1 * factor
                checks.append(
                    (f"{c.name}: {factor:g}x apps <= {limit:g}x time", f"{ratio:.2f}x", ratio <= limit)
                )
    for t in r.throughput:
        # The emulator's own speed is what this target is about: measured with the lightest load client; the
        # sfdeclare client's row (in the throughput table) also shows what the client process itself manages.
        if t["client"] == "http.client":
            checks.append(
                (
                    "emulator >= 1,500 requests/s (http.client load threads)",
                    f"{t['per_second']:.0f}/s",
                    t["per_second"] >= 1500,
                )
            )
        if t.get("emulator_cpu_ms"):
            capacity = 1000.0 / t["emulator_cpu_ms"]
            checks.append(
                (
                    f"emulator capacity from its CPU/request ({t['client']} run)",
                    f"{capacity:.0f}/s",
                    capacity >= 1500,
                )
            )
    lines = [
        f"### Targets at {r.applications} applications",
        "",
        "| target | measured | met |",
        "|---|---:|:---:|",
    ]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    return lines


def write_results(text: str, path: Path) -> None:
    """Replace the measured section of ``path`` (between the markers), keeping everything around it."""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + text.rstrip("\n") + tail, encoding="utf-8")
            return
        path.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    path.write_text("# sfdeclare benchmarks\n\n" + text, encoding="utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--apps", type=int, nargs="+", default=[100, 1000], help="scales to measure")
    p.add_argument("--services", type=int, default=10, help="stateful services per application")
    p.add_argument("--partitions", type=int, default=4, help="partitions per service")
    p.add_argument("--partition-every", type=int, default=4, help="every Nth app declares partition settings")
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument(
        "--repeat", type=int, default=3, help="runs of plan/apply/plan per scale, each from an empty cluster"
    )
    p.add_argument("--parallelism", type=int, default=16)
    p.add_argument("--baseline-max-apps", type=int, default=1000, help="skip the SDK baseline above this")
    p.add_argument("--throughput-seconds", type=float, default=3.0, help="0 skips the emulator throughput")
    p.add_argument("--threads", type=int, default=4, help="client threads for the throughput measurement")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds any one process may take")
    p.add_argument("--out", type=Path, default=RESULTS, help="the results file (Markdown)")
    p.add_argument("--json", type=Path, help="also write the raw numbers here")
    p.add_argument("--workdir", help="keep generated files here instead of a temporary directory")
    opts = p.parse_args(argv)
    if min(opts.apps) < 1 or opts.parallelism < 1 or opts.repeat < 1 or opts.latency_ms < 0:
        p.error("--apps, --parallelism and --repeat must be positive, --latency-ms not negative")
    return opts


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every `with Emulator`, which stops the child


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    results: list[ScaleResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sfdeclare-bench-") as tmp:
            workdir = Path(opts.workdir) if opts.workdir else Path(tmp)
            for apps in sorted(set(opts.apps)):
                results.append(measure_scale(apps, workdir, opts, baseline=apps <= opts.baseline_max_apps))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    text = render(results, opts)
    write_results(text, opts.out)
    if opts.json:
        opts.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
