"""Planning without I/O: load the configuration and read the live state once (in-process emulator), then time
``sfdeclare.planner.plan`` alone.

``python -m benchmarks.inprocess STATE CONFIG [--repeat N]`` prints a JSON object with the times in seconds.
Secrets come from the environment, as for the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from sfdeclare.cluster.read import read_state
from sfdeclare.commands.session import connect, resolve_values
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.model.scope import read_scope


def measure(state: str, config: str, *, repeat: int = 3, parallelism: int = 16) -> dict[str, Any]:
    started = time.perf_counter()
    declaration = load_declaration([config])
    load_s = time.perf_counter() - started
    endpoint = f"emulator:{os.path.abspath(state)}"
    with connect(
        endpoint, settings=declaration.cluster, base_dir=declaration.base_dir, parallelism=parallelism
    ) as c:
        started = time.perf_counter()
        live = read_state(c, read_scope(declaration), parallelism=parallelism)
        read_s = time.perf_counter() - started
    options = PlanOptions(endpoint=endpoint)
    resolved = resolve_values(declaration, os.environ)  # as `plan` does, before planning (no I/O in plan)
    times: list[float] = []
    changes = 0
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = plan(resolved, live, options)
        times.append(time.perf_counter() - started)
        changes = len(result.changes)
    return {
        "load_declaration_s": load_s,
        "read_state_inprocess_s": read_s,
        "read_state_requests": live.requests,
        "plan_s_min": min(times),
        "plan_s_median": statistics.median(times),
        "plan_changes": changes,
        "applications": len(live.applications),
        "mappings": len(live.mappings),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("state")
    parser.add_argument("config")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.state, args.config, repeat=args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
