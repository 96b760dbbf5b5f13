"""`graph.toml`: the subgraphs to compose, and getting each one's SDL.

    [subgraphs.catalog]
    url = "http://127.0.0.1:4001/graphql"
    schema = "schema/catalog.graphql"   # optional: without it, `_service { sdl }` is asked

A relative `schema` path is read relative to the directory of `graph.toml`.

The same file may configure the gateway (edge/config.py): composition skips the gateway's
keys, `timeout` in a subgraph's table and the plain keys of `[subgraphs]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import GraphQLSyntaxError, parse

from ..errors import FederationError
from .model import SubgraphSource

__all__ = [
    "ConfigError",
    "SubgraphConfig",
    "fetch_service_sdl",
    "load_sources",
    "read_config",
]

SERVICE_SDL_QUERY = "{ _service { sdl } }"
#: `[subgraphs]` keys that configure the gateway for every subgraph: not subgraphs
_GATEWAY_KEYS = frozenset({"timeout", "max_response_bytes", "max_response_depth"})


class ConfigError(FederationError):
    """`graph.toml` is missing or malformed, or a subgraph's SDL cannot be had."""


@dataclass(frozen=True, slots=True)
class SubgraphConfig:
    """One `[subgraphs.NAME]` table: the URL the gateway calls, and an optional SDL file."""

    name: str
    url: str
    schema: Path | None = None


def read_config(path: str | Path) -> list[SubgraphConfig]:
    """The subgraphs listed in a `graph.toml`, in file order; raises `ConfigError`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    tables = data.get("subgraphs")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{path}: no [subgraphs.NAME] tables")
    configs: list[SubgraphConfig] = []
    for name, table in tables.items():
        where = f"{path}: [subgraphs.{name}]"
        if name in _GATEWAY_KEYS and not isinstance(table, dict):
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(table) - {"url", "schema", "timeout"})
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)} (known: url, schema, timeout)"
            )
        url = table.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError(
                f'{where}: `url` is required, e.g. url = "http://127.0.0.1:4001/graphql"'
            )
        schema = table.get("schema")
        if schema is not None and not isinstance(schema, str):
            raise ConfigError(f"{where}: `schema` must be a path string")
        configs.append(
            SubgraphConfig(name=name, url=url, schema=(path.parent / schema) if schema else None)
        )
    return configs


async def fetch_service_sdl(client: httpx.AsyncClient, name: str, url: str) -> str:
    """A subgraph's SDL, asked through `{ _service { sdl } }`; raises `ConfigError`."""
    try:
        response = await client.post(
            url, json={"query": SERVICE_SDL_QUERY}, headers={"accept": "application/json"}
        )
    except httpx.HTTPError as error:
        raise ConfigError(
            f"subgraph {name!r}: cannot reach {url} ({type(error).__name__}: {error}); start "
            "it, or set `schema` in graph.toml to an SDL file"
        ) from error
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    sdl = (
        (((body or {}).get("data") or {}).get("_service") or {}).get("sdl")
        if isinstance(body, dict)
        else None
    )
    if response.status_code != 200 or not isinstance(sdl, str):
        errors = body.get("errors") if isinstance(body, dict) else None
        detail = f": {errors}" if errors else ""
        raise ConfigError(
            f"subgraph {name!r}: {url} did not answer `_service {{ sdl }}` (HTTP "
            f"{response.status_code}){detail}; is it a federation subgraph?"
        )
    return sdl


def _check_syntax(name: str, path: Path, sdl: str) -> None:
    """A schema file that does not parse is named with file:line:column, so an editor can jump
    there (composition itself knows the subgraph, not the file)."""
    try:
        parse(sdl)
    except GraphQLSyntaxError as error:
        where = str(path)
        if error.locations:
            where += f":{error.locations[0].line}:{error.locations[0].column}"
        raise ConfigError(f"subgraph {name!r}: {where}: {error.message}") from None


async def load_sources(
    configs: Sequence[SubgraphConfig],
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float = 10.0,
) -> list[SubgraphSource]:
    """Each subgraph's SDL: read from its `schema` file, or fetched concurrently by URL.

    Every failure is collected into one `ConfigError`, so one run shows all of them.
    """
    own = client is None
    active = client or httpx.AsyncClient(timeout=timeout)
    try:

        async def one(config: SubgraphConfig) -> SubgraphSource | ConfigError:
            try:
                if config.schema is not None:
                    try:
                        sdl = config.schema.read_text()
                    except OSError as error:
                        raise ConfigError(
                            f"subgraph {config.name!r}: cannot read schema {config.schema}: "
                            f"{error.strerror or error}"
                        ) from error
                    _check_syntax(config.name, config.schema, sdl)
                else:
                    sdl = await fetch_service_sdl(active, config.name, config.url)
            except ConfigError as error:
                return error
            return SubgraphSource(name=config.name, url=config.url, sdl=sdl)

        results = await asyncio.gather(*(one(c) for c in configs))
    finally:
        if own:
            await active.aclose()
    failures = [str(r) for r in results if isinstance(r, ConfigError)]
    if failures:
        raise ConfigError("\n".join(failures))
    return [r for r in results if isinstance(r, SubgraphSource)]
