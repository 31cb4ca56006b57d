"""A served emulator that misbehaves by rules, for tests: ``with FaultyServer(emulator, [Rule(...)]) as chaos``
attaches the emulator's own chaos mechanism (sfdeclare/emulator/chaos.py) to a running ``EmulatorServer`` and
records every request it receives; leaving the block lifts the chaos and ends any fault still waiting."""

from __future__ import annotations

from sfdeclare.emulator.chaos import Chaos, Received, Rule
from sfdeclare.emulator.server import EmulatorServer

__all__ = ["FaultyServer", "Rule"]


class FaultyServer:
    def __init__(self, emulator: EmulatorServer, rules: list[Rule] | None = None) -> None:
        self._emulator = emulator
        self._chaos = Chaos(rules or [], record=True)

    @property
    def url(self) -> str:
        return self._emulator.url

    @property
    def received(self) -> list[Received]:
        return self._chaos.received

    def __enter__(self) -> FaultyServer:
        self._emulator.set_chaos(self._chaos)
        return self

    def __exit__(self, *exc: object) -> None:
        self._emulator.set_chaos(None)
