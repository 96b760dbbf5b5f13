"""Each resilience behaviour against real subgraphs on loopback that misbehave.

The healthy subgraph's data always survives: a sick subgraph costs only its own fields.
No test asserts an absolute latency; bounds are relative to the configured timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from edge.policy import INTERNAL_ERROR_MESSAGE
from federation.subgraphs.resilience import CircuitBreaker, Resilience
from tests.resilience.support import FAST_DATA, QUERY, SICK_DATA, SickSubgraph, rig

NO_RETRY = Resilience(max_retries=0, failure_threshold=None)


def state(breaker: CircuitBreaker | None) -> str:
    assert breaker is not None
    return breaker.state


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_subgraph_healthy_answers_both() -> None:
    async with rig() as r:
        assert await r.run() == {"data": {**FAST_DATA, **SICK_DATA}}


async def test_subgraph_hanging_is_cut_at_its_timeout_keeping_other_data() -> None:
    async with rig(timeout=0.3, resilience=NO_RETRY, sick=SickSubgraph(mode="hang")) as r:
        started = time.perf_counter()
        body = await r.run()
        elapsed = time.perf_counter() - started
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_TIMEOUT"]
    assert body["errors"][0]["path"] == ["sick"]
    assert elapsed < 0.3 * 5  # the timeout, not the hour the subgraph would take


async def test_subgraph_dripping_answer_cannot_outlast_the_timeout() -> None:
    # Every byte arrives well within any read timeout; only a whole-fetch deadline stops it.
    async with rig(timeout=0.3, resilience=NO_RETRY, sick=SickSubgraph(mode="drip")) as r:
        started = time.perf_counter()
        body = await r.run()
        elapsed = time.perf_counter() - started
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_TIMEOUT"]
    assert elapsed < 0.3 * 5


async def test_subgraph_per_subgraph_timeout_overrides_the_default() -> None:
    sick = SickSubgraph(mode="hang")
    async with rig(timeout=30, timeouts={"sick": 0.2}, resilience=NO_RETRY, sick=sick) as r:
        assert r.fetcher.timeout_for("sick") == 0.2
        assert r.fetcher.timeout_for("fast") == 30
        body = await r.run()
    assert codes(body) == ["SUBGRAPH_TIMEOUT"]


async def test_subgraph_500_becomes_an_error_at_its_path() -> None:
    async with rig(resilience=NO_RETRY, sick=SickSubgraph(mode="500")) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_HTTP_ERROR"]


async def test_subgraph_malformed_json_is_a_bad_response() -> None:
    async with rig(resilience=NO_RETRY, sick=SickSubgraph(mode="malformed")) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_BAD_RESPONSE"]


async def test_subgraph_huge_body_is_refused_past_the_size_limit() -> None:
    sick = SickSubgraph(mode="huge")
    async with rig(resilience=NO_RETRY, sick=sick, max_response_bytes=1024 * 1024) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_RESPONSE_TOO_LARGE"]
    assert "max_response_bytes limit of 1048576" in body["errors"][0]["message"]


async def test_subgraph_deeply_nested_json_is_refused() -> None:
    sick = SickSubgraph(mode="deep")
    async with rig(resilience=NO_RETRY, sick=sick, max_response_depth=64) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert codes(body) == ["SUBGRAPH_BAD_RESPONSE"]
    assert "max_response_depth limit of 64" in body["errors"][0]["message"]


async def test_subgraph_wrong_types_are_nulled_with_errors() -> None:
    async with rig(sick=SickSubgraph(mode="wrong_types")) as r:
        body = await r.run()
    # `count: Int!` got a string: Sick nulls up to the nullable `sick` field.
    assert body["data"] == {**FAST_DATA, "sick": None}
    paths = [error["path"] for error in body["errors"]]
    assert ["sick", "count"] in paths
    assert ["sick", "label"] in paths


async def test_subgraph_null_for_non_null_propagates_to_nullable_parent() -> None:
    async with rig(sick=SickSubgraph(mode="null_non_null")) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert body["errors"] == [
        {
            "message": "Cannot return null for non-nullable field Sick.count.",
            "path": ["sick", "count"],
        }
    ]


async def test_subgraph_error_messages_are_masked_keeping_path_and_code() -> None:
    async with rig(mask=True, sick=SickSubgraph(mode="error")) as r:
        body = await r.run()
    assert body["data"] == {**FAST_DATA, "sick": None}
    assert body["errors"] == [
        {
            "message": INTERNAL_ERROR_MESSAGE,
            "path": ["sick"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]


async def test_subgraph_error_messages_pass_unmasked_when_asked() -> None:
    async with rig(mask=False, sick=SickSubgraph(mode="error")) as r:
        body = await r.run()
    assert body["errors"][0]["message"].startswith("KeyError")


async def test_subgraph_masking_keeps_the_gateway_failure_code() -> None:
    # One masker, at the edge: a failed fetch's message (it may name a host) is hidden, and its
    # code still tells the client what happened.
    async with rig(mask=True, resilience=NO_RETRY, sick=SickSubgraph(mode="500")) as r:
        body = await r.run()
    error = body["errors"][0]
    assert error["message"] == INTERNAL_ERROR_MESSAGE
    assert error["extensions"]["code"] == "SUBGRAPH_HTTP_ERROR"


async def test_subgraph_query_is_retried_after_503() -> None:
    sick = SickSubgraph(fail_first=2)
    async with rig(resilience=Resilience(max_retries=2), sick=sick) as r:
        body = await r.run()
    assert body == {"data": {**FAST_DATA, **SICK_DATA}}
    assert sick.calls == 3


async def test_subgraph_mutation_is_never_retried() -> None:
    sick = SickSubgraph(fail_first=1)
    async with rig(resilience=Resilience(max_retries=2), sick=sick) as r:
        body = await r.run("mutation { bump }")
    assert codes(body) == ["SUBGRAPH_HTTP_ERROR"]
    assert sick.calls == 1


async def test_subgraph_retries_stop_when_the_budget_is_spent() -> None:
    sick = SickSubgraph(mode="503")
    policy = Resilience(max_retries=3, retry_reserve=2, retry_ratio=0.0, failure_threshold=None)
    async with rig(resilience=policy, sick=sick) as r:
        for _ in range(5):
            await r.run()
    # Five first attempts and only the two retries the reserve held.
    assert sick.calls == 5 + 2


async def test_subgraph_circuit_opens_fails_fast_then_half_opens() -> None:
    now = [0.0]
    sick = SickSubgraph(mode="500")
    policy = Resilience(max_retries=0, failure_threshold=3, reset_timeout=10)
    async with rig(resilience=policy, sick=sick, clock=lambda: now[0]) as r:
        for _ in range(3):
            await r.run()
        assert state(r.fetcher.breaker("sick")) == "open"
        body = await r.run()
        assert sick.calls == 3  # failed fast: the subgraph was not called
        assert codes(body) == ["CIRCUIT_OPEN"]
        assert body["data"] == {**FAST_DATA, "sick": None}
        assert "suspended" in body["errors"][0]["message"]

        now[0] += 10  # the cool-down passed: one trial call goes through
        assert state(r.fetcher.breaker("sick")) == "half_open"
        await r.run()
        assert sick.calls == 4
        assert state(r.fetcher.breaker("sick")) == "open"  # the trial failed

        now[0] += 10
        sick.mode = "ok"
        assert await r.run() == {"data": {**FAST_DATA, **SICK_DATA}}
        assert state(r.fetcher.breaker("sick")) == "closed"


async def test_subgraph_identical_inflight_queries_are_deduplicated() -> None:
    sick = SickSubgraph(delay=0.2)
    async with rig(sick=sick) as r:
        bodies = await asyncio.gather(*(r.run() for _ in range(10)))
        assert r.fetcher.shared_fetches == 2 * 9  # both subgraphs: nine sharers each
    assert sick.calls == 1
    assert all(body == {"data": {**FAST_DATA, **SICK_DATA}} for body in bodies)
    # Each request got its own copy: shaping one never changes another.
    assert len({id(body["data"]["sick"]) for body in bodies}) == 10


async def test_subgraph_dedupe_can_be_switched_off() -> None:
    sick = SickSubgraph(delay=0.1)
    async with rig(sick=sick, resilience=Resilience(dedupe=False)) as r:
        await asyncio.gather(*(r.run() for _ in range(5)))
    assert sick.calls == 5


async def test_subgraph_mutations_are_never_deduplicated() -> None:
    sick = SickSubgraph(delay=0.1)
    async with rig(sick=sick) as r:
        await asyncio.gather(*(r.run("mutation { bump }") for _ in range(3)))
    assert sick.calls == 3


async def test_subgraph_dedupe_never_shares_between_different_headers() -> None:
    sick = SickSubgraph(delay=0.1)
    async with rig(sick=sick) as r:
        await asyncio.gather(
            *(
                r.engine.run(QUERY, headers={"authorization": f"Bearer member-{n}"})
                for n in range(3)
            )
        )
    assert sick.calls == 3  # one member's answer is never handed to another
