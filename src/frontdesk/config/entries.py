"""`tenants[].entry_points[]` (spec/config.md §3.7)."""

from __future__ import annotations

import json
import re
from typing import Any

from .models import (
    EntryPointConfig,
    IceServer,
    InactivityOverride,
    MaskingPattern,
    PostChatSurvey,
    SpParameter,
    TimersConfig,
)
from .reader import Ctx, Obj
from .values import check_name

FACE_KEYS: dict[str, tuple[str, ...]] = {
    "servicepattern": (
        "parameters",
        "post_chat_survey",
        "read_receipts",
        "push_kinds",
        "ice_servers",
        "widget_configuration",
        "icon_file",
    ),
    "rightnow": (),
    "fusion": ("queue_ids",),
    "ece": ("max_queue_depth", "agent_availability_required", "masking_patterns", "attachments"),
}
ENTRY_FACES = tuple(FACE_KEYS)
PARAMETER_TYPES = ("PHONE", "TEXT", "EMAIL", "FIRST_NAME", "LAST_NAME", "ACCOUNT", "COMPANY")
PUSH_KINDS = ("ios_apns", "ios_firebase", "android_firebase")
DEFAULT_WIDGET_CONFIGURATION: dict[str, Any] = {
    "widgets": [
        {"name": "default", "urls": [], "definition": {"contact_tab": {"enabled": False}}, "styles": {}}
    ]
}
RIGHTNOW_ID_RE = re.compile(r"[A-Za-z0-9_]{1,64}")
FUSION_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Python-only regex syntax that JavaScript rejects or reads differently (§3.7 masking_patterns).
_PY_ONLY_REGEX = re.compile(r"\(\?P|\(\?#|\\A|\\Z|\(\?[aiLmsux]+\)|\(\?>|\*\+|\+\+|\?\+")
JAVA_LONG_MIN, JAVA_LONG_MAX = -(2**63), 2**63 - 1


def check_entry_id(face: str, value: str) -> str | None:
    if face == "servicepattern":
        return (
            None
            if value.strip() == value and value
            else f"must be a non-empty appId without surrounding spaces, got {json.dumps(value)}"
        )
    if face == "rightnow":
        if RIGHTNOW_ID_RE.fullmatch(value):
            return None
        return f"must be a RightNow interface name (1 to 64 of A-Z, a-z, 0-9, _), got {json.dumps(value)}"
    if face == "fusion":
        if FUSION_ID_RE.fullmatch(value):
            return None
        return f"must be a chat site name (1 to 64 of A-Z, a-z, 0-9, _, ., -), got {json.dumps(value)}"
    if face == "ece":
        if re.fullmatch(r"-?(0|[1-9][0-9]*)", value) and JAVA_LONG_MIN <= int(value) <= JAVA_LONG_MAX:
            return None
        return f'must be a decimal string in the Java long range, like "1000", got {json.dumps(value)}'
    return None


def read_entry_points(
    ctx: Ctx,
    t: Obj,
    queues: set[str],
    calendars: set[str],
    surveys: set[str],
    timers: TimersConfig,
) -> list[EntryPointConfig]:
    result: list[EntryPointConfig] = []
    for i, item in t.items("entry_points") or []:
        e = t.item_obj("entry_points", i, item, "id")
        if e is None:
            continue
        ep = _read_entry_point(ctx, e, queues, calendars, surveys, timers)
        if ep is not None:
            result.append(ep)
    fusion = [i for i, ep in enumerate(result) if ep.face == "fusion"]
    if len(fusion) > 1:
        ctx.error(t.p("entry_points"), f"a tenant may have at most one fusion entry point, got {len(fusion)}")
    return result


def _read_entry_point(
    ctx: Ctx,
    e: Obj,
    queues: set[str],
    calendars: set[str],
    surveys: set[str],
    timers: TimersConfig,
) -> EntryPointConfig | None:
    face = e.req_string("face")
    if face and face not in ENTRY_FACES:
        ctx.error(e.p("face"), f"must be one of {', '.join(ENTRY_FACES)}, got {json.dumps(face)}")
        face = ""
    ep_id = e.req_string("id", check=(lambda v: check_entry_id(face, v)) if face else None)
    queue = e.req_string("queue")
    if queue and queue not in queues:
        ctx.error(e.p("queue"), f"must name a queue of the tenant, got {json.dumps(queue)}")
    calendar = e.opt_string("calendar")
    if calendar is not None and calendar not in calendars:
        ctx.error(
            e.p("calendar"), f"must name a calendar of the tenant or always, got {json.dumps(calendar)}"
        )
    ina = e.obj("inactivity") or Obj(ctx, {}, e.p("inactivity"))
    inactivity = InactivityOverride(
        timeout_seconds=(
            ina.seconds("timeout_seconds", 0, 60, 86400, 2, zero_ok=True)
            if ina.has("timeout_seconds")
            else None
        ),
        warning_text=ina.opt_string("warning_text", min_len=1),
        timeout_text=ina.opt_string("timeout_text", min_len=1),
    )
    ina.used.add("timeout_seconds")
    ina.finish()
    ep = EntryPointConfig(
        face=face,
        id=ep_id,
        name=e.string("name", ep_id, min_len=1),
        queue=queue,
        enabled=e.boolean("enabled", True),
        calendar=calendar,
        skills=e.str_list("skills", [], check=check_name),
        priority=e.opt_integer("priority", -100, 100),
        inactivity=inactivity,
    )
    if face:
        for other, keys in FACE_KEYS.items():
            if other != face:
                e.forbid({k: f"is only allowed on {other} entry points, this one is {face}" for k in keys})
    if face == "servicepattern":
        _read_servicepattern(ctx, e, ep, surveys, timers)
    elif face == "fusion":
        ep.queue_ids = _read_queue_ids(ctx, e, queues)
    elif face == "ece":
        ep.max_queue_depth = e.opt_integer("max_queue_depth", 0, None)
        ep.agent_availability_required = e.boolean("agent_availability_required", True)
        ep.masking_patterns = _read_masking(ctx, e)
        ep.attachments = e.boolean("attachments", False)
        if ep.attachments:
            ctx.error(e.p("attachments"), "must be false in this version, got true")
    e.finish()
    return ep


