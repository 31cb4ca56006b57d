"""When a failed cluster call is worth repeating, and how long to wait (PRODUCT.md §5).

Which failures are retried (connection errors, 429, 503, 504, and 500 with a transient FabricError code,
E_UNEXPECTED among them) is decided in servicefabric/codes.py; everything else fails at once. Waits grow
exponentially with full jitter,
Retry-After (seconds or an HTTP date) is honoured, and both the number of attempts and the total time are
bounded. Sleep, randomness and the clock are injected so tests never wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds to wait: delta-seconds, or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - now())
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 5.0
    total_timeout: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1))]; ``attempt`` counts from 1."""
        cap = min(self.max_delay, self.base_delay * (2.0 ** max(0, attempt - 1)))
        return cap * self.random()

    def next_delay(self, attempt: int, started: float, retry_after: float | None) -> float | None:
        """How long to wait before attempt ``attempt + 1``, or None when the budget is spent."""
        if attempt >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt)
        if self.clock() - started + delay > self.total_timeout:
            return None
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
