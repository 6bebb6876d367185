"""ServicePattern face: the long poll (checklist items 32-36) on the demo server (hold 10 s)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sp_agent import Customer, close_all

from conftest import ServerProc


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def started(server: ServerProc) -> Customer:
    c = Customer(server.base_url)
    c.start()
    return c


def test_item32_first_poll_at_once(server: ServerProc) -> None:
    c = started(server)
    t0 = time.monotonic()
    events = c.events()
    assert time.monotonic() - t0 < 1.0
    first = events[0]
    assert first["event"] == "chat_session_status" and first["state"] == "queued"
    assert isinstance(first["ewt"], str) and first["ewt"].isdigit()
    assert isinstance(first["timestamp"], str) and first["timestamp"].isdigit()


def test_item33_idle_poll_hold(server: ServerProc) -> None:
    c = started(server)
    c.events()
    t0 = time.monotonic()
    r = c.poll()
    held = time.monotonic() - t0
    assert r.status_code == 200 and r.json() == {"events": []}
    assert 9.0 <= held <= 11.0, held


def _poll_in_thread(c: Customer, out: dict[str, Any], key: str, timeout: float = 30.0) -> threading.Thread:
    def run() -> None:
        t0 = time.monotonic()
        try:
            with httpx.Client(timeout=timeout) as h:
                r = h.get(c.url(f"/chats/{c.chat_id}/events"), headers=c.headers)
            out[key] = (r.status_code, r.json(), time.monotonic() - t0, time.monotonic())
        except httpx.TimeoutException:
            out[key] = ("timeout", None, time.monotonic() - t0, time.monotonic())

    t = threading.Thread(target=run)
    t.start()
    return t


def test_item34_event_during_hold(server: ServerProc) -> None:
    c = started(server)
    c.events()
    out: dict[str, Any] = {}
    t = _poll_in_thread(c, out, "p")
    time.sleep(1.0)
    sent = time.monotonic()
    c.send({"event": "chat_session_end"})
    t.join()
    status, body, _, done = out["p"]
    assert status == 200 and [e["event"] for e in body["events"]] == ["chat_session_ended"]
    assert done - sent < 1.0


def test_item35_newest_poll_wins(server: ServerProc) -> None:
    c = started(server)
    c.events()
    out: dict[str, Any] = {}
    first = _poll_in_thread(c, out, "first")
    time.sleep(0.5)
    second = _poll_in_thread(c, out, "second")
    first.join(timeout=3.0)
    assert "first" in out, "the held poll must end at once"
    status, body, took, _ = out["first"]
    assert status == 200 and body == {"events": []} and took < 2.0
    c.send({"event": "chat_session_end"})
    second.join()
    status, body, _, _ = out["second"]
    assert status == 200 and [e["event"] for e in body["events"]] == ["chat_session_ended"]


def test_item36_dropped_poll_keeps_events(server: ServerProc) -> None:
    c = started(server)
    seen = c.events()
    out: dict[str, Any] = {}
    t = _poll_in_thread(c, out, "dropped", timeout=1.0)
    t.join()
    assert out["dropped"][0] == "timeout"
    c.send({"event": "chat_session_end"})  # arrives as (just after) the client dropped its poll
    nxt = c.events()
    assert [e["event"] for e in nxt] == ["chat_session_ended"]
    assert not any(e in seen for e in nxt)


def test_item36_no_event_in_two_polls(server: ServerProc) -> None:
    c = started(server)
    polled: list[dict[str, Any]] = []
    polled += c.events()
    c.say("one", "1")
    c.send({"event": "chat_session_end"})
    while True:
        r = c.poll()
        if r.status_code == 404:
            break
        polled += r.json()["events"]
    names = [e["event"] for e in polled]
    assert names.count("chat_session_status") == 1 and names.count("chat_session_ended") == 1


def test_extension_queue_position_follows_the_first_status(server: ServerProc) -> None:
    """Frontdesk's own widget learns its place in the queue (docs/servicepattern-extensions.md)."""
    c = started(server)
    events = c.events()
    assert events[0]["event"] == "chat_session_status"
    ext = events[1]
    assert ext["event"] == "frontdesk_queue_position"
    assert set(ext) == {"event", "position", "ewt", "timestamp"}
    assert ext["position"].isdigit() and int(ext["position"]) >= 1
    assert ext["ewt"].isdigit() and ext["timestamp"].isdigit()
    history = c.history().json()["events"]
    assert history and all(e["event"] != "frontdesk_queue_position" for e in history)
