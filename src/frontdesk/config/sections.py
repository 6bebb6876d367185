"""Smaller tenant sections: timers, surveys, CRM, routing, limits, codes, canned responses, webhooks."""

from __future__ import annotations

import json
import re
from typing import Any

from .models import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_NOT_READY_REASONS,
    DEFAULT_TIMEOUT_TEXT,
    DEFAULT_WARNING_TEXT,
    CannedResponse,
    CodeLabel,
    CrmConfig,
    InactivityConfig,
    RetentionConfig,
    RoutingConfig,
    SurveyConfig,
    SurveyQuestion,
    TenantLimits,
    TimersConfig,
    WebhookConfig,
)
from .reader import Ctx, Obj
from .server import check_blocked_type
from .values import check_argon2, check_name

WEBHOOK_EVENTS = (
    "chat.created",
    "chat.assigned",
    "chat.message",
    "chat.ended",
    "survey.submitted",
    "crm.activity",
)
QUESTION_TYPES = ("rating", "yes_no", "choice", "text")


def read_timers(ctx: Ctx, o: Obj) -> TimersConfig:
    ina = o.obj("inactivity") or Obj(ctx, {}, o.p("inactivity"))
    inactivity = InactivityConfig(
        timeout_seconds=ina.seconds("timeout_seconds", 600, 60, 86400, 2, zero_ok=True),
        warning_text=ina.string("warning_text", DEFAULT_WARNING_TEXT, min_len=1),
        timeout_text=ina.string("timeout_text", DEFAULT_TIMEOUT_TEXT, min_len=1),
    )
    ina.finish()
    timers = TimersConfig(
        rona_seconds=o.seconds("rona_seconds", 30, 5, 600, 1),
        wrapup_timeout_seconds=o.seconds("wrapup_timeout_seconds", 120, 10, 3600, 1, zero_ok=True),
        inactivity=inactivity,
        agent_presence_timeout_seconds=o.seconds("agent_presence_timeout_seconds", 90, 30, 3600, 2),
        typing_ttl_seconds=o.seconds("typing_ttl_seconds", 10, 3, 60, 1),
        queue_update_interval_seconds=o.seconds("queue_update_interval_seconds", 5, 1, 60, 0),
        form_timeout_seconds=o.seconds("form_timeout_seconds", 120, 10, 3600, 1),
    )
    o.finish()
    return timers


def read_surveys(ctx: Ctx, t: Obj) -> dict[str, SurveyConfig]:
    smap = t.obj("surveys") or Obj(ctx, {}, t.p("surveys"))
    result: dict[str, SurveyConfig] = {}
    for name, value in smap.data.items():
        if not isinstance(name, str):
            continue
        smap.used.add(name)
        path = smap.p(name)
        problem = check_name(name)
        if problem:
            ctx.error(path, "survey name " + problem)
            continue
        if not isinstance(value, dict):
            ctx.error(path, "must be a mapping with title and questions")
            continue
        s = Obj(ctx, value, path)
        title = s.string("title", name, min_len=1)
        elements = s.items("questions")
        if elements is None:
            ctx.error(s.p("questions"), "is required (1 to 50 questions)")
            elements = []
        elif not 1 <= len(elements) <= 50:
            ctx.error(s.p("questions"), f"must have 1 to 50 questions, got {len(elements)}")
        questions: list[SurveyQuestion] = []
        ids: set[str] = set()
        for i, item in elements:
            q = s.item_obj("questions", i, item, "id")
            if q is None:
                continue
            questions.append(_read_question(ctx, q, ids))
        s.finish()
        result[name] = SurveyConfig(title=title, questions=questions)
    return result


