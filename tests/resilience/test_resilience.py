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


def test_circuit_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failure_threshold=3, clock=lambda: 0.0)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the run of failures
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()
    assert breaker.state == "open"


def test_circuit_breaker_half_open_admits_limited_trials() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=1, reset_timeout=5, half_open_calls=2, clock=lambda: now[0]
    )
    breaker.record_failure()
    assert breaker.retry_after() == 5
    now[0] = 5
    assert [breaker.allow() for _ in range(3)] == [True, True, False]
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


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
