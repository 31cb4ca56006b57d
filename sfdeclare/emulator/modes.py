"""The emulator's chaos modes, importable without loading the emulator: the CLI builds its ``--chaos`` choices
from them (as it builds ``--runtime`` from ``emulator/runtimes.py``), and only ``sfdeclare emulator`` loads the
server itself. Each mode names the fault of ``emulator/chaos.py`` that it acts out on every request, after the
emulator has carried the request out."""

from __future__ import annotations

MODE_FAULTS = {
    "invalid-json": "invalid_json",
    "html-error": "html_502",
    "wrong-shape": "wrong_shape",
    "truncated": "truncated",
    "hang": "silent",
    "reset-mid-response": "reset_mid_response",
}
CHAOS_MODES = tuple(MODE_FAULTS)
