"""Which client headers reach which subgraph.

Two layers, in this order:
1. `forwardable_headers` drops everything that describes the client's connection or body rather
   than the request's meaning: hop-by-hop headers (RFC 9110 §7.6.1: `Connection`, every header
   that `Connection` names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`,
   `Proxy-*`) and our own hop's framing (`Host`, `Content-Length`, `Content-Type`, ...).
   Nothing configured can bring these back.
2. `PropagatingFetcher` applies the configured allowlist per subgraph and adds fixed headers, so
   `authorization` can go to the members subgraph and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from edge.config import HeadersConfig
from edge.passport import PASSPORT_HEADER
from federation.subgraphs.fetcher import Fetcher, SubgraphRequest

__all__ = ["HOP_BY_HOP", "HeaderRules", "PropagatingFetcher", "forwardable_headers"]

#: Hop-by-hop headers (RFC 9110 §7.6.1, plus the `Proxy-Connection` and `Trailer`/`Trailers`
#: spellings older agents still send); `Proxy-*` are matched by prefix.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)

# Framing and negotiation of the client's request to us; the gateway's own request to a
# subgraph has its own body, host and encodings.
_THIS_HOP = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "accept",
        "accept-encoding",
        "expect",
    }
)


def forwardable_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Client headers, lower-cased, without hop-by-hop ones and this hop's framing.

    `headers` may repeat a name (as raw ASGI headers do); repeated values are joined with ", ",
    which is how HTTP combines them, and every `Connection` occurrence counts.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    named_by_connection = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
        if token.strip()
    }
    result: dict[str, str] = {}
    for name, value in pairs:
        if (
            name in HOP_BY_HOP
            or name in _THIS_HOP
            or name.startswith("proxy-")
            or name in named_by_connection
        ):
            continue
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


class HeaderRules:
    """The configured propagation: an allowlist for all subgraphs, overridable per subgraph."""

    def __init__(self, config: HeadersConfig) -> None:
        self._default = frozenset(name.lower() for name in config.propagate)
        self._subgraphs = {
            name: (
                frozenset(h.lower() for h in rules.propagate)
                if rules.propagate is not None
                else self._default,
                dict(rules.set),
            )
            for name, rules in config.subgraphs.items()
        }

    def for_subgraph(self, service_name: str, client: Mapping[str, str]) -> dict[str, str]:
        """The headers to send to `service_name`, given already forwardable client headers."""
        allowed, fixed = self._subgraphs.get(service_name, (self._default, {}))
        chosen = {name: value for name, value in client.items() if name.lower() in allowed}
        chosen.update(fixed)
        # The gateway's own passport (edge/auth.py put it there, after dropping any client
        # copy) reaches every subgraph, whatever the allowlist.
        if PASSPORT_HEADER in client:
            chosen[PASSPORT_HEADER] = client[PASSPORT_HEADER]
        # `set` cannot smuggle a hop-by-hop header either.
        return forwardable_headers(chosen.items())


class PropagatingFetcher:
    """A Fetcher that applies `HeaderRules` to the client headers the engine hands each fetch."""

    def __init__(self, inner: Fetcher, rules: HeaderRules) -> None:
        self.inner = inner
        self.rules = rules

    async def fetch(self, request: SubgraphRequest) -> dict[str, Any]:
        """Fetch from the request's subgraph with only the headers its rules allow."""
        chosen = self.rules.for_subgraph(request.service_name, request.headers)
        return await self.inner.fetch(replace(request, headers=chosen))
