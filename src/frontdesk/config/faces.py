"""`tenants[].faces.*` (spec/config.md §3.8–3.13)."""

from __future__ import annotations

import json
import re

from .models import (
    ECE_DEFAULT_TEMPLATES,
    LOCKOUT_DEFAULTS,
    CrmodFace,
    EceFace,
    EceLimits,
    EntryPointConfig,
    FacesConfig,
    FusionCredential,
    FusionFace,
    Lockout,
    NativeFace,
    RightNowCredential,
    RightNowFace,
    ServicePatternFace,
)
from .reader import Ctx, Obj
from .sections import check_lockout
from .values import check_argon2

POOL_ID_RE = re.compile(r"[0-9]+:[0-9]+")


def _sub(ctx: Ctx, o: Obj, key: str) -> Obj:
    return o.obj(key) or Obj(ctx, {}, o.p(key))


def _lockout(o: Obj, face: str) -> Lockout:
    return Lockout(**check_lockout(o, "auth_lockout", LOCKOUT_DEFAULTS[face]))


def read_faces(ctx: Ctx, o: Obj, entry_points: list[EntryPointConfig]) -> FacesConfig:
    faces = FacesConfig(
        servicepattern=_read_servicepattern(_sub(ctx, o, "servicepattern")),
        rightnow=_read_rightnow(ctx, _sub(ctx, o, "rightnow"), entry_points),
        fusion=_read_fusion(ctx, _sub(ctx, o, "fusion"), entry_points),
        ece=_read_ece(ctx, _sub(ctx, o, "ece")),
        crmod=_read_crmod(_sub(ctx, o, "crmod")),
        native=_read_native(ctx, _sub(ctx, o, "native")),
    )
    o.finish()
    return faces


def _read_servicepattern(o: Obj) -> ServicePatternFace:
    face = ServicePatternFace(
        enabled=o.boolean("enabled", True),
        long_poll_hold_seconds=o.seconds("long_poll_hold_seconds", 10, 1, 12, 1),
        abandon_seconds=o.seconds("abandon_seconds", 600, 60, 86400, 1),
        ended_retention_seconds=o.seconds("ended_retention_seconds", 60, 10, 3600, 1),
        cors_allowed_origins=o.origins("cors_allowed_origins", ["*"]),
    )
    o.finish()
    return face


def _credential_secret(ctx: Ctx, c: Obj, allow_hash: bool) -> tuple[str | None, str | None]:
    """`password` (a secret) or, where allowed, `password_hash`; exactly one of them."""
    has_password = any(c.has(k) for k in ("password", "password_file", "password_env"))
    password = c.secret("password")
    password_hash = c.opt_string("password_hash", check=check_argon2)
    if has_password and c.has("password_hash"):
        ctx.error(
            c.p("password_hash"),
            "give either password (or password_file/password_env) or password_hash, not both",
        )
    elif not has_password and not c.has("password_hash"):
        alt = " or password_hash" if allow_hash else ""
        ctx.error(c.p("password"), f"is required (as password, password_file or password_env{alt})")
    return password, password_hash


