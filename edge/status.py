"""`GET /status`: a page on-call can read at a glance, and the same data at `/status.json`.

For each subgraph: its health (a live `{ __typename }` probe), its circuit-breaker state, and
its request rate, error rate and p95 latency over the last minutes as inline SVG sparklines.
The page is one HTML document with inline CSS and SVG: no script, font or stylesheet to fetch,
so it renders where the gateway is reachable and nothing else is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from federation.telemetry.instrument import HealthProbe
from federation.telemetry.tracing import GATEWAY, Telemetry
from federation.telemetry.traffic import Traffic, TrafficPoint

__all__ = ["render_status_page", "sparkline", "status_routes", "status_snapshot"]

_REFRESH_SECONDS = 10
_SPARK_WIDTH, _SPARK_HEIGHT = 140, 30
_COLOURS = {"up": "#1a7f37", "down": "#cf222e", "unknown": "#6e7781"}
_BREAKER_COLOURS = {"closed": "#1a7f37", "half_open": "#9a6700", "open": "#cf222e"}


async def status_snapshot(
    telemetry: Telemetry, subgraphs: Sequence[str], probe: HealthProbe | None
) -> dict[str, Any]:
    """Health, breaker state and traffic of the gateway and each subgraph, as JSON data."""
    health = await probe.check(list(subgraphs)) if probe is not None else {}
    breakers = telemetry.breaker_states_now()
    rows = []
    for name in subgraphs:
        checked = health.get(name)
        rows.append(
            {
                "name": name,
                "health": checked.status if checked else "unknown",
                "healthDetail": checked.detail if checked else "not probed",
                "breaker": breakers.get(name),
                **_traffic(telemetry.traffic.get(name), telemetry),
            }
        )
    down = [row["name"] for row in rows if row["health"] == "down"]
    return {
        "service": telemetry.config.service_name,
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "degraded" if down else "ok",
        "down": down,
        "gateway": _traffic(telemetry.traffic.get(GATEWAY), telemetry),
        "subgraphs": rows,
    }


def _traffic(window: Traffic | None, telemetry: Telemetry) -> dict[str, Any]:
    window = window or Traffic(clock=telemetry.clock)
    return {
        "windowSeconds": window.buckets * window.bucket_seconds,
        "bucketSeconds": window.bucket_seconds,
        "lastMinute": _point(window.summary(60.0)),
        "series": [_point(point) for point in window.series()],
    }


def _point(point: TrafficPoint) -> dict[str, Any]:
    return {
        "ageSeconds": round(point.age, 1),
        "requests": point.requests,
        "errors": point.errors,
        "rate": round(point.rate, 3),
        "errorRate": round(point.error_rate, 4),
        "p95Ms": None if point.p95_ms is None else round(point.p95_ms, 1),
    }


def render_status_page(snapshot: dict[str, Any]) -> str:
    """The status page for a `status_snapshot`."""
    down = snapshot["down"]
    banner = (
        f'<p class="banner bad">{len(down)} subgraph{"s" if len(down) > 1 else ""} down: '
        f"{escape(', '.join(down))}</p>"
        if down
        else '<p class="banner good">All subgraphs up</p>'
    )
    rows = [_row("gateway", None, None, snapshot["gateway"], total=True)]
    rows += [
        _row(sub["name"], sub["health"], sub["breaker"], sub, detail=sub["healthDetail"])
        for sub in snapshot["subgraphs"]
    ]
    window_minutes = snapshot["gateway"]["windowSeconds"] / 60
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{_REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgegraph status: {escape(snapshot["status"])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #fff; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
.meta {{ color: #6e7781; margin: 0 0 12px; }}
.banner {{ padding: 8px 12px; border-radius: 6px; font-weight: 600; }}
.good {{ background: #dafbe1; color: #1a7f37; }} .bad {{ background: #ffebe9; color: #cf222e; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 8px 10px; border-bottom: 1px solid #d0d7de; }}
th {{ font-size: 12px; text-transform: uppercase; color: #6e7781; }}
td.chart {{ white-space: nowrap; }} td.chart span {{ display: inline-block; min-width: 70px; }}
.badge {{ display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
          font-size: 12px; font-weight: 600; }}
tr.total td {{ background: #f6f8fa; }} svg {{ vertical-align: middle; }}
.detail {{ color: #6e7781; font-size: 12px; }}
</style></head><body>
<h1>edgegraph status</h1>
<p class="meta">{escape(snapshot["service"])} · {escape(snapshot["generatedAt"])} ·
last {window_minutes:g} minutes · refreshes every {_REFRESH_SECONDS}s ·
<a href="status.json">JSON</a> · <a href="metrics">metrics</a></p>
{banner}
<table>
<thead><tr><th>Subgraph</th><th>Health</th><th>Breaker</th><th>Requests/s</th>
<th>Error rate</th><th>p95 latency</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody></table>
</body></html>
"""


def _row(
    name: str,
    health: str | None,
    breaker: str | None,
    traffic: dict[str, Any],
    *,
    total: bool = False,
    detail: str = "",
) -> str:
    last = traffic["lastMinute"]
    series = traffic["series"]
    health_cell = (
        "" if health is None else _badge(health, _COLOURS.get(health, "#6e7781"))
        + (f' <span class="detail">{escape(detail)}</span>' if health == "down" else "")
    )  # fmt: skip
    breaker_cell = (
        "" if total else _badge(breaker, _BREAKER_COLOURS.get(breaker, "#6e7781"))
        if breaker else '<span class="detail">n/a</span>'
    )  # fmt: skip
    p95 = last["p95Ms"]
    cells = [
        f"<td><strong>{escape(name)}</strong></td>",
        f"<td>{health_cell}</td>",
        f"<td>{breaker_cell}</td>",
        _chart([p["rate"] for p in series], f"{last['rate']:.2f}", "#0969da"),
        _chart([p["errorRate"] for p in series], f"{last['errorRate'] * 100:.1f}%", "#cf222e"),
        _chart([p["p95Ms"] for p in series], "-" if p95 is None else f"{p95:.0f} ms", "#8250df"),
    ]
    return f'<tr class="{"total" if total else "subgraph"}">{"".join(cells)}</tr>\n'


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{escape(text)}</span>'


def _chart(values: list[float | None], label: str, colour: str) -> str:
    return f'<td class="chart">{sparkline(values, colour)} <span>{escape(label)}</span></td>'


def sparkline(values: list[float | None], colour: str) -> str:
    """An inline SVG line of `values` (None: no data), scaled to its own maximum."""
    width, height = _SPARK_WIDTH, _SPARK_HEIGHT
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v or 0.0) / top * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="last {len(values)} buckets">'
        f'<rect width="{width}" height="{height}" fill="#f6f8fa"/>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/></svg>'
    )


def status_routes(
    telemetry: Telemetry,
    subgraphs: Sequence[str],
    probe: Callable[[], HealthProbe | None],
) -> list[Route]:
    """`GET /status` and `GET /status.json`. `probe` gives the health probe once the app's
    lifespan has built the engine (None before)."""

    async def page(_request: Request) -> Response:
        snapshot = await status_snapshot(telemetry, subgraphs, probe())
        return HTMLResponse(render_status_page(snapshot), headers={"cache-control": "no-store"})

    async def data(_request: Request) -> Response:
        snapshot = await status_snapshot(telemetry, subgraphs, probe())
        return JSONResponse(snapshot, headers={"cache-control": "no-store"})

    return [
        Route("/status", page, methods=["GET"]),
        Route("/status.json", data, methods=["GET"]),
    ]
