"""The query plan with each fetch's timing, in `extensions`, when the request asks for it."""

from __future__ import annotations

from tests.observability.support import observed_demo

PLAN = {"x-edgegraph-include-plan": "true"}


async def test_plan_timings_come_with_the_plan_on_request() -> None:
    async with observed_demo() as demo:
        body = (await demo.query(headers=PLAN)).json()
    extensions = body["extensions"]
    assert "Fetch(service:" in extensions["queryPlan"]
    timings = extensions["queryPlanTimings"]
    fetches = timings["fetches"]
    assert sorted(f["fetch"] for f in fetches) == list(range(10))
    assert all(f["durationMs"] >= 0 and f["outcome"] == "ok" for f in fetches)
    assert all(0 <= f["startMs"] <= timings["elapsedMs"] for f in fetches)
    assert [f["startMs"] for f in fetches] == sorted(f["startMs"] for f in fetches)
    flattened = [f for f in fetches if "path" in f]
    assert len(flattened) == 8 and {f["service"] for f in fetches} == {
        "catalog", "artwork", "ratings", "members",
    }  # fmt: skip


async def test_plan_timings_only_when_asked_and_in_dev_mode() -> None:
    async with observed_demo() as demo:
        assert "extensions" not in (await demo.query()).json()
    async with observed_demo(dev=False) as demo:
        assert "extensions" not in (await demo.query(headers=PLAN)).json()


async def test_plan_timings_show_failed_fetches() -> None:
    async with observed_demo(down="artwork") as demo:
        body = (await demo.query(headers=PLAN)).json()
    failed = [f for f in body["extensions"]["queryPlanTimings"]["fetches"] if f["outcome"] != "ok"]
    assert failed and all(f["service"] == "artwork" for f in failed)
    assert all(f["codes"] == ["SUBGRAPH_UNAVAILABLE"] for f in failed)
