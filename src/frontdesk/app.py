"""The composition root: configuration in, ASGI application out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk import __version__
from frontdesk.config import Config
from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.faces.native.http import problem
from frontdesk.ops.middleware import OpsMiddleware

log = logging.getLogger("frontdesk")


def build_app(config: Config, engine: Engine | None = None) -> Starlette:
    engine = engine or Engine(config)
    from frontdesk.ops.service import ops_of

    ops = ops_of(engine)
    routes: list[BaseRoute] = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz, methods=["GET"]),
    ]
    if ops.metrics is not None:
        routes.append(Route("/metrics", _metrics, methods=["GET"]))
    from frontdesk.faces.ece.routes import routes as ece_routes
    from frontdesk.faces.fusion.routes import routes as fusion_routes
    from frontdesk.faces.native.routes import routes as native_routes
    from frontdesk.faces.rightnow.routes import routes as rightnow_routes
    from frontdesk.faces.servicepattern.routes import routes as sp_routes
    from frontdesk.web.routes import routes as web_routes

    routes += sp_routes(engine)
    routes += native_routes(engine)
    routes += rightnow_routes(engine)
    routes += fusion_routes(engine)
    routes += ece_routes(engine)
    from frontdesk.faces.crmod.routes import routes as crmod_routes

    routes += crmod_routes(engine)
    routes += web_routes(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        await ops.start()
        try:
            yield
        finally:
            await ops.close()
            await engine.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
        middleware=[
            Middleware(OpsMiddleware, limiter=ops.limiter, metrics=ops.metrics, body_cap=ops.body_cap)
        ],
    )
    app.state.engine = engine
    app.state.config = config
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    """Unknown paths under the native API answer with a problem document, like every native error."""
    if request.url.path.startswith("/api/"):
        return problem(errors.NotFound("No such route."), request.url.path)
    return PlainTextResponse("Not Found", status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return problem(errors.MethodNotAllowed(), request.url.path)
    return PlainTextResponse("Method Not Allowed", status_code=405)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def _readyz(request: Request) -> Response:
    """Ready when the store answers a read and the bus carries a message (config.md, operations)."""
    engine: Engine = request.app.state.engine
    try:
        await engine.check_ready()
    except Exception as exc:
        log.warning("not ready: %s", exc)
        return JSONResponse(
            {"status": "unavailable", "detail": type(exc).__name__}, 503, {"Retry-After": "5"}
        )
    return JSONResponse({"status": "ok", "store": "ok", "bus": "ok"})


async def _metrics(request: Request) -> Response:
    from frontdesk.ops.metrics import CONTENT_TYPE
    from frontdesk.ops.service import ops_of

    ops = ops_of(request.app.state.engine)
    assert ops.metrics is not None
    return Response(ops.metrics.render(), 200, {"Cache-Control": "no-store"}, CONTENT_TYPE)