def _read_servicepattern(
    ctx: Ctx, e: Obj, ep: EntryPointConfig, surveys: set[str], timers: TimersConfig
) -> None:
    params: list[SpParameter] = []
    for i, item in e.items("parameters") or []:
        p = e.item_obj("parameters", i, item, "name")
        if p is None:
            continue
        name = p.req_string("name")
        if name and any(x.name == name for x in params):
            ctx.error(p.p("name"), f"duplicate parameter {json.dumps(name)}")
        ptype = p.req_string("type")
        if ptype and ptype not in PARAMETER_TYPES:
            ctx.error(p.p("type"), f"must be one of {', '.join(PARAMETER_TYPES)}, got {json.dumps(ptype)}")
        params.append(SpParameter(name=name, type=ptype))
        p.finish()
    ep.parameters = params
    survey = e.obj("post_chat_survey", nullable=True) if e.has("post_chat_survey") else None
    e.used.add("post_chat_survey")
    if survey is not None:
        name = survey.req_string("survey")
        if name and name not in surveys:
            ctx.error(
                survey.p("survey"), f"must name a survey of the tenant (surveys), got {json.dumps(name)}"
            )
        timeout = survey.seconds("timeout_seconds", timers.form_timeout_seconds, 10, 3600, 1)
        survey.finish()
        ep.post_chat_survey = PostChatSurvey(survey=name, timeout_seconds=timeout)
    ep.read_receipts = e.boolean("read_receipts", False)
    ep.push_kinds = e.str_list("push_kinds", list(PUSH_KINDS), check=_check_push_kind)
    servers: list[IceServer] = []
    for i, item in e.items("ice_servers") or []:
        s = e.item_obj("ice_servers", i, item, "url")
        if s is None:
            continue
        servers.append(
            IceServer(
                url=s.req_string("url"),
                username=s.opt_string("username"),
                credential=s.secret("credential"),
            )
        )
        s.finish()
    ep.ice_servers = servers
    widget = e.json_value("widget_configuration")
    ep.widget_configuration = (
        widget if widget is not None else json.loads(json.dumps(DEFAULT_WIDGET_CONFIGURATION))
    )
    ep.icon_file = e.path_value("icon_file")


def _check_push_kind(value: str) -> str | None:
    return None if value in PUSH_KINDS else f"must be one of {', '.join(PUSH_KINDS)}, got {json.dumps(value)}"


def _read_queue_ids(ctx: Ctx, e: Obj, queues: set[str]) -> dict[str, str]:
    m = e.obj("queue_ids") or Obj(ctx, {}, e.p("queue_ids"))
    result: dict[str, str] = {}
    for key in list(m.data):
        if not isinstance(key, str):
            continue  # Obj already reported the non-string key
        if not re.fullmatch(r"[0-9]+", key):
            ctx.error(m.p(key), f'queueId keys must be decimal text like "2", got {json.dumps(key)}')
            m.used.add(key)
            continue
        name = m.req_string(key)
        if name and name not in queues:
            ctx.error(m.p(key), f"must name a queue of the tenant, got {json.dumps(name)}")
        result[key] = name
    m.finish()
    return result


def _read_masking(ctx: Ctx, e: Obj) -> list[MaskingPattern]:
    result: list[MaskingPattern] = []
    for i, item in e.items("masking_patterns") or []:
        m = e.item_obj("masking_patterns", i, item, None)
        if m is None:
            continue
        regex = m.req_string("regex")
        if regex:
            try:
                re.compile(regex)
            except re.error as exc:
                ctx.error(m.p("regex"), f"must be a valid regular expression: {exc}")
            else:
                bad = _PY_ONLY_REGEX.search(regex)
                if bad:
                    ctx.error(
                        m.p("regex"),
                        f"uses {bad.group(0)}, which JavaScript regular expressions do not share",
                    )
        mask_char = m.string("mask_char", "*", min_len=1, max_len=1)
        result.append(
            MaskingPattern(
                regex=regex,
                mask_char=mask_char,
                retain_left=m.integer("retain_left", 0, 0, None),
                retain_right=m.integer("retain_right", 0, 0, None),
                luhn=m.boolean("luhn", False),
            )
        )
        m.finish()
    return result
