"""Offers and chat handling between agents (native.md §5.1, §5.2, §5.7, §5.8), on a server with a
2-second RONA and a second tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from native_client import Agent, Customer, close_all, reset

from conftest import ServerProc, make_server
from tests_support import midday_timezone

OTHER = "other.example"


def _mutate(cfg: dict[str, Any]) -> None:
    t = cfg["tenants"][0]
    t["timezone"] = midday_timezone()  # the supervisor's day figures are checked
    t["timers"]["rona_seconds"] = 2
    carol = dict(t["users"][0], login="carol")
    carol["profile"] = dict(carol["profile"], display_name="Carol Other")
    cfg["tenants"].append(
        {
            "id": OTHER,
            "display_name": "Other Inc.",
            "domains": [OTHER],
            "queues": [dict(t["queues"][0])],
            "users": [carol],
            "entry_points": [dict(t["entry_points"][0])],
        }
    )


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    server = make_server(Path(tmp_path_factory.mktemp("native-routing")), _mutate)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean(srv: ServerProc) -> Iterator[None]:
    yield
    close_all()
    reset(srv.base_url)


def connected_chat(base: str, agent: Agent) -> tuple[Customer, str]:
    customer = Customer(base)
    chat_id = customer.start()
    customer.say("hello")
    agent.accept(agent.wait_offer(chat_id)["offer_id"])
    return customer, chat_id


def test_rona_then_reoffer(srv: ServerProc) -> None:
    base = srv.base_url
    alice, bob = Agent(base, "alice"), Agent(base, "bob")
    ws = alice.ws(cursors={})
    ws.expect("resumed")
    alice.ready()
    chat_id = Customer(base).start()
    offer = ws.expect("offer")["offer"]
    assert offer["chat_id"] == chat_id
    revoked = ws.expect("offer_revoked", timeout=5)
    assert revoked == {
        "type": "offer_revoked",
        "offer_id": offer["offer_id"],
        "chat_id": chat_id,
        "reason": "timeout",
    }
    state = alice.get("/api/v1/agent/state")
    assert state["state"] == "not_ready" and state["reason"] == "rona"
    ws.expect(lambda f: f.get("type") == "agent_state" and f["agent_state"]["reason"] == "rona")
    r = alice.call("POST", f"/api/v1/agent/offers/{offer['offer_id']}/accept")
    assert r.status_code == 409 and r.json()["code"] == "offer_gone"
    bob.ready()
    assert bob.wait_offer(chat_id)["reason"] == "queue"


def test_reject_goes_to_another_agent(srv: ServerProc) -> None:
    base = srv.base_url
    alice, bob = Agent(base, "alice"), Agent(base, "bob")
    alice.ready()
    chat_id = Customer(base).start()
    offer = alice.wait_offer(chat_id)
    # While offered, the chat is readable by the offered agent only (and supervisors).
    assert alice.get(f"/api/v1/chats/{chat_id}")["me"]["status"] == "offered"
    assert bob.call("GET", f"/api/v1/chats/{chat_id}").json()["code"] == "chat_not_found"
    bob.ready()
    alice.call("POST", f"/api/v1/agent/offers/{offer['offer_id']}/reject", {"reason": "busy"}, expect=204)
    assert alice.get("/api/v1/agent/state")["state"] == "ready"
    assert bob.wait_offer(chat_id)["chat_id"] == chat_id
    assert alice.call("GET", f"/api/v1/chats/{chat_id}").json()["code"] == "chat_not_found"


def test_agent_transfer_conference_and_leave(srv: ServerProc) -> None:
    base = srv.base_url
    alice, bob = Agent(base, "alice"), Agent(base, "bob")
    alice.ready()
    _, chat_id = connected_chat(base, alice)
    # Not ready target: refused.
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/transfer", {"to": {"agent": "bob"}})
    assert r.status_code == 409 and r.json()["code"] == "transfer_target_unavailable"
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/transfer", {"to": {"agent": "bob", "queue": "sales"}})
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "/to"
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/transfer", {"to": {"queue": "nope"}})
    assert r.status_code == 404 and r.json()["code"] == "queue_not_found"
    # Conference: bob joins as conferee, then leaves.
    bob.ready()
    r = alice.call(
        "POST", f"/api/v1/chats/{chat_id}/conference", {"agent": "bob", "note": "help"}, expect=202
    )
    assert r.json()["id"] == chat_id
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/transfer", {"to": {"agent": "bob"}})
    assert r.status_code == 409 and r.json()["code"] == "transfer_in_progress"
    offer = bob.wait_offer(chat_id)
    assert offer["reason"] == "conference" and offer["from_agent"]["login"] == "alice"
    detail = bob.accept(offer["offer_id"])
    assert detail["me"]["role"] == "conferee"
    assert sorted(a["login"] for a in detail["agents"]) == ["alice", "bob"]
    r = bob.call("POST", f"/api/v1/chats/{chat_id}/end", {})
    assert r.status_code == 409 and r.json()["code"] == "not_chat_lead"
    left = bob.post(f"/api/v1/chats/{chat_id}/leave")
    assert left["me"]["status"] == "done"
    r = alice.call("POST", f"/api/v1/chats/{chat_id}/leave")
    assert r.status_code == 409 and r.json()["code"] == "invalid_state"
    # Withdrawn invitation.
    alice.call("POST", f"/api/v1/chats/{chat_id}/conference", {"agent": "bob"}, expect=202)
    withdrawn = bob.wait_offer(chat_id)
    alice.call("DELETE", f"/api/v1/chats/{chat_id}/conference", expect=204)
    assert withdrawn["offer_id"] not in [o["offer_id"] for o in bob.offers()]
    assert "transfer_failed" in [e["kind"] for e in alice.events(chat_id)]
    # Agent transfer: accepted by bob, alice leaves with no wrap-up.
    r = alice.call(
        "POST", f"/api/v1/chats/{chat_id}/transfer", {"to": {"agent": "bob"}, "note": "yours"}, expect=202
    )
    assert r.json()["me"]["status"] == "active"
    offer = bob.wait_offer(chat_id)
    assert offer["reason"] == "transfer" and offer["note"] == "yours"
    detail = bob.accept(offer["offer_id"])
    assert detail["me"]["role"] == "lead" and [a["login"] for a in detail["agents"]] == ["bob"]
    kinds = [e["kind"] for e in bob.events(chat_id)]
    assert kinds[-3:] == ["transferred", "party_joined", "party_left"]
    assert alice.get("/api/v1/agent/chats")["items"] == []
    assert [c["id"] for c in bob.get("/api/v1/agent/chats")["items"]] == [chat_id]


def test_logout_requeues_and_visibility(srv: ServerProc) -> None:
    base = srv.base_url
    alice, bob = Agent(base, "alice"), Agent(base, "bob")
    alice.ready()
    _, chat_id = connected_chat(base, alice)
    alice.post("/api/v1/auth/logout", expect=204)
    sam = Agent(base, "sam")
    events = sam.get(f"/api/v1/chats/{chat_id}/events")["events"]
    left = [e for e in events if e["kind"] == "party_left"]
    assert left[-1]["reason"] == "logged_out"
    assert events[-1]["kind"] in ("status",) and events[-1]["state"] == "queued"
    bob.ready()
    offer = bob.wait_offer(chat_id)
    bob.accept(offer["offer_id"])
    # Supervisor figures and end.
    queues = sam.get("/api/v1/supervisor/queues")["items"]
    support = next(q for q in queues if q["name"] == "support")
    assert support["active_chats"] >= 1 and support["agents_ready"] >= 1 and support["today"]["entered"] >= 1
    agents = {a["login"]: a for a in sam.get("/api/v1/supervisor/agents")["items"]}
    assert agents["bob"]["chats"][0]["chat_id"] == chat_id and agents["bob"]["load"] == 1
    assert agents["alice"]["state"] == "logged_out" and "support" in agents["alice"]["queues"]
    live = sam.get("/api/v1/supervisor/chats?state=connected")
    assert [c["id"] for c in live["items"]] == [chat_id] and live["items"][0]["agents"] == ["bob"]
    assert sam.get("/api/v1/supervisor/queues/support")["name"] == "support"
    assert sam.call("GET", "/api/v1/supervisor/queues/nope").json()["code"] == "queue_not_found"
    ended = sam.post(f"/api/v1/supervisor/chats/{chat_id}/end", {})
    assert ended["state"] == "ended" and ended["end_reason"] == "system"
    r = sam.call("POST", f"/api/v1/supervisor/chats/{chat_id}/end", {})
    assert r.status_code == 409 and r.json()["code"] == "chat_ended"
    wrap = sam.get("/api/v1/supervisor/chats?state=wrapup")["items"]
    assert [c["id"] for c in wrap] == [chat_id]
    assert sam.get("/api/v1/supervisor/surveys")["items"] == []


def test_other_tenant_ids_are_unknown(srv: ServerProc) -> None:
    base = srv.base_url
    alice = Agent(base, "alice")
    alice.ready()
    _, chat_id = connected_chat(base, alice)
    carol = Agent(base, "carol", tenant=OTHER)
    assert carol.get("/api/v1/me")["user"]["tenant"] == OTHER
    for path in (
        f"/api/v1/chats/{chat_id}",
        f"/api/v1/chats/{chat_id}/events",
        f"/api/v1/chats/{chat_id}/transcript",
    ):
        r = carol.call("GET", path)
        assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    r = carol.call("POST", f"/api/v1/chats/{chat_id}/messages", {"client_msg_id": "x", "text": "hi"})
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    offers = alice.get("/api/v1/agent/offers")["items"]
    assert offers == []
    # A token never works for a user of the same name in another tenant, and logins need the tenant.
    r = carol.call("GET", "/api/v1/agent/directory")
    assert "alice" not in [a["login"] for a in r.json()["agents"]]
