"""What a person sees who opens the gateway in a browser: `/`, and `/graphql` without GraphiQL.

In production GraphiQL is off, and a browser's GET of `/graphql` carries no query: under the
GraphQL-over-HTTP rules that is a 400 with a JSON error, which tells a person nothing. A request
that prefers HTML and carries no operation is a person, not a GraphQL client, so it gets a page
saying what this server is, how to query it, and where GraphiQL would be. Every other request
keeps the spec's statuses.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["home_route", "landing_page"]

_LINKS = (
    ("/health", "liveness"),
    ("/readiness", "readiness (503 while not ready)"),
    ("/status", "status page for on-call"),
    ("/metrics", "Prometheus metrics"),
)


def _lines(*, endpoint: str, graphiql: bool, introspection: bool) -> list[str]:
    if graphiql:
        where = f"GraphiQL: open {endpoint} in a browser."
        if not introspection:
            where += " Introspection is off, so GraphiQL cannot load the schema."
    else:
        where = (
            f"GraphiQL is off on this server (production defaults). Started with --dev, or with "
            f"--graphiql --introspection, it opens at {endpoint} in a browser."
        )
    return [
        "This is edgegraph, a federated GraphQL gateway.",
        f'Send GraphQL requests to POST {endpoint} with a JSON body {{"query": "..."}}, or '
        f"GET {endpoint}?query=... for queries.",
        where,
    ]


def landing_page(
    request: Request, *, endpoint: str, graphiql: bool, introspection: bool
) -> Response:
    """The page for a person: HTML for a browser, plain text for anything else."""
    lines = _lines(endpoint=endpoint, graphiql=graphiql, introspection=introspection)
    if "text/html" not in request.headers.get("accept", "").lower():
        links = [f"{path}: {what}" for path, what in _LINKS]
        return PlainTextResponse("\n".join([*lines, *links]) + "\n")
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines)
    items = "".join(
        f'<li><a href="{path}">{escape(path)}</a>: {escape(what)}</li>' for path, what in _LINKS
    )
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>edgegraph gateway</title>"
        "<style>body { font: 15px/1.5 system-ui, sans-serif; margin: 32px; max-width: 44em; }"
        "</style></head><body><h1>edgegraph gateway</h1>"
        f"{paragraphs}<ul>{items}</ul></body></html>"
    )


def home_route(*, endpoint: str, graphiql: bool, introspection: bool) -> Route:
    """`GET /`: what this server is and where to go."""

    async def home(request: Request) -> Response:
        return landing_page(
            request, endpoint=endpoint, graphiql=graphiql, introspection=introspection
        )

    return Route("/", home, methods=["GET"])
