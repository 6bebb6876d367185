"""Consecutive requests of one session go to different nodes, on every face (issue 9, item 3).

Each client here sends every request to the next node in turn, so each piece of session state that
ARCHITECTURE.md 10.6 lists (ServicePattern newest-poll-wins, RightNow chat tokens and WS-Security
nonces, Fusion JWT keys, ECE BOSH request-id windows, native WebSocket cursors, CRM activities) is
exercised across nodes, with the engine on one of them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cluster.conftest import Cluster, round_robin
from faces import crmod_client, ece_client, fusion_client, native_client, rightnow_client, sp_agent
from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for helper in (native_client, rightnow_client, fusion_client, sp_agent):
        helper.close_all()


def agent(cluster: Cluster, login: str) -> sp_agent.Agent:
    a = sp_agent.Agent(cluster.nodes[1].base_url, login)
    round_robin(a.http, cluster)
    a.state("ready")
    return a


def offer_for(a: sp_agent.Agent, pred: Any, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for offer in a.http.get("/api/v1/agent/offers").json()["items"]:
            if pred(offer):
                r = a.http.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept")
                assert r.status_code == 200, r.text
                return str(offer["chat_id"])
        time.sleep(0.05)
    raise AssertionError("no matching offer")


def finish(a: sp_agent.Agent, chat_id: str) -> None:
    """End the chat unless the customer did, complete the wrap-up and log out."""
    ended = a.http.post(f"/api/v1/chats/{chat_id}/end", json={})
    assert ended.status_code in (200, 409), ended.text
    a.wrapup(chat_id)
    a.state("logged_out")


def test_nodes_agree_on_the_engine(cluster: Cluster) -> None:
    roles = sorted(cluster.role(n) for n in cluster.nodes)
    assert roles == ["engine", "follower", "follower"]
    for node in cluster.nodes:
        ready = httpx.get(node.base_url + "/readyz", timeout=5)
        assert ready.status_code == 200, ready.text


def test_servicepattern_and_agent_websocket(cluster: Cluster) -> None:
    http = cluster.client(timeout=30, headers={"Authorization": SP_AUTH.format(client_id=uuid.uuid4())})
    sp_agent._OPEN.append(http)
    r = http.post(sp_url("/chats"), json={})
    assert r.status_code == 200, r.text
    chat_id = r.json()["chat_id"]
    alice = agent(cluster, "alice")
    alice.accept(chat_id)
    for n in range(1, 4):
        event = {"event": "chat_session_message", "msg_id": f"m{n}", "msg": f"question {n}"}
        assert http.post(sp_url(f"/chats/{chat_id}/events"), json={"events": [event]}).status_code == 200
    # a retried send that lands on another node is still stored once
    again = {"event": "chat_session_message", "msg_id": "m3", "msg": "question 3"}
    assert http.post(sp_url(f"/chats/{chat_id}/events"), json={"events": [again]}).status_code == 200
    alice.write(chat_id, "answer from alice")

    login = native_client.login(cluster.nodes[0].base_url, "alice")
    ws = native_client.AgentSocket(cluster.nodes[2].base_url, login["token"], {chat_id: 0})
    ws.expect(lambda f: f.get("type") == "chat_event" and f["event"].get("text") == "answer from alice", 10)
    seen = {f["event"]["seq"] for f in ws.chat_events(chat_id)}
    ws.close()
    alice.write(chat_id, "second answer")
    # resume on another node from the cursor: exactly the events after it, no gap, no repeat
    resumed = native_client.AgentSocket(cluster.nodes[0].base_url, login["token"], {chat_id: max(seen)})
    frame = resumed.expect(lambda f: f.get("type") == "chat_event" and f["chat_id"] == chat_id, 10)
    assert frame["event"]["seq"] == max(seen) + 1 and frame["event"]["text"] == "second answer"
    resumed.close()

    texts: list[str] = []
    deadline = time.monotonic() + 15
    while "second answer" not in texts and time.monotonic() < deadline:
        poll = http.get(sp_url(f"/chats/{chat_id}/events"))
        assert poll.status_code == 200, poll.text
        texts += [e.get("msg", "") for e in poll.json()["events"] if e["event"] == "chat_session_message"]
    assert texts == ["answer from alice", "second answer"]
    history = http.get(sp_url(f"/chats/{chat_id}/history")).json()["events"]
    said = [e.get("msg") for e in history if e["event"] == "chat_session_message"]
    assert said.count("question 3") == 1 and said.count("second answer") == 1
    finish(alice, chat_id)


def test_rightnow_token_nonce_and_chat(cluster: Cluster) -> None:
    soap = rightnow_client.Soap(cluster.nodes[0].base_url)
    round_robin(soap.http, cluster)
    token = soap.token()  # issued on one node, redeemed on the next
    r = soap.request_chat(token)
    assert r.status_code == 200, r.text
    sid = str(rightnow_client.value(r, "SessionID"))
    engagement = int(rightnow_client.find(rightnow_client.xml(r), "EngagementID").get("id"))
    # a WS-Security nonce used on one node is refused on the others
    header = rightnow_client.digest_security("demo", "demo", nonce=os.urandom(16))
    get_url = "<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>"
    assert soap.post(rightnow_client.envelope(get_url, header)).status_code == 200
    for _ in range(2):
        rightnow_client.assert_fault(
            soap.post(rightnow_client.envelope(get_url, header)), "AUTH_FAILED", style="site"
        )
    bob = agent(cluster, "bob")
    chat_id = offer_for(bob, lambda o: o["chat"]["number"] == engagement)
    soap.until(sid, "RNChatParticipantAddedMessage")
    assert soap.say(sid, "Hello from RightNow").status_code == 200
    bob.write(chat_id, "Hello from Bob")
    seen = soap.until(sid, "RNChatMessagePostedMessage")
    posted = [m for m in seen if rightnow_client.mname(m) == "RNChatMessagePostedMessage"]
    assert [rightnow_client.mfield(m, "Body") for m in posted] == ["Hello from Bob"]
    assert soap.terminate(sid).status_code == 200
    finish(bob, chat_id)


def test_fusion_jwt_and_engagement(cluster: Cluster) -> None:
    http = round_robin(fusion_client.client(cluster.nodes[0].base_url), cluster)
    jwts = [fusion_client.token(http) for _ in range(3)]  # signed on three nodes with one stored key
    c = fusion_client.Consumer(http, jwts[0])
    c.engage()
    c.ok("postMessage", {"body": "Hello from Fusion", "clientTransactionId": 1})
    c.ok("postMessage", {"body": "Hello from Fusion", "clientTransactionId": 1})  # a retry elsewhere
    alice = agent(cluster, "alice")
    chat_id = offer_for(alice, lambda o: o["chat"]["number"] == c.engagement["engagementId"])
    c.collect_until("RNEngagementParticipantAddedMessage")
    alice.write(chat_id, "Hello from Alice")
    posted = c.collect_until("RNEngagementMessagePostedMessage")
    assert [m["body"] for m in posted if m["messageName"] == "RNEngagementMessagePostedMessage"] == [
        "Hello from Alice"
    ]
    events = alice.http.get(f"/api/v1/chats/{chat_id}/events?since=0&limit=500").json()["events"]
    assert [e["text"] for e in events if e["kind"] == "message"].count("Hello from Fusion") == 1
    finish(alice, chat_id)


def test_ece_bosh_session_with_alex(cluster: Cluster) -> None:
    c = ece_client.EceCustomer(cluster.nodes[0].base_url)
    round_robin(c.http, cluster)
    try:
        assert c.start(email="cluster.ece@example.com").status_code == 200
        c.pump(lambda rs: any(s.type == "chat" and s.sender == "Alex" for s in rs), timeout=15)
        c.say("Where is my order?")
        c.pump(lambda rs: any(s.text.startswith("You said") for s in rs), timeout=15)
        # a request id replayed on another node gets the same answer, not a second effect
        c.drain()
        replay = c.post("", rid=c.rid)
        assert replay.status_code == 200
        assert c.transcript().json()["assignedTo"] == "Alex"
        assert c.terminate().status_code == 200
    finally:
        c.close()


def test_crmod_activity_across_nodes(cluster: Cluster) -> None:
    iid = f"cluster-{uuid.uuid4().hex[:8]}"
    bases = [n.base_url for n in cluster.nodes]
    inserted = crmod_client.insert(bases[0], crmod_client.interaction(iid))
    assert inserted[0]["Status"] == "OK", inserted
    again = crmod_client.insert(bases[1], crmod_client.interaction(iid))
    assert (again[0]["Status"], again[0]["ActivityId"]) == (
        "Activity already exists",
        inserted[0]["ActivityId"],
    )
    assert crmod_client.wrapup(bases[2], crmod_client.interaction(iid))[0]["Status"] == "OK"
    twice = crmod_client.wrapup(bases[0], crmod_client.interaction(iid))
    assert twice[0]["Status"] == "Activity has already been wrapped up"


def test_metrics_show_the_engine_node_and_forwarding(cluster: Cluster) -> None:
    """Each node's /metrics says whether it runs the engine and how its forwarding went."""

    def sample(text: str, name: str) -> float:
        values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]
        return sum(values)

    owner = cluster.owner()
    for node in cluster.nodes:
        text = httpx.get(node.base_url + "/metrics", timeout=10).text
        assert sample(text, "frontdesk_engine_node ") == (1.0 if node is owner else 0.0)
        answered = sample(text, 'frontdesk_forwarded_requests_total{outcome="answered"}')
        assert (answered > 0) == (node is not owner)  # the earlier tests went through every node
