"""The emulator's chaos modes, importable without loading the emulator: the CLI builds its ``--chaos`` choices
from them (as it builds ``--runtime`` from ``emulator/runtimes.py``), and only ``sfdeclare emulator`` loads the
server itself."""

from __future__ import annotations

CHAOS_MODES = ("invalid-json", "html-error", "wrong-shape", "truncated", "hang", "reset-mid-response")
