"""A small per-client rate limiter for public endpoints (token bucket, in memory).

# Note: each process keeps its own buckets, so N processes allow N times the rate; the
# limit is a brake on abuse of one process's CPU, not an accounting of a client's use.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from api.errors import ApiProblem


class RateLimiter:
    def __init__(self, rate_per_minute: float, burst: int, max_clients: int = 100_000) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._max = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def exhausted(self, client: str | None) -> bool:
        """Whether ``client`` has no token left (nothing is taken)."""
        tokens, last = self._buckets.get(client or "unknown", (self._burst, time.monotonic()))
        return min(self._burst, tokens + (time.monotonic() - last) * self._rate) < 1.0

    def take(self, client: str | None) -> bool:
        """Take one token for ``client`` if there is one; ``False`` when there is none."""
        if self.exhausted(client):
            return False
        self.check(client)
        return True

    def check(self, client: str | None) -> None:
        """Take one token for ``client``; raises a 429 problem (with Retry-After) if none."""
        key = client or "unknown"
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry = max(1, int((1.0 - tokens) / self._rate) + 1)
            raise ApiProblem(
                429,
                "too-many-requests",
                "Too many requests from this client; try again later",
                headers={"Retry-After": str(retry)},
                retry_after=retry,
            )
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > self._max:  # forget the longest-idle clients
            self._buckets.popitem(last=False)
