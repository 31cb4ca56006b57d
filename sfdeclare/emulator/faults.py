"""Injected faults: with probability ``rate`` a request fails with one of the chosen kinds, repeatably."""

from __future__ import annotations

import random
import threading

FAULT_KINDS = ("503", "429", "504", "reset", "500")
# What --fault-codes draws from by default; "500" (E_UNEXPECTED, a request that reached a node without the
# backup service's primary, fidelity audit b.13) is opt-in.
DEFAULT_FAULT_KINDS = ("503", "429", "504", "reset")


def parse_fault_codes(text: str) -> tuple[str, ...]:
    """``"503,reset"`` -> ("503", "reset"); ValueError naming the first unknown kind."""
    kinds = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    for kind in kinds:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault code '{kind}' (expected some of: {', '.join(FAULT_KINDS)})")
    if not kinds:
        raise ValueError("no fault codes given")
    return kinds


class FaultInjector:
    """Draws are serialised, so one seed gives one sequence of faults for one sequence of requests."""

    def __init__(
        self, rate: float, codes: str = ",".join(DEFAULT_FAULT_KINDS), seed: int | None = None
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        self.rate = rate
        self.kinds = parse_fault_codes(codes)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        if self.rate <= 0.0:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            return self._random.choice(self.kinds)
