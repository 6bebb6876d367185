"""Options of `frontdesk agent-sim` (spec/native.md §10.2.1) and their profiles (§10.2.4).

The CLI and in-process callers (tests, benchmarks, the demo auto-agent) all go through
`build_options`, so profile merging and validation behave the same whichever way the simulator
is started.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

DEFAULT_URL: Final = "http://127.0.0.1:8080"
DEFAULT_GREETING: Final = "Hi, my name is {display_name}. How may I help you?"
REPLY_MODES: Final = ("echo", "fixed", "none")
LOGIN_RE: Final = re.compile(r"[a-z0-9._-]{1,64}")
WRAPUP_NOTES_MAX: Final = 16_000
RESERVED_DISPOSITIONS: Final = frozenset({"timeout", "logged_out"})


class OptionsError(ValueError):
    """Bad options: the command exits with code 2 (spec/native.md §10.2.1)."""

    exit_code: Final = 2


@dataclass(frozen=True)
class SimOptions:
    """Every option of §10.2.1 after the profile has been applied.

    `greeting` is None for "the agent's profile greeting" and "" for "no greeting", which is why
    it is the one text option that keeps a None default. `logins` is always filled in (from
    `--login`, or generated from `--count` and `--login-template`).
    """

    url: str = DEFAULT_URL
    tenant: str | None = None
    logins: tuple[str, ...] = ()
    count: int | None = None
    login_template: str = "agent{n}"
    password: str = "demo"
    create: bool = False
    admin_login: str | None = None
    admin_password: str | None = None
    skills: tuple[str, ...] = ("support",)
    max_chats: int = 3
    profile: str = "default"
    greeting: str | None = None
    reply: str = "echo"
    echo_format: str = "You said: {text}"
    reply_text: str = "Thanks for your message."
    accept_delay: float = 0.0
    greeting_delay: float = 0.0
    think: float = 0.0
    typing: bool = True
    end_on: str | None = None
    farewell: str = "Goodbye!"
    end_after: int | None = None
    hold: float | None = None
    wrapup: str = "resolved"
    wrapup_notes: str = "Handled by agent-sim"
    no_wrapup: bool = False
    reject_rate: float = 0.0
    seed: int | None = None
    duration: float | None = None
    chats: int | None = None
    drain: bool = False
    json: bool = False
    progress: float = 5.0


OPTION_NAMES: Final = frozenset(f.name for f in fields(SimOptions))

# Profiles are partial option sets; explicit options win over them (§10.2.4).
PROFILES: Final[Mapping[str, Mapping[str, Any]]] = {
    "default": {},
    "alex": {
        "logins": ("alex",),
        "accept_delay": 1.0,
        "greeting_delay": 0.5,
        "greeting": None,
        "reply": "echo",
        "echo_format": "You said: {text}",
        "think": 0.5,
        "typing": True,
        "end_on": "bye",
        "farewell": "Goodbye!",
        "wrapup": "resolved",
    },
    "bench": {
        "accept_delay": 0.0,
        "greeting": "",
        "reply": "echo",
        "think": 0.0,
        "typing": False,
        "progress": 5.0,
    },
}


def build_options(
    explicit: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> SimOptions:
    """Merge defaults, the chosen profile and the explicitly given options, then validate.

    `explicit` holds only options the user actually gave (None values are treated as absent,
    except `greeting`, where the CLI passes "" for `--greeting ''`). `env` defaults to
    `os.environ` and supplies the two password variables.
    """
    given = {k: v for k, v in (explicit or {}).items() if v is not None}
    unknown = set(given) - OPTION_NAMES
    if unknown:
        raise OptionsError(f"unknown option(s): {', '.join(sorted(unknown))}")
    environ = os.environ if env is None else env
    profile = str(given.get("profile", "default"))
    if profile not in PROFILES:
        raise OptionsError(f"--profile: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    merged: dict[str, Any] = dict(PROFILES[profile])
    if "logins" in given or "count" in given:
        # A profile's agent list yields to any explicit choice of agents.
        merged.pop("logins", None)
    merged.update(given)
    merged["profile"] = profile
    if "password" not in merged:
        merged["password"] = environ.get("FRONTDESK_AGENT_PASSWORD") or "demo"
    if "admin_password" not in merged and environ.get("FRONTDESK_ADMIN_PASSWORD"):
        merged["admin_password"] = environ["FRONTDESK_ADMIN_PASSWORD"]
    for key in ("logins", "skills"):
        if key in merged:
            merged[key] = tuple(merged[key])
    opts = replace(SimOptions(), **merged)
    return validate(opts)


def validate(opts: SimOptions) -> SimOptions:
    """Check every option; return the options with `logins` generated for `--count`."""
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", opts.url):
        raise OptionsError(f"--url: not an http(s) URL: {opts.url!r}")
    if opts.logins and opts.count is not None:
        raise OptionsError("--count and --login are exclusive")
    logins = opts.logins
    if opts.count is not None:
        if opts.count < 1:
            raise OptionsError("--count: must be at least 1")
        if opts.count > 1 and "{n}" not in opts.login_template:
            raise OptionsError("--login-template: must contain {n} when --count is above 1")
        logins = tuple(opts.login_template.replace("{n}", str(n)) for n in range(1, opts.count + 1))
    if not logins:
        raise OptionsError("give --login (repeatable) or --count")
    for login in logins:
        if not LOGIN_RE.fullmatch(login):
            raise OptionsError(f"--login: invalid login {login!r} (expected [a-z0-9._-]{{1,64}})")
    if len(set(logins)) != len(logins):
        raise OptionsError("--login: the same agent is given twice")
    if opts.create:
        if opts.count is None:
            raise OptionsError("--create needs --count")
        if not opts.admin_login:
            raise OptionsError("--create needs --admin-login")
        if not opts.admin_password:
            raise OptionsError("--create needs --admin-password or FRONTDESK_ADMIN_PASSWORD")
        if not opts.skills or not all(s.strip() for s in opts.skills):
            raise OptionsError("--skills: give at least one skill name")
        if not 1 <= opts.max_chats <= 20:
            raise OptionsError("--max-chats: must be 1..20")
    if not opts.password:
        raise OptionsError("--password: must not be empty")
    if opts.reply not in REPLY_MODES:
        raise OptionsError(f"--reply: must be one of {', '.join(REPLY_MODES)}")
    if opts.reply == "echo" and "{text}" not in opts.echo_format:
        raise OptionsError("--echo-format: must contain {text}")
    if opts.reply == "fixed" and not opts.reply_text.strip():
        raise OptionsError("--reply-text: must not be empty")
    for name in ("accept_delay", "greeting_delay", "think", "progress"):
        _non_negative(name, getattr(opts, name))
    if opts.hold is not None:
        _non_negative("hold", opts.hold)
    if opts.duration is not None:
        _non_negative("duration", opts.duration)
        if opts.duration == 0:
            raise OptionsError("--duration: must be above 0")
    if opts.end_after is not None and opts.end_after < 1:
        raise OptionsError("--end-after: must be at least 1")
    if opts.chats is not None and opts.chats < 1:
        raise OptionsError("--chats: must be at least 1")
    if opts.end_on is not None and not opts.end_on.strip():
        raise OptionsError("--end-on: must not be empty")
    if opts.end_on is not None and not opts.farewell.strip():
        raise OptionsError("--farewell: must not be empty")
    if not (math.isfinite(opts.reject_rate) and 0.0 <= opts.reject_rate <= 1.0):
        raise OptionsError("--reject-rate: must be between 0 and 1")
    if not opts.no_wrapup:
        if not opts.wrapup.strip():
            raise OptionsError("--wrapup: must not be empty")
        if opts.wrapup in RESERVED_DISPOSITIONS:
            raise OptionsError(f"--wrapup: {opts.wrapup!r} is reserved for automatic wrap-ups")
        if len(opts.wrapup_notes) > WRAPUP_NOTES_MAX:
            raise OptionsError(f"--wrapup-notes: at most {WRAPUP_NOTES_MAX} characters")
    if opts.tenant is not None and not opts.tenant.strip():
        raise OptionsError("--tenant: must not be empty")
    return replace(opts, logins=logins)


def _non_negative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise OptionsError(f"--{name.replace('_', '-')}: must be a number of seconds >= 0")


def collapse_whitespace(text: str) -> str:
    """Whitespace runs become one space and the ends are trimmed (`--echo-format`'s `{text}`)."""
    return " ".join(text.split())


def render_echo(echo_format: str, customer_text: str) -> str:
    """Plain substitution rather than str.format, so braces elsewhere in the format are literal."""
    return echo_format.replace("{text}", collapse_whitespace(customer_text))


def customer_names(customer: Mapping[str, Any] | None) -> tuple[str, str]:
    """(full name, first name) of a chat's customer, each "" when unknown (§10.2.3)."""
    if not customer:
        return "", ""
    first = str(customer.get("first_name") or "").strip()
    last = str(customer.get("last_name") or "").strip()
    name = str(customer.get("name") or "").strip() or " ".join(p for p in (first, last) if p)
    return name, first


def greeting_template(override: str | None, profile: Mapping[str, Any] | None, customer_name: str) -> str:
    """Choose the template exactly as §10.2.3: `--greeting`, else the profile's, else the default."""
    if override is not None:
        return override
    prof = profile or {}
    anonymous = prof.get("greeting_anonymous")
    if not customer_name and anonymous:
        return str(anonymous)
    greeting = prof.get("greeting")
    return str(greeting) if greeting else DEFAULT_GREETING


def render_greeting(
    override: str | None,
    profile: Mapping[str, Any] | None,
    customer: Mapping[str, Any] | None,
) -> str:
    """The greeting text; "" means send none. Unknown placeholders are left as they are."""
    customer_name, customer_first = customer_names(customer)
    template = greeting_template(override, profile, customer_name)
    prof = profile or {}
    values = {
        "display_name": str(prof.get("display_name") or ""),
        "first_name": str(prof.get("first_name") or ""),
        "last_name": str(prof.get("last_name") or ""),
        "screen_name": str(prof.get("screen_name") or ""),
        "customer_name": customer_name,
        "customer_first_name": customer_first,
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def matches_end_on(end_on: str | None, text: str) -> bool:
    """`--end-on` compares case-insensitively after trimming."""
    return end_on is not None and text.strip().casefold() == end_on.strip().casefold()
