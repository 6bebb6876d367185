"""The composition root: configuration in, ASGI application out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from frontdesk import __version__
from frontdesk.cluster.forward import Forwarder
from frontdesk.cluster.node import Cluster
from frontdesk.config import Config, ConfigError, load_config
from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.faces.native.http import problem
from frontdesk.ops.middleware import OpsGate, OpsMiddleware
from frontdesk.ops.service import Ops
from frontdesk.runtime import freeze_startup_heap
from frontdesk.serving.lane import FastLane

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
    from frontdesk.faces.servicepattern.routes import lane_routes as sp_lane_routes
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

    cluster = _cluster_of(engine, ops)
    gate = OpsGate(limiter=ops.limiter, metrics=ops.metrics, body_cap=ops.body_cap)
    middleware = [Middleware(OpsMiddleware, gate=gate)]
    forwarders: list[Forwarder] = []
    if cluster is not None:

        def forwarder(app: ASGIApp) -> ASGIApp:
            on_result = ops.metrics.forward_result if ops.metrics is not None else None
            forwarders.append(Forwarder(app, cluster=cluster, body_cap=ops.body_cap, on_result=on_result))
            return forwarders[-1]

        middleware.insert(0, Middleware(forwarder))
        if ops.metrics is not None:
            ops.metrics.watch_cluster(lambda: cluster.serving.is_set())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if cluster is None:
            await engine.start()
            await ops.start()
            freeze_startup_heap()
            try:
                yield
            finally:
                await ops.close()
                await engine.close()
            return
        await engine.connect()
        await cluster.start()
        try:
            yield
        finally:
            await cluster.close()
            for fwd in forwarders:
                await fwd.close()
            if cluster.leading:
                await ops.close()
                await engine.core.close()
                await cluster.release()
            await engine.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
        middleware=middleware,
    )
    app.state.cluster = cluster
    # In a cluster every request may have to be forwarded to the engine node, so all take the
    # ASGI path with the forwarder in it.
    app.state.lane = None if cluster is not None else FastLane(sp_lane_routes(engine), gate)
    app.state.engine = engine
    app.state.config = config
    return app


def _cluster_of(engine: Engine, ops: Ops) -> Cluster | None:
    """A PostgreSQL store is shared by several nodes: then only the lease holder runs the engine."""
    if engine.config.server.store.kind != "postgresql":
        return None

    async def lead() -> None:
        path = engine.config.source_path
        if path is not None:
            try:
                fresh = await asyncio.to_thread(load_config, path)
                # Server keys take effect only at restart (config.md 1.4): keep this process's.
                engine.adopt_config(msgspec.structs.replace(fresh, server=engine.config.server))
            except ConfigError as exc:
                log.error("taking over with the configuration read at start: %s", exc)
        await engine.start()
        await ops.start()
        freeze_startup_heap()

    return Cluster(engine.store, engine.bus, engine.config.server, lead)


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
    """The process is up; in a cluster also whether this node runs the engine or forwards to it."""
    body: dict[str, str] = {"status": "ok", "version": __version__}
    cluster: Cluster | None = request.app.state.cluster
    if cluster is not None:
        body["node"] = cluster.node_id
        body["role"] = "engine" if cluster.serving.is_set() else "follower"
    return JSONResponse(body)


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
