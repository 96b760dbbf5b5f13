from __future__ import annotations

from bench.profile import OTHER, collapsed_stage_times


def test_collapsed_stage_times_takes_the_innermost_stage_of_each_stack() -> None:
    lines = [
        "run (uvicorn/main.py:1);execute (/r/federation/engine.py:3);"
        "_Shaper.complete_object (/r/federation/execution/shaping.py:9) 5\n",
        "run (uvicorn/main.py:1);fetch (/r/federation/subgraphs/fetcher.py:2);"
        "post (httpx/_x.py:7) 3\n",
        "Runner.run (asyncio/runners.py:118) 2\n",
        "not a stack\n",
    ]
    totals = collapsed_stage_times(lines, 0.01)
    assert totals == {
        "shaping (client's shape and order)": 0.05,
        "fetch (httpx + subgraph JSON decode)": 0.03,
        OTHER: 0.02,
    }