def _read_rightnow(ctx: Ctx, o: Obj, entry_points: list[EntryPointConfig]) -> RightNowFace:
    interfaces = [e.id for e in entry_points if e.face == "rightnow" and e.id]
    creds: list[RightNowCredential] = []
    for i, item in o.items("credentials") or []:
        c = o.item_obj("credentials", i, item, "username")
        if c is None:
            continue
        username = c.req_string("username")
        if username and any(x.username == username for x in creds):
            ctx.error(c.p("username"), f"duplicate username {json.dumps(username)}")
        password, password_hash = _credential_secret(ctx, c, True)
        if password is None and password_hash is not None:
            ctx.warn(
                c.p("password_hash"),
                "RightNow credential given only as a hash: PasswordDigest cannot be verified",
            )
        creds.append(RightNowCredential(username=username, password=password, password_hash=password_hash))
        c.finish()
    site_name = o.opt_string("site_name", min_len=1)
    default_interface = o.opt_string("default_interface", min_len=1)
    if interfaces:
        if site_name is None and not o.has("site_name"):
            ctx.error(o.p("site_name"), "is required when the tenant has RightNow entry points")
        if not creds and not o.has("credentials"):
            ctx.error(o.p("credentials"), "is required when the tenant has RightNow entry points")
        elif not creds:
            ctx.error(
                o.p("credentials"),
                "must list at least one credential when the tenant has RightNow entry points",
            )
    if default_interface is not None and default_interface not in interfaces:
        ctx.error(
            o.p("default_interface"),
            f"must name a RightNow entry point of the tenant, got {json.dumps(default_interface)}",
        )
    if default_interface is None and interfaces:
        default_interface = interfaces[0]
    created = o.seconds("wss_created_window_seconds", 300, 30, 3600, 1)
    nonce = o.seconds("wss_nonce_window_seconds", 600, 2, None, 2)
    if o.has("wss_nonce_window_seconds") or o.has("wss_created_window_seconds"):
        if nonce < 2 * created:
            ctx.error(
                o.p("wss_nonce_window_seconds"),
                f"must be at least twice wss_created_window_seconds ({created}), so at least {2 * created}, "
                f"got {nonce}",
            )
    face = RightNowFace(
        enabled=o.boolean("enabled", True),
        site_name=site_name,
        default_interface=default_interface,
        credentials=creds,
        long_poll_hold_seconds=o.seconds("long_poll_hold_seconds", 15, 0, 55, 0),
        abandon_seconds=o.seconds("abandon_seconds", 120, 30, 86400, 1),
        ended_retention_seconds=o.seconds("ended_retention_seconds", 300, 10, 86400, 1),
        token_ttl_seconds=o.seconds("token_ttl_seconds", 600, 30, 86400, 1),
        auth_lockout=_lockout(o, "rightnow"),
        participant_greeting=o.boolean("participant_greeting", True),
        wss_created_window_seconds=created,
        wss_nonce_window_seconds=nonce,
    )
    o.finish()
    return face


def _check_pool_id(value: str) -> str | None:
    if POOL_ID_RE.fullmatch(value):
        return None
    return f'must be digits, a colon and digits, like "1:1", got {json.dumps(value)}'


def _read_fusion(ctx: Ctx, o: Obj, entry_points: list[EntryPointConfig]) -> FusionFace:
    has_site = any(e.face == "fusion" for e in entry_points)
    creds: list[FusionCredential] = []
    for i, item in o.items("credentials") or []:
        c = o.item_obj("credentials", i, item, "username")
        if c is None:
            continue
        username = c.req_string("username")
        if username and any(x.username == username for x in creds):
            ctx.error(c.p("username"), f"duplicate username {json.dumps(username)}")
        password, password_hash = _credential_secret(ctx, c, True)
        creds.append(
            FusionCredential(
                username=username,
                password=password,
                password_hash=password_hash,
                chat_privilege=c.boolean("chat_privilege", True),
            )
        )
        c.finish()
    pool_id = o.opt_string("pool_id", check=_check_pool_id)
    if has_site:
        if pool_id is None and not o.has("pool_id"):
            ctx.error(o.p("pool_id"), "is required when the tenant has a Fusion entry point")
        if not creds and not o.has("credentials"):
            ctx.error(o.p("credentials"), "is required when the tenant has a Fusion entry point")
        elif not creds:
            ctx.error(
                o.p("credentials"),
                "must list at least one credential when the tenant has a Fusion entry point",
            )
    signing_key = o.secret("signing_key")
    if signing_key is not None and "PRIVATE KEY-----" not in signing_key:
        ctx.error(o.p("signing_key"), "must be a PEM private key (RSA, at least 2048 bits)")
    face = FusionFace(
        enabled=o.boolean("enabled", True),
        pool_id=pool_id,
        credentials=creds,
        token_ttl_seconds=o.seconds("token_ttl_seconds", 120, 30, 3600, 2),
        signing_key=signing_key,
        long_poll_hold_seconds=o.seconds("long_poll_hold_seconds", 30, 0, 55, 0),
        abandon_seconds=o.seconds("abandon_seconds", 120, 30, 86400, 1),
        ended_retention_seconds=o.seconds("ended_retention_seconds", 300, 10, 86400, 1),
        cors_allowed_origins=o.origins("cors_allowed_origins", ["*"]),
        auth_lockout=_lockout(o, "fusion"),
        sneak_preview=o.boolean("sneak_preview", False),
        sneak_preview_interval_ms=o.integer("sneak_preview_interval_ms", 1000, 250, 10000),
    )
    o.finish()
    return face


