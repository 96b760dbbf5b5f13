"""Rolling traffic windows for the status page: request rate, error rate and p95 latency.

Prometheus keeps the long history; these windows keep only the last few minutes in fixed
buckets, so the gateway can draw its own status page without a metrics server and with
bounded memory (a latency histogram per bucket, never the samples).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LATENCY_BOUNDS_MS", "Traffic", "TrafficPoint", "percentile"]

#: Upper bounds (ms) of the latency buckets a p95 is read from; the last one is open.
LATENCY_BOUNDS_MS = (1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000)


@dataclass(frozen=True, slots=True)
class TrafficPoint:
    """One bucket (or a summary over several): `age` is how many seconds ago it began."""

    age: float
    seconds: float
    requests: int
    errors: int
    p95_ms: float | None

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """The share of requests that failed, 0 to 1."""
        return self.errors / self.requests if self.requests else 0.0


@dataclass(slots=True)
class _Bucket:
    index: int
    requests: int = 0
    errors: int = 0
    latencies: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))


class Traffic:
    """Requests in `buckets` buckets of `bucket_seconds` each, the newest last."""

    def __init__(
        self, *, clock: Callable[[], float], bucket_seconds: float = 10.0, buckets: int = 30
    ) -> None:
        if bucket_seconds <= 0 or buckets < 1:
            raise ValueError("bucket_seconds must be positive and buckets at least 1")
        self.clock = clock
        self.bucket_seconds = bucket_seconds
        self.buckets = buckets
        self._ring: dict[int, _Bucket] = {}

    def record(self, duration: float, *, error: bool) -> None:
        """Count one request that took `duration` seconds."""
        index = self._index()
        bucket = self._ring.get(index)
        if bucket is None:
            bucket = self._ring[index] = _Bucket(index)
            for old in [i for i in self._ring if i <= index - self.buckets]:
                del self._ring[old]
        bucket.requests += 1
        bucket.errors += int(error)
        bucket.latencies[bisect.bisect_left(LATENCY_BOUNDS_MS, duration * 1000)] += 1

    def series(self) -> list[TrafficPoint]:
        """Every bucket of the window, oldest first, empty ones included; the newest one is
        still filling, so its rate is over the seconds elapsed so far."""
        now = self.clock()
        newest = self._index()
        points = []
        for index in range(newest - self.buckets + 1, newest + 1):
            bucket = self._ring.get(index) or _Bucket(index)
            begun = index * self.bucket_seconds
            seconds = min(self.bucket_seconds, max(now - begun, 1e-3))
            points.append(_point(now - begun, seconds, [bucket]))
        return points

    def summary(self, seconds: float = 60.0) -> TrafficPoint:
        """The last `seconds` (rounded to whole buckets) as one point."""
        now = self.clock()
        newest = self._index()
        count = max(1, min(self.buckets, math.ceil(seconds / self.bucket_seconds)))
        first = newest - count + 1
        chosen = [b for i, b in self._ring.items() if first <= i <= newest]
        begun = first * self.bucket_seconds
        return _point(now - begun, max(now - begun, 1e-3), chosen)

    def _index(self) -> int:
        return math.floor(self.clock() / self.bucket_seconds)


def _point(age: float, seconds: float, buckets: list[_Bucket]) -> TrafficPoint:
    latencies = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    for bucket in buckets:
        latencies = [a + b for a, b in zip(latencies, bucket.latencies, strict=True)]
    return TrafficPoint(
        age=age,
        seconds=seconds,
        requests=sum(b.requests for b in buckets),
        errors=sum(b.errors for b in buckets),
        p95_ms=percentile(latencies, 0.95),
    )


def percentile(counts: list[int], quantile: float) -> float | None:
    """The `quantile` of a latency histogram, interpolated inside its bucket (ms)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = quantile * total
    seen = 0
    for position, count in enumerate(counts):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[position - 1] if position else 0
            if position == len(LATENCY_BOUNDS_MS):
                return float(low)  # the open bucket: all we know is "at least"
            high = LATENCY_BOUNDS_MS[position]
            return low + (high - low) * (rank - seen) / count
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])
