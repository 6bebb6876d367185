"""The CRM routes (/api/v1/crm and /admin/api/crm) are in the native route table and in the OpenAPI
document, both ways (native.md §0.4, §9.1)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import BaseRoute, Route

from frontdesk.app import build_app
from frontdesk.config import load_config


def _norm(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


def _served(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    out = set()
    for route in routes:
        if isinstance(route, Route) and "/crm" in route.path:
            for method in route.methods or set():
                if method != "HEAD":
                    out.add((method.lower(), _norm(route.path)))
    return out


def test_crm_routes_documented_both_ways(tmp_path: Path) -> None:
    config = load_config(None)
    config.server.data_dir = str(tmp_path)
    app = build_app(config)

    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return dict((await client.get("/api/openapi.json")).json())

    doc = asyncio.run(fetch())
    documented = {(m, _norm(p)) for p, ops in doc["paths"].items() for m in ops if "/crm" in p}
    served = _served(list(app.routes))
    assert served == documented
    for prefix in ("/api/v1/crm", "/admin/api/crm"):
        for method, path in [
            ("get", "/match"),
            ("put", "/dataset"),
            ("post", "/reset"),
            ("delete", "/{}/{}"),
        ]:
            assert (method, prefix + path) in documented
