"""Keeping a sick subgraph from making the gateway sick: breakers, retries, in-flight dedupe.

These are small, clock-injectable pieces that `HttpFetcher` puts together per subgraph:

- `CircuitBreaker`: closed → open after repeated failures (fail fast) → half-open after a
  cool-down, letting a few trial calls decide between closed and open again;
- `RetryBudget`: retries may add at most a fraction of the traffic, so retrying cannot turn a
  struggling subgraph into a dead one;
- `InflightDeduper`: identical subgraph queries in flight at once share one fetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "InflightDeduper",
    "Resilience",
    "RetryBudget",
]

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Resilience:
    """How `HttpFetcher` treats every subgraph; each part can be switched off."""

    #: consecutive failures that open a subgraph's breaker (None: no breaker)
    failure_threshold: int | None = 5
    #: seconds a breaker stays open before letting a trial call through
    reset_timeout: float = 5.0
    #: trial calls let through while half-open
    half_open_calls: int = 1
    #: extra attempts after a failed query (mutations never retry)
    max_retries: int = 2
    #: retries may add this fraction of the fetches to each subgraph
    retry_ratio: float = 0.2
    #: retries always allowed per subgraph, whatever the traffic, so a quiet subgraph can retry
    retry_reserve: int = 10
    #: seconds before the first retry; doubles for each further one
    retry_backoff: float = 0.02
    #: identical in-flight queries to one subgraph share one fetch
    dedupe: bool = True
    #: identical in-flight client queries (same text, operation name, variables and forwarded
    #: headers) share one execution and its answer
    dedupe_inbound: bool = False

    def __post_init__(self) -> None:
        if self.failure_threshold is not None and self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.reset_timeout <= 0 or self.half_open_calls < 1:
            raise ValueError("reset_timeout and half_open_calls must be positive")
        if self.max_retries < 0 or self.retry_ratio < 0 or self.retry_backoff < 0:
            raise ValueError("retry settings must not be negative")


class CircuitBreaker:
    """One subgraph's breaker. Call `allow()` before a fetch and record its outcome after.

    Failures count only while consecutive: one success closes the count. Once open, calls are
    refused for `reset_timeout` seconds; then `half_open_calls` trial calls go through, and
    their outcome closes the breaker or opens it for another `reset_timeout`.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 5.0,
        half_open_calls: int = 1,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_calls = half_open_calls
        self._clock = clock
        self._failures = 0
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

    def record_success(self) -> None:
        """A call succeeded: the subgraph is healthy again."""
        self._failures = 0
        self._opened_at = None
        self._trials = 0

    def record_failure(self) -> None:
        """A call failed; enough of them in a row, or a failed trial, open the breaker."""
        if self._opened_at is not None:  # a half-open trial failed: open for another cool-down
            self._opened_at = self._clock()
            self._trials = 0
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._trials = 0


class RetryBudget:
    """A token bucket of retries: each first attempt deposits `ratio`, each retry takes one.

    `reserve` tokens are always there to start with and the balance never grows past
    `reserve` plus what a burst of `reserve / ratio` fetches deposits, so a long quiet period
    does not bank an unbounded retry storm.
    """

    def __init__(self, *, ratio: float = 0.2, reserve: int = 10) -> None:
        self.ratio = ratio
        self.reserve = reserve
        self._balance = float(reserve)
        self._cap = float(reserve) * 2

    @property
    def balance(self) -> float:
        """Retries available now."""
        return self._balance

    def deposit(self) -> None:
        """A first attempt was made."""
        self._balance = min(self._cap, self._balance + self.ratio)

    def withdraw(self) -> bool:
        """Take one retry, if the budget has one."""
        if self._balance < 1:
            return False
        self._balance -= 1
        return True


class InflightDeduper:
    """Shares one in-flight call among identical concurrent callers.

    `run(key, call)` starts `call()` unless a call with the same key is already running, in
    which case it waits for that one. The call runs in its own task, so a caller that gives
    up (its client went away) neither cancels it for the others nor sees their outcome. The
    entry goes when the call ends: nothing is cached past it.
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, _Inflight] = {}
        #: callers answered by a call another caller had started
        self.shared = 0

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The call's result, and whether more than one caller received it (then each must
        treat it as read-only or copy it: the others hold the same object)."""
        entry = self._running.get(key)
        if entry is None:
            task: asyncio.Task[Any] = asyncio.ensure_future(_awaited(call))
            entry = self._running[key] = _Inflight(task)
            task.add_done_callback(lambda done: self._forget(key, done))
        else:
            entry.callers += 1
            self.shared += 1
        result: T = await asyncio.shield(entry.task)
        # By the time the task is done, every caller that will share it has joined.
        return result, entry.callers > 1

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        entry = self._running.get(key)
        if entry is not None and entry.task is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited is not logged as lost


@dataclass(slots=True)
class _Inflight:
    task: asyncio.Task[Any]
    callers: int = 1


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()
