"""ServicePattern face with an agent on the native API, and the timers (checklist items 37, 38, 40,
46-50, 52, 54). Each module-scoped server is private, so the agent takes only this module's chats."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sp_agent import Agent, Customer, assert_error, close_all

from conftest import ServerProc, make_server

PARTY = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
T = 4  # inactivity timeout of the timer server
A = 4  # abandonment
GRACE = 2  # closing grace (ended_retention_seconds)


def _start(base: Path, mutate: Any) -> Iterator[ServerProc]:
    srv = make_server(base, mutate)
    srv.start()
    yield srv
    srv.stop()


def _sp(cfg: dict[str, Any]) -> dict[str, Any]:
    sp: dict[str, Any] = cfg["tenants"][0]["faces"]["servicepattern"]
    return sp


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    def mutate(cfg: dict[str, Any]) -> None:
        _sp(cfg)["long_poll_hold_seconds"] = 2

    yield from _start(tmp_path_factory.mktemp("sp-agent"), mutate)


@pytest.fixture(scope="module")
def timer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    def mutate(cfg: dict[str, Any]) -> None:
        _sp(cfg).update(long_poll_hold_seconds=2, abandon_seconds=A, ended_retention_seconds=GRACE)
        cfg["tenants"][0]["timers"]["inactivity"]["timeout_seconds"] = T

    yield from _start(tmp_path_factory.mktemp("sp-timers"), mutate)


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def connect(
    server: ServerProc, first_message: str | None = None
) -> tuple[Customer, Agent, list[dict[str, Any]]]:
    """A chat accepted by alice; returns the events polled until ``connected``."""
    c = Customer(server.base_url)
    c.start()
    if first_message is not None:
        c.say(first_message, "1")
    agent = Agent(server.base_url)
    agent.state("ready")
    assert c.chat_id is not None
    agent.accept(c.chat_id)
    seen = c.collect_until("chat_session_party_joined")
    while not any(e["event"] == "chat_session_status" and e["state"] == "connected" for e in seen):
        seen += c.events()
    return c, agent, seen


def finish(agent: Agent, chat_id: str) -> None:
    agent.http.post(f"/api/v1/chats/{chat_id}/end", json={})
    agent.wrapup(chat_id)
    agent.state("logged_out")


def test_item47_accept(agent_server: ServerProc) -> None:
    c, agent, seen = connect(agent_server)
    names = [(e["event"], e.get("state")) for e in seen]
    # As vendor clients do, skip Frontdesk's extension events (docs/servicepattern-extensions.md).
    names = [
        n for n in names if n != ("chat_session_status", "connecting") and not n[0].startswith("frontdesk_")
    ]
    assert names == [
        ("chat_session_status", "queued"),
        ("chat_session_party_joined", None),
        ("chat_session_status", "connected"),
    ]
    joined = seen[[e["event"] for e in seen].index("chat_session_party_joined")]
    assert set(joined) == {
        "event",
        "party_id",
        "first_name",
        "last_name",
        "display_name",
        "type",
        "timestamp",
    }
    assert joined["type"] == "internal" and PARTY.match(joined["party_id"])
    assert joined["first_name"] == "Alice" and joined["display_name"] == "Alice Martin"
    connected = seen[-1]
    assert connected["ewt"] == "0"
    finish(agent, str(c.chat_id))


def test_item48_agent_message(agent_server: ServerProc) -> None:
    c, agent, _ = connect(agent_server)
    agent.write(str(c.chat_id), "a < b & c\nok")
    [msg] = c.collect_until("chat_session_message")
    assert set(msg) == {"event", "channel", "party_id", "msg_id", "msg", "msg_text", "timestamp"}
    assert msg["channel"] == "web" and int(msg["msg_id"]) % 2 == 0
    assert msg["msg"] == "a &lt; b &amp; c<br>ok" and msg["msg_text"] == "a < b & c\nok"
    finish(agent, str(c.chat_id))


def test_item37_38_history_and_order(agent_server: ServerProc) -> None:
    c, agent, seen = connect(agent_server, first_message="Hello")
    chat_id = str(c.chat_id)
    for i in range(5):
        agent.write(chat_id, f"Hi John {i}")
    while sum(e["event"] == "chat_session_message" for e in seen) < 5:
        seen += c.events()
    stamps = [int(e["timestamp"]) for e in seen]
    assert stamps == sorted(stamps)
    agent_msgs = [e for e in seen if e["event"] == "chat_session_message"]
    assert [m["msg_text"] for m in agent_msgs] == [f"Hi John {i}" for i in range(5)]
    ids = [int(m["msg_id"]) for m in agent_msgs]
    assert ids == sorted(ids) and len(set(ids)) == 5
    hist = c.history().json()["events"]
    shape = [e["event"] + (":" + e["state"] if e["event"] == "chat_session_status" else "") for e in hist]
    shape = [s for s in shape if s != "chat_session_status:connecting"]
    assert (
        shape
        == [
            "chat_session_status:queued",
            "chat_session_message",
            "chat_session_party_joined",
            "chat_session_status:connected",
        ]
        + ["chat_session_message"] * 5
    )
    assert set(hist[0]) == {"event", "state", "ewt", "timestamp"}
    assert set(hist[1]) == {"event", "party_id", "msg_id", "msg", "msg_text", "timestamp"}
    assert hist[1]["party_id"] == chat_id and hist[1]["msg"] == "Hello"
    joined = next(e for e in hist if e["event"] == "chat_session_party_joined")
    assert hist[-1]["party_id"] == joined["party_id"] and hist[-1]["channel"] == "web"
    stamps = [int(e["timestamp"]) for e in hist]
    assert stamps == sorted(stamps)
    finish(agent, chat_id)


def test_item40_typing_not_in_history(agent_server: ServerProc) -> None:
    c, agent, _ = connect(agent_server)
    chat_id = str(c.chat_id)
    assert agent.http.post(f"/api/v1/chats/{chat_id}/typing", json={"typing": True}).status_code == 204
    typing = c.collect_until("chat_session_typing")
    assert typing[-1]["party_id"] and set(typing[-1]) == {"event", "party_id", "timestamp"}
    assert all(
        e["event"] not in ("chat_session_typing", "chat_session_not_typing")
        for e in c.history().json()["events"]
    )
    finish(agent, chat_id)
    c.collect_until("chat_session_ended")
    assert_error(c.history(), "5005", 404)


def test_item46_agent_file(agent_server: ServerProc) -> None:
    c, agent, _ = connect(agent_server)
    chat_id = str(c.chat_id)
    agent.send_file(chat_id, "invoice.pdf", b"%PDF-1.4 demo", "application/pdf")
    [ev] = [e for e in c.collect_until("chat_session_file") if e["event"] == "chat_session_file"]
    assert set(ev) == {"event", "party_id", "msg_id", "file_id", "file_name", "file_type", "timestamp"}
    assert ev["file_name"] == "invoice.pdf" and ev["file_type"] == "attachment" and int(ev["msg_id"]) % 2 == 0
    r = httpx.get(f"{c.api}/chats/{chat_id}/files/{ev['file_id']}")
    assert r.status_code == 200 and r.content == b"%PDF-1.4 demo"
    finish(agent, chat_id)


def test_item52_agent_closes(agent_server: ServerProc) -> None:
    c, agent, seen = connect(agent_server)
    party = next(e["party_id"] for e in seen if e["event"] == "chat_session_party_joined")
    agent.end(str(c.chat_id))
    tail = c.collect_until("chat_session_ended")
    names = [e["event"] for e in tail]
    assert names[-2:] == ["chat_session_party_left", "chat_session_ended"]
    assert tail[-2]["party_id"] == party
    assert_error(c.poll(), "5005", 404)
    agent.wrapup(str(c.chat_id))
    agent.state("logged_out")


def _timeline(c: Customer, until: str, t0: float, limit: float) -> list[tuple[float, dict[str, Any]]]:
    out: list[tuple[float, dict[str, Any]]] = []
    while time.monotonic() - t0 < limit:
        for e in c.events():
            out.append((time.monotonic() - t0, e))
            if e["event"] == until:
                return out
    raise AssertionError(f"no {until}: {out}")


def test_item49_inactivity(timer_server: ServerProc) -> None:
    c, agent, _ = connect(timer_server)
    t0 = time.monotonic()
    line = _timeline(c, "chat_session_inactivity_timeout", t0, T + 4)
    warnings = [(t, e) for t, e in line if e["event"] == "chat_session_timeout_warning"]
    assert len(warnings) == 1 and warnings[0][1]["msg"]
    assert T / 2 - 0.7 <= warnings[0][0] <= T / 2 + 1.0, warnings
    t_end, end = line[-1]
    assert end["msg"] and T - 0.7 <= t_end <= T + 1.0
    assert_error(c.poll(), "5005", 404)
    agent.wrapup(str(c.chat_id))
    agent.state("logged_out")


def test_item50_message_restarts_clock(timer_server: ServerProc) -> None:
    c, agent, _ = connect(timer_server)
    t0 = time.monotonic()
    line: list[tuple[float, dict[str, Any]]] = []
    said = False
    while time.monotonic() - t0 < 0.9 * T:
        if not said and time.monotonic() - t0 >= 0.4 * T:
            c.say("still here", "3")
            said = True
            continue
        with httpx.Client(timeout=0.4 * T) as h:
            try:
                r = h.get(c.url(f"/chats/{c.chat_id}/events"), headers=c.headers, timeout=0.2 * T)
                line += [(time.monotonic() - t0, e) for e in r.json()["events"]]
            except httpx.TimeoutException:
                pass
    assert said
    early = [e for t, e in line if e["event"] == "chat_session_timeout_warning" and t < 0.9 * T]
    assert not early, line
    if not any(e["event"] == "chat_session_timeout_warning" for _, e in line):
        line += _timeline(c, "chat_session_timeout_warning", t0, T + 2)
    warned = next(t for t, e in line if e["event"] == "chat_session_timeout_warning")
    assert 0.9 * T <= warned <= 0.9 * T + 1.0
    finish(agent, str(c.chat_id))


def test_item54_abandonment(timer_server: ServerProc) -> None:
    polled, silent = Customer(timer_server.base_url), Customer(timer_server.base_url)
    polled.start()
    silent.start()
    time.sleep(A + 0.7)
    events = polled.collect_until("chat_session_ended", timeout=3)
    assert events[-1]["event"] == "chat_session_ended"
    time.sleep(GRACE + 0.5)
    assert_error(silent.history(), "5005", 404)
    assert_error(silent.send({"event": "chat_session_end"}), "5005", 404)
