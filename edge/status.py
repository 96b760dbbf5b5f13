"""`GET /status`: a page on-call can read at a glance, and the same data at `/status.json`.

For each subgraph: its health (a live `{ __typename }` probe), its circuit-breaker state, and
its request rate, error rate and p95 latency over the last minutes as inline SVG sparklines.
The page is one HTML document with inline CSS and SVG: no script, font or stylesheet to fetch,
so it renders where the gateway is reachable and nothing else is.

The subgraphs listed are those of the supergraph served now, so a hot reload that adds one
shows it at once. The banner is computed from the signals on-call would look at: subgraphs
down, circuit breakers open, and the gateway's own error rate over the last minute. The page
also names the supergraph's version (hash) and source, and the reloads since start.

`GET /health` is liveness (the process answers); `GET /readiness` and `GET /health?ready`
(Hive Gateway's and Apollo Router's spellings) are readiness: 503 while no supergraph is
loaded or every subgraph is down, so a load balancer sends traffic elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from edge.reload import ReloadHistory
from federation.telemetry.instrument import HealthProbe
from federation.telemetry.tracing import GATEWAY, Telemetry
from federation.telemetry.traffic import Traffic, TrafficPoint

__all__ = [
    "DEGRADED_ERROR_RATE",
    "health_routes",
    "render_status_page",
    "sparkline",
    "status_routes",
    "status_snapshot",
]

#: The gateway's share of failed requests over the last minute above which it is degraded,
#: counted only once `_MIN_REQUESTS` requests give the rate some meaning.
DEGRADED_ERROR_RATE = 0.05
_MIN_REQUESTS = 5

_REFRESH_SECONDS = 10
_SPARK_WIDTH, _SPARK_HEIGHT = 140, 30
_COLOURS = {"up": "#1a7f37", "down": "#cf222e", "unknown": "#6e7781"}
_BREAKER_COLOURS = {"closed": "#1a7f37", "half_open": "#9a6700", "open": "#cf222e"}


async def status_snapshot(
    telemetry: Telemetry,
    subgraphs: Sequence[str],
    probe: HealthProbe | None,
    history: ReloadHistory | None = None,
) -> dict[str, Any]:
    """Health, breaker state and traffic of the gateway and each subgraph, the overall status
    with its reasons, and the supergraph's version and reloads, as JSON data."""
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
    open_breakers = [row["name"] for row in rows if row["breaker"] in ("open", "half_open")]
    gateway = _traffic(telemetry.traffic.get(GATEWAY), telemetry)
    status, reasons = _overall(
        loaded=probe is not None,
        subgraphs=len(rows),
        down=down,
        open_breakers=open_breakers,
        gateway_last_minute=gateway["lastMinute"],
    )
    return {
        "service": telemetry.config.service_name,
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": status,
        "reasons": reasons,
        "down": down,
        "breakersOpen": open_breakers,
        "supergraph": history.to_json() if history is not None else None,
        "gateway": gateway,
        "subgraphs": rows,
    }


