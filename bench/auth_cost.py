"""CPU per refused bearer token: the cost an attacker can make the gateway pay per request.

Issue #14 asks that no refused case cost more than a millisecond or two of CPU. This measures
each case through `edge.auth.TokenVerifier` (the gateway's own check, PyJWT underneath) with a
local RSA key, in process CPU time, and prints one row per case:

    .venv/bin/python -m bench.auth_cost            # 500 refusals per case
    .venv/bin/python -m bench.auth_cost --rounds 50

A valid token is measured too, as the yardstick: an RS256 signature check is the most a token
can cost, and every refused case must stay at or below it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge.auth import AuthConfig, TokenRefused, TokenVerifier
from edge.jwks import StaticKeys

__all__ = ["cases", "main", "measure"]

_ISSUER = "https://id.example"
_AUDIENCE = "edgegraph"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def cases(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """A token for each refused case of the issue, and one valid token (`valid`)."""
    now = int(time.time())
    claims = {"iss": _ISSUER, "aud": _AUDIENCE, "sub": "m1", "exp": now + 300}
    valid = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused_header = _segment({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    signing_input = f"{confused_header}.{_segment(claims)}"
    confused_mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    head, _payload, signature = valid.split(".")
    return {
        "valid (yardstick)": valid,
        "alg none": jwt.encode(claims, "", algorithm="none", headers={"kid": "k1"}),
        "HS256 with the public key": f"{signing_input}.{_b64(confused_mac)}",
        "unknown kid": jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k9"}),
        "tampered payload": f"{head}.{_segment({**claims, 'sub': 'm2'})}.{signature}",
        "expired": jwt.encode(
            {**claims, "exp": now - 3600}, key, algorithm="RS256", headers={"kid": "k1"}
        ),
        "not yet valid": jwt.encode(
            {**claims, "nbf": now + 3600}, key, algorithm="RS256", headers={"kid": "k1"}
        ),
        "wrong issuer": jwt.encode(
            {**claims, "iss": "https://evil.example"}, key, "RS256", headers={"kid": "k1"}
        ),
        "wrong audience": jwt.encode(
            {**claims, "aud": "someone-else"}, key, algorithm="RS256", headers={"kid": "k1"}
        ),
        "garbage": "not.a.jwt%%",
        "100 KB token": "e" * 100_000,
    }


async def measure(rounds: int) -> list[tuple[str, bool, float]]:
    """(case, refused, CPU microseconds per check) for every case, `rounds` checks each."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.PyJWK.from_dict(
        {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    )
    # key_file only switches checks on; the verifier is handed the key itself.
    config = AuthConfig(key_file="unused.pem", issuers=(_ISSUER,), audiences=(_AUDIENCE,))
    verifier = TokenVerifier(StaticKeys({"k1": public}), config)
    rows: list[tuple[str, bool, float]] = []
    for name, token in cases(key).items():
        refused = False
        start = time.process_time()
        for _ in range(rounds):
            try:
                await verifier.verify(token)
            except TokenRefused:
                refused = True
        spent = time.process_time() - start
        rows.append((name, refused, spent / rounds * 1e6))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500, help="checks per case")
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args.rounds))
    print(f"{'case':<28} {'outcome':<9} {'CPU µs/check':>12}")
    for name, refused, micros in rows:
        print(f"{name:<28} {'refused' if refused else 'accepted':<9} {micros:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
