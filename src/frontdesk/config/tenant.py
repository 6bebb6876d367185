"""`tenants[]`: the tenant's own keys, calendars, queues and users (spec/config.md §3.3–3.6)."""

from __future__ import annotations

import datetime
import json
import os
import re
import zoneinfo

from .entries import read_entry_points
from .faces import read_faces
from .models import (
    CUSTOMER_FACES,
    CalendarConfig,
    Holiday,
    QueueConfig,
    TenantConfig,
    UserConfig,
    UserProfile,
    WebConfig,
)
from .reader import Ctx, Obj
from .sections import (
    read_canned_responses,
    read_code_labels,
    read_crm,
    read_retention,
    read_routing,
    read_surveys,
    read_tenant_limits,
    read_timers,
    read_webhooks,
)
from .values import check_argon2, check_host, check_name

TENANT_ID_RE = re.compile(r"[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?")
LOGIN_RE = re.compile(r"[a-z0-9._-]{1,64}")
INTERVAL_RE = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ROLES = ("agent", "supervisor", "admin")
SCREEN_NAME_FORBIDDEN = set('@/%^"<>&')


def check_tenant_id(value: str) -> str | None:
    if TENANT_ID_RE.fullmatch(value):
        return None
    return (
        "must be a tenant id (lower-case letters, digits, '.' and '-', starting and ending with a letter "
        f"or digit, at most 64 characters), got {json.dumps(value)}"
    )


def check_login(value: str) -> str | None:
    if LOGIN_RE.fullmatch(value):
        return None
    return f"must be a login of 1 to 64 characters from a-z, 0-9, '.', '_' and '-', got {json.dumps(value)}"


def check_timezone(value: str) -> str | None:
    if value == "UTC":
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"must be an IANA time zone name like Europe/Paris, got {json.dumps(value)}"
    return None


def check_screen_name(value: str) -> str | None:
    bad = sorted(SCREEN_NAME_FORBIDDEN.intersection(value))
    if bad:
        return f'must not contain any of @ / % ^ " < > &, got {json.dumps(value)}'
    return None


def read_tenant(ctx: Ctx, t: Obj) -> TenantConfig:
    ctx.secret_sink = {}
    ctx.secret_root = t.path.plain
    tid = t.req_string("id", check=check_tenant_id)
    display_name = t.string("display_name", tid, min_len=1)
    demo = t.boolean("demo", False)
    domains = t.str_list("domains", [], check=check_host)
    timezone = t.string("timezone", "UTC", check=check_timezone)
    public_base_url = t.url("public_base_url")
    calendars = _read_calendars(ctx, t)
    queues = _read_queues(ctx, t, calendars)
    users = _read_users(ctx, t)
    timers = read_timers(ctx, t.obj("timers") or Obj(ctx, {}, t.p("timers")))
    surveys = read_surveys(ctx, t)
    queue_names = {q.name for q in queues}
    entry_points = read_entry_points(ctx, t, queue_names, set(calendars) | {"always"}, set(surveys), timers)
    faces = read_faces(ctx, t.obj("faces") or Obj(ctx, {}, t.p("faces")), entry_points)
    crm = read_crm(ctx, t.obj("crm") or Obj(ctx, {}, t.p("crm")))
    routing = read_routing(t.obj("routing") or Obj(ctx, {}, t.p("routing")))
    limits = read_tenant_limits(t.obj("limits") or Obj(ctx, {}, t.p("limits")))
    dispositions = read_code_labels(ctx, t, "dispositions", ("timeout", "logged_out"))
    not_ready = read_code_labels(ctx, t, "not_ready_reasons", ("rona", "disconnected", "supervisor"))
    canned = read_canned_responses(ctx, t, queue_names)
    webhooks = read_webhooks(ctx, t)
    retention = read_retention(t.obj("retention") or Obj(ctx, {}, t.p("retention")))
    web = t.obj("web") or Obj(ctx, {}, t.p("web"))
    widget = web.opt_string("widget_entry_point")
    if widget is not None and not any(e.face == "servicepattern" and e.id == widget for e in entry_points):
        ctx.error(
            web.p("widget_entry_point"),
            f"must name a servicepattern entry point of the tenant, got {json.dumps(widget)}",
        )
    web.finish()

    if not demo:
        if faces.ece.demo_auto_agent:
            ctx.error(
                t.p("faces").key("ece").key("demo_auto_agent"), "may be true only on a tenant with demo: true"
            )
        if crm.allow_reset:
            ctx.error(t.p("crm").key("allow_reset"), "may be true only on a tenant with demo: true")
    if faces.ece.demo_auto_agent:
        alex = next((u for u in users if u.login == "alex"), None)
        if alex is None or "agent" not in alex.roles:
            ctx.error(
                t.p("faces").key("ece").key("demo_auto_agent"),
                "needs a user alex with the agent role in this tenant",
            )
    t.finish()
    return TenantConfig(
        id=tid,
        display_name=display_name,
        demo=demo,
        domains=domains,
        timezone=timezone,
        public_base_url=public_base_url,
        calendars=calendars,
        queues=queues,
        users=users,
        entry_points=entry_points,
        faces=faces,
        crm=crm,
        routing=routing,
        timers=timers,
        limits=limits,
        dispositions=dispositions,
        not_ready_reasons=not_ready,
        canned_responses=canned,
        surveys=surveys,
        webhooks=webhooks,
        retention=retention,
        web=WebConfig(widget_entry_point=widget),
        secret_sources=ctx.secret_sink,
    )


