"""Native face: sign-in, tokens, roles and the problem documents of every error (native.md §1, §2)."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from native_client import TENANT, Agent, close_all, login


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "instance"}


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers.get("cache-control") == "no-store"
    body = dict(r.json())
    assert PROBLEM_KEYS <= set(body), body
    assert body["code"] == code
    assert body["type"] == "urn:frontdesk:problem:" + code
    assert body["status"] == status
    assert "?" not in body["instance"]
    if code != "invalid_request":
        assert "errors" not in body
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_login_answers_token_and_user(server: Any) -> None:
    data = login(server.base_url, "alice")
    header = jwt.get_unverified_header(data["token"])
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert header["alg"] == "HS256" and header["kid"].startswith(TENANT + ":")
    assert claims["tid"] == TENANT and claims["sub"] == "alice" and claims["aud"] == "frontdesk-native"
    assert data["expires_at"].endswith("Z")
    user = data["user"]
    assert user["login"] == "alice" and user["tenant"] == TENANT and user["roles"] == ["agent"]
    assert user["skills"] == ["support"] and user["max_chats"] == 3
    assert user["profile"]["display_name"] == "Alice Martin"
    assert user["profile"]["has_photo"] is False and user["profile"]["photo_url"] is None
    # The tenant may be omitted on a one-tenant server, or given as one of its domains.
    assert login(server.base_url, "bob", tenant=None)["user"]["login"] == "bob"
    sam = login(server.base_url, "sam")["user"]
    assert sam["roles"] == ["supervisor", "admin"] and sam["skills"] == [] and sam["max_chats"] == 0


def test_bad_credentials_are_one_identical_answer(server: Any) -> None:
    url = server.base_url + "/api/v1/auth/login"
    bodies = [
        {"tenant": TENANT, "login": "alice", "password": "wrong"},
        {"tenant": TENANT, "login": "nobody", "password": "demo"},
        {"tenant": "no-such-tenant.example", "login": "alice", "password": "demo"},
    ]
    answers = []
    for body in bodies:
        r = httpx.post(url, json=body, headers={"X-Forwarded-For": str(uuid.uuid4())})
        problem = assert_problem(r, 401, "invalid_credentials")
        problem.pop("instance")
        answers.append(problem)
    assert answers[0] == answers[1] == answers[2]


def test_login_body_is_validated(server: Any) -> None:
    url = server.base_url + "/api/v1/auth/login"
    r = httpx.post(url, json={"login": "alice", "password": "demo", "pasword": "x"})
    body = assert_problem(r, 400, "invalid_request")
    assert body["errors"][0]["path"] == "/pasword"
    r = httpx.post(url, json={"login": "alice"})
    assert assert_problem(r, 400, "invalid_request")["errors"][0]["path"] == "/password"
    r = httpx.post(url, json={"login": 5, "password": "demo"})
    assert assert_problem(r, 400, "invalid_request")["errors"][0]["path"] == "/login"
    r = httpx.post(url, content=b"{nope", headers={"content-type": "application/json"})
    assert_problem(r, 400, "invalid_request")
    r = httpx.post(url, content=b"login=alice", headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415, "unsupported_media_type")
    r = httpx.post(url, content=b"x" * (1024 * 1024 + 10), headers={"content-type": "application/json"})
    assert_problem(r, 413, "payload_too_large")


def test_tokens_tampered_missing_expired_revoked(server: Any) -> None:
    base = server.base_url
    alice = Agent(base, "alice")
    assert alice.get("/api/v1/me")["user"]["login"] == "alice"
    assert_problem(httpx.get(base + "/api/v1/me"), 401, "unauthenticated")
    assert_problem(
        httpx.get(base + "/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthenticated"
    )
    head, payload, sig = alice.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["agent", "supervisor"]
    forged = f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"
    r = httpx.get(base + "/api/v1/supervisor/queues", headers={"Authorization": "Bearer " + forged})
    assert_problem(r, 401, "unauthenticated")
    bad_sig = f"{head}.{payload}.{sig[:-4]}AAAA"
    assert_problem(
        httpx.get(base + "/api/v1/me", headers={"Authorization": "Bearer " + bad_sig}), 401, "unauthenticated"
    )
    # An expired token signed with the tenant's real key (read from the server's store).
    db = sqlite3.connect(server.data_dir / "frontdesk.db")
    raw = db.execute("select value from kv where namespace='token_keys' and key=?", (TENANT,)).fetchone()[0]
    db.close()
    num, key = json.loads(raw)[-1]
    real = jwt.decode(alice.token, options={"verify_signature": False})
    expired = dict(real, iat=int(time.time()) - 100, exp=int(time.time()) - 30)
    token = jwt.encode(expired, bytes.fromhex(key), algorithm="HS256", headers={"kid": f"{TENANT}:{num}"})
    assert_problem(
        httpx.get(base + "/api/v1/me", headers={"Authorization": "Bearer " + token}), 401, "unauthenticated"
    )
    fresh = jwt.encode(
        dict(real, exp=int(time.time()) + 60),
        bytes.fromhex(key),
        algorithm="HS256",
        headers={"kid": f"{TENANT}:{num}"},
    )
    assert httpx.get(base + "/api/v1/me", headers={"Authorization": "Bearer " + fresh}).status_code == 200
    # Refresh gives a working token; logout revokes every token of the user.
    refreshed = alice.post("/api/v1/auth/refresh")
    assert refreshed["user"]["login"] == "alice" and refreshed["token"]
    alice.post("/api/v1/auth/logout", expect=204)
    assert_problem(alice.call("GET", "/api/v1/me"), 401, "unauthenticated")
    r = httpx.get(base + "/api/v1/me", headers={"Authorization": "Bearer " + refreshed["token"]})
    assert_problem(r, 401, "unauthenticated")
    assert Agent(base, "alice").get("/api/v1/agent/state")["state"] == "logged_out"


def test_roles(server: Any) -> None:
    base = server.base_url
    sam = Agent(base, "sam")
    alice = Agent(base, "alice")
    assert_problem(sam.call("PUT", "/api/v1/agent/state", {"state": "ready"}), 403, "not_authorized")
    assert_problem(sam.call("GET", "/api/v1/agent/offers"), 403, "not_authorized")
    assert_problem(alice.call("GET", "/api/v1/supervisor/queues"), 403, "not_authorized")
    assert_problem(alice.call("GET", "/api/v1/supervisor/agents"), 403, "not_authorized")
    assert_problem(
        alice.call("PUT", "/api/v1/supervisor/agents/bob/state", {"state": "logged_out"}),
        403,
        "not_authorized",
    )
    me = sam.get("/api/v1/me")
    assert me["agent_state"] is None and me["tenant"]["id"] == TENANT
    assert [c["code"] for c in me["tenant"]["dispositions"]][:1] == ["resolved"]
    me = alice.get("/api/v1/me")
    assert me["agent_state"]["login"] == "alice" and me["tenant"]["message_max_chars"] == 10000
    # A chat id nobody can see, and an offer id that is not the caller's.
    unknown = str(uuid.uuid4())
    assert_problem(alice.call("GET", f"/api/v1/chats/{unknown}"), 404, "chat_not_found")
    assert_problem(sam.call("GET", f"/api/v1/chats/{unknown}/events"), 404, "chat_not_found")
    assert_problem(alice.call("POST", f"/api/v1/agent/offers/{unknown}/accept"), 404, "offer_not_found")
    assert_problem(alice.call("GET", "/api/v1/users/nobody/photo"), 404, "user_not_found")
    assert_problem(alice.call("GET", "/api/v1/users/bob/photo"), 404, "file_not_found")


def test_state_changes_and_protocol_errors(server: Any) -> None:
    base = server.base_url
    bob = Agent(base, "bob")
    state = bob.set_state("not_ready", "break")
    assert state["state"] == "not_ready" and state["reason"] == "break" and state["present"] is True
    since = state["since"]
    assert bob.set_state("not_ready", "break")["since"] == since
    for body, path in [
        ({"state": "sleeping"}, "/state"),
        ({"state": "not_ready"}, "/reason"),
        ({"state": "not_ready", "reason": "rona"}, "/reason"),
    ]:
        r = bob.call("PUT", "/api/v1/agent/state", body)
        assert assert_problem(r, 400, "invalid_request")["errors"][0]["path"] == path
    r = bob.call("DELETE", "/api/v1/agent/state")
    assert_problem(r, 405, "method_not_allowed")
    assert "PUT" in r.headers["allow"] and "GET" in r.headers["allow"]
    r = bob.call("GET", "/api/v1/agent/history?limit=0")
    assert assert_problem(r, 400, "invalid_request")["errors"][0]["path"] == "limit"
    assert bob.set_state("logged_out")["state"] == "logged_out"
    sam = Agent(base, "sam")
    r = sam.call("PUT", "/api/v1/supervisor/agents/bob/state", {"state": "ready"})
    assert_problem(r, 400, "invalid_request")
    r = sam.call("PUT", "/api/v1/supervisor/agents/nobody/state", {"state": "logged_out"})
    assert_problem(r, 404, "user_not_found")
    bob.ready()
    state = sam.call("PUT", "/api/v1/supervisor/agents/bob/state", {"state": "not_ready"}, expect=200).json()
    assert state["state"] == "not_ready" and state["reason"] == "supervisor"
    bob.set_state("logged_out")


def test_info_directory_canned(server: Any) -> None:
    base = server.base_url
    r = httpx.get(base + "/api/v1/info")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json()["name"] == "Frontdesk" and r.json()["api"] == "v1"
    alice = Agent(base, "alice")
    d = alice.get("/api/v1/agent/directory")
    assert [q["name"] for q in d["queues"]] == ["support", "sales", "billing", "overflow"]
    assert all(q["open"] for q in d["queues"])
    assert "alice" not in [a["login"] for a in d["agents"]] and "bob" in [a["login"] for a in d["agents"]]
    ids = [c["id"] for c in alice.get("/api/v1/canned-responses")["items"]]
    assert "welcome" in ids and "upgrade_quote" not in ids
    assert "upgrade_quote" in [c["id"] for c in alice.get("/api/v1/canned-responses?queue=sales")["items"]]
    assert alice.get("/api/v1/agent/chats")["items"] == []
    page = alice.get("/api/v1/agent/history?limit=5")
    assert page["limit"] == 5 and page["offset"] == 0


@pytest.mark.parametrize("path", ["/api/v1/agent/chats", "/api/v1/supervisor/chats"])
def test_unauthenticated_everywhere(server: Any, path: str) -> None:
    assert_problem(httpx.get(server.base_url + path), 401, "unauthenticated")
