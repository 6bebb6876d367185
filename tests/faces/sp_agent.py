"""Helpers for the ServicePattern face tests: a customer client (the Mobile/Web API) and an agent
acting through the native agent API (spec/native.md §1.1, §5.1, §5.2, §5.5, §5.9)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

SCHEME = "MOBILE-API-140-327-PLAIN"
# The server fixture's log file handle is closed by GC (tests/conftest.py); its ResourceWarning is not ours.
_OPEN: list[httpx.Client] = []


def close_all() -> None:
    """Close every client the current test opened (ResourceWarnings are errors in this suite)."""
    while _OPEN:
        _OPEN.pop().close()


ERROR_TEXT = {
    "1000": "Missing or invalid tenantUrl",
    "2000": "Authorization header is missing",
    "2001": "Authorization parameter format is incorrect",
    "2002": "Authorization scheme is incorrect",
    "2003": "Authorization parameter is missing: appId",
    "2004": "Authorization parameter is missing: clientId",
    "3000": "Missing or invalid application unique id",
    "5005": "Chat session is not found",
    "5001": "No server is available to accept chat connection",
    "5006": "Mobile Launch Point (application) is not found",
    "5501": "Upload size limit exceeded",
    "5502": "File not found",
    "5601": "No case is specified for this session.",
    "5603": "Too many parameters.",
    "5955": "Unspecified server error",
}


def auth(app_id: str = "test", client_id: str | None = None) -> str:
    return f'{SCHEME} appId="{app_id}", clientId="{client_id or uuid.uuid4()}"'


def assert_error(r: httpx.Response, code: str, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error_code", "error_message"}, body
    assert body["error_code"] == code, body
    if code == "5003":
        assert body["error_message"].startswith("Error decoding JSON request body: "), body
    elif code in ERROR_TEXT:
        assert body["error_message"] == ERROR_TEXT[code], body


class Customer:
    """One Mobile/Web client (one clientId) of the demo entry point ``test``."""

    def __init__(
        self,
        base_url: str,
        version: str = "v1",
        app_id: str = "test",
        client_id: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base = base_url
        self.api = f"{base_url}/clientweb/api/{version}"
        self.client_id = client_id or str(uuid.uuid4())
        self.app_id = app_id
        self.http = httpx.Client(timeout=timeout)
        _OPEN.append(self.http)
        self.chat_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": auth(self.app_id, self.client_id)}

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.api}{path}{sep}tenantUrl=example.com"

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(self.url(path), headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        if body is not None and "content" not in kw and "files" not in kw:
            kw["json"] = body
        return self.http.post(self.url(path), headers=headers, **kw)

    def start(self, body: Any = None) -> dict[str, Any]:
        r = self.post("/chats", body if body is not None else {})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        self.chat_id = data["chat_id"]
        return data

    def send(self, *events: dict[str, Any]) -> httpx.Response:
        return self.post(f"/chats/{self.chat_id}/events", {"events": list(events)})

    def say(self, text: str, msg_id: str | None = None) -> httpx.Response:
        ev: dict[str, Any] = {"event": "chat_session_message", "msg": text}
        if msg_id is not None:
            ev["msg_id"] = msg_id
        r = self.send(ev)
        assert r.status_code == 200, r.text
        return r

    def poll(self, **kw: Any) -> httpx.Response:
        return self.get(f"/chats/{self.chat_id}/events", **kw)

    def events(self) -> list[dict[str, Any]]:
        r = self.poll()
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()["events"]
        return out

    def history(self) -> httpx.Response:
        return self.get(f"/chats/{self.chat_id}/history")

    def collect_until(self, name: str, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Poll until an event named ``name`` arrives; returns every event seen, in order."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.events()
            seen.extend(batch)
            if any(e["event"] == name for e in batch):
                return seen
        raise AssertionError(f"no {name} within {timeout}s; saw {seen}")

    def close(self) -> None:
        self.http.close()


class Agent:
    """An agent of the demo tenant on the native API."""

    def __init__(self, base_url: str, login: str = "alice") -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        _OPEN.append(self.http)
        r = self.http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": login, "password": "demo"}
        )
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = "Bearer " + r.json()["token"]
        self._n = 0

    def state(self, state: str) -> None:
        r = self.http.put("/api/v1/agent/state", json={"state": state})
        assert r.status_code == 200, r.text

    def accept(self, chat_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the offer of ``chat_id`` and accept it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get("/api/v1/agent/offers")
            assert r.status_code == 200, r.text
            for offer in r.json()["items"]:
                if offer["chat_id"] == chat_id:
                    a = self.http.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept")
                    assert a.status_code == 200, a.text
                    data: dict[str, Any] = a.json()
                    return data
            time.sleep(0.05)
        raise AssertionError(f"no offer for {chat_id}")

    def write(self, chat_id: str, text: str) -> dict[str, Any]:
        self._n += 1
        r = self.http.post(
            f"/api/v1/chats/{chat_id}/messages", json={"client_msg_id": f"m{self._n}", "text": text}
        )
        assert r.status_code in (200, 201), r.text
        data: dict[str, Any] = r.json()
        return data

    def send_file(self, chat_id: str, name: str, content: bytes, ctype: str) -> dict[str, Any]:
        r = self.http.post(f"/api/v1/chats/{chat_id}/files", files={"file": (name, content, ctype)})
        assert r.status_code in (200, 201), r.text
        data: dict[str, Any] = r.json()
        return data

    def end(self, chat_id: str) -> None:
        r = self.http.post(f"/api/v1/chats/{chat_id}/end", json={})
        assert r.status_code == 200, r.text

    def wrapup(self, chat_id: str) -> None:
        r = self.http.post(f"/api/v1/chats/{chat_id}/wrapup", json={"disposition": "resolved"})
        assert r.status_code == 200, r.text

    def close(self) -> None:
        self.http.close()
