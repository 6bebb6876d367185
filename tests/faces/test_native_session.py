"""The complete example session of native.md §11 over real HTTP and WebSockets, plus the message,
event and transcript rules of §5.5, §5.6 and §5.11."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from native_client import (
    Agent,
    Customer,
    Json,
    close_all,
    reset,
)


@pytest.fixture(autouse=True)
def _clean(server: Any) -> Iterator[None]:
    yield
    close_all()
    reset(server.base_url)


def assert_dense(frames: list[Json], first: int = 1) -> list[int]:
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(first, first + len(seqs))), seqs
    assert all(f["event"]["seq"] == f["seq"] for f in frames)
    return seqs


def kinds(frames: list[Json]) -> list[str]:
    return [f["event"]["kind"] for f in frames]


def test_example_session(server: Any) -> None:
    base = server.base_url
    alice, bob = Agent(base, "alice"), Agent(base, "bob")
    ws_a = alice.ws(cursors={})
    hello = ws_a.expect("hello")
    assert hello["user"]["login"] == "alice" and hello["offers"] == [] and hello["heartbeat_seconds"] == 25
    assert ws_a.expect("resumed")["cursors"] == {}
    assert alice.ready()["state"] == "ready"
    assert ws_a.expect("agent_state")["agent_state"]["state"] == "ready"

    customer = Customer(base)
    chat_id = customer.start(
        {"parameters": {"first_name": "John", "last_name": "Lee", "email": "John.Lee@example.com"}}
    )
    customer.say("Hello, my printer is broken")
    offer = ws_a.expect("offer", timeout=3)["offer"]
    assert offer["chat_id"] == chat_id and offer["reason"] == "queue" and offer["queue"] == "support"
    assert offer["chat"]["me"]["status"] == "offered"
    crm = offer["crm"]  # native.md 9.2: the chat's activity exists from the first offer
    assert crm["activity_id"] and crm["screen_pop"]["record_type"] in ("Activity", "Contact")
    assert crm["screen_pop"]["url"].startswith("/OnDemand/user/CTICommand?Command=ScreenPop")
    if offer["preview"]:
        assert offer["preview"][-1]["text"] == "Hello, my printer is broken"
    detail = alice.accept(offer["offer_id"])
    assert (
        detail["state"] == "connected"
        and detail["me"]["status"] == "active"
        and detail["me"]["role"] == "lead"
    )
    assert detail["participants"][0]["kind"] == "customer"
    assert detail["capabilities"] == {"files": True, "typing": True, "receipts": False, "page_push": False}
    assert ws_a.expect("chat_assigned")["chat"]["id"] == chat_id
    ws_a.expect(
        lambda f: (
            f.get("type") == "chat_event"
            and f["event"]["kind"] == "status"
            and f["event"]["state"] == "connected"
        )
    )
    joined = [f for f in ws_a.chat_events(chat_id) if f["event"]["kind"] == "party_joined"]
    assert joined[0]["event"]["party"]["login"] == "alice"
    assert joined[0]["event"]["greeting"] == "Hi, my name is Alice. How may I help you?"

    sent = alice.say(chat_id, "Hi, my name is Alice. How may I help you?", "a-1")
    assert sent["event"]["kind"] == "message" and sent["event"]["by"]["login"] == "alice"
    assert sent["event"]["client_msg_id"] == "a-1"
    ws_a.expect(lambda f: f.get("seq") == sent["seq"])
    customer.say("I'd like to upgrade to the new model, actually.")
    line = ws_a.expect(
        lambda f: (
            f.get("type") == "chat_event"
            and f["event"]["kind"] == "message"
            and f["event"]["by"]["kind"] == "customer"
            and "upgrade" in f["event"]["text"]
        )
    )
    alice.call("POST", f"/api/v1/chats/{chat_id}/read", {"up_to_seq": line["seq"]}, expect=204)
    alice.say(chat_id, "Sales can help with that, one moment.", "a-2")

    bob.ready()
    ws_b = bob.ws(cursors={})
    ws_b.expect("resumed")
    summary = alice.post(
        f"/api/v1/chats/{chat_id}/transfer",
        {"to": {"queue": "sales"}, "note": "Wants to upgrade to the X200"},
    )
    assert summary["queue"] == "sales" and summary["state"] in ("queued", "offered")
    assert summary["me"]["status"] == "done"
    removed = ws_a.expect("chat_removed")
    assert removed == {"type": "chat_removed", "chat_id": chat_id, "reason": "transferred"}
    mine = ws_a.chat_events(chat_id)
    assert kinds(mine)[-2:] == ["transferred", "party_left"]
    assert mine[-2]["event"]["to"] == {
        "type": "queue",
        "queue": "sales",
        "login": None,
        "display_name": "Sales",
    }
    assert mine[-1]["event"]["reason"] == "transferred"
    assert_dense(mine)
    # Alice's view ends at her party_left; she can no longer write.
    assert alice.events(chat_id)[-1]["seq"] == mine[-1]["seq"]
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/messages", {"client_msg_id": "a-3", "text": "x"})
    assert r.status_code == 409 and r.json()["code"] == "not_participant"

    offer_b = ws_b.expect("offer", timeout=3)["offer"]
    assert offer_b["chat_id"] == chat_id and offer_b["reason"] == "transfer"
    assert offer_b["from_agent"]["login"] == "alice" and offer_b["note"] == "Wants to upgrade to the X200"
    bob.accept(offer_b["offer_id"])
    ws_b.expect("chat_assigned")
    ws_b.expect(lambda f: f.get("type") == "chat_event" and f["event"]["kind"] == "party_joined")
    b1 = bob.say(chat_id, "Hi John, I'm Bob from Sales. The X200 is in stock.", "b-1")
    ws_b.expect(lambda f: f.get("seq") == b1["seq"])
    ended = bob.post(f"/api/v1/chats/{chat_id}/end", {"reason": None})
    assert ended["state"] == "ended" and ended["end_reason"] == "agent" and ended["me"]["status"] == "wrapup"
    end_frame = ws_b.expect(lambda f: f.get("type") == "chat_event" and f["event"]["kind"] == "ended")
    assert end_frame["event"]["reason"] == "agent" and end_frame["event"]["by"]["login"] == "bob"
    r = bob.call("POST", f"/api/v1/chats/{chat_id}/end", {})
    assert r.status_code == 409 and r.json()["code"] == "chat_ended"
    r = bob.call("POST", f"/api/v1/chats/{chat_id}/wrapup", {"disposition": "nonsense"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    bob.post(f"/api/v1/chats/{chat_id}/wrapup", {"disposition": "resolved", "notes": "Quote for X200 sent."})
    assert ws_b.expect("chat_removed") == {"type": "chat_removed", "chat_id": chat_id, "reason": "wrapped_up"}
    frames_b = ws_b.chat_events(chat_id)
    assert_dense(frames_b)
    assert kinds(frames_b)[-3:] == ["party_left", "ended", "wrapup"]
    state = ws_b.expect(lambda f: f.get("type") == "agent_state" and f["agent_state"]["load"] == 0)
    assert state["agent_state"]["chats"] == []
    r = bob.call("POST", f"/api/v1/chats/{chat_id}/wrapup", {"disposition": "resolved"})
    assert r.status_code == 409 and r.json()["code"] == "wrapup_not_pending"
    detail = bob.get(f"/api/v1/chats/{chat_id}")
    assert detail["wrapups"][0]["disposition"] == "resolved" and detail["wrapups"][0]["by"]["login"] == "bob"
    history = alice.get("/api/v1/agent/history")["items"]
    assert history[0]["id"] == chat_id and history[0]["me"]["status"] == "done"
    assert bob.get("/api/v1/agent/history")["items"][0]["id"] == chat_id


def test_idempotent_messages_events_and_transcript(server: Any) -> None:
    base = server.base_url
    alice = Agent(base, "alice")
    alice.ready()
    customer = Customer(base)
    chat_id = customer.start()
    customer.say("<img src=x onerror=alert(1)>")
    alice.accept(alice.wait_offer(chat_id)["offer_id"])
    first = alice.say(chat_id, "Hello & welcome", "m-1")
    again = alice.say(chat_id, "Hello & welcome", "m-1", expect=200)
    assert again == first
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/messages", {"client_msg_id": "m-1", "text": "Other"})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_client_msg_id"
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/messages", {"client_msg_id": "bad id!", "text": "x"})
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/client_msg_id"
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/messages", {"client_msg_id": "m-2", "text": "   "})
    assert r.status_code == 400
    note = alice.say(chat_id, "internal <b>note</b>", "m-3")
    events = alice.events(chat_id)
    assert [e["client_msg_id"] for e in events if e["kind"] == "message" and e["by"]["kind"] == "agent"] == [
        "m-1",
        "m-3",
    ]
    assert note["seq"] == events[-1]["seq"]
    # Cursor reads: the same cursor gives the same events; paging with `more`.
    page = alice.get(f"/api/v1/chats/{chat_id}/events?since=0&limit=2")
    assert [e["seq"] for e in page["events"]] == [1, 2] and page["more"] is True
    assert page["last_seq"] == events[-1]["seq"]
    assert alice.get(f"/api/v1/chats/{chat_id}/events?since=0&limit=2") == page
    # Long poll: quiet returns empty after the wait; an event during the wait returns at once.
    last = events[-1]["seq"]
    t0 = time.monotonic()
    quiet = alice.get(f"/api/v1/chats/{chat_id}/events?since={last}&wait=1")
    assert quiet["events"] == [] and time.monotonic() - t0 >= 0.9
    with httpx.Client(base_url=base, headers=alice.http.headers, timeout=10) as poller:
        import threading

        out: dict[str, Any] = {}

        def poll() -> None:
            start = time.monotonic()
            out["page"] = poller.get(f"/api/v1/chats/{chat_id}/events?since={last}&wait=10").json()
            out["took"] = time.monotonic() - start

        thread = threading.Thread(target=poll)
        thread.start()
        time.sleep(0.3)
        customer.say("are you there?")
        thread.join(10)
    assert out["page"]["events"][0]["seq"] == last + 1 and out["took"] < 3
    r = alice.call("GET", f"/api/v1/chats/{chat_id}/events?wait=31")
    assert r.status_code == 400
    # A file: uploaded, then downloaded with its headers.
    files = {"file": ("notes.txt", b"hello file", "text/plain")}
    r = alice.http.post(f"/api/v1/chats/{chat_id}/files", files=files, data={"client_msg_id": "f-1"})
    assert r.status_code == 201, r.text
    fevent = r.json()["event"]
    assert fevent["kind"] == "file" and fevent["size"] == 10 and fevent["file_type"] == "attachment"
    d = alice.http.get(f"/api/v1/chats/{chat_id}/files/{fevent['file_id']}")
    assert d.status_code == 200 and d.content == b"hello file"
    assert (
        d.headers["x-content-type-options"] == "nosniff" and "attachment" in d.headers["content-disposition"]
    )
    r = alice.http.post(
        f"/api/v1/chats/{chat_id}/files", content=b"{}", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415
    # Transcript: JSON without typing events, HTML with every text escaped.
    alice.call("POST", f"/api/v1/chats/{chat_id}/typing", {"typing": True}, expect=204)
    tj = alice.get(f"/api/v1/chats/{chat_id}/transcript?format=json")
    assert tj["chat"]["id"] == chat_id and "typing" not in [e["kind"] for e in tj["events"]]
    th = alice.http.get(f"/api/v1/chats/{chat_id}/transcript?format=html")
    assert th.status_code == 200 and th.headers["content-type"].startswith("text/html")
    assert "<img" not in th.text and "&lt;img src=x onerror=alert(1)&gt;" in th.text
    assert "<b>note" not in th.text and "Hello &amp; welcome" in th.text
