"""Who is calling: the `[auth]` section, bearer tokens checked at the gateway, and what the
gateway tells subgraphs about the caller.

A request's `authorization: Bearer <jwt>` is verified with PyJWT against keys from a JWKS URL
or a local key file (`edge.jwks`): the algorithm must be on the allowlist and fit the key, the
signature must hold, and `exp` (required), `nbf`, `iss` and `aud` are checked with `leeway`.
A token that fails any check is refused with one `UNAUTHENTICATED` error and HTTP 401 whether
or not `required` is set: a client that presents a bad token is told so, it is never served
as anonymous. Without a token, a `required` gateway answers 401, an optional one serves the
request anonymously. Refusals are logged with their reason only, never with the token.

Subgraphs learn the caller from the gateway's signed passport (`edge.passport`) and from
nothing a client sends: `subgraph_headers` drops any client copy of the passport header and
any `x-member-id`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.http import RequestError
from edge.jwks import JwksKeys, KeySource, StaticKeys, key_algorithms
from edge.passport import PASSPORT_HEADER, Identity, PassportSigner, load_passport_key

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "IDENTITY_HEADERS",
    "AuthConfig",
    "AuthSetupError",
    "Authenticator",
    "TokenRefused",
    "TokenVerifier",
]

logger = logging.getLogger("edgegraph.auth")

#: JWS algorithms a gateway may accept: public-key signatures only. `none` and the HMAC family
#: are refused in the config itself, since with them a token's signer would be whoever knows
#: a secret the gateway holds (or anyone at all).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

#: Headers that would claim an identity: only the gateway's own passport may reach a subgraph.
IDENTITY_HEADERS = frozenset({PASSPORT_HEADER, "x-member-id"})


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The `[auth]` section. Token checks are on when `jwks_url` or `key_file` is set."""

    #: where the identity provider publishes its keys (JWKS, RFC 7517)
    jwks_url: str | None = None
    #: or a local PEM public key, JWK or JWK Set (relative to the config file)
    key_file: str | None = None
    #: accepted `iss` values; at least one when checks are on
    issuers: tuple[str, ...] = ()
    #: accepted `aud` values; at least one when checks are on
    audiences: tuple[str, ...] = ()
    #: accepted JWS algorithms, public-key ones only
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    #: seconds of clock skew allowed on `exp`, `nbf` and `iat`
    leeway: float = 30.0
    #: true: a request without a token gets 401; false: it is served anonymously
    required: bool = False
    #: a longer `authorization` header is refused before any parsing
    max_token_bytes: int = 8192
    #: seconds before the JWKS is refetched
    jwks_refresh: float = 300.0
    #: seconds fetched keys stay usable while the JWKS URL cannot be reached
    jwks_max_age: float = 3600.0
    #: fewest seconds between two JWKS fetches (an unknown kid refetches)
    jwks_min_refetch: float = 10.0
    #: the claim naming the caller
    subject_claim: str = "sub"
    #: Ed25519 private key (PEM) the gateway signs passports with; without one a key is made
    #: at start, and subgraphs must be handed its public key
    passport_key_file: str | None = None
    #: "package.module:function" deciding `@policy` names (edge/access.py); none: no policy
    #: is granted
    policy_hook: str | None = None

    def __post_init__(self) -> None:
        refused = sorted(set(self.algorithms) - ASYMMETRIC_ALGORITHMS)
        if refused:
            raise ValueError(
                f"algorithms: {', '.join(refused)} not accepted; only public-key algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        if not self.algorithms:
            raise ValueError("algorithms: at least one")
        if self.jwks_url is not None and self.key_file is not None:
            raise ValueError("set jwks_url or key_file, not both")
        if self.enabled and not (self.issuers and self.audiences):
            raise ValueError("issuers and audiences: at least one each when tokens are checked")
        if self.policy_hook is not None and ":" not in self.policy_hook:
            raise ValueError("policy_hook must be 'package.module:function'")
        if self.required and not self.enabled:
            raise ValueError("required = true needs jwks_url or key_file")
        for name in ("leeway", "max_token_bytes", "jwks_refresh", "jwks_max_age"):
            if getattr(self, name) < 0 or (name != "leeway" and getattr(self, name) == 0):
                raise ValueError(f"{name} must be positive")
        if self.jwks_min_refetch < 0:
            raise ValueError("jwks_min_refetch must not be negative")

    @property
    def enabled(self) -> bool:
        """Whether tokens are checked at all."""
        return self.jwks_url is not None or self.key_file is not None

    def resolved(self, base_dir: Path) -> AuthConfig:
        """This section with its file paths taken relative to `base_dir` (a `Path`)."""
        return dataclasses.replace(
            self,
            key_file=_resolve(base_dir, self.key_file),
            passport_key_file=_resolve(base_dir, self.passport_key_file),
        )


def _resolve(base_dir: Path, path: str | None) -> str | None:
    if path is None or Path(path).is_absolute():
        return path
    return str((base_dir / path).resolve())


class AuthSetupError(ValueError):
    """A key file, passport key or policy hook the gateway cannot use: it does not start."""


class TokenRefused(Exception):
    """A token that grants nothing; `reason` is safe to log and to show (no token text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuerError, "the token's issuer is not accepted"),
    (jwt.InvalidAudienceError, "the token's audience is not accepted"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
)


class TokenVerifier:
    """Checks one bearer token against `keys` under `config`."""

    def __init__(self, keys: KeySource, config: AuthConfig) -> None:
        self.keys = keys
        self.config = config
        self._issuers = tuple(config.issuers)
        self._audiences = list(config.audiences)
        self._required = ["exp", "iss", "aud", config.subject_claim]

    async def verify(self, token: str) -> Identity:
        """The identity `token` proves; raises TokenRefused."""
        config = self.config
        # Before any decoding: an oversized header costs no base64 or JSON work.
        if len(token) > config.max_token_bytes:
            raise TokenRefused("the token is too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise TokenRefused("the token's algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("the token is malformed")
        key = await self.keys.key(kid)
        if key is None:
            raise TokenRefused("the token's signing key is unknown")
        if alg not in key_algorithms(key):
            raise TokenRefused("the token's algorithm does not fit its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=self._issuers,
                audience=self._audiences,
                leeway=config.leeway,
                options={"require": self._required},
            )
        except jwt.PyJWTError as error:
            reason = next((r for kind, r in _REASONS if isinstance(error, kind)), None)
            raise TokenRefused(reason or "the token is invalid") from None
        subject = claims.get(config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise TokenRefused("the token's subject is not a string")
        return Identity(subject=subject, scopes=_scopes(claims), claims=MappingProxyType(claims))


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    # `scope` is a space-separated string (RFC 8693); some providers send a list, or `scp`.
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list):
            return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _unauthenticated(message: str) -> RequestError:
    return RequestError(
        401,
        message,
        "UNAUTHENTICATED",
        headers={"www-authenticate": 'Bearer error="invalid_token"'},
    )


class Authenticator:
    """The edge's use of a `TokenVerifier`: read the header, refuse or identify, and build the
    headers subgraphs get (the passport, and no client-set identity)."""

    def __init__(
        self,
        verifier: TokenVerifier | None = None,
        *,
        required: bool = False,
        passport: PassportSigner | None = None,
    ) -> None:
        self.verifier = verifier
        self.required = required
        self.passport = passport

    @classmethod
    def from_config(
        cls,
        config: AuthConfig,
        *,
        http: httpx.AsyncClient | None = None,
        passport_key: Ed25519PrivateKey | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Authenticator:
        """The authenticator `config` describes. `http` fetches the JWKS (default: its own
        client); `passport_key` overrides `passport_key_file`."""
        if not config.enabled:
            return cls()
        keys: KeySource
        if config.jwks_url is not None:
            keys = JwksKeys(
                config.jwks_url,
                http=http,
                refresh=config.jwks_refresh,
                max_age=config.jwks_max_age,
                min_refetch=config.jwks_min_refetch,
                clock=clock,
            )
        else:
            try:
                keys = StaticKeys.from_file(str(config.key_file))
            except (OSError, ValueError) as error:
                raise AuthSetupError(f"auth.key_file: {error}") from error
        if passport_key is None and config.passport_key_file is not None:
            try:
                passport_key = load_passport_key(config.passport_key_file)
            except (OSError, ValueError) as error:
                raise AuthSetupError(f"auth.passport_key_file: {error}") from error
        if passport_key is None:
            logger.warning("auth: no passport_key_file; signing passports with a key made at start")
            passport_key = Ed25519PrivateKey.generate()
        return cls(
            TokenVerifier(keys, config),
            required=config.required,
            passport=PassportSigner(passport_key),
        )

    async def authenticate(
        self, headers: Mapping[str, str], *, client: str | None = None
    ) -> Identity | None:
        """The caller's identity, None for an anonymous caller; raises a 401 RequestError.

        `client` is the device client `edge.clients` verified; the passport carries it."""
        raw = headers.get("authorization")
        if raw is None or self.verifier is None:
            if self.required:
                raise _unauthenticated("Authentication is required: send a bearer token")
            return None
        scheme, _, token = raw.strip().partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise TokenRefused("the authorization header is not a bearer token")
            identity = await self.verifier.verify(token.strip())
        except TokenRefused as refused:
            logger.info("token refused: %s", refused.reason)
            raise _unauthenticated(f"Invalid token: {refused.reason}") from None
        return dataclasses.replace(identity, client=client) if client is not None else identity

    def subgraph_headers(
        self, headers: Mapping[str, str], identity: Identity | None
    ) -> dict[str, str]:
        """`headers` without any client-set identity, with the gateway's passport when the
        caller is known."""
        out = {name: value for name, value in headers.items() if name not in IDENTITY_HEADERS}
        if identity is not None and self.passport is not None:
            out[PASSPORT_HEADER] = self.passport.sign(identity)
        return out

    async def aclose(self) -> None:
        """Close the JWKS client, if this authenticator opened one."""
        if self.verifier is not None:
            await self.verifier.keys.aclose()