def _read_ece(ctx: Ctx, o: Obj) -> EceFace:
    lim = _sub(ctx, o, "limits")
    limits = EceLimits(
        creations_per_minute=lim.integer("creations_per_minute", 60, 1, None),
        open_chats_per_address=lim.integer("open_chats_per_address", 50, 1, None),
        surveys_per_minute=lim.integer("surveys_per_minute", 30, 1, None),
        checks_per_minute=lim.integer("checks_per_minute", 600, 1, None),
        session_requests_per_second=lim.integer("session_requests_per_second", 20, 1, None),
    )
    lim.finish()
    templates = dict(ECE_DEFAULT_TEMPLATES)
    tm = _sub(ctx, o, "templates")
    for key in list(tm.data):
        if isinstance(key, str):
            templates[key] = tm.req_string(key, min_len=0)
    tm.finish()
    face = EceFace(
        enabled=o.boolean("enabled", True),
        cors_allowed_origins=o.origins("cors_allowed_origins", ["*"]),
        long_poll_hold_seconds=o.seconds("long_poll_hold_seconds", 60, 1, 60, 1),
        bosh_inactivity_seconds=o.seconds("bosh_inactivity_seconds", 90, 10, 600, 1),
        max_pause_seconds=o.seconds("max_pause_seconds", 300, 10, 3600, 1),
        reconnect_window_seconds=o.seconds("reconnect_window_seconds", 120, 0, 3600, 0),
        ended_retention_seconds=o.seconds("ended_retention_seconds", 1800, 60, 86400, 1),
        reject_duplicate_sessions=o.boolean("reject_duplicate_sessions", True),
        demo_auto_agent=o.boolean("demo_auto_agent", False),
        limits=limits,
        templates=templates,
    )
    o.finish()
    return face


def _read_crmod(o: Obj) -> CrmodFace:
    face = CrmodFace(
        enabled=o.boolean("enabled", True),
        daily_operation_allotment=o.integer("daily_operation_allotment", 100000, 1, None),
        auth_lockout=_lockout(o, "crmod"),
        form_token_ttl_seconds=o.seconds("form_token_ttl_seconds", 3600, 60, 86400, 1),
    )
    o.finish()
    return face


def _read_native(ctx: Ctx, o: Obj) -> NativeFace:
    heartbeat = o.seconds("ws_heartbeat_seconds", 25, 5, 55, 1)
    idle = o.seconds("ws_idle_timeout_seconds", 60, 3, 300, 3)
    if idle <= 2 * heartbeat:
        ctx.error(
            o.p("ws_idle_timeout_seconds"),
            f"must be more than twice ws_heartbeat_seconds ({heartbeat}) and at most 300, got {idle}",
        )
    face = NativeFace(
        enabled=o.boolean("enabled", True),
        token_ttl_seconds=o.seconds("token_ttl_seconds", 28800, 300, 604800, 5),
        auth_lockout=_lockout(o, "native"),
        cors_allowed_origins=o.origins("cors_allowed_origins", []),
        ws_heartbeat_seconds=heartbeat,
        ws_idle_timeout_seconds=idle,
        events_max_wait_seconds=o.seconds("events_max_wait_seconds", 30, 0, 60, 0),
    )
    o.finish()
    return face
