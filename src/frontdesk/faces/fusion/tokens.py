"""The chatAuthenticate JWT (fusion-chat.md §3): RS256 with a per-tenant RSA key.

The key is the configured ``signing_key`` or one generated on first use and kept in the store's
key-value table (never a node's data directory, design §10.6), so every node signs and verifies
with the same key. A node that meets a ``kid`` it does not know re-reads the store once, which is
how it learns a key another node generated or rotated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant

log = logging.getLogger("frontdesk.faces.fusion")
ISSUER = "Fusion Apps"
LEEWAY = 5
KV_KEYS = "fusion_signing_keys"
CONSUMER_PATH = "/engagement/api/consumer/"


class TokenInvalid(Exception):
    """Any §3.4 failure; the reason is logged, never returned."""


@dataclass(slots=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey
    public: rsa.RSAPublicKey


def _kid(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "fd-" + hashlib.sha256(der).hexdigest()[:16]


def _load(pem: str) -> SigningKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("the Fusion signing key must be an RSA key of at least 2048 bits")
    public = key.public_key()
    return SigningKey(_kid(public), key, public)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class KeyRing:
    """Per-tenant signing keys: the current one signs, every known one verifies."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._keys: dict[str, list[SigningKey]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._configured: dict[str, tuple[str, SigningKey]] = {}

    async def _stored(self, tenant: Tenant, create: bool) -> list[SigningKey]:
        lock = self._locks.setdefault(tenant.id, asyncio.Lock())
        async with lock:
            raw = await self.engine.kv_get(KV_KEYS, tenant.id)
            pems: list[str] = msgspec.json.decode(raw) if raw else []
            if not pems and create:
                key = await asyncio.to_thread(rsa.generate_private_key, public_exponent=65537, key_size=2048)
                pems = [_pem(key)]
                await self.engine.kv_put(KV_KEYS, tenant.id, msgspec.json.encode(pems).decode())
                log.info("generated the Fusion signing key of tenant %s", tenant.id)
            keys = [_load(p) for p in pems]
            self._keys[tenant.id] = keys
            return keys

    def _configured_key(self, tenant: Tenant) -> SigningKey | None:
        pem = tenant.config.faces.fusion.signing_key
        if not pem:
            return None
        cached = self._configured.get(tenant.id)
        if cached is None or cached[0] != pem:
            cached = (pem, _load(pem))
            self._configured[tenant.id] = cached
        return cached[1]

    async def current(self, tenant: Tenant) -> SigningKey:
        configured = self._configured_key(tenant)
        if configured is not None:
            return configured
        keys = self._keys.get(tenant.id) or await self._stored(tenant, create=True)
        return keys[-1]

    async def verifiers(self, tenant: Tenant, kid: str | None) -> list[SigningKey]:
        found: list[SigningKey] = []
        configured = self._configured_key(tenant)
        if configured is not None:
            found.append(configured)
        keys = self._keys.get(tenant.id)
        if keys is None or (kid is not None and configured is None and all(k.kid != kid for k in keys)):
            keys = await self._stored(tenant, create=False)
        found.extend(keys)
        if kid is None:
            return found
        return [k for k in found if k.kid == kid]


def audience(base: str, site: str) -> str:
    return f"{base}{CONSUMER_PATH}{site}"


async def issue(ring: KeyRing, tenant: Tenant, base: str, site: str, chat: dict[str, Any]) -> str:
    key = await ring.current(tenant)
    now = int(time.time())
    user = chat["authUserName"]
    claims = {
        "exp": now + tenant.config.faces.fusion.token_ttl_seconds,
        "sub": user,
        "aud": audience(base, site),
        "iss": ISSUER,
        "prn": user,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "chat": chat,
    }
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def bearer(header: str | None) -> str | None:
    """The compact JWS of ``Authorization: Bearer <jwt>`` (scheme case-insensitive), else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or token.count(".") != 2 or " " in token:
        return None
    return token


async def verify(ring: KeyRing, tenant: Tenant, site: str, token: str | None) -> dict[str, Any]:
    """The claims of a token valid for ``site`` of ``tenant`` (§3.4), else TokenInvalid."""
    if token is None:
        raise TokenInvalid("no Bearer token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenInvalid(f"malformed header: {exc}") from None
    if header.get("alg") != "RS256":
        raise TokenInvalid("algorithm is not RS256")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenInvalid("bad kid")
    keys = await ring.verifiers(tenant, kid)
    if not keys:
        raise TokenInvalid("unknown kid")
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key.public,
                algorithms=["RS256"],
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "sub", "jti"], "verify_aud": False},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise TokenInvalid(str(exc)) from None
    if claims is None:
        raise TokenInvalid("signature")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > time.time() + LEEWAY:
        raise TokenInvalid("issued in the future")
    aud = claims.get("aud")
    if not isinstance(aud, str) or not urlsplit(aud).path.endswith(CONSUMER_PATH + site):
        raise TokenInvalid("audience is not this site")
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or not isinstance(claims.get("jti"), str):
        raise TokenInvalid("sub or jti")
    if not isinstance(claims.get("chat"), dict):
        claims["chat"] = {"authUserName": claims["sub"], "clientType": "CONSUMER"}
    return claims
