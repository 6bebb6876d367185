"""The agent WebSocket (native.md §6) and the supervisor WebSocket (§7.3)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from native_client import Agent, AgentSocket, Customer, close_all, reset
from websockets.exceptions import ConnectionClosed


@pytest.fixture(autouse=True)
def _clean(server: Any) -> Iterator[None]:
    yield
    close_all()
    reset(server.base_url)


def close_code(ws: AgentSocket, timeout: float = 5.0) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.recv(deadline - time.monotonic())
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except TimeoutError:
            break
    return None


def test_bad_token_and_missing_role_close_4003(server: Any) -> None:
    base = server.base_url
    ws = AgentSocket(base, "not-a-token")
    assert close_code(ws) == 4003
    ws = AgentSocket(base, "not-a-token", query_token=True)
    assert close_code(ws) == 4003
    sam = Agent(base, "sam")
    assert close_code(sam.ws()) == 4003
    bad_first = AgentSocket(base, "", query_token=True)
    bad_first.send({"type": "ping"})
    assert close_code(bad_first) == 4003
    # A supervisor socket refuses an agent.
    alice = Agent(base, "alice")
    sup = AgentSocket(base, alice.token, path="/api/v1/supervisor/ws")
    assert close_code(sup) == 4003


def test_hello_ping_replacement_and_frame_limit(server: Any) -> None:
    base = server.base_url
    alice = Agent(base, "alice")
    first = alice.ws(query_token=True)
    hello = first.expect("hello")
    assert hello["agent_state"]["login"] == "alice" and hello["connection_id"]
    first.send({"type": "resume", "cursors": {}})
    assert first.expect("resumed") == {"type": "resumed", "cursors": {}}
    first.send({"type": "ping", "nonce": "n1"})
    assert first.expect("pong") == {"type": "pong", "nonce": "n1"}
    first.send({"type": "bogus"})
    assert first.expect("error")["code"] == "invalid_request"
    first.send(
        {
            "type": "message",
            "id": "x1",
            "chat_id": "00000000-0000-4000-8000-000000000000",
            "client_msg_id": "c1",
            "text": "hi",
        }
    )
    nack = first.expect("nack")
    assert nack["id"] == "x1" and nack["code"] == "chat_not_found"
    second = alice.ws(cursors={})
    second.expect("hello")
    assert close_code(first) == 4001
    second.send({"type": "ping"})
    assert second.expect("pong")["nonce"] is None
    second.conn.send(json.dumps({"type": "ping", "nonce": "x" * (70 * 1024)}))
    assert close_code(second) == 1009


def test_resume_without_loss_or_duplication(server: Any) -> None:
    base = server.base_url
    alice = Agent(base, "alice")
    ws1 = alice.ws(cursors={})
    ws1.expect("resumed")
    alice.ready()
    customer = Customer(base)
    chat_id = customer.start()
    offer = ws1.expect("offer")["offer"]
    alice.accept(offer["offer_id"])
    ws1.expect("chat_assigned")
    total = 40
    done = threading.Event()

    def chatter() -> None:
        for i in range(total):
            customer.say(f"line {i}")
            time.sleep(0.01)
        done.set()

    thread = threading.Thread(target=chatter)
    thread.start()
    # Apply events until seq >= 12, then drop the connection without a goodbye.
    cursor = 0
    while cursor < 12:
        frame = ws1.expect(lambda f: f.get("type") == "chat_event" and f["chat_id"] == chat_id, timeout=5)
        assert frame["seq"] == cursor + 1
        cursor = frame["seq"]
    ws1.conn.close()
    # Meanwhile the agent also writes over REST.
    alice.say(chat_id, "agent line while offline", "off-1")
    thread.join(20)
    assert done.is_set()
    last = alice.get(f"/api/v1/chats/{chat_id}")["last_seq"]
    ws2 = alice.ws(cursors={chat_id: cursor})
    hello = ws2.expect("hello")
    assert [c["id"] for c in hello["chats"]] == [chat_id]
    resumed = ws2.expect("resumed", timeout=10)
    seqs = [f["seq"] for f in ws2.chat_events(chat_id)]
    assert resumed["cursors"][chat_id] == seqs[-1] >= last
    assert seqs == list(range(cursor + 1, seqs[-1] + 1))
    # Live streaming continues without gaps, and message frames are acknowledged.
    ws2.send({"type": "message", "id": "f1", "chat_id": chat_id, "client_msg_id": "ws-1", "text": "via ws"})
    ack = ws2.expect("ack")
    assert ack["id"] == "f1" and ack["chat_id"] == chat_id
    ws2.expect(lambda f: f.get("seq") == ack["seq"] and f.get("type") == "chat_event")
    ws2.send({"type": "message", "id": "f2", "chat_id": chat_id, "client_msg_id": "ws-1", "text": "via ws"})
    assert ws2.expect("ack")["seq"] == ack["seq"]
    ws2.send({"type": "message", "id": "f3", "chat_id": chat_id, "client_msg_id": "ws-1", "text": "other"})
    assert ws2.expect("nack")["code"] == "duplicate_client_msg_id"
    ws2.send({"type": "typing", "chat_id": chat_id, "typing": True})
    ws2.expect(lambda f: f.get("type") == "chat_event" and f["event"]["kind"] == "typing")
    all_seqs = [f["seq"] for f in ws2.chat_events(chat_id)]
    assert all_seqs == list(range(cursor + 1, all_seqs[-1] + 1))
    assert all_seqs[-1] == alice.get(f"/api/v1/chats/{chat_id}")["last_seq"]


def test_supervisor_socket(server: Any) -> None:
    base = server.base_url
    sam = Agent(base, "sam")
    sup = AgentSocket(base, sam.token, path="/api/v1/supervisor/ws")
    hello = sup.expect("hello")
    assert hello["heartbeat_seconds"] == 25
    snap = sup.expect("snapshot")
    assert [q["name"] for q in snap["queues"]] == ["support", "sales", "billing", "overflow"]
    assert {"alice", "bob"} <= {a["login"] for a in snap["agents"]}
    support = next(q for q in snap["queues"] if q["name"] == "support")
    sup.send({"type": "ping", "nonce": "p"})
    assert sup.expect("pong")["nonce"] == "p"
    chat_id = Customer(base).start()
    frame = sup.expect(lambda f: f.get("type") == "queue" and f["queue"]["name"] == "support", timeout=4)
    assert frame["queue"]["waiting"] == support["waiting"] + 1
    chat = sup.expect(lambda f: f.get("type") == "chat" and f["chat"]["id"] == chat_id, timeout=4)
    assert chat["chat"]["state"] == "queued"
    sam.post(f"/api/v1/supervisor/chats/{chat_id}/end", {})
    sup.expect(lambda f: f.get("type") == "chat_gone" and f["chat_id"] == chat_id, timeout=4)
