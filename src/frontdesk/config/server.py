"""`server.*` (spec/config.md §3.2)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from typing import Any

from .models import (
    BusConfig,
    ClusterConfig,
    FilesConfig,
    LogConfig,
    MetricsConfig,
    RateLimitConfig,
    ServerConfig,
    ServerLimits,
    StoreConfig,
    TlsConfig,
)
from .reader import Ctx, KeyPath, Obj

BUS_DEFAULT_URLS = {"redis": "redis://127.0.0.1:6379/0", "nats": "nats://127.0.0.1:4222"}
_BLOCKED_TYPE_RE = r"(\.[A-Za-z0-9][A-Za-z0-9._-]*|[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+)"


def check_blocked_type(value: str) -> str | None:
    if re.fullmatch(_BLOCKED_TYPE_RE, value):
        return None
    return (
        "must be a MIME type like application/x-msdownload or an extension like .exe, "
        f"got {json.dumps(value)}"
    )


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_server(ctx: Ctx, o: Obj) -> ServerConfig:
    """Reads `server`; `allow_short_timers` first, because it changes the accepted timer ranges."""
    ctx.secret_sink = {}
    ctx.secret_root = "server"
    allow_short = o.boolean("allow_short_timers", False)
    ctx.short_timers = allow_short
    host = o.string("host", "127.0.0.1", min_len=1)
    port = o.integer("port", 8080, 1, 65535)
    data_dir_raw = o.string("data_dir", "./var", min_len=1)
    data_dir = os.path.normpath(os.path.abspath(os.path.expanduser(data_dir_raw)))  # against CWD (§1.1)
    public_base_url = o.url("public_base_url")
    trusted = o.cidr_list("trusted_proxies", [])
    default_tenant = o.string("default_tenant", "", min_len=1)

    tls = TlsConfig()
    tls_obj = o.obj("tls", nullable=True)
    if tls_obj is not None:
        tls = TlsConfig(cert_file=tls_obj.path_value("cert_file"), key_file=tls_obj.path_value("key_file"))
        if (tls.cert_file is None) != (tls.key_file is None):
            ctx.error(tls_obj.path, "cert_file and key_file must be given together")
        tls_obj.finish()

    store = _read_store(ctx, o.obj("store") or Obj(ctx, {}, o.p("store")), data_dir)
    bus = _read_bus(o.obj("bus") or Obj(ctx, {}, o.p("bus")))

    f = o.obj("files") or Obj(ctx, {}, o.p("files"))
    files_kind = f.choice("kind", "disk", ("disk", "store"))
    files_dir_raw = f.opt_string("dir", min_len=1)
    files_dir = ctx.resolve_path(files_dir_raw) if files_dir_raw else os.path.join(data_dir, "files")
    f.finish()
    files = FilesConfig(kind=files_kind, dir=files_dir)  # type: ignore[arg-type]

    c = o.obj("cluster") or Obj(ctx, {}, o.p("cluster"))
    node_id = c.string("node_id", f"{socket.gethostname()}:{os.getpid()}", min_len=1)
    lease = c.seconds("lease_seconds", 10, 5, 60, 2)
    renew = c.seconds("renew_seconds", 3, 1, None, 1)
    if not renew * 2 < lease:
        ctx.error(
            c.p("renew_seconds"), f"must be below half of server.cluster.lease_seconds ({lease}), got {renew}"
        )
    advertise = c.opt_string("advertise_url", min_len=1) or ""
    if advertise and not re.match(r"^https?://[^/\s]+/?$", advertise):
        ctx.error(c.p("advertise_url"), f"must be an http(s)://host:port URL, got {advertise!r}")
    c.finish()
    cluster = ClusterConfig(
        node_id=node_id, lease_seconds=lease, renew_seconds=renew, advertise_url=advertise.rstrip("/")
    )

    grace = o.seconds("shutdown_grace_seconds", 10, 0, 120, 0)

    lg = o.obj("log") or Obj(ctx, {}, o.p("log"))
    log = LogConfig(
        level=lg.choice("level", "info", ("debug", "info", "warning", "error")),  # type: ignore[arg-type]
        format=lg.choice("format", "json", ("json", "text")),  # type: ignore[arg-type]
    )
    lg.finish()
    m = o.obj("metrics") or Obj(ctx, {}, o.p("metrics"))
    metrics = MetricsConfig(enabled=m.boolean("enabled", True))
    m.finish()

    limits = _read_limits(ctx, o.obj("limits") or Obj(ctx, {}, o.p("limits")))
    o.finish()

    server = ServerConfig(
        host=host,
        port=port,
        data_dir=data_dir,
        public_base_url=public_base_url,
        trusted_proxies=trusted,
        default_tenant=default_tenant,
        allow_short_timers=allow_short,
        tls=tls,
        store=store,
        bus=bus,
        files=files,
        cluster=cluster,
        shutdown_grace_seconds=grace,
        log=log,
        metrics=metrics,
        limits=limits,
        secret_sources=ctx.secret_sink,
    )
    _server_warnings(ctx, o.path, server)
    return server


def _read_store(ctx: Ctx, s: Obj, data_dir: str) -> StoreConfig:
    kind = s.choice("kind", "sqlite", ("sqlite", "postgresql"))
    url = s.secret("url")
    if url is None:
        if kind == "postgresql" and not any(s.has(k) for k in ("url", "url_file", "url_env")):
            ctx.error(s.p("url"), "is required for a postgresql store (as url, url_file or url_env)")
        url = f"sqlite:///{data_dir}/frontdesk.db" if kind == "sqlite" else ""
    elif kind == "sqlite" and not url.startswith("sqlite:"):
        ctx.error(s.p("url"), "must be a sqlite: URL for a sqlite store")
    elif kind == "postgresql" and not url.startswith(("postgresql:", "postgresql+", "postgres:")):
        ctx.error(s.p("url"), "must be a postgresql:// URL for a postgresql store")
    store = StoreConfig(
        kind=kind,  # type: ignore[arg-type]
        url=url,
        pool_size=s.integer("pool_size", 10, 1, 200),
        write_batch_max=s.integer("write_batch_max", 64, 1, 1000),
        auto_migrate=s.boolean("auto_migrate", kind == "sqlite"),
    )
    s.finish()
    return store


def _read_bus(b: Obj) -> BusConfig:
    kind = b.choice("kind", "memory", ("memory", "redis", "nats"))
    url = b.secret("url")
    if url is None:
        url = BUS_DEFAULT_URLS.get(kind)
    elif kind != "memory" and not url.startswith(kind):
        b.ctx.error(b.p("url"), f"must be a {kind}:// URL for a {kind} bus")
    bus = BusConfig(
        kind=kind,  # type: ignore[arg-type]
        url=url,
        channel_prefix=b.string("channel_prefix", "frontdesk", min_len=1, max_len=64),
    )
    b.finish()
    return bus


def _read_limits(ctx: Ctx, lim: Obj) -> ServerLimits:
    rl = lim.obj("rate_limit") or Obj(ctx, {}, lim.p("rate_limit"))
    rate = RateLimitConfig(
        requests_per_second=rl.integer("requests_per_second", 100, 0, None),
        burst=rl.integer("burst", 200, 1, None),
        exempt_networks=rl.cidr_list("exempt_networks", ["127.0.0.0/8", "::1/128"]),
    )
    rl.finish()
    limits = ServerLimits(
        request_body_max_bytes=lim.integer("request_body_max_bytes", 1048576, 1, None),
        upload_max_bytes=lim.integer("upload_max_bytes", 26214400, 1, None),
        upload_blocked_types=[
            t.lower() for t in lim.str_list("upload_blocked_types", [], check=check_blocked_type)
        ],
        message_max_chars=lim.integer("message_max_chars", 10000, 1, 100000),
        rate_limit=rate,
    )
    lim.finish()
    return limits


def _server_warnings(ctx: Ctx, path: KeyPath, server: ServerConfig) -> None:
    if not is_loopback_host(server.host) and not server.tls_enabled:
        ctx.warn(
            path.key("host"),
            f"{server.host} is not a loopback address and server.tls is not set: "
            "credentials travel in clear text",
        )
    if server.bus.kind == "memory" and server.store.kind == "postgresql":
        ctx.warn(path.key("bus").key("kind"), "a memory bus with a postgresql store: only one node may run")
    if server.allow_short_timers:
        ctx.warn(path.key("allow_short_timers"), "short timers are allowed; for test servers only")


def apply_overrides(data: dict[str, Any], overrides: dict[str, object], ctx: Ctx) -> None:
    """Puts flag/environment values over the file's `server` keys (flag > env > file, §1.1)."""
    server = data.get("server")
    if server is None:
        server = data["server"] = {}
    if not isinstance(server, dict):
        return
    for key, env in (
        ("host", "FRONTDESK_HOST"),
        ("port", "FRONTDESK_PORT"),
        ("data_dir", "FRONTDESK_DATA_DIR"),
    ):
        value = overrides.get(key)
        origin = f"--{key.replace('_', '-')}"
        if value is None:
            env_value = os.environ.get(env)
            if env_value:
                value, origin = env_value, env
        if value is None:
            continue
        if key == "port":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int):
                ctx.error(
                    f"server.{key}",
                    f"{origin} must be an integer from 1 to 65535, got {json.dumps(str(value))}",
                )
                continue
        elif not isinstance(value, str):
            value = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        server[key] = value
