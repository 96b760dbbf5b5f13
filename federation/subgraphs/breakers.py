"""Circuit breakers that judge the failure rate of recent calls (see resilience.py)."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Hashable
from typing import Literal

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]


class CircuitBreaker:
    """A breaker that judges the failure rate of recent calls. Call `allow()` before a call,
    then record its outcome (`record_success`, `record_failure`) or, when there is no verdict
    (the call was shed or cancelled), `release()`.

    It opens when, over the last `window` seconds, at least `failure_threshold` calls failed
    and they were at least `failure_rate` of the calls; with `spread` above 1, the failures
    must also come from that many operations (`op` of each record), unless the window saw
    fewer. Once open, calls are refused for `reset_timeout` seconds; then up to
    `half_open_calls` trial calls go through at once: the first success closes it, a failure
    opens it for another `reset_timeout`.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 10,
        failure_rate: float = 0.5,
        window: float = 10.0,
        reset_timeout: float = 3.0,
        half_open_calls: int = 3,
        spread: int = 1,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.failure_rate = failure_rate
        self.reset_timeout = reset_timeout
        self.half_open_calls = half_open_calls
        self.spread = spread
        self._clock = clock
        self._window = _CallWindow(window, clock)
        self._opened_at: float | None = None
        self._trials = 0

    @property
    def state(self) -> BreakerState:
        """The state as of now: an open breaker whose cool-down passed is half-open."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return "open"

    def retry_after(self) -> float:
        """Seconds until an open breaker half-opens (0 unless open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go through now; a half-open breaker admits its trial calls."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._trials >= self.half_open_calls:
            return False
        self._trials += 1
        return True

    def release(self) -> None:
        """An allowed call ended without a verdict: a half-open trial slot frees up."""
        if self._opened_at is not None and self._trials > 0:
            self._trials -= 1

    def record_success(self, op: Hashable = None) -> None:
        """A call succeeded; a trial success closes the breaker."""
        if self._opened_at is not None:
            self._opened_at = None
            self._trials = 0
            self._window.clear()
            return
        self._window.add(False, op)

    def record_failure(self, op: Hashable = None) -> None:
        """A call failed; a failed trial, or a window past the thresholds, opens the breaker."""
        if self._opened_at is not None:  # a half-open trial failed: open for another cool-down
            self._opened_at = self._clock()
            self._trials = 0
            return
        window = self._window
        window.add(True, op)
        if (
            window.failures >= self.failure_threshold
            and window.failures >= self.failure_rate * window.calls
            and len(window.failing_ops) >= min(self.spread, len(window.ops))
        ):
            self._opened_at = self._clock()
            self._trials = 0
            window.clear()


class _CallWindow:
    """The outcomes of the calls of the last `span` seconds, with running counts."""

    def __init__(self, span: float, clock: Clock) -> None:
        self._span = span
        self._clock = clock
        self._calls: deque[tuple[float, bool, Hashable]] = deque()
        self.calls = 0
        self.failures = 0
        #: calls, and failed calls, per operation in the window
        self.ops: Counter[Hashable] = Counter()
        self.failing_ops: Counter[Hashable] = Counter()

    def add(self, failed: bool, op: Hashable) -> None:
        now = self._clock()
        self._trim(now)
        self._calls.append((now, failed, op))
        self.calls += 1
        self.ops[op] += 1
        if failed:
            self.failures += 1
            self.failing_ops[op] += 1

    def clear(self) -> None:
        self._calls.clear()
        self.calls = self.failures = 0
        self.ops.clear()
        self.failing_ops.clear()

    def _trim(self, now: float) -> None:
        horizon = now - self._span
        calls = self._calls
        while calls and calls[0][0] <= horizon:
            _, failed, op = calls.popleft()
            self.calls -= 1
            _decrement(self.ops, op)
            if failed:
                self.failures -= 1
                _decrement(self.failing_ops, op)


def _decrement(counter: Counter[Hashable], key: Hashable) -> None:
    if counter[key] <= 1:
        del counter[key]
    else:
        counter[key] -= 1
