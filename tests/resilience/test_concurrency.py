"""Adaptive concurrency against a simulated latency model, and its queue with deadlines.

No timings: the model says how long each fetch takes at a given concurrency, and the limit
learns from those samples alone.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from federation.subgraphs.concurrency import ConcurrencyLimiter, Overloaded, Sample, VegasLimit

#: three kinds of fetch of one subgraph, and their no-load latencies in seconds
OPERATIONS = {"one-title": 0.002, "row": 0.01, "page": 0.03}


class LatencyModel:
    """A subgraph that serves `capacity` fetches at once at their no-load latency; past it,
    they queue and each takes proportionally longer (with up to 20% noise)."""

    def __init__(self, capacity: int, seed: int = 7) -> None:
        self.capacity = capacity
        self._random = random.Random(seed)

    def sample(self, inflight: int) -> tuple[Sample, float]:
        """A finished fetch at this concurrency, and its slowdown over no load."""
        op = self._random.choice(sorted(OPERATIONS))
        slowdown = max(1.0, inflight / self.capacity) * self._random.uniform(1.0, 1.2)
        return Sample(OPERATIONS[op] * slowdown, inflight, op=op), slowdown


def drive(limit: VegasLimit, model: LatencyModel, fetches: int, demand: int | None) -> list[float]:
    """`fetches` finished fetches with `demand` wanting to run at once (None: a ramp from
    one); the slowdowns the subgraph showed."""
    slowdowns = []
    for i in range(fetches):
        wanted = demand if demand is not None else i // 5 + 1
        sample, slowdown = model.sample(min(limit.limit, wanted))
        limit.update(sample)
        slowdowns.append(slowdown)
    return slowdowns


@pytest.mark.parametrize("capacity", [5, 20, 60])
def test_vegas_limit_settles_near_capacity_under_overload(capacity: int) -> None:
    limit = VegasLimit()
    model = LatencyModel(capacity)
    drive(limit, model, 2000, demand=None)
    # 300 fetches want to run at once, far past what the subgraph serves.
    slowdowns = drive(limit, model, 5000, demand=300)
    assert capacity <= limit.limit <= 2 * capacity + 10
    # The subgraph keeps a short queue, not 300 fetches slowing each other down.
    assert max(slowdowns[1000:]) < 3


def test_vegas_limit_follows_capacity_down_and_back_up() -> None:
    limit = VegasLimit()
    drive(limit, LatencyModel(80), 2000, demand=None)
    drive(limit, LatencyModel(80), 3000, demand=300)
    assert 70 <= limit.limit <= 100
    drive(limit, LatencyModel(10), 3000, demand=300)  # the subgraph lost most of its capacity
    assert 10 <= limit.limit <= 25
    drive(limit, LatencyModel(80), 3000, demand=300)
    assert 70 <= limit.limit <= 100


def test_vegas_limit_stays_while_mostly_idle_and_shrinks_on_drops() -> None:
    limit = VegasLimit(initial=20, min_limit=4)
    drive(limit, LatencyModel(1000), 500, demand=3)
    assert limit.limit == 20  # three fetches at a time say nothing about twenty
    for _ in range(100):
        limit.update(Sample(5.0, 20, dropped=True))
    assert limit.limit == 4


async def test_limiter_queues_past_the_limit_then_sheds() -> None:
    limiter = ConcurrencyLimiter(VegasLimit(initial=1, min_limit=1), queue_size=1)
    first = limiter.slot("q")
    await first.__aenter__()
    queued = asyncio.create_task(_hold(limiter))
    await asyncio.sleep(0)
    assert limiter.queued == 1
    with pytest.raises(Overloaded):  # the queue is full: shed at once
        async with limiter.slot("q"):
            pass
    await first.__aexit__(None, None, None)  # a slot frees: the queued fetch takes it
    assert await queued == 1
    assert limiter.inflight == 0 and limiter.shed == 1


async def test_limiter_queue_entry_has_a_deadline() -> None:
    limiter = ConcurrencyLimiter(VegasLimit(initial=1, min_limit=1), queue_timeout=0.01)
    async with limiter.slot("q"):
        with pytest.raises(Overloaded):
            async with limiter.slot("q"):
                pass
        assert limiter.queued == 0
    assert limiter.inflight == 0


class RecordedLimit(VegasLimit):
    def __init__(self) -> None:
        super().__init__(initial=4, min_limit=1)
        self.samples: list[Sample] = []

    def update(self, sample: Sample) -> int:
        self.samples.append(sample)
        return super().update(sample)


async def test_limiter_cancelled_fetch_is_no_sample() -> None:
    limit = RecordedLimit()
    limiter = ConcurrencyLimiter(limit)
    task = asyncio.create_task(_hold(limiter, forever=True))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.inflight == 0 and limit.samples == []
    await _hold(limiter)
    assert [sample.op for sample in limit.samples] == ["q"]


async def _hold(limiter: ConcurrencyLimiter, *, forever: bool = False) -> int:
    async with limiter.slot("q"):
        if forever:
            await asyncio.Event().wait()
        return limiter.inflight


async def test_limiter_never_queues_a_fetch_past_its_own_deadline() -> None:
    limiter = ConcurrencyLimiter(VegasLimit(initial=1, min_limit=1), queue_size=10)
    async with limiter.slot("q"):
        # No time left before the fetch's deadline: shed now rather than time out later.
        with pytest.raises(Overloaded):
            async with limiter.slot("q", wait=0):
                pass
    assert limiter.shed == 1 and limiter.queued == 0
