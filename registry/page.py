"""The registry's web page (`GET /`): the subgraphs and their versions, the composed API
schema, the supergraph history, the check history, and the clients with their operations.

One server-rendered HTML page with no script and no asset from anywhere: it works offline
and behind a strict Content-Security-Policy. Every value from the database is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from .store import Operation, Snapshot, SubgraphVersion

__all__ = ["CONTENT_SECURITY_POLICY", "render_page"]

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 14px 28px; }
header h1 { margin: 0; font-size: 20px; } header p { margin: 4px 0 0; color: #b8c0d0; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; padding: 18px 28px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 12px 16px; }
section.wide { grid-column: 1 / 3; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f4; }
td { vertical-align: top; }
th { color: #5b6475; font-weight: 600; }
pre { background: #f3f5f8; padding: 10px; overflow: auto; max-height: 420px; margin: 0; }
.ok { color: #137333; font-weight: 600; } .failed { color: #b3261e; font-weight: 600; }
.muted { color: #7a8394; } ul { margin: 0; padding-left: 18px; }
"""


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _rows(rows: Iterable[Sequence[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)


def _table(headings: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = _rows(rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    return f"<table><tr>{head}</tr>{body}</table>"


def _subgraphs(snapshot: Snapshot, history: Mapping[str, Sequence[SubgraphVersion]]) -> str:
    rows = []
    for name in sorted(snapshot.latest):
        latest = snapshot.latest[name]
        versions = ", ".join(
            f"v{v.version} ({escape(_when(v.created_at))}, {escape(v.created_by)})"
            for v in reversed(history.get(name, ()))
        )
        rows.append((escape(name), f"v{latest.version}", escape(latest.url), versions))
    return _table(("subgraph", "serving", "url", "versions"), rows, "nothing published yet")


def _checks(checks: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for check in checks:
        report = check["report"]
        problems = [escape(e) for e in report.get("compositionErrors", [])] + [
            f"{escape(op['client'])} / {escape(op['operation'])}: "
            + escape("; ".join(op["reasons"]))
            for op in report.get("affectedOperations", [])
        ]
        verdict = (
            '<span class="ok">passed</span>'
            if check["ok"]
            else ('<span class="failed">failed</span>')
        )
        detail = "<ul>" + "".join(f"<li>{p}</li>" for p in problems) + "</ul>" if problems else ""
        rows.append(
            (
                escape(check["at"][:16].replace("T", " ")),
                escape(check["subgraph"]),
                escape(check["kind"]),
                verdict,
                escape(check["by"]),
                detail,
            )
        )
    return _table(("when", "subgraph", "kind", "result", "by", "details"), rows, "no checks yet")


def _operations(operations: Sequence[Operation]) -> str:
    rows = [
        (
            escape(op.client),
            escape(op.name),
            escape(op.client_version),
            f"<code>{op.hash[:12]}</code>",
        )
        for op in operations
    ]
    return _table(("client", "operation", "client version", "hash"), rows, "no operations yet")


def _usage(usage: Mapping[str, Mapping[str, int]]) -> str:
    rows = [
        (escape(coordinate), escape(client), str(requests))
        for coordinate, clients in sorted(usage.items())
        for client, requests in sorted(clients.items(), key=lambda item: -item[1])
    ]
    return _table(("field", "client", "requests"), rows, "no usage reported")


def _supergraphs(history: Sequence[tuple[int, Mapping[str, int], datetime, str]]) -> str:
    rows = [
        (
            f"v{version}",
            escape(", ".join(f"{name}@{v}" for name, v in sorted(subgraphs.items()))),
            escape(_when(at)),
            escape(by),
        )
        for version, subgraphs, at, by in reversed(history)
    ]
    return _table(("supergraph", "subgraphs", "when", "by"), rows, "no supergraph yet")


def _section(id_: str, title: str, body: str, *, wide: bool = False) -> str:
    kind = ' class="wide"' if wide else ""
    return f'<section{kind} id="{id_}"><h2>{escape(title)}</h2>{body}</section>'


def render_page(
    *,
    snapshot: Snapshot,
    history: Mapping[str, Sequence[SubgraphVersion]],
    supergraphs: Sequence[tuple[int, Mapping[str, int], datetime, str]],
    checks: Sequence[Mapping[str, Any]],
    operations: Sequence[Operation],
    usage: Mapping[str, Mapping[str, int]] | None = None,
    usage_days: int = 7,
) -> str:
    """The whole page, as HTML. `usage`: coordinate → client → requests in `usage_days`."""
    served = snapshot.supergraph
    schema = escape(served.api_sdl) if served is not None else "no supergraph yet"
    clients = sorted({op.client for op in operations})
    summary = (
        f"supergraph v{snapshot.graph_version} · {len(snapshot.latest)} subgraphs · "
        f"{len(operations)} operations of {len(clients)} clients"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgegraph schema registry</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style></head>
<body>
<header><h1>edgegraph schema registry</h1><p>{escape(summary)}</p></header>
<main>
{_section("subgraphs", "Subgraphs", _subgraphs(snapshot, history), wide=True)}
{_section("api-schema", f"API schema (v{snapshot.graph_version})", f"<pre>{schema}</pre>")}
{_section("supergraphs", "Supergraph history", _supergraphs(supergraphs))}
{_section("checks", "Check history", _checks(checks), wide=True)}
{_section("operations", "Clients and operations", _operations(operations), wide=True)}
{_section("usage", f"Field usage (last {usage_days} days)", _usage(usage or {}), wide=True)}
</main>
</body></html>
"""
