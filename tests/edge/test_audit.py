"""The graphql-http audit (pinned in web/package.json) against the gateway served by uvicorn."""

from __future__ import annotations

import json
from collections import Counter

from edge.config import GatewayConfig, GraphQLConfig
from tests.edge.live import ensure_web_installed, run_node, serve_on_loopback
from tests.gateway.demo_support import demo_gateway

AUDIT_TIMEOUT_S = 120.0


async def _audit(config: GatewayConfig) -> list[dict[str, str]]:
    ensure_web_installed()
    async with demo_gateway(dev=False, config=config) as demo, serve_on_loopback(demo.app) as url:
        output = await run_node(["audit.mjs", f"{url}/graphql"], timeout=AUDIT_TIMEOUT_S)
    results: list[dict[str, str]] = json.loads(output)["results"]
    return results


async def test_audit_every_must_and_should_passes_in_dev_mode() -> None:
    results = await _audit(GatewayConfig().with_dev())
    failed = [r for r in results if r["status"] != "ok" and not r["name"].startswith("MAY")]
    counts = Counter(r["name"].split()[0] for r in results)
    print(f"graphql-http audit: {len(results)} checks {dict(counts)}, not ok: {failed}")
    assert counts["MUST"] > 0 and counts["SHOULD"] > 0
    assert failed == []
    # The MAYs pass too, so nothing in the report needs explaining.
    assert [r for r in results if r["status"] != "ok"] == []


async def test_audit_passes_in_production_mode_with_introspection_on() -> None:
    # The audit's probes are `__type` queries, so production is audited with introspection on;
    # everything else (masking, GraphiQL off, no plans) stays as production has it.
    results = await _audit(GatewayConfig(graphql=GraphQLConfig(introspection=True)))
    assert [r for r in results if r["status"] != "ok"] == []
