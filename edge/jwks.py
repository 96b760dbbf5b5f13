"""Where the keys that sign client tokens come from: a local file, or a JWKS URL kept cached.

`JwksKeys` follows key rotation the way identity providers expect (RFC 7517, OpenID Connect
discovery): the key set is refetched every `refresh` seconds, and at once when a token names a
`kid` it does not know, but never more often than once per `min_refetch` seconds, so tokens
with made-up kids cannot turn the gateway into a load generator against the identity
provider. While the endpoint is down the keys last fetched keep working for `max_age` seconds
after that fetch; past it every token is refused rather than checked against keys that may
have been revoked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

__all__ = ["JwksKeys", "KeySource", "StaticKeys", "parse_jwks"]

logger = logging.getLogger("edgegraph.auth")

#: A key set larger than this is no key set: refuse it rather than parse it.
MAX_JWKS_BYTES = 1_048_576


class KeySource(Protocol):
    """Finds the public key a token names."""

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key for `kid` (a token without a kid: the only key, if there is one)."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds open."""
        ...


def parse_jwks(raw: Any) -> dict[str | None, jwt.PyJWK]:
    """Usable public keys of a JWK Set (or of one JWK), by kid. Raises ValueError.

    Private or symmetric keys are refused: a verifier has no business holding them, and an
    `oct` key would let whoever knows it mint tokens.
    """
    if not isinstance(raw, dict):
        raise ValueError("a JWK Set must be a JSON object")
    entries = raw.get("keys", [raw])
    if not isinstance(entries, list):
        raise ValueError("a JWK Set's `keys` must be a list")
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") == "oct" or "d" in entry:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK.from_dict(entry)
        except jwt.PyJWTError:
            continue  # an algorithm or curve we cannot use; the others still serve
        keys[key.key_id] = key
    if not keys:
        raise ValueError("the JWK Set holds no usable public signing key")
    return keys


def _from_pem(data: bytes) -> jwt.PyJWK:
    public = serialization.load_pem_public_key(data)
    jwk: dict[str, Any]
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    else:
        raise ValueError("the key file holds no RSA, EC or Ed25519/Ed448 public key")
    return jwt.PyJWK.from_dict(jwk)


def _pick(keys: dict[str | None, jwt.PyJWK], kid: str | None) -> jwt.PyJWK | None:
    if kid is not None and kid in keys:
        return keys[kid]
    # A token without a kid (or a key set without kids) is unambiguous only with one key.
    if len(keys) == 1 and (kid is None or None in keys):
        return next(iter(keys.values()))
    return None


class StaticKeys:
    """Keys read once from a file: a PEM public key, a JWK, or a JWK Set."""

    def __init__(self, keys: dict[str | None, jwt.PyJWK]) -> None:
        self.keys = keys

    @classmethod
    def from_file(cls, path: str | Path) -> StaticKeys:
        """Read `path`; raises ValueError (naming the file) when it holds no usable key."""
        data = Path(path).read_bytes()
        try:
            if data.lstrip().startswith(b"{"):
                return cls(parse_jwks(json.loads(data)))
            key = _from_pem(data)
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise ValueError(f"{path}: {error}") from None
        return cls({key.key_id: key})

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        return _pick(self.keys, kid)

    async def aclose(self) -> None:
        return None


class JwksKeys:
    """A JWKS URL's keys, cached; see the module docstring for refresh and expiry.

    `clock` is monotonic seconds, injectable so tests move time instead of sleeping. `http`,
    when given, is used and left open (tests pass one over an ASGI transport).
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        refresh: float = 300.0,
        max_age: float = 3600.0,
        min_refetch: float = 10.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.refresh = refresh
        self.max_age = max_age
        self.min_refetch = min_refetch
        self.clock = clock
        self._owned = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None

    @property
    def fetches(self) -> int:
        """Fetch attempts so far (tests read the rate limit through it)."""
        return self._attempts

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        found = _pick(self._keys, kid)
        if found is not None and self._usable():
            if self.clock() - self._fetched_at_or_never() >= self.refresh:
                # Stale but still good: refresh beside the request, which does not wait.
                self._refresh_soon()
            return found
        await self._refetch()
        return _pick(self._keys, kid) if self._usable() else None

    def _fetched_at_or_never(self) -> float:
        return self._fetched_at if self._fetched_at is not None else float("-inf")

    def _usable(self) -> bool:
        """Keys fetched, and not longer ago than `max_age`: past it every token is refused."""
        return self.clock() - self._fetched_at_or_never() < self.max_age

    def _refresh_soon(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._refetch())

    async def refreshed(self) -> None:
        """Wait for a background refresh in progress, if any (tests, shutdown)."""
        if self._refreshing is not None:
            await self._refreshing

    async def _refetch(self) -> None:
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen:
                return  # another request fetched while this one waited: share its result
            if self._attempted_at is not None and (
                self.clock() - self._attempted_at < self.min_refetch
            ):
                return
            self._attempted_at = self.clock()
            self._attempts += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                # Keep the keys we have: they stay good until `max_age` after their fetch.
                logger.warning("JWKS fetch from %s failed: %s", self.url, error)
                return
            self._keys = keys
            self._fetched_at = self.clock()

    async def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        response = await self._http.get(self.url, headers={"accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError(f"the JWK Set is over {MAX_JWKS_BYTES} bytes")
        return parse_jwks(json.loads(response.content))

    async def aclose(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        if self._owned:
            await self._http.aclose()


def key_algorithms(key: jwt.PyJWK) -> Iterable[str]:
    """The JWS algorithms a key can verify: a token's `alg` must be one of them, whatever it
    claims, so a public RSA key is never used as an HMAC secret (algorithm confusion)."""
    public = key.key
    if isinstance(public, rsa.RSAPublicKey):
        return ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
    if isinstance(public, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        return (by_curve[public.curve.name],) if public.curve.name in by_curve else ()
    if isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return ("EdDSA",)
    return ()
