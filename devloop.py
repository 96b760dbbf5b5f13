"""`edgegraph dev`: the demo's graph on this machine with one subgraph replaced by your own.

What `rover dev` does for Apollo users, for a domain team working on its subgraph: the demo's
backends and other subgraphs run as in `edgegraph demo`, the team's subgraph runs wherever the
team runs it (`--subgraph catalog=http://127.0.0.1:5001/graphql`), or from its module
(`--subgraph catalog=my_catalog.app:app`, an ASGI app answering at `/graphql`, served on
`--team-port` by `uvicorn --reload`, so an edit restarts it), and a dev-mode gateway serves
the composition of the two. The team's subgraph is asked for its SDL every `--interval`
seconds and the graph is composed again whenever it changed; until it first composes, the
demo's own subgraph of that name answers.

A composition error is printed as a JSON log line (the reloader's `reload_rejected`) and, while
it lasts, added to every `/graphql` answer as `extensions.compositionErrors`, which GraphiQL
shows beside the result; the last graph that composed keeps serving.

Only `edgegraph dev` imports this module (it loads the demo, like `edgegraph demo`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator, Sequence

import httpx
import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import backends.issuer
import demo
from edge.config import GatewayConfig, with_overrides
from edge.listen import serve_all
from edge.logs import fields
from federation.composition import SubgraphSource
from federation.composition.cli import service_sdl
from federation.composition.compose import compose
from federation.composition.config import ConfigError, fetch_service_sdl
from federation.supergraph.model import load_supergraph
from gateway import DEMO_CLIENTS, create_app_or_exit

__all__ = ["CompositionErrors", "TeamSubgraphSource", "parse_subgraph", "run"]

logger = logging.getLogger("edgegraph.dev")


def parse_subgraph(text: str) -> tuple[str, str]:
    """`NAME=URL` or `NAME=MODULE:APP` (an argparse `type`): the demo subgraph to replace, and
    where yours answers or the ASGI app that serves it."""
    name, sep, url = text.partition("=")
    if not sep or not (url.startswith(("http://", "https://")) or _is_app_spec(url)):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=URL or NAME=MODULE:APP (catalog=http://..., "
            "catalog=my_catalog.app:app)"
        )
    if name not in demo.SUBGRAPHS:
        raise argparse.ArgumentTypeError(
            f"no demo subgraph {name!r}: one of {', '.join(demo.SUBGRAPHS)}"
        )
    return name, url


def _is_app_spec(text: str) -> bool:
    module, sep, attribute = text.partition(":")
    names = [*module.split("."), attribute]
    return bool(sep) and all(part.isidentifier() for part in names)


@contextlib.contextmanager
def team_server(spec: str, *, host: str, port: int) -> Iterator[str]:
    """`spec` (MODULE:APP) served by `uvicorn --reload` from the current directory, which it
    watches; yields its GraphQL URL, and stops it on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", spec, "--host", host, "--port", str(port),
         "--reload", "--log-level", "warning"],
    )  # fmt: skip
    try:
        yield f"http://{host}:{port}/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class TeamSubgraphSource:
    """The supergraph of the demo's other subgraphs (their SDL known in-process) and the team's
    subgraph, whose SDL is asked on every poll; composed again only when that SDL changed.

    A composition failure raises (the reloader logs it once and keeps serving) and stays in
    `errors` until an SDL composes. An unreachable subgraph is reported once, not every poll.
    """

    def __init__(
        self,
        others: Sequence[SubgraphSource],
        name: str,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.others = list(others)
        self.name = name
        self.url = url
        self._client = client
        #: the composition errors of the team's current SDL, or none
        self.errors: list[str] = []
        self._last_sdl: str | None = None
        self._last_failure: str | None = None

    def __str__(self) -> str:
        return f"{self.name} at {self.url}, composed with the demo's other subgraphs"

    async def poll(self) -> str | None:
        """The newly composed supergraph if the team's SDL changed and composes."""
        try:
            sdl = await self._fetch()
        except ConfigError as error:
            if str(error) == self._last_failure:
                return None
            self._last_failure = str(error)
            raise
        self._last_failure = None
        if sdl == self._last_sdl:
            return None
        self._last_sdl = sdl
        sources = [*self.others, SubgraphSource(name=self.name, url=self.url, sdl=sdl)]
        result = await asyncio.to_thread(compose, sources)
        if result.supergraph_sdl is None:
            self.errors = [f"[{error.code}] {error.message}" for error in result.errors]
            raise ValueError(f"{self.name} does not compose: " + "; ".join(self.errors))
        self.errors = []
        return result.supergraph_sdl

    async def _fetch(self) -> str:
        if self._client is not None:
            return await fetch_service_sdl(self._client, self.name, self.url)
        async with httpx.AsyncClient(timeout=5.0) as client:
            return await fetch_service_sdl(client, self.name, self.url)


class CompositionErrors:
    """While `source` has composition errors, each JSON answer of `/graphql` carries them in
    `extensions.compositionErrors`, so the developer sees them in GraphiQL's result pane."""

    def __init__(self, app: ASGIApp, *, source: TeamSubgraphSource) -> None:
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        errors = list(self.source.errors)
        if scope["type"] != "http" or scope["path"] != "/graphql" or not errors:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def with_errors(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = MutableHeaders(raw=list(start["headers"]))
            body = _with_errors(b"".join(chunks), headers.get("content-type", ""), errors)
            headers["content-length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, with_errors)


def _with_errors(body: bytes, content_type: str, errors: list[str]) -> bytes:
    if "json" not in content_type:
        return body
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(answer, dict):
        return body
    extensions = answer.get("extensions")
    answer["extensions"] = {
        **(extensions if isinstance(extensions, dict) else {}), "compositionErrors": errors
    }  # fmt: skip
    return orjson.dumps(answer)


def run(args: argparse.Namespace) -> None:
    """`edgegraph dev --subgraph NAME=URL` (or `NAME=MODULE:APP`)."""
    name, target = args.subgraph
    if target.startswith(("http://", "https://")):
        _run(args, name, target)
        return
    with team_server(target, host=args.host, port=args.team_port) as url:
        _run(args, name, url)


def _run(args: argparse.Namespace, name: str, url: str) -> None:
    apps = demo.demo_apps(
        host=args.host,
        subgraph_base_port=args.subgraph_port,
        backend_base_port=args.backend_port,
    )
    urls = {
        sub: f"http://{host}:{port}/graphql"
        for sub, _app, host, port in apps
        if sub in demo.SUBGRAPHS
    }
    others = [
        SubgraphSource(name=sub, url=urls[sub], sdl=service_sdl(demo.SUBGRAPH_SCHEMAS[sub]))
        for sub in demo.SUBGRAPHS
        if sub != name
    ]
    source = TeamSubgraphSource(others, name, url)
    # Until the team's subgraph composes, the demo's own answers under its name: the gateway
    # starts on the demo's graph, whose URL for `name` is the demo subgraph's.
    supergraph = load_supergraph(demo.demo_supergraph_sdl())
    config = with_overrides(
        GatewayConfig(),
        dev=True,
        clients_dir=str(DEMO_CLIENTS),
        reload_interval=args.interval,
    )
    issuer = backends.issuer.Issuer(f"http://{args.host}:{args.issuer_port}")
    apps.append(("issuer", issuer.create_app(), args.host, args.issuer_port))
    gateway = create_app_or_exit(
        supergraph,
        config=config,
        # every subgraph but the team's: its URL comes from the composed supergraph
        subgraph_urls={sub: sub_url for sub, sub_url in urls.items() if sub != name},
        authenticator=demo.demo_auth(issuer),
        reload_source=source,
        reload_interval=args.interval,
    )
    gateway.add_middleware(CompositionErrors, source=source)
    apps.append(("gateway", gateway, args.host, args.port))

    def announce() -> None:
        print(f"edgegraph dev: {name} from {url}, the demo's other subgraphs", flush=True)
        print(f"edgegraph gateway on http://{args.host}:{args.port}/graphql (dev mode)", flush=True)
        logger.info(
            f"composing {name} from {url} every {args.interval:g}s; until it composes, the "
            f"demo's own {name} answers",
            extra=fields(event="dev_started", subgraph=name, url=url),
        )

    asyncio.run(serve_all(apps, announce=announce))
