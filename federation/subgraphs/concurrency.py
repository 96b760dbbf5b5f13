"""Adaptive concurrency per subgraph, in the manner of Netflix's concurrency-limits (Vegas).

A subgraph that slows down under load is telling us its queue is growing: sending it more
fetches at once only makes every one of them slower, until they all time out. So each
subgraph gets a cap on fetches in flight that follows measured latency:

- `VegasLimit` keeps a long-term (slow) and a short-term (fast) average of fetch latency.
  Their ratio is the gradient: near 1 while latency holds, lower as a queue builds up. The
  new limit is the old one times the gradient, plus a little headroom (√limit) to probe for
  more; a fetch that timed out or was refused counts as very slow. The limit grows only while
  it is actually used (a quiet subgraph does not bank a huge limit).
- `ConcurrencyLimiter` applies it: a fetch past the limit waits in a short queue, each entry
  with a deadline; a full queue or a passed deadline sheds the fetch with `OVERLOADED` at once,
  instead of sending it to pile up behind the others.

Both take a clock, so the algorithm is tested against a simulated latency model, not timings.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Literal

__all__ = ["ConcurrencyLimiter", "Overloaded", "Sample", "Slot", "VegasLimit"]

Clock = Callable[[], float]


class Overloaded(Exception):
    """The fetch was shed: too many in flight and the queue full, or its wait ran out."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("overloaded")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished fetch: its latency, the fetches in flight when it started, and whether it
    was dropped (timed out or refused by the subgraph as overloaded)."""

    rtt: float
    inflight: int
    dropped: bool = False
    #: the operation (fetch text) it ran, whose own no-load latency it is compared with
    op: Hashable = None


class VegasLimit:
    """A concurrency limit that follows latency as TCP Vegas does (Netflix's VegasLimit).

    A fetch's no-load latency is the lowest seen lately for the same operation (fetches of
    one subgraph differ by far more than any queue: a one-title lookup and a page of rows).
    From a fetch's latency and the limit, `limit * (1 - no_load / rtt)` estimates how many
    fetches wait in the subgraph's queue: below `3 * log10(limit)` the limit grows, above
    `6 * log10(limit)` it shrinks, so the subgraph keeps a small queue and no more. A dropped
    fetch shrinks it too.

    "Lately" is the last two windows of `window` samples of that operation: a subgraph that
    became slower for good is relearnt after that many fetches, and a long overload lets the
    baseline creep up by that much at most before timeouts and shedding take over.
    """

    def __init__(
        self,
        *,
        initial: int = 100,
        min_limit: int = 10,
        max_limit: int = 1000,
        smoothing: float = 0.5,
        window: int = 2000,
        max_operations: int = 256,
    ) -> None:
        if not 1 <= min_limit <= initial <= max_limit:
            raise ValueError("need 1 <= min_limit <= initial <= max_limit")
        self.min_limit = min_limit
        self.max_limit = max_limit
        self._limit = float(initial)
        self._smoothing = smoothing
        self._window = window
        self._max_operations = max_operations
        self._baselines: OrderedDict[Hashable, _WindowedMin] = OrderedDict()

    @property
    def limit(self) -> int:
        """Fetches allowed in flight now."""
        return int(self._limit)

    def update(self, sample: Sample) -> int:
        """The new limit after one finished fetch."""
        rtt = max(sample.rtt, 1e-6)
        limit = self._limit
        step = max(1.0, math.log10(limit))
        if sample.dropped:
            target = limit - step
        else:
            no_load = self._baseline(sample.op).add(rtt)
            if sample.inflight * 2 < limit:
                return self.limit  # most of the limit idle: nothing learnt about more or less
            queue = limit * (1 - no_load / rtt)
            if queue < 3 * step:
                target = limit + step
            elif queue > 6 * step:
                target = limit - step
            else:
                return self.limit
        limit = limit * (1 - self._smoothing) + target * self._smoothing
        self._limit = min(float(self.max_limit), max(float(self.min_limit), limit))
        return self.limit

    def _baseline(self, op: Hashable) -> _WindowedMin:
        baseline = self._baselines.get(op)
        if baseline is None:
            baseline = self._baselines[op] = _WindowedMin(self._window)
            if len(self._baselines) > self._max_operations:
                self._baselines.popitem(last=False)
        else:
            self._baselines.move_to_end(op)
        return baseline


class _WindowedMin:
    """The lowest value of the current and the previous window of `size` values."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._count = 0
        self._current = math.inf
        self._previous = math.inf

    def add(self, value: float) -> float:
        if self._count == self._size:
            self._previous, self._current, self._count = self._current, math.inf, 0
        self._count += 1
        self._current = min(self._current, value)
        return min(self._current, self._previous)


@dataclass(slots=True)
class Slot:
    """One admitted fetch and what its outcome says about the subgraph's load: "ok" (a
    latency sample), "dropped" (it timed out or was refused as overloaded) or "ignore" (no
    verdict: it failed at once, or its client went away)."""

    outcome: Literal["ok", "dropped", "ignore"] = "ok"


class ConcurrencyLimiter:
    """At most `limit.limit` fetches in flight; up to `queue_size` more wait at most
    `queue_timeout` seconds for a slot; the rest are shed (`Overloaded`)."""

    def __init__(
        self,
        limit: VegasLimit,
        *,
        queue_size: int = 1000,
        queue_timeout: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.limit = limit
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self._clock = clock
        self.inflight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: fetches shed so far
        self.shed = 0

    @property
    def queued(self) -> int:
        """Fetches waiting for a slot."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self, op: Hashable = None, *, wait: float | None = None) -> AsyncIterator[Slot]:
        """Hold one slot for a fetch of operation `op`, which sets the `outcome` of what it is
        given. A queued fetch waits at most `wait` seconds (at most `queue_timeout`): a fetch
        whose own deadline comes first would only time out. Raises `Overloaded` if shed."""
        await self._acquire(self.queue_timeout if wait is None else min(wait, self.queue_timeout))
        slot = Slot()
        started = self._clock()
        inflight = self.inflight
        try:
            yield slot
        except asyncio.CancelledError:
            # Cancelled by its client, unless the fetch said it ran out of time.
            if slot.outcome == "ok":
                slot.outcome = "ignore"
            raise
        finally:
            self.inflight -= 1
            if slot.outcome != "ignore":
                rtt = self._clock() - started
                self.limit.update(Sample(rtt, inflight, slot.outcome == "dropped", op))
            self._wake()

    async def _acquire(self, wait: float) -> None:
        if self.inflight < self.limit.limit and not self._waiters:
            self.inflight += 1
            return
        if len(self._waiters) >= self.queue_size or wait <= 0:
            self.shed += 1
            raise Overloaded(self.queue_timeout)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), wait)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # a slot came just as the wait ran out: take it
            waiter.cancel()
            self._discard(waiter)
            self.shed += 1
            raise Overloaded(self.queue_timeout) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.inflight -= 1  # the slot handed over is given back
                self._wake()
            else:
                waiter.cancel()
                self._discard(waiter)
            raise

    def _wake(self) -> None:
        """Hand free slots to the waiters, oldest first (the slot is counted for them)."""
        while self._waiters and self.inflight < self.limit.limit:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            self.inflight += 1
            waiter.set_result(None)

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        with suppress(ValueError):
            self._waiters.remove(waiter)