def _read_question(ctx: Ctx, q: Obj, ids: set[str]) -> SurveyQuestion:
    qid = q.req_string("id", check=check_name)
    if qid and qid in ids:
        ctx.error(q.p("id"), f"duplicate question id {json.dumps(qid)}")
    ids.add(qid)
    text = q.req_string("text")
    qtype = q.choice("type", "text", QUESTION_TYPES) if q.has("type") else ""
    if not qtype:
        ctx.error(q.p("type"), "is required (" + ", ".join(QUESTION_TYPES) + ")")
        qtype = "text"
    lo: int | None = None
    hi: int | None = None
    choices: list[str] | None = None
    if qtype == "rating":
        lo = q.integer("min", 1)
        hi = q.integer("max", 5)
        if lo >= hi:
            ctx.error(q.p("max"), f"must be greater than min ({lo}), got {hi}")
    else:
        for key in ("min", "max"):
            if q.has(key):
                q.get(key)
                ctx.error(q.p(key), f"is only allowed for rating questions, this one is {qtype}")
    if qtype == "choice":
        choices = q.str_list("choices", [])
        if not choices:
            ctx.error(q.p("choices"), "must list at least one choice for a choice question")
    elif q.has("choices"):
        q.get("choices")
        ctx.error(q.p("choices"), f"is only allowed for choice questions, this one is {qtype}")
    required = q.boolean("required", False)
    q.finish()
    return SurveyQuestion(id=qid, text=text, type=qtype, min=lo, max=hi, choices=choices, required=required)  # type: ignore[arg-type]


def read_crm(ctx: Ctx, o: Obj) -> CrmConfig:
    seed: dict[str, Any] | None = None
    raw_seed = o.get("seed")
    if o.has("seed") and raw_seed is not None:
        seed = _check_seed(ctx, o, raw_seed)
    seed_file = o.path_value("seed_file")
    if seed is not None and seed_file is not None:
        ctx.error(o.p("seed_file"), "seed and seed_file are exclusive; give one of them")
    crm = CrmConfig(
        chat_activities=o.boolean("chat_activities", True),
        allow_reset=o.boolean("allow_reset", False),
        max_activities=o.integer("max_activities", 1000000, 1, None),
        match_campaign_by_destination=o.boolean("match_campaign_by_destination", True),
        id_prefix=o.string("id_prefix", "FD", check=_check_id_prefix),
        seed=seed,
        seed_file=seed_file,
    )
    o.finish()
    return crm


def _check_id_prefix(value: str) -> str | None:
    if re.fullmatch(r"[A-Z0-9]{2,8}", value):
        return None
    return f"must be 2 to 8 characters from A-Z and 0-9, got {json.dumps(value)}"


def _check_seed(ctx: Ctx, o: Obj, raw: Any) -> dict[str, Any] | None:
    """Only what this layer owns: a mapping, and users with argon2 `PasswordHash` strings (§3.14)."""
    if not isinstance(raw, dict):
        o.type_error("seed", "a mapping (the CRM dataset)", raw)
        return None
    users = raw.get("users", [])
    upath = o.p("seed").key("users")
    if not isinstance(users, list):
        ctx.error(
            upath, f"must be a list, got {'a mapping' if isinstance(users, dict) else type(users).__name__}"
        )
        return raw
    for i, user in enumerate(users):
        label = user.get("SignInId") if isinstance(user, dict) else None
        path = upath.at(i, label if isinstance(label, str) else None)
        if not isinstance(user, dict):
            ctx.error(path, "must be a mapping")
            continue
        if "Password" in user:
            ctx.error(
                path.key("Password"), "clear passwords are not allowed in an inline seed; use PasswordHash"
            )
        if "PasswordHash" in user:
            h = user["PasswordHash"]
            if not isinstance(h, str):
                ctx.error(path.key("PasswordHash"), "must be a string (an argon2 hash)")
            else:
                problem = check_argon2(h)
                if problem:
                    ctx.error(path.key("PasswordHash"), problem)
    return raw


def read_routing(o: Obj) -> RoutingConfig:
    routing = RoutingConfig(
        paused=o.boolean("paused", False),
        logout_chats=o.choice("logout_chats", "requeue", ("requeue", "keep")),  # type: ignore[arg-type]
        wrapup_holds_capacity=o.boolean("wrapup_holds_capacity", True),
        default_handle_seconds=o.integer("default_handle_seconds", 300, 10, 7200),
    )
    o.finish()
    return routing


def read_tenant_limits(o: Obj) -> TenantLimits:
    blocked = (
        o.str_list("upload_blocked_types", [], check=check_blocked_type)
        if o.has("upload_blocked_types")
        else None
    )
    limits = TenantLimits(
        upload_max_bytes=o.opt_integer("upload_max_bytes", 1, None),
        upload_blocked_types=[b.lower() for b in blocked] if blocked is not None else None,
        message_max_chars=o.opt_integer("message_max_chars", 1, 100000),
    )
    o.get("upload_blocked_types")
    o.finish()
    return limits


