"""The `frontdesk agent-sim` command line (spec/native.md §10.2.1).

Every option defaults to None here so that `build_options` can tell an explicit option from an
absent one: explicit options win over the profile (§10.2.4), absent ones take the profile's value.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from frontdesk.agentsim.options import OptionsError, build_options
from frontdesk.agentsim.runner import run_agent_sim

Opt = typer.Option


def register(app: typer.Typer) -> None:
    """Add `agent-sim` to the `frontdesk` application."""
    app.command(
        "agent-sim",
        help="Log in simulated agents through the native API and answer chats (spec/native.md §10.2).",
    )(agent_sim)


def agent_sim(
    url: Annotated[str | None, Opt("--url", help="Server base URL (default: http://127.0.0.1:8080)")] = None,
    tenant: Annotated[str | None, Opt("--tenant", help="Tenant id or domain")] = None,
    login: Annotated[list[str] | None, Opt("--login", help="Agent to run (repeatable)")] = None,
    count: Annotated[int | None, Opt("--count", help="Run N agents named by --login-template")] = None,
    login_template: Annotated[
        str | None, Opt("--login-template", help="Login pattern for --count (default: agent{n})")
    ] = None,
    password: Annotated[
        str | None,
        Opt("--password", help="Password of every agent (default: $FRONTDESK_AGENT_PASSWORD or demo)"),
    ] = None,
    create: Annotated[bool, Opt("--create", help="With --count: create missing agents (admin API)")] = False,
    admin_login: Annotated[str | None, Opt("--admin-login", help="Admin user for --create")] = None,
    admin_password: Annotated[
        str | None, Opt("--admin-password", help="Admin password (default: $FRONTDESK_ADMIN_PASSWORD)")
    ] = None,
    skills: Annotated[
        str | None, Opt("--skills", help="Skills of created agents, a,b (default: support)")
    ] = None,
    max_chats: Annotated[
        int | None, Opt("--max-chats", help="max_chats of created agents (default: 3)")
    ] = None,
    profile: Annotated[
        str | None, Opt("--profile", help="Preset: default, alex, bench (default: default)")
    ] = None,
    greeting: Annotated[
        str | None,
        Opt("--greeting", help="Greeting after accepting; '' sends none (default: profile greeting)"),
    ] = None,
    reply: Annotated[str | None, Opt("--reply", help="echo, fixed or none (default: echo)")] = None,
    echo_format: Annotated[
        str | None,
        Opt("--echo-format", help="Echo reply; {text} is the customer's line (default: You said: {text})"),
    ] = None,
    reply_text: Annotated[
        str | None, Opt("--reply-text", help="Fixed reply (default: Thanks for your message.)")
    ] = None,
    accept_delay: Annotated[
        float | None, Opt("--accept-delay", help="Seconds before accepting (default: 0)")
    ] = None,
    greeting_delay: Annotated[
        float | None, Opt("--greeting-delay", help="Seconds between accepting and the greeting (default: 0)")
    ] = None,
    think: Annotated[
        float | None, Opt("--think", help="Seconds of typing before each reply (default: 0)")
    ] = None,
    typing: Annotated[
        bool | None, Opt("--typing/--no-typing", help="Send typing around the think time (default: on)")
    ] = None,
    end_on: Annotated[
        str | None, Opt("--end-on", help="Customer line that ends the chat with --farewell")
    ] = None,
    farewell: Annotated[
        str | None, Opt("--farewell", help="Last line for --end-on (default: Goodbye!)")
    ] = None,
    end_after: Annotated[int | None, Opt("--end-after", help="End a chat after replying to N lines")] = None,
    hold: Annotated[float | None, Opt("--hold", help="End a chat S seconds after accepting")] = None,
    wrapup: Annotated[str | None, Opt("--wrapup", help="Wrap-up disposition (default: resolved)")] = None,
    wrapup_notes: Annotated[
        str | None, Opt("--wrapup-notes", help="Wrap-up notes (default: Handled by agent-sim)")
    ] = None,
    no_wrapup: Annotated[bool, Opt("--no-wrapup", help="Never wrap up")] = False,
    reject_rate: Annotated[
        float | None, Opt("--reject-rate", help="Fraction (0-1) of offers to reject (default: 0)")
    ] = None,
    seed: Annotated[int | None, Opt("--seed", help="Random seed (default: random)")] = None,
    duration: Annotated[float | None, Opt("--duration", help="Stop after S seconds")] = None,
    chats: Annotated[int | None, Opt("--chats", help="Stop after N chats have ended")] = None,
    drain: Annotated[bool, Opt("--drain", help="On stop, go not ready and let open chats end first")] = False,
    json_: Annotated[bool, Opt("--json", help="One JSON line per action")] = False,
    progress: Annotated[
        float | None, Opt("--progress", help="Status line every S seconds; 0 disables (default: 5)")
    ] = None,
) -> None:
    explicit: dict[str, Any] = {
        "url": url,
        "tenant": tenant,
        "logins": tuple(login) if login else None,
        "count": count,
        "login_template": login_template,
        "password": password,
        "admin_login": admin_login,
        "admin_password": admin_password,
        "skills": tuple(s.strip() for s in skills.split(",") if s.strip()) if skills is not None else None,
        "max_chats": max_chats,
        "profile": profile,
        "greeting": greeting,
        "reply": reply,
        "echo_format": echo_format,
        "reply_text": reply_text,
        "accept_delay": accept_delay,
        "greeting_delay": greeting_delay,
        "think": think,
        "typing": typing,
        "end_on": end_on,
        "farewell": farewell,
        "end_after": end_after,
        "hold": hold,
        "wrapup": wrapup,
        "wrapup_notes": wrapup_notes,
        "reject_rate": reject_rate,
        "seed": seed,
        "duration": duration,
        "chats": chats,
        "progress": progress,
        # Plain flags only ever switch something on, so "given" means True.
        "create": create or None,
        "no_wrapup": no_wrapup or None,
        "drain": drain or None,
        "json": json_ or None,
    }
    try:
        opts = build_options(explicit)
    except OptionsError as exc:
        typer.echo(f"agent-sim: error: {exc}", err=True)
        raise typer.Exit(OptionsError.exit_code) from exc
    try:
        code = asyncio.run(run_agent_sim(opts))
    except KeyboardInterrupt:  # a signal before the handlers were installed
        code = 0
    sys.stdout.flush()
    raise typer.Exit(code)