def _read_calendars(ctx: Ctx, t: Obj) -> dict[str, CalendarConfig]:
    cal_map = t.obj("calendars") or Obj(ctx, {}, t.p("calendars"))
    result: dict[str, CalendarConfig] = {}
    for name, value in cal_map.data.items():
        if not isinstance(name, str):
            continue
        cal_map.used.add(name)
        path = cal_map.p(name)
        problem = check_name(name)
        if problem:
            ctx.error(path, "calendar name " + problem)
            continue
        if name == "always":
            ctx.error(path, "the calendar always is built in and cannot be redefined")
            continue
        if not isinstance(value, dict):
            ctx.error(path, "must be a mapping with hours and holidays")
            continue
        c = Obj(ctx, value, path)
        hours_obj = c.obj("hours") or Obj(ctx, {}, c.p("hours"))
        hours: dict[str, list[str]] = {}
        for day in DAYS:
            intervals = _read_intervals(ctx, hours_obj, day)
            if intervals is not None:
                hours[day] = intervals
        hours_obj.finish()
        holidays: list[Holiday] = []
        for i, item in c.items("holidays") or []:
            h = c.item_obj("holidays", i, item, "date")
            if h is None:
                continue
            date = h.req_string("date", check=_check_holiday_date)
            holidays.append(Holiday(date=date, name=h.string("name", "")))
            h.finish()
        c.finish()
        result[name] = CalendarConfig(hours=hours, holidays=holidays)
    return result


def _read_intervals(ctx: Ctx, hours: Obj, day: str) -> list[str] | None:
    raw = hours.str_list(day, [], unique=False) if hours.has(day) else None
    if raw is None:
        return None
    spans: list[tuple[int, int, int]] = []
    for i, text in enumerate(raw):
        m = INTERVAL_RE.fullmatch(text)
        start = end = -1
        if m:
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
        if not m or start >= 24 * 60 or end > 24 * 60:
            ctx.error(
                hours.p(day).at(i),
                f'must be an interval "HH:MM-HH:MM" (end may be 24:00), got {json.dumps(text)}',
            )
            continue
        if end <= start:
            ctx.error(
                hours.p(day).at(i),
                f"end must be after start (split intervals across midnight), got {json.dumps(text)}",
            )
            continue
        spans.append((start, end, i))
    spans.sort()
    reach = -1
    for start, end, i2 in spans:
        if start < reach:
            ctx.error(hours.p(day).at(i2), f"overlaps another interval of {day}, got {json.dumps(raw[i2])}")
        reach = max(reach, end)
    return raw


def _check_holiday_date(value: str) -> str | None:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            datetime.date.fromisoformat(value)
            return None
        if re.fullmatch(r"\d{2}-\d{2}", value):
            datetime.date.fromisoformat("2000-" + value)  # a leap year, so 02-29 is accepted
            return None
    except ValueError:
        pass
    return f'must be a date "YYYY-MM-DD" (one day) or "MM-DD" (every year), got {json.dumps(value)}'