def _overall(
    *,
    loaded: bool,
    subgraphs: int,
    down: list[str],
    open_breakers: list[str],
    gateway_last_minute: dict[str, Any],
) -> tuple[str, list[str]]:
    """"ok", "degraded" or "down", and why: each signal that is not healthy, worst first."""
    if not loaded:
        return "down", ["no supergraph loaded"]
    reasons = []
    if down:
        reasons.append(f"{len(down)} of {subgraphs} subgraphs down: {', '.join(down)}")
    if open_breakers:
        reasons.append(f"circuit breaker open: {', '.join(open_breakers)}")
    requests, error_rate = gateway_last_minute["requests"], gateway_last_minute["errorRate"]
    if requests >= _MIN_REQUESTS and error_rate > DEGRADED_ERROR_RATE:
        reasons.append(f"gateway error rate {error_rate:.0%} over the last minute")
    if subgraphs and len(down) == subgraphs:
        return "down", reasons
    return ("degraded" if reasons else "ok"), reasons


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
    reasons = snapshot["reasons"]
    banner = (
        f'<p class="banner bad">{escape(snapshot["status"].capitalize())}: '
        f"{escape('; '.join(reasons))}</p>"
        if reasons
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
.supergraph {{ margin: 12px 0; }} .supergraph code {{ font-size: 12px; }}
.rejections li {{ color: #cf222e; }}
</style></head><body>
<h1>edgegraph status</h1>
<p class="meta">{escape(snapshot["service"])} · {escape(snapshot["generatedAt"])} ·
last {window_minutes:g} minutes · refreshes every {_REFRESH_SECONDS}s ·
<a href="status.json">JSON</a> · <a href="metrics">metrics</a></p>
{banner}
{_supergraph_section(snapshot["supergraph"])}
<table>
<thead><tr><th>Subgraph</th><th>Health</th><th>Breaker</th><th>Requests/s</th>
<th>Error rate</th><th>p95 latency</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody></table>
</body></html>
"""


def _supergraph_section(supergraph: dict[str, Any] | None) -> str:
    if supergraph is None:
        return ""
    version = supergraph["hash"][:12] if supergraph["hash"] else "none"
    reloaded = supergraph["lastReloadAt"] or "never"
    lines = [
        f'<p class="supergraph">Supergraph <code title="{escape(supergraph["hash"] or "")}">'
        f"{escape(version)}</code> from {escape(supergraph['source'])}, loaded "
        f"{escape(supergraph['loadedAt'] or 'never')} · reloads: {supergraph['reloads']} "
        f"(clients: {supergraph['clientReloads']}), last {escape(reloaded)} · "
        f"rejected: {supergraph['rejected']}</p>"
    ]
    if supergraph["rejections"]:
        items = "".join(
            f"<li>{escape(r['at'])} {escape(r['kind'])}: {escape(r['reason'])}</li>"
            for r in supergraph["rejections"]
        )
        lines.append(f'<ul class="rejections">{items}</ul>')
    return "\n".join(lines)


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
    subgraphs: Callable[[], Sequence[str]],
    probe: Callable[[], HealthProbe | None],
    history: ReloadHistory | None = None,
) -> list[Route]:
    """`GET /status` and `GET /status.json`. `subgraphs` gives the served supergraph's
    subgraphs at each request; `probe` the health probe once the app's lifespan has built the
    engine (None before)."""

    async def snapshot() -> dict[str, Any]:
        return await status_snapshot(telemetry, subgraphs(), probe(), history)

    async def page(_request: Request) -> Response:
        html = render_status_page(await snapshot())
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def data(_request: Request) -> Response:
        return JSONResponse(await snapshot(), headers={"cache-control": "no-store"})

    return [
        Route("/status", page, methods=["GET"]),
        Route("/status.json", data, methods=["GET"]),
    ]


def health_routes(
    subgraphs: Callable[[], Sequence[str]], probe: Callable[[], HealthProbe | None]
) -> list[Route]:
    """`GET /health` (liveness; `?ready` asks readiness, as Apollo Router does) and
    `GET /readiness` (as Hive Gateway names it): `{"status": "UP"}`, or 503 with
    `{"status": "DOWN", "reason": ...}`."""

    async def readiness(_request: Request) -> Response:
        checked = probe()
        if checked is None:
            return _not_ready("no supergraph loaded")
        names = list(subgraphs())
        health = await checked.check(names)
        if names and all(health[name].status == "down" for name in names):
            return _not_ready(f"every subgraph is down: {', '.join(names)}")
        return JSONResponse({"status": "UP"}, headers={"cache-control": "no-store"})

    async def health(request: Request) -> Response:
        if "ready" in request.query_params:
            return await readiness(request)
        return JSONResponse({"status": "ok", "subgraphs": sorted(subgraphs())})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/readiness", readiness, methods=["GET"]),
    ]


def _not_ready(reason: str) -> Response:
    return JSONResponse(
        {"status": "DOWN", "reason": reason}, status_code=503, headers={"cache-control": "no-store"}
    )
