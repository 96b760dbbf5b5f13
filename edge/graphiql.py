"""GraphiQL, served by the gateway from assets installed at setup time: it needs no network.

`make` runs `npm ci` in `web/`, whose postinstall copies the pinned GraphiQL, React and ReactDOM
bundles into `edge/static/vendor/` (not committed). The page loads only same-origin scripts;
`edge/static/edgegraph-graphiql.js` boots GraphiQL with a fetcher that sends the headers editor's
headers and a "Query plan" panel. With a clients folder, GraphiQL opens with one tab per device
operation file, its client's header set and an empty `authorization` header for a token.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

__all__ = [
    "ASSETS_PATH",
    "STATIC_DIR",
    "VENDOR_FILES",
    "assets_installed",
    "example_tabs",
    "graphiql_page",
    "graphiql_static",
    "wants_graphiql",
]

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/graphiql"
VENDOR_FILES = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
)

# Same-origin only: the page works offline and cannot be made to load anything from elsewhere.
# GraphiQL and CodeMirror set inline styles, hence 'unsafe-inline' for styles (not scripts).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/vendor/graphiql.min.css">
<style>
  html, body, #graphiql {{ height: 100%; margin: 0; }}
  .edgegraph-plan {{ display: flex; flex-direction: column; gap: 0.5rem; }}
  .edgegraph-plan-text {{ font-size: 12px; line-height: 1.4; overflow: auto; margin: 0;
    white-space: pre; font-family: var(--font-family-mono, monospace); }}
</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="edgegraph-config" type="application/json">{config}</script>
<script src="{assets}/vendor/react.production.min.js"></script>
<script src="{assets}/vendor/react-dom.production.min.js"></script>
<script src="{assets}/vendor/graphiql.min.js"></script>
<script src="{assets}/edgegraph-graphiql.js"></script>
</body>
</html>
"""


def example_tabs(clients_dir: str | Path | None) -> list[dict[str, str]]:
    """One GraphiQL tab per `clients/<client>/*.graphql`: the file's operations, headed by a
    comment, with the client's name header and an empty `authorization` header (an empty
    header is not sent, so the tab works anonymously until a token is pasted there)."""
    if clients_dir is None or not Path(clients_dir).is_dir():
        return []
    tabs = []
    for path in sorted(Path(clients_dir).glob("*/*.graphql")):
        client = path.parent.name
        note = (
            f"# {client}/{path.name}, an operation of the {client} client\n"
            '# To sign in: Headers, "authorization": "Bearer <token>"\n'
        )
        headers = {"apollographql-client-name": client, "authorization": ""}
        tabs.append(
            {
                "query": note + path.read_text(encoding="utf-8"),
                "headers": orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode(),
            }
        )
    return tabs


def assets_installed(static_dir: Path = STATIC_DIR) -> bool:
    """Whether the npm-installed GraphiQL bundles are in place."""
    return all((static_dir / "vendor" / name).is_file() for name in VENDOR_FILES)


def wants_graphiql(request: Request) -> bool:
    """A browser navigating to the endpoint: a GET that prefers HTML and carries no operation."""
    if request.method not in ("GET", "HEAD"):
        return False
    params = request.query_params
    if "query" in params or "extensions" in params or "documentId" in params:
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept.lower()


def graphiql_page(
    *,
    endpoint: str,
    include_plan: bool,
    default_headers: Mapping[str, str] | None = None,
    tabs: Sequence[Mapping[str, str]] = (),
    static_dir: Path = STATIC_DIR,
) -> Response:
    """The GraphiQL page, or a 503 that says how to install the assets when they are missing."""
    if not assets_installed(static_dir):
        return PlainTextResponse(
            "GraphiQL's assets are not installed. Run `make` (it runs `npm ci` in web/, which "
            "copies them into edge/static/vendor/).",
            status_code=503,
        )
    config = {
        "endpoint": endpoint,
        "includePlan": include_plan,
        "defaultHeaders": orjson.dumps(dict(default_headers or {})).decode(),
        "tabs": [dict(tab) for tab in tabs],
    }
    # `</` would end the script element early; JSON allows escaping the slash.
    payload = orjson.dumps(config).decode().replace("</", "<\\/")
    page = _PAGE.format(
        title=html.escape("edgegraph · GraphiQL"), assets=ASSETS_PATH, config=payload
    )
    return HTMLResponse(
        page,
        headers={
            "content-security-policy": _CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-cache",
            "vary": "Accept",
        },
    )


def graphiql_static(static_dir: Path = STATIC_DIR) -> Mount:
    """The route that serves GraphiQL's scripts and styles."""
    return Mount(
        ASSETS_PATH,
        app=StaticFiles(directory=static_dir, check_dir=False),
        name="graphiql-static",
    )
