"""bench.auth_cost refuses every case of issue #14 and accepts its yardstick (no timings here)."""

from __future__ import annotations

from bench.auth_cost import measure


async def test_auth_cost_refuses_each_case_and_accepts_the_valid_token() -> None:
    rows = await measure(rounds=2)
    outcomes = {name: refused for name, refused, _micros in rows}
    assert outcomes.pop("valid (yardstick)") is False
    assert len(outcomes) == 10 and all(outcomes.values()), outcomes
