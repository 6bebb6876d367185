"""The OpenAPI document covers exactly the routes the server serves under /api/ (native.md §0.4)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from native_client import close_all
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from frontdesk.app import build_app
from frontdesk.config import load_config

FRAMES = ["AgentServerFrame", "AgentClientFrame", "SupervisorServerFrame", "SupervisorClientFrame", "Event"]


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def _norm(path: str) -> str:
    """`/chats/{chat_id:str}` and `/chats/{id}` compare equal."""
    return re.sub(r"{[^}]+}", "{}", path)


def served(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            out |= served(list(route.routes), prefix + route.path)
        elif isinstance(route, WebSocketRoute):
            out.add(("get", _norm(prefix + route.path)))
        elif isinstance(route, Route):
            for method in route.methods or {"GET"}:
                if method != "HEAD":
                    out.add((method.lower(), _norm(prefix + route.path)))
    return {(m, p) for m, p in out if p.startswith(("/api/", "/admin/api/"))}


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, _norm(p)) for p, ops in doc["paths"].items() for m in ops}


@pytest.fixture(scope="module")
def app_doc(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    config = load_config(None)
    config.server.data_dir = str(tmp_path_factory.mktemp("openapi-data"))
    app = build_app(config)

    async def fetch() -> dict[str, Any]:
        # ASGITransport runs no lifespan: the engine is never started, only the document route is called.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            r = await client.get("/api/openapi.json")
            assert r.status_code == 200, r.text
            return dict(r.json())

    return served(list(app.routes)), asyncio.run(fetch())


def test_every_api_route_is_documented_and_nothing_else(
    app_doc: tuple[set[tuple[str, str]], dict[str, Any]],
) -> None:
    routes, doc = app_doc
    missing = routes - documented(doc)
    extra = documented(doc) - routes
    assert not missing, f"served but not documented: {sorted(missing)}"
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_document_shape(app_doc: tuple[set[tuple[str, str]], dict[str, Any]]) -> None:
    _, doc = app_doc
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    for name in [*FRAMES, "ChatSummary", "ChatDetail", "Offer", "Problem", "QueueStats", "LiveChat"]:
        assert name in schemas, name
    for path in ("/api/v1/ws", "/api/v1/supervisor/ws"):
        assert "101" in doc["paths"][path]["get"]["responses"]
    send = doc["paths"]["/api/v1/chats/{chat_id}/messages"]["post"]
    assert send["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SendMessage")
    assert {"200", "201"} <= set(send["responses"])
    assert schemas["SendMessage"]["properties"]["visibility"]["default"] == "all"
    assert "client_msg_id" in schemas["SendMessage"]["required"]
    # Every $ref resolves.
    refs = set(re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', str(doc).replace("'", '"')))
    assert refs and refs <= set(schemas)


def test_served_document_matches(server: Any, app_doc: tuple[set[tuple[str, str]], dict[str, Any]]) -> None:
    r = httpx.get(server.base_url + "/api/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert documented(r.json()) == documented(app_doc[1])
