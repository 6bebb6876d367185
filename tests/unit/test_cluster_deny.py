"""A WebSocket handshake that no engine owner can take is refused the way an HTTP request is: 503
with ``Retry-After`` where the server offers the ASGI denial response, since a bare close before
accept reaches the client as 403, which reads like a bad token."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message

from frontdesk.cluster.forward import refuse_websocket


def _deny(scope: dict[str, Any], status: int, close_code: int) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(refuse_websocket(scope, send, status, close_code))
    return sent


def _scope(path: str, *, denial: bool) -> dict[str, Any]:
    extensions = {"websocket.http.response": {}} if denial else {}
    return {"type": "websocket", "path": path, "extensions": extensions}


def test_a_refused_handshake_is_a_503_with_retry_after() -> None:
    start, body = _deny(_scope("/api/v1/agent/ws", denial=True), 503, 1012)
    assert start["type"] == "websocket.http.response.start" and start["status"] == 503
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert headers["retry-after"] == "1"
    assert body["type"] == "websocket.http.response.body"
    assert json.loads(body["body"])["status"] == 503


def test_the_owner_s_own_refusal_passes_through_with_its_status() -> None:
    start, _ = _deny(_scope("/api/v1/agent/ws", denial=True), 401, 1008)
    assert start["status"] == 401


def test_without_the_denial_extension_the_handshake_is_closed_with_the_code() -> None:
    assert _deny(_scope("/api/v1/agent/ws", denial=False), 503, 1012) == [
        {"type": "websocket.close", "code": 1012}
    ]