def read_code_labels(ctx: Ctx, t: Obj, key: str, reserved: tuple[str, ...]) -> list[CodeLabel]:
    elements = t.items(key)
    if elements is None:
        defaults = DEFAULT_DISPOSITIONS if key == "dispositions" else DEFAULT_NOT_READY_REASONS
        return [CodeLabel(code=c, label=label) for c, label in defaults]
    result: list[CodeLabel] = []
    for i, item in elements:
        o = t.item_obj(key, i, item, "code")
        if o is None:
            continue
        code = o.req_string("code", check=check_name)
        if code in reserved:
            ctx.error(o.p("code"), f"{code} is reserved (reserved codes: {', '.join(reserved)})")
        elif code and any(c.code == code for c in result):
            ctx.error(o.p("code"), f"duplicate code {json.dumps(code)}")
        result.append(CodeLabel(code=code, label=o.string("label", code, min_len=1)))
        o.finish()
    return result


def read_canned_responses(ctx: Ctx, t: Obj, queue_names: set[str]) -> list[CannedResponse]:
    result: list[CannedResponse] = []
    for i, item in t.items("canned_responses") or []:
        o = t.item_obj("canned_responses", i, item, "id")
        if o is None:
            continue
        cid = o.req_string("id", check=check_name)
        if cid and any(c.id == cid for c in result):
            ctx.error(o.p("id"), f"duplicate canned response id {json.dumps(cid)}")
        queues = o.str_list("queues", [])
        for j, q in enumerate(queues):
            if q not in queue_names:
                ctx.error(o.p("queues").at(j), f"must name a queue of the tenant, got {json.dumps(q)}")
        result.append(
            CannedResponse(
                id=cid,
                title=o.req_string("title"),
                text=o.req_string("text", max_len=10000),
                shortcut=o.opt_string("shortcut", min_len=1),
                queues=queues,
            )
        )
        o.finish()
    return result


def read_webhooks(ctx: Ctx, t: Obj) -> list[WebhookConfig]:
    result: list[WebhookConfig] = []
    for i, item in t.items("webhooks") or []:
        o = t.item_obj("webhooks", i, item, "id")
        if o is None:
            continue
        wid = o.req_string("id", check=check_name)
        if wid and any(w.id == wid for w in result):
            ctx.error(o.p("id"), f"duplicate webhook id {json.dumps(wid)}")
        if not o.has("url"):
            ctx.error(o.p("url"), "is required")
        url = o.url("url") or ""
        events = o.str_list("events", [], check=_check_event)
        if o.data.get("events") == []:
            ctx.error(o.p("events"), "must list at least one event")
        elif not o.has("events"):
            ctx.error(o.p("events"), "is required (" + ", ".join(WEBHOOK_EVENTS) + ")")
        result.append(
            WebhookConfig(
                id=wid, url=url, events=events, secret=o.secret("secret"), enabled=o.boolean("enabled", True)
            )
        )
        o.finish()
    return result


def _check_event(value: str) -> str | None:
    if value in WEBHOOK_EVENTS:
        return None
    return f"must be one of {', '.join(WEBHOOK_EVENTS)}, got {json.dumps(value)}"


def read_retention(o: Obj) -> RetentionConfig:
    r = RetentionConfig(
        chats_days=o.integer("chats_days", 0, 0, None), files_days=o.integer("files_days", 0, 0, None)
    )
    o.finish()
    return r


def check_lockout(o: Obj, key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """`lockout` (§2): false, true, or an object that overrides the face's thresholds."""
    result = dict(defaults)
    if key not in o.data:
        o.used.add(key)
        return result
    value = o.get(key)
    if isinstance(value, bool):
        o.boolean(key, True)
        result["enabled"] = value
        return result
    if not isinstance(value, dict):
        o.type_error(
            key, "false, true or a mapping {enabled, max_failures, window_seconds, lock_seconds}", value
        )
        return result
    lk = Obj(o.ctx, value, o.p(key))
    result["enabled"] = lk.boolean("enabled", True)
    result["max_failures"] = lk.integer("max_failures", defaults["max_failures"], 1, 1000000)
    result["window_seconds"] = lk.seconds("window_seconds", defaults["window_seconds"], 1, 3600, 1)
    result["lock_seconds"] = lk.seconds("lock_seconds", defaults["lock_seconds"], 1, 3600, 1)
    lk.finish()
    return result