def _read_queues(ctx: Ctx, t: Obj, calendars: dict[str, CalendarConfig]) -> list[QueueConfig]:
    result: list[QueueConfig] = []
    names: set[str] = set()
    numbers: set[int] = set()
    for i, item in t.items("queues") or []:
        q = t.item_obj("queues", i, item, "name")
        if q is None:
            continue
        name = q.req_string("name", check=check_name)
        if name and name in names:
            ctx.error(q.p("name"), f"duplicate queue name {json.dumps(name)}")
        names.add(name)
        number = q.integer("number", i + 1, 1, None)
        if number in numbers:
            ctx.error(q.p("number"), f"duplicate queue number {number} (it defaults to the 1-based position)")
        numbers.add(number)
        calendar = q.string("calendar", "always", min_len=1)
        if calendar != "always" and calendar not in calendars:
            ctx.error(
                q.p("calendar"), f"must name a calendar of the tenant or always, got {json.dumps(calendar)}"
            )
        result.append(
            QueueConfig(
                name=name,
                number=number,
                display_name=q.string("display_name", name, min_len=1),
                skills=q.str_list("skills", [name] if name else [], check=check_name),
                priority=q.integer("priority", 0, -100, 100),
                max_waiting=q.opt_integer("max_waiting", 0, None),
                max_wait_seconds=q.seconds("max_wait_seconds", 0, 10, 86400, 1, zero_ok=True),
                service_level_seconds=q.integer("service_level_seconds", 60, 1, 3600),
                calendar=calendar,
            )
        )
        q.finish()
    return result


def _read_users(ctx: Ctx, t: Obj) -> list[UserConfig]:
    result: list[UserConfig] = []
    logins: set[str] = set()
    for i, item in t.items("users") or []:
        u = t.item_obj("users", i, item, "login")
        if u is None:
            continue
        login = u.req_string("login", check=check_login)
        if login and login in logins:
            ctx.error(u.p("login"), f"duplicate login {json.dumps(login)}")
        logins.add(login)
        roles = u.str_list("roles", ["agent"], check=_check_role)
        password_hash = u.opt_string("password_hash", check=check_argon2)
        disabled = u.boolean("disabled", False)
        p = u.obj("profile") or Obj(ctx, {}, u.p("profile"))
        first = p.string("first_name", "")
        last = p.string("last_name", "")
        full = f"{first} {last}".strip()
        display_default = full[:100] if full else login
        screen_default = first if first and len(first) <= 64 and not check_screen_name(first) else login
        photo = p.path_value("photo_file")
        if photo is not None and os.path.isfile(photo):
            if not photo.lower().endswith((".png", ".jpg", ".jpeg", ".webp")):
                ctx.error(p.p("photo_file"), f"must be a PNG, JPEG or WebP file, got {photo}")
            elif os.path.getsize(photo) > 1024 * 1024:
                ctx.error(p.p("photo_file"), "must be at most 1 MiB")
        profile = UserProfile(
            display_name=p.string("display_name", display_default or "?", min_len=1, max_len=100),
            first_name=first,
            last_name=last,
            screen_name=p.string(
                "screen_name", screen_default or "?", min_len=1, max_len=64, check=check_screen_name
            ),
            greeting=p.opt_string("greeting"),
            greeting_anonymous=p.opt_string("greeting_anonymous"),
            photo_file=photo,
        )
        p.finish()
        result.append(
            UserConfig(
                login=login,
                roles=roles,
                password_hash=password_hash,
                disabled=disabled,
                profile=profile,
                skills=u.str_list("skills", [], check=check_name),
                max_chats=u.integer("max_chats", 3, 1, 20),
                channels=u.str_list("channels", list(CUSTOMER_FACES), check=_check_channel),
            )
        )
        u.finish()
    return result


def _check_role(value: str) -> str | None:
    return None if value in ROLES else f"must be one of {', '.join(ROLES)}, got {json.dumps(value)}"


def _check_channel(value: str) -> str | None:
    if value in CUSTOMER_FACES:
        return None
    return f"must be one of {', '.join(CUSTOMER_FACES)}, got {json.dumps(value)}"
