"""WS-Security UsernameToken (OASIS UsernameToken Profile 1.0): PasswordText and PasswordDigest.

Every credential problem yields the same ``AUTH_FAILED`` so a client cannot tell which part was
wrong; secrets are compared in constant time, and the nonce memory lives behind ``KeyValue`` (the
engine's key-value table) so a replay is caught on whichever node it arrives (ARCHITECTURE.md 10.6).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from frontdesk.soap.envelope import Element, Envelope, child, local_name, text_of
from frontdesk.soap.faults import SoapFault
from frontdesk.soap.policy import SoapPolicy

_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = _PROFILE + "#PasswordText"
PASSWORD_DIGEST = _PROFILE + "#PasswordDigest"
_CREATED = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$")
_DUMMY = "\x00" * 32


class KeyValue(Protocol):
    """The slice of the engine facade the SOAP layer needs for state shared by all nodes."""

    async def kv_get(self, namespace: str, key: str) -> str | None: ...

    async def kv_put(self, namespace: str, key: str, value: str, expires_at: float | None = None) -> None: ...

    async def kv_delete(self, namespace: str, key: str) -> None: ...

    async def kv_put_if_absent(self, namespace: str, key: str, ttl: float, value: str = "1") -> bool: ...


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str | None  # clear secret (needed for digests)
    verify_hash: Callable[[str], bool] | None = None  # for credentials stored only as a hash


@dataclass(frozen=True, slots=True)
class UsernameToken:
    username: str
    password: str
    password_type: str  # "text" | "digest" | "other"
    nonce: str | None
    created: str | None


def find_security(env: Envelope) -> Element | None:
    """The first Security block without an actor, else the first one."""
    blocks = [h for h in env.headers if local_name(h) == "Security"]
    for b in blocks:
        if not any(local_name_attr(a) == "actor" for a in b.attrib):
            return b
    return blocks[0] if blocks else None


def local_name_attr(name: str) -> str:
    return name.rpartition("}")[2]


def read_username_token(env: Envelope) -> UsernameToken:
    security = find_security(env)
    if security is None:
        raise SoapFault("SECURITY_MISSING")
    token = child(security, "UsernameToken")
    user_el = child(token, "Username")
    pass_el = child(token, "Password")
    if token is None or user_el is None or pass_el is None:
        raise SoapFault("SECURITY_INCOMPLETE")
    ptype = (pass_el.get("Type") or PASSWORD_TEXT).strip()
    kind = "text" if ptype == PASSWORD_TEXT else "digest" if ptype == PASSWORD_DIGEST else "other"
    nonce = text_of(child(token, "Nonce"))
    created = text_of(child(token, "Created"))
    return UsernameToken(
        username=(text_of(user_el) or "").strip(),
        password=text_of(pass_el) or "",
        password_type=kind,
        nonce=nonce.strip() if nonce is not None else None,
        created=created.strip() if created is not None else None,
    )


def _child_ci(el: Element | None, name: str) -> Element | None:
    """First child whose local name equals ``name`` case-insensitively (``UserName``, ``PassWord``)."""
    if el is None:
        return None
    wanted = name.lower()
    for c in el:
        if isinstance(c.tag, str) and local_name(c).lower() == wanted:
            return c
    return None


def read_username_token_strict(env: Envelope) -> UsernameToken:
    """The token with one fault id per missing part, in the order S1-S4 of crmod-cti.md §2.3:
    ``SECURITY_MISSING``, ``TOKEN_MISSING``, ``USERNAME_MISSING``, ``PASSWORD_MISSING`` (a value
    that is empty after trimming counts as missing). Names of Username/Password match
    case-insensitively; the password is trimmed."""
    security = find_security(env)
    if security is None:
        raise SoapFault("SECURITY_MISSING")
    token = child(security, "UsernameToken")
    if token is None:
        raise SoapFault("TOKEN_MISSING")
    username = (text_of(_child_ci(token, "Username")) or "").strip()
    if not username:
        raise SoapFault("USERNAME_MISSING")
    pass_el = _child_ci(token, "Password")
    password = (text_of(pass_el) or "").strip()
    if pass_el is None or not password:
        raise SoapFault("PASSWORD_MISSING")
    ptype = (pass_el.get("Type") or PASSWORD_TEXT).strip()
    kind = "digest" if ptype.endswith("#PasswordDigest") else "text" if ptype == PASSWORD_TEXT else "other"
    if ptype.endswith("#PasswordText"):
        kind = "text"
    return UsernameToken(username=username, password=password, password_type=kind, nonce=None, created=None)


def _created_at(value: str) -> float | None:
    m = _CREATED.match(value)
    if m is None:
        return None
    zone = m.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else zone[:3] + ":" + zone[3:]
    frac = (m.group(2) or "")[:7]
    try:
        return datetime.fromisoformat(m.group(1) + frac + zone).astimezone(UTC).timestamp()
    except ValueError:
        return None


async def verify_token(
    token: UsernameToken,
    credential: Credential | None,
    policy: SoapPolicy,
    *,
    nonces: KeyValue,
    nonce_namespace: str,
    created_window: float,
    nonce_window: float,
    now: float,
) -> bool:
    """True when the token authenticates; every failure is the same False."""
    if token.password_type not in policy.password_types:
        return False
    if token.password_type == "text":
        if credential is None:
            hmac.compare_digest(token.password.encode(), _DUMMY.encode())
            return False
        if credential.password is not None:
            return hmac.compare_digest(token.password.encode(), credential.password.encode())
        return credential.verify_hash is not None and credential.verify_hash(token.password)
    if token.nonce is None or token.created is None:
        return False
    try:
        nonce = base64.b64decode(token.nonce, validate=True)
        presented = base64.b64decode(token.password.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    secret = credential.password if credential is not None and credential.password is not None else _DUMMY
    expected = hashlib.sha1(nonce + token.created.encode() + secret.encode()).digest()
    ok = (
        hmac.compare_digest(presented, expected)
        and credential is not None
        and credential.password is not None
    )
    created = _created_at(token.created)
    if not ok or created is None or abs(now - created) > created_window:
        return False
    key = hashlib.sha256(token.username.encode() + b"\x00" + nonce).hexdigest()
    return await nonces.kv_put_if_absent(nonce_namespace, key, nonce_window)
