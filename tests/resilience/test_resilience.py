"""The resilience pieces on their own, with an injected clock where time matters."""

from __future__ import annotations

import asyncio

import pytest

from federation.subgraphs.fetcher import json_depth_exceeds
from federation.subgraphs.resilience import (
    CircuitBreaker,
    InflightDeduper,
    Resilience,
    RetryBudget,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> str:
    # Read through a function: mypy would narrow `breaker.state` after one assert on it.
    return breaker.state


def test_circuit_breaker_opens_on_failure_rate_with_minimum_volume() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=4, failure_rate=0.5, window=10, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    assert state(breaker) == "closed"  # three failures: below the volume
    for _ in range(6):
        breaker.record_success()
    breaker.record_failure()
    assert state(breaker) == "closed"  # four of ten failed: below the rate
    breaker.record_failure()
    breaker.record_failure()
    assert state(breaker) == "open"  # six of twelve
    assert not breaker.allow()


def test_circuit_breaker_forgets_calls_older_than_its_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, window=10, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now = 10.5  # those two slid out of the window
    breaker.record_failure()
    breaker.record_failure()
    assert state(breaker) == "closed"
    breaker.record_failure()
    assert state(breaker) == "open"


def test_circuit_breaker_half_open_lets_a_trickle_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, half_open_calls=2, clock=clock)
    breaker.record_failure()
    assert breaker.retry_after() == 5
    clock.now = 5
    assert [breaker.allow() for _ in range(3)] == [True, True, False]
    breaker.release()  # a trial cancelled: no verdict, its slot frees up
    assert breaker.allow()
    breaker.record_success()
    assert state(breaker) == "closed"
    assert breaker.allow()


def test_circuit_breaker_failed_trial_opens_again() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, clock=clock)
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert state(breaker) == "open" and breaker.retry_after() == 5


def test_circuit_breaker_with_spread_needs_failures_from_two_operations() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, failure_rate=0.5, spread=2, clock=clock)
    breaker.record_success("home")
    for _ in range(10):
        breaker.record_failure("abusive")
    # Ten of eleven calls failed, all of one operation while another was served: the
    # subgraph answers, the operation is the problem.
    assert state(breaker) == "closed"
    breaker.record_failure("home")
    assert state(breaker) == "open"


def test_circuit_breaker_with_spread_opens_when_one_operation_is_all_there_is() -> None:
    breaker = CircuitBreaker(failure_threshold=3, spread=2, clock=FakeClock())
    for _ in range(3):
        breaker.record_failure("home")
    assert state(breaker) == "open"


def test_retry_budget_spends_reserve_then_earns_by_ratio() -> None:
    budget = RetryBudget(ratio=0.5, reserve=1)
    assert budget.withdraw()
    assert not budget.withdraw()
    budget.deposit()
    budget.deposit()
    assert budget.withdraw()
    for _ in range(100):
        budget.deposit()
    assert budget.balance == 2  # capped: quiet time does not bank a retry storm


def test_resilience_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        Resilience(failure_threshold=0)
    with pytest.raises(ValueError):
        Resilience(max_retries=-1)


async def test_inflight_deduper_shares_and_forgets() -> None:
    deduper = InflightDeduper()
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "answer"

    results = await asyncio.gather(*(deduper.run("k", call) for _ in range(3)))
    assert results == [("answer", True)] * 3
    assert calls == 1 and len(deduper) == 0
    assert await deduper.run("k", call) == ("answer", False)
    assert calls == 2


async def test_inflight_deduper_cancelled_caller_does_not_cancel_others() -> None:
    deduper = InflightDeduper()
    release = asyncio.Event()

    async def call() -> str:
        await release.wait()
        return "answer"

    first = asyncio.create_task(deduper.run("k", call))
    second = asyncio.create_task(deduper.run("k", call))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == ("answer", True)
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_inflight_deduper_shares_failures() -> None:
    deduper = InflightDeduper()

    async def call() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("down")

    results = await asyncio.gather(
        *(deduper.run("k", call) for _ in range(2)), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)
    assert len(deduper) == 0


def test_json_depth_exceeds_ignores_brackets_in_strings() -> None:
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[[[\\"[[[[["}', 2)
    assert json_depth_exceeds(b'{"a": [[1]]}', 2)
    assert not json_depth_exceeds(b'{"a": [[1]]}', 3)
    assert not json_depth_exceeds(b"", 1)
