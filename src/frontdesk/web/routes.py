"""The web apps: agent console (/console), supervisor wallboard (/wallboard), customer widget demo (/demo).

Everything is static (plain ES modules and CSS under ``static/``, no build step). The console and the
wallboard talk to the native API on the same origin; the widget speaks the ServicePattern face in
WebChat cookie mode and is embedded with one ``<script type="module">`` tag (see ``/demo``).
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant

STATIC = Path(__file__).resolve().parent / "static"
STATIC_URL = "/web/static"

# Pages only load our own scripts and styles; data from the server is rendered with textContent.
_CSP_APP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; media-src 'self' blob: data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": _CSP_APP,
}

_DEMO = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – website with chat widget (demo)</title>
<link rel="stylesheet" href="{static}/demo.css">
</head>
<body>
<header class="demo-hero">
  <h1>{title}</h1>
  <p>An ordinary web page. The chat button in the corner is the Frontdesk customer widget.</p>
</header>
<main class="demo-main">
  <h2>Embed it in any page</h2>
  <p>One tag, anywhere in the page:</p>
  <pre><code>{snippet}</code></pre>
  <p><code>data-tenant</code> is the ServicePattern <code>tenantUrl</code>; <code>data-app-id</code> is the
  entry point (<code>tenants[].web.widget_entry_point</code>).</p>
</main>
{tag}
</body>
</html>
"""


def _tenant(engine: Engine, request: Request) -> Tenant | None:
    registry = engine.registry
    wanted = request.query_params.get("tenant")
    if wanted:
        return registry.lookup(wanted)
    default = engine.config.server.default_tenant
    tenant = registry.tenant(default) if default else None
    if tenant is None and registry.tenants:
        tenant = next(iter(registry.tenants.values()))
    return tenant


def _page(name: str) -> Response:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=dict(_HEADERS))


def routes(engine: Engine) -> list[BaseRoute]:
    async def console(request: Request) -> Response:
        return _page("console.html")

    async def wallboard(request: Request) -> Response:
        return _page("wallboard.html")

    async def demo(request: Request) -> Response:
        tenant = _tenant(engine, request)
        if tenant is None:
            return HTMLResponse("<!doctype html><title>No tenant</title><p>No such tenant.</p>", 404)
        app_id = tenant.config.web.widget_entry_point
        if not app_id:
            body = "<!doctype html><title>No widget</title><p>This tenant has no widget entry point.</p>"
            return HTMLResponse(body, 404)
        tenant_url = tenant.config.domains[0] if tenant.config.domains else tenant.id
        origin = str(request.base_url).rstrip("/")
        attrs = f'data-tenant="{html.escape(tenant_url)}" data-app-id="{html.escape(app_id)}"'
        tag = f'<script type="module" src="{STATIC_URL}/widget.js" {attrs}></script>'
        snippet = f'<script type="module" src="{origin}{STATIC_URL}/widget.js" {attrs}></script>'
        page = _DEMO.format(
            title=html.escape(tenant.config.display_name),
            static=STATIC_URL,
            snippet=html.escape(snippet),
            tag=tag,
        )
        return HTMLResponse(page, headers=dict(_HEADERS))

    return [
        Route("/console", console, methods=["GET"]),
        Route("/wallboard", wallboard, methods=["GET"]),
        Route("/demo", demo, methods=["GET"]),
        Mount(STATIC_URL, app=StaticFiles(directory=STATIC), name="web-static"),
    ]
