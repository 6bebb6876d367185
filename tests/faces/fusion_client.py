"""Test helpers for the Oracle Fusion chat face (spec/fusion-chat.md): a chatAuthenticate caller, a
consumer-API client, token forging with a known signing key, and a second-tenant config mutator."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CA = "/crmRestApi/resources/11.13.18.05/chatAuthenticate"
API = "/engagement/api/consumer/example/v1"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fusion"
# The seed's request body as its cURL command sends it (-d strips the file's line breaks).
SEED_BODY = (FIXTURES / "example_request_payload.json").read_bytes().replace(b"\n", b"").replace(b"\r", b"")
SEED_JWT = (FIXTURES / "seed_jwt.txt").read_text().strip()
_OPEN: list[httpx.Client] = []


def close_all() -> None:
    while _OPEN:
        _OPEN.pop().close()


def client(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60)
    _OPEN.append(c)
    return c


def authenticate(
    http: httpx.Client, body: Any = None, user: str = "demo", password: str = "demo"
) -> httpx.Response:
    payload = body if body is not None else {"authUserName": f"user-{uuid.uuid4().hex[:8]}@example.com"}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return http.post(CA, content=content, auth=(user, password), headers={"Content-Type": "application/json"})


def token(http: httpx.Client, **attrs: Any) -> str:
    body = {"authUserName": f"user-{uuid.uuid4().hex[:8]}@example.com", **attrs}
    r = authenticate(http, body)
    assert r.status_code == 201, r.text
    return str(r.json()["jwt"])


def b64json(part: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def decode(token_: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _ = token_.split(".")
    return b64json(head), b64json(payload)


def assert_error(r: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json; charset=utf-8", r.headers
    body = r.json()
    assert set(body) == {"exceptionCode", "exceptionMessage"}, body
    assert body["exceptionCode"] == code, body
    if message is not None:
        assert body["exceptionMessage"] == message, body


def assert_adf(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/vnd.oracle.adf.error+json", r.headers
    body = r.json()
    assert body["status"] == str(status) and body["title"], body
    assert body["o:errorDetails"][0]["o:errorCode"] == code, body


class Consumer:
    """One end user on the consumer engagement API."""

    def __init__(self, http: httpx.Client, jwt_: str, api: str = API) -> None:
        self.http = http
        self.jwt = jwt_
        self.api = api
        self.sid = ""
        self.engagement: dict[str, Any] = {}

    def engage(self, expect: int = 200) -> dict[str, Any]:
        r = self.http.post(
            f"{self.api}/requestEngagement?pool=1:1", json={}, headers={"Authorization": "Bearer " + self.jwt}
        )
        assert r.status_code == expect, r.text
        if expect == 200:
            self.engagement = r.json()
            self.sid = self.engagement["sessionId"]
        return dict(r.json())

    def op(self, name: str, body: Any = None, sid: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"SessionId": self.sid if sid is None else sid, **kw.pop("headers", {})}
        return self.http.post(
            f"{self.api}/{name}?pool=1:1", json=body if body is not None else {}, headers=headers, **kw
        )

    def ok(self, name: str, body: Any = None) -> dict[str, Any]:
        r = self.op(name, body)
        assert r.status_code == 200, (name, r.status_code, r.text)
        return dict(r.json())

    def messages(self) -> list[dict[str, Any]]:
        body = self.ok("getMessages")
        assert body["errorMessages"] == []
        return list(body["systemMessages"])

    def collect_until(self, name: str, timeout: float = 15.0) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.messages()
            seen.extend(batch)
            if any(m["messageName"] == name for m in batch):
                return seen
        raise AssertionError(f"no {name} within {timeout}s; saw {seen}")


def new_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def kid_of(pem: str) -> str:
    import hashlib

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "fd-" + hashlib.sha256(der).hexdigest()[:16]


def forge(pem: str, base: str, site: str = "example", **overrides: Any) -> str:
    """A token signed with ``pem`` (the server's configured key in these tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "exp": now + 120,
        "sub": "forged@example.com",
        "aud": f"{base}/engagement/api/consumer/{site}",
        "iss": "Fusion Apps",
        "prn": "forged@example.com",
        "iat": now,
        "jti": str(uuid.uuid4()),
        "chat": {"authUserName": "forged@example.com", "clientType": "CONSUMER"},
    }
    claims.update(overrides)
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid_of(pem)})


def second_tenant(cfg: dict[str, Any]) -> None:
    """Add a tenant with its own Fusion site ``second`` (pool 2:2, Basic second:secret)."""
    cfg["tenants"].append(
        {
            "id": "second.example",
            "domains": ["second.example"],
            "queues": [{"name": "support", "number": 1, "display_name": "Support", "skills": ["support"]}],
            "users": [],
            "entry_points": [{"face": "fusion", "id": "second", "name": "Second site", "queue": "support"}],
            "faces": {
                "fusion": {
                    "pool_id": "2:2",
                    "credentials": [{"username": "second", "password": "secret"}],
                    "auth_lockout": False,
                }
            },
        }
    )
