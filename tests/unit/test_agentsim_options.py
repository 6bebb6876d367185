"""agent-sim options, profiles, texts and output lines (spec/native.md §10.2)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from frontdesk.agentsim.command import register
from frontdesk.agentsim.options import (
    DEFAULT_GREETING,
    OptionsError,
    SimOptions,
    build_options,
    collapse_whitespace,
    matches_end_on,
    render_echo,
    render_greeting,
)
from frontdesk.agentsim.output import JSON_KEYS, Output, SimStats, json_line, progress_line

NO_ENV: dict[str, str] = {}


def opts(env: dict[str, str] | None = None, **given: Any) -> SimOptions:
    return build_options(given, env=NO_ENV if env is None else env)


# -- defaults and profiles -------------------------------------------------------------------


def test_defaults_are_those_of_the_spec() -> None:
    o = opts(logins=["alice"])
    assert o.url == "http://127.0.0.1:8080"
    assert o.logins == ("alice",)
    assert o.password == "demo"
    assert (o.reply, o.echo_format, o.reply_text) == ("echo", "You said: {text}", "Thanks for your message.")
    assert (o.accept_delay, o.greeting_delay, o.think) == (0, 0, 0)
    assert o.typing is True
    assert o.greeting is None
    assert (o.end_on, o.farewell, o.end_after, o.hold) == (None, "Goodbye!", None, None)
    assert (o.wrapup, o.wrapup_notes, o.no_wrapup) == ("resolved", "Handled by agent-sim", False)
    assert (o.reject_rate, o.seed, o.duration, o.chats) == (0, None, None, None)
    assert (o.drain, o.json, o.progress) == (False, False, 5)
    assert (o.skills, o.max_chats, o.login_template) == (("support",), 3, "agent{n}")


def test_alex_profile() -> None:
    o = opts(profile="alex")
    assert o.logins == ("alex",)
    assert (o.accept_delay, o.greeting_delay, o.think) == (1, 0.5, 0.5)
    assert o.greeting is None  # from alex's profile
    assert (o.reply, o.echo_format, o.typing) == ("echo", "You said: {text}", True)
    assert (o.end_on, o.farewell, o.wrapup) == ("bye", "Goodbye!", "resolved")


def test_bench_profile() -> None:
    o = opts(profile="bench", count=3)
    assert o.logins == ("agent1", "agent2", "agent3")
    assert (o.accept_delay, o.greeting, o.reply, o.think) == (0, "", "echo", 0)
    assert (o.typing, o.progress) == (False, 5)


def test_explicit_options_win_over_the_profile() -> None:
    o = opts(profile="alex", think=2.0, typing=False, end_on="quit", logins=["bob"])
    assert (o.think, o.typing, o.end_on, o.logins) == (2.0, False, "quit", ("bob",))
    assert o.accept_delay == 1  # untouched profile values stay
    assert opts(profile="bench", count=1, greeting="Hi {first_name}").greeting == "Hi {first_name}"
    assert opts(profile="alex", count=2).logins == ("agent1", "agent2")  # --count replaces alex


def test_password_from_the_environment() -> None:
    assert opts({"FRONTDESK_AGENT_PASSWORD": "s3cret"}, logins=["a"]).password == "s3cret"
    assert opts({"FRONTDESK_AGENT_PASSWORD": "s3cret"}, logins=["a"], password="x").password == "x"
    env = {"FRONTDESK_ADMIN_PASSWORD": "root"}
    o = opts(env, count=2, create=True, admin_login="sam")
    assert o.admin_password == "root"


def test_login_template() -> None:
    assert opts(count=2, login_template="sim-{n}.x").logins == ("sim-1.x", "sim-2.x")
    assert opts(count=1, login_template="solo").logins == ("solo",)


# -- validation (exit code 2) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"logins": ["alice"], "count": 2},
        {"count": 0},
        {"count": 2, "login_template": "agent"},
        {"logins": ["Alice"]},
        {"logins": ["alice", "alice"]},
        {"logins": ["a"], "reject_rate": 1.5},
        {"logins": ["a"], "reject_rate": -0.1},
        {"logins": ["a"], "reject_rate": float("nan")},
        {"logins": ["a"], "reply": "shout"},
        {"logins": ["a"], "echo_format": "no placeholder"},
        {"logins": ["a"], "think": -1},
        {"logins": ["a"], "accept_delay": float("inf")},
        {"logins": ["a"], "end_after": 0},
        {"logins": ["a"], "chats": 0},
        {"logins": ["a"], "duration": 0},
        {"logins": ["a"], "hold": -2},
        {"logins": ["a"], "progress": -1},
        {"logins": ["a"], "url": "ftp://x"},
        {"logins": ["a"], "profile": "nobody"},
        {"logins": ["a"], "wrapup": "timeout"},
        {"logins": ["a"], "end_on": "  "},
        {"logins": ["a"], "create": True},
        {"count": 2, "create": True},
        {"count": 2, "create": True, "admin_login": "sam"},
        {"count": 2, "create": True, "admin_login": "sam", "admin_password": "x", "max_chats": 0},
        {"logins": ["a"], "no_such_option": 1},
    ],
)
def test_bad_options(given: dict[str, Any]) -> None:
    with pytest.raises(OptionsError) as err:
        build_options(given, env=NO_ENV)
    assert err.value.exit_code == 2


def test_reject_rate_bounds_are_inclusive() -> None:
    assert opts(logins=["a"], reject_rate=0.0).reject_rate == 0.0
    assert opts(logins=["a"], reject_rate=1.0).reject_rate == 1.0
    assert opts(logins=["a"], reply="none", echo_format="x").reply == "none"  # echo format unused


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """frontdesk"""

    register(app)
    return app


@pytest.mark.parametrize(
    "args",
    [
        ["--count", "2", "--login", "alice"],
        ["--login", "alice", "--reject-rate", "1.5"],
        ["--login", "alice", "--reply", "loud"],
        ["--login", "alice", "--think", "abc"],  # click's own usage error, also 2
        [],
    ],
)
def test_cli_exits_2_on_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(_cli(), ["agent-sim", *args])
    assert result.exit_code == 2, result.output


def test_cli_option_names() -> None:
    result = CliRunner().invoke(_cli(), ["agent-sim", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in (
        "--url", "--tenant", "--login", "--count", "--login-template", "--password", "--create",
        "--admin-login", "--admin-password", "--skills", "--max-chats", "--profile", "--greeting",
        "--reply", "--echo-format", "--reply-text", "--accept-delay", "--greeting-delay", "--think",
        "--typing", "--no-typing", "--end-on", "--farewell", "--end-after", "--hold", "--wrapup",
        "--wrapup-notes", "--no-wrapup", "--reject-rate", "--seed", "--duration", "--chats", "--drain",
        "--json", "--progress",
    ):  # fmt: skip
        assert name in result.output, name


# -- texts ---------------------------------------------------------------------------------------

ALICE = {
    "display_name": "Alice Martin",
    "first_name": "Alice",
    "last_name": "Martin",
    "screen_name": "Alice",
    "greeting": "Hi, my name is Alice. How may I help you?",
    "greeting_anonymous": None,
}
ALEX = {
    "display_name": "Alex Doe",
    "first_name": "Alex",
    "last_name": "Doe",
    "screen_name": "Alex",
    "greeting": "Hello {customer_name}, how can I help you?",
    "greeting_anonymous": "Hello, how can I help you?",
}
JOHN = {"name": "John Lee", "first_name": "John", "last_name": "Lee"}


def test_greeting_from_the_profile() -> None:
    assert render_greeting(None, ALICE, JOHN) == "Hi, my name is Alice. How may I help you?"
    assert render_greeting(None, ALEX, JOHN) == "Hello John Lee, how can I help you?"


def test_anonymous_greeting_when_the_customer_is_unknown() -> None:
    assert render_greeting(None, ALEX, {"name": None, "first_name": None}) == "Hello, how can I help you?"
    assert render_greeting(None, ALEX, None) == "Hello, how can I help you?"
    # Without greeting_anonymous the normal greeting is used, with an empty name.
    assert render_greeting(None, {**ALEX, "greeting_anonymous": None}, None) == "Hello , how can I help you?"


def test_customer_name_from_first_and_last() -> None:
    customer = {"name": None, "first_name": "John", "last_name": "Lee"}
    assert render_greeting(None, ALEX, customer) == "Hello John Lee, how can I help you?"


def test_tenant_default_greeting() -> None:
    profile = {**ALICE, "greeting": None}
    assert DEFAULT_GREETING == "Hi, my name is {display_name}. How may I help you?"
    assert render_greeting(None, profile, JOHN) == "Hi, my name is Alice Martin. How may I help you?"


def test_explicit_greeting_and_placeholders() -> None:
    template = "{first_name}|{last_name}|{screen_name}|{display_name}|{customer_name}|{customer_first_name}"
    assert render_greeting(template, ALICE, JOHN) == "Alice|Martin|Alice|Alice Martin|John Lee|John"
    assert render_greeting(template, ALICE, None) == "Alice|Martin|Alice|Alice Martin||"
    assert render_greeting("", ALICE, JOHN) == ""  # --greeting '' sends none
    assert render_greeting("Hi {unknown} {customer_first_name}", ALICE, JOHN) == "Hi {unknown} John"
    # Substituted values are not expanded again.
    assert render_greeting("{customer_name}", ALICE, {"name": "{display_name}"}) == "{display_name}"


def test_echo_format_collapses_whitespace() -> None:
    assert collapse_whitespace("  a \t b\n\nc  ") == "a b c"
    assert render_echo("You said: {text}", "Hello") == "You said: Hello"
    assert render_echo("You said: {text}", "  my   printer\n is\tbroken ") == "You said: my printer is broken"
    assert render_echo("<{text}> {other}", "x  y") == "<x y> {other}"


def test_end_on_matching() -> None:
    assert matches_end_on("bye", "  BYE ")
    assert matches_end_on("Bye", "bye")
    assert not matches_end_on("bye", "bye bye")
    assert not matches_end_on(None, "bye")


# -- output ------------------------------------------------------------------------------------


def test_json_line_shape() -> None:
    line = json_line("alice", "reply", chat_id="c1", chat_number=1001, seq=9, text="You said: hi")
    obj = json.loads(line)
    assert tuple(obj) == JSON_KEYS
    assert obj["agent"] == "alice" and obj["action"] == "reply"
    assert (obj["chat_id"], obj["chat_number"], obj["offer_id"], obj["seq"]) == ("c1", 1001, None, 9)
    assert (obj["text"], obj["detail"]) == ("You said: hi", None)
    assert len(obj["at"]) == 24 and obj["at"].endswith("Z") and obj["at"][19] == "."
    assert "\n" not in line
    with pytest.raises(ValueError):
        json_line("alice", "dance")


def test_output_writes_whole_flushed_lines() -> None:
    stream = io.StringIO()
    out = Output(stream, as_json=True)
    out.emit("alice", "login")
    out.emit("alice", "offer", chat_id="c", chat_number=5, offer_id="o", detail="queue")
    lines = stream.getvalue().splitlines()
    assert [json.loads(x)["action"] for x in lines] == ["login", "offer"]
    assert json.loads(lines[1])["offer_id"] == "o"
    human = io.StringIO()
    Output(human).emit("alice", "reply", chat_number=7, seq=3, text="hi")
    assert "alice" in human.getvalue() and "chat #7" in human.getvalue() and '"hi"' in human.getvalue()


def test_progress_line_and_percentiles() -> None:
    stats = SimStats(chats_target=2)
    for ms in range(1, 101):
        stats.message_sent(ms / 1000)
    stats.message_sent()
    assert stats.messages_sent == 101
    assert stats.percentile(50) == pytest.approx(0.050)
    assert stats.percentile(99) == pytest.approx(0.099)
    stats.chat_ended()
    assert not stats.target_reached.is_set()
    stats.chat_ended()
    assert stats.target_reached.is_set()
    line = progress_line(2, 3, 1, stats)
    assert "agents ready 2/3" in line and "open chats 1" in line and "chats handled 2" in line
    assert "messages sent 101" in line and "p50 50ms" in line and "p99 99ms" in line
