"""Serve the edgegraph gateway for the benchmark: one uvicorn worker, chosen loop and HTTP parser.

    python -m bench.serve_edgegraph --supergraph FILE --port N [--loop uvloop] [--http httptools]
        [--dedupe on|off]

This is `edgegraph serve` with uvicorn's loop and HTTP implementation made explicit, so the report
can say which ones ran; the app is the one `gateway.create_app` builds.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import uvicorn

from edge.config import GatewayConfig, SubgraphsConfig
from federation.limits import Limits
from federation.subgraphs.resilience import Resilience
from federation.supergraph.model import load_supergraph
from gateway import create_app

__all__ = ["best_http", "best_loop", "main"]


def best_loop() -> str:
    """uvloop when it is installed, else asyncio."""
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def best_http() -> str:
    """httptools when it is installed, else h11."""
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--supergraph", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", default=best_loop(), choices=("asyncio", "uvloop"))
    parser.add_argument("--http", default=best_http(), choices=("h11", "httptools"))
    parser.add_argument(
        "--dedupe",
        default="off",
        choices=("on", "off"),
        help="in-flight deduplication of client requests (inbound) and subgraph fetches "
        "(outbound), both on or both off",
    )
    parser.add_argument(
        "--batch",
        default="on",
        choices=("on", "off"),
        help="entity fetches to one subgraph that start together share one request "
        "([subgraphs] batch_entities; on by default)",
    )
    parser.add_argument(
        "--max-cost",
        default=None,
        help="the estimated-cost limit: a number, or off (default: the gateway's default)",
    )
    args = parser.parse_args(argv)
    dedupe = args.dedupe == "on"
    resilience = Resilience(dedupe=dedupe, dedupe_inbound=dedupe)
    limits = Limits()
    if args.max_cost is not None:
        limits = replace(limits, max_cost=None if args.max_cost == "off" else int(args.max_cost))
    config = GatewayConfig(
        subgraphs=SubgraphsConfig(batch_entities=args.batch == "on"), limits=limits
    )
    app = create_app(
        load_supergraph(Path(args.supergraph).read_text()), resilience=resilience, config=config
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop=args.loop,
        http=args.http,
        workers=1,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
