"""Test clients for the native face: REST agents, WebSocket agents and ServicePattern customers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

Json = dict[str, Any]
SP_AUTH = 'MOBILE-API-140-327-PLAIN appId="test", clientId="{client_id}"'
TENANT = "example.com"
# tests/conftest.py leaves each server's log file handle to the garbage collector; ignore that warning.
_OPEN: list[Any] = []


def close_all() -> None:
    """Close every client the current test opened (ResourceWarnings are errors in this suite)."""
    while _OPEN:
        try:
            _OPEN.pop().close()
        except Exception:
            pass


def login(base: str, user: str, password: str = "demo", tenant: str | None = TENANT) -> Json:
    body: Json = {"login": user, "password": password}
    if tenant is not None:
        body["tenant"] = tenant
    r = httpx.post(base + "/api/v1/auth/login", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


class Agent:
    """A native REST client signed in as one user."""

    def __init__(self, base: str, user: str, password: str = "demo", tenant: str | None = TENANT) -> None:
        self.base = base
        self.login = user
        self.tenant = tenant
        self.auth = login(base, user, password, tenant)
        self.token: str = self.auth["token"]
        self.http = httpx.Client(base_url=base, headers={"Authorization": "Bearer " + self.token}, timeout=20)
        _OPEN.append(self)

    def call(
        self, method: str, path: str, body: Any = None, expect: int | None = None, **kw: Any
    ) -> httpx.Response:
        r = self.http.request(method, path, json=body, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def get(self, path: str, expect: int | None = 200, **kw: Any) -> Any:
        r = self.call("GET", path, expect=expect, **kw)
        return r.json() if r.content and "json" in r.headers.get("content-type", "") else r

    def post(self, path: str, body: Any = None, expect: int | None = 200) -> Any:
        r = self.call("POST", path, body, expect=expect)
        return r.json() if r.content else None

    def ready(self) -> Json:
        return dict(self.call("PUT", "/api/v1/agent/state", {"state": "ready"}, expect=200).json())

    def set_state(self, state: str, reason: str | None = None) -> Json:
        return dict(
            self.call("PUT", "/api/v1/agent/state", {"state": state, "reason": reason}, expect=200).json()
        )

    def offers(self) -> list[Json]:
        return list(self.get("/api/v1/agent/offers")["items"])

    def wait_offer(self, chat_id: str | None = None, timeout: float = 5.0) -> Json:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for offer in self.offers():
                if chat_id is None or offer["chat_id"] == chat_id:
                    return offer
            time.sleep(0.05)
        raise AssertionError(f"{self.login}: no offer for {chat_id}")

    def accept(self, offer_id: str) -> Json:
        return dict(self.post(f"/api/v1/agent/offers/{offer_id}/accept"))

    def say(self, chat_id: str, text: str, client_msg_id: str | None = None, expect: int = 201) -> Json:
        body = {"client_msg_id": client_msg_id or uuid.uuid4().hex, "text": text}
        return dict(self.post(f"/api/v1/chats/{chat_id}/messages", body, expect=expect))

    def events(self, chat_id: str, since: int = 0) -> list[Json]:
        return list(self.get(f"/api/v1/chats/{chat_id}/events?since={since}&limit=500")["events"])

    def ws(self, cursors: dict[str, int] | None = None, query_token: bool = False) -> AgentSocket:
        return AgentSocket(self.base, self.token, cursors, query_token)

    def close(self) -> None:
        self.http.close()


class AgentSocket:
    """A synchronous agent WebSocket client that keeps every frame it received."""

    def __init__(
        self,
        base: str,
        token: str,
        cursors: dict[str, int] | None = None,
        query_token: bool = False,
        path: str = "/api/v1/ws",
    ) -> None:
        url = base.replace("http://", "ws://") + path
        if query_token:
            url += "?token=" + token
        self.conn: ClientConnection = connect(url, open_timeout=10, max_size=None, legacy=True)
        _OPEN.append(self)
        self.frames: list[Json] = []
        self._pos = 0
        if not query_token:
            first: Json = {"type": "auth", "token": token}
            if cursors is not None:
                first["cursors"] = cursors
            self.send(first)

    def send(self, frame: Json) -> None:
        self.conn.send(json.dumps(frame))

    def recv(self, timeout: float = 5.0) -> Json:
        frame = dict(json.loads(self.conn.recv(timeout=timeout)))
        self.frames.append(frame)
        return frame

    def expect(self, pred: Callable[[Json], bool] | str, timeout: float = 5.0) -> Json:
        """The next frame (after those already matched) satisfying ``pred`` (or of that type)."""
        test = (lambda f: f.get("type") == pred) if isinstance(pred, str) else pred
        deadline = time.monotonic() + timeout
        while True:
            while self._pos < len(self.frames):
                frame = self.frames[self._pos]
                self._pos += 1
                if test(frame):
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame; got {[f.get('type') for f in self.frames]}")
            try:
                self.recv(left)
            except TimeoutError:
                continue

    def drain(self, seconds: float = 0.3) -> list[Json]:
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.recv(left))
            except TimeoutError:
                break
        return out

    def chat_events(self, chat_id: str) -> list[Json]:
        return [f for f in self.frames if f.get("type") == "chat_event" and f["chat_id"] == chat_id]

    def close(self) -> None:
        self.conn.close()


class Customer:
    """A ServicePattern Mobile/Web customer (appId ``test``)."""

    def __init__(self, base: str) -> None:
        self.client_id = str(uuid.uuid4())
        headers = {"Authorization": SP_AUTH.format(client_id=self.client_id)}
        self.http = httpx.Client(base_url=base, headers=headers, timeout=20)
        _OPEN.append(self)
        self.chat_id = ""
        self._n = 0

    def _url(self, path: str) -> str:
        return f"/clientweb/api/v1{path}?tenantUrl={TENANT}"

    def start(self, body: Json | None = None) -> str:
        r = self.http.post(self._url("/chats"), json=body or {})
        assert r.status_code == 200, r.text
        self.chat_id = r.json()["chat_id"]
        return self.chat_id

    def say(self, text: str) -> None:
        self._n += 1
        event = {"event": "chat_session_message", "msg_id": str(self._n), "msg": text}
        r = self.http.post(self._url(f"/chats/{self.chat_id}/events"), json={"events": [event]})
        assert r.status_code in (200, 204), r.text

    def close(self) -> None:
        self.http.close()


def reset(base: str) -> None:
    """Leave the shared server clean: end live chats (as the supervisor) and log every agent out,
    which also completes their pending wrap-ups."""
    sam = Agent(base, "sam")
    for chat in sam.get("/api/v1/supervisor/chats?limit=500")["items"]:
        if chat["state"] != "wrapup":
            sam.call("POST", f"/api/v1/supervisor/chats/{chat['id']}/end", {})
    for user in ("alice", "bob"):
        Agent(base, user).call("PUT", "/api/v1/agent/state", {"state": "logged_out"})
    close_all()
