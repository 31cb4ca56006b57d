"""What apply shows while it runs and when it ends: on a terminal one progress line rewritten in place (on
stderr), elsewhere (a CI log) one line per action as it finishes (on stdout); then the failures and the summary.
"""

from __future__ import annotations

import threading
from typing import TextIO

from sfdeclare.engine.applier import ActionResult, ApplyResult
from sfdeclare.engine.plan import PHASE_NAMES
from sfdeclare.render.summaries import apply_line


def cause(r: ActionResult) -> str:
    return f"{r.code}: {r.message}" if r.code else str(r.message)


class Progress:
    """The applier's ``on_phase``/``on_result`` callbacks; ``live`` for the in-place terminal line."""

    def __init__(self, total: int, out: TextIO, err: TextIO, live: bool) -> None:
        self.total, self.out, self.err, self.live = total, out, err, live
        self.done = self.failed = 0
        self.phase = 0
        self.lock = threading.Lock()

    def on_phase(self, phase: int) -> None:
        self.phase = phase

    def on_result(self, r: ActionResult) -> None:
        with self.lock:
            self.done += 1
            self.failed += r.status == "failed"
            if self.live:
                self.err.write(
                    f"\r\033[K[{self.done}/{self.total}] phase {self.phase} ({PHASE_NAMES.get(self.phase, '')}),"
                    f" {self.failed} failed"
                )
                self.err.flush()
                return
            line = f"{r.status}: {r.change.action.value} {r.change.address}"
            if r.status == "failed":
                line += f" -- {cause(r)}"
            elif r.status == "skipped":
                line += f" -- waited for {r.waited_for}"
            elif r.note:
                line += f" ({r.note})"
            if r.attempts > 1:
                line += f" [{r.attempts} attempts]"
            self.out.write(line + f" ({r.duration:.2f}s)\n")
            self.out.flush()

    def finish(self) -> None:
        if self.live:
            self.err.write("\n")


def print_result(result: ApplyResult, out: TextIO) -> None:
    """Every failed action with its cause, then the summary line."""
    for r in result.results:
        if r.status == "failed":
            out.write(f"failed: {r.change.action.value} {r.change.address}: {cause(r)}\n")
    out.write(apply_line(result) + "\n")
