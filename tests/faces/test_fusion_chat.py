"""Whole Fusion chats with an agent on the native API, on the test's own server (spec/fusion-chat.md
§1.2, §5, §6, §12 items 25-27, 34-36, 47, 48, 51-54; native.md §3.2 for what the agent sees).

The server has a configured signing key (so tests can forge expired or foreign tokens), a second
tenant with its own site, a 2-second getMessages hold and a 6-second abandonment timer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fusion_client import (
    CA,
    SEED_BODY,
    Consumer,
    assert_error,
    client,
    close_all,
    forge,
    new_key_pem,
    second_tenant,
    token,
)
from sp_agent import Agent
from sp_agent import close_all as close_agents

HOLD = 2
ABANDON = 6
RETENTION = 2
KEY = new_key_pem()


@pytest.fixture
def srv(server_factory: Any) -> Iterator[Any]:
    def mutate(cfg: dict[str, Any]) -> None:
        fusion = cfg["tenants"][0]["faces"]["fusion"]
        fusion.update(
            {
                "signing_key": KEY,
                "long_poll_hold_seconds": HOLD,
                "abandon_seconds": ABANDON,
                "ended_retention_seconds": RETENTION,
            }
        )
        second_tenant(cfg)

    yield server_factory(mutate, name="fusion")
    close_all()
    close_agents()


def accept(agent: Agent, engagement_id: int, timeout: float = 10.0) -> str:
    """Accept the offer of the chat whose number is ``engagement_id``; its chat id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for offer in agent.http.get("/api/v1/agent/offers").json()["items"]:
            if offer["chat"]["number"] == engagement_id:
                r = agent.http.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept")
                assert r.status_code == 200, r.text
                return str(offer["chat_id"])
        time.sleep(0.05)
    raise AssertionError(f"no offer for engagement {engagement_id}")


def names(msgs: list[dict[str, Any]]) -> list[str]:
    return [m["messageName"] for m in msgs]


def test_whole_chat_with_an_agent(srv: Any) -> None:
    http = client(srv.base_url)
    auth = http.post(CA, content=SEED_BODY, auth=("demo", "demo"))
    assert auth.status_code == 201, auth.text
    c = Consumer(http, auth.json()["jwt"])
    c.engage()
    first = c.messages()  # item 34 on a quiet server
    assert names(first) == ["RNEngagementWaitInformationChangedMessage"]
    assert (first[0]["position"], first[0]["positionString"], first[0]["sequenceNumber"]) == (1, "1", 1)
    started = time.monotonic()
    assert c.messages() == []  # item 35: the hold runs out empty
    assert HOLD - 0.5 < time.monotonic() - started < HOLD + 1.5
    c.ok("postMessage", {"body": "My printer is broken", "clientTransactionId": 1})
    c.ok("postMessage", {"body": "My printer is broken", "clientTransactionId": 1})  # a retry: stored once

    alice = Agent(srv.base_url, "alice")
    alice.state("ready")
    chat_id = accept(alice, c.engagement["engagementId"])
    seen = c.collect_until("RNEngagementParticipantAddedMessage")
    added = seen[-1]  # item 52
    assert added["role"] == "LEAD" and added["name"] == "Alice Martin"
    assert added["greeting"] == "Hi, my name is Alice. How may I help you?"
    assert isinstance(added["clientId"], int) and added["clientId"] != c.engagement["clientId"]

    # native.md §3.2: the agent sees the customer and the pre-chat data
    detail = alice.http.get(f"/api/v1/chats/{chat_id}").json()
    cust = detail["customer"]
    assert (cust["first_name"], cust["last_name"], cust["email"]) == (
        "John",
        "Doe",
        "john.doe.4@us2.oraclecloud.com",
    )
    assert cust["name"] == "John Doe"
    assert cust["external_ids"] == {
        "contact_id": "123000",
        "organization_id": "112233",
        "auth_user_name": "john.doe.4@us2.oraclecloud.com",
    }
    assert detail["subject"] == "This is a question"
    pre = detail["pre_chat"]
    assert (
        pre["categoryId"] == "456000" and pre["queueId"] == "2" and pre["incidentName"] == "Incident 200000"
    )
    assert pre["question"] == "This is a question" and pre["incidentId"] is None
    assert "firstName" not in pre and "contactId" not in pre and "authUserName" not in pre
    assert detail["face"] == "fusion" and detail["entry_point"]["id"] == "example"
    texts = [
        e["text"]
        for e in alice.http.get(f"/api/v1/chats/{chat_id}/events").json()["events"]
        if e["kind"] == "message"
    ]
    assert texts == ["My printer is broken"]

    # items 36 and 47: a held poll returns the agent's typing and message within a second
    held: dict[str, Any] = {}

    def poll() -> None:
        t0 = time.monotonic()
        held["msgs"] = c.messages()
        held["t"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    t_sent = time.monotonic()
    r = alice.http.post(f"/api/v1/chats/{chat_id}/typing", json={"typing": True})
    assert r.status_code == 204, r.text
    t.join(5)
    assert time.monotonic() - t_sent < 1.0
    act = held["msgs"][0]
    assert act["messageName"] == "RNEngagementActivityChangedMessage"
    assert list(act)[1:11] == [
        "clientId",
        "clientIdString",
        "mode",
        "engagementId",
        "engagementIdString",
        "sneakPreviewState",
        "sneakPreviewInterval",
        "sneakPreviewIntervalString",
        "sneakPreview",
        "sneakPreviewFocus",
    ]
    assert act["mode"] == "RESPONDING" and act["sneakPreviewState"] == "DISABLED"
    assert act["engagementId"] == c.engagement["engagementId"] and act["clientId"] == added["clientId"]
    alice.write(chat_id, "Please switch it off and on again.")
    posted = c.collect_until("RNEngagementMessagePostedMessage")[-1]
    assert posted["body"] == "Please switch it off and on again." and posted["clientId"] == added["clientId"]
    c.ok("activity", {"mode": "RESPONDING"})
    events = alice.http.get(f"/api/v1/chats/{chat_id}/events?since=0&limit=500").json()["events"]
    assert any(e["kind"] == "typing" and e["by"]["kind"] == "customer" and e["typing"] for e in events)

    c.ok("concludeEngagement", {"clientRequestTime": 1736935262000})
    final = c.messages()  # item 48
    assert names(final)[-1] == "RNEngagementConcludedMessage"
    assert final[-1]["reason"] == "END_USER_CONCLUDED" and final[-1]["role"] == "END_USER"
    assert_error(c.op("getMessages"), 403, "ACCESS_DENIED", "Unknown consumer session")  # item 50
    seqs = [m["sequenceNumber"] for m in first + seen + held["msgs"] + [posted] + final]
    # item 54: sequence numbers of the engagement are 1, 2, 3, ... without gaps
    everything = sorted(set(seqs))
    assert everything == list(range(1, everything[-1] + 1))
    r = alice.http.post(f"/api/v1/chats/{chat_id}/wrapup", json={"disposition": "resolved"})
    assert r.status_code == 200, r.text
    alice.state("logged_out")


def test_agent_concludes_and_requeue(srv: Any) -> None:
    http = client(srv.base_url)
    c = Consumer(http, token(http, firstName="Ann"))
    c.engage()
    alice = Agent(srv.base_url, "alice")
    alice.state("ready")
    chat_id = accept(alice, c.engagement["engagementId"])
    c.collect_until("RNEngagementParticipantAddedMessage")
    r = alice.http.put("/api/v1/agent/state", json={"state": "not_ready", "reason": "break"})
    assert r.status_code == 200, r.text
    r = alice.http.post(f"/api/v1/chats/{chat_id}/transfer", json={"to": {"queue": "support"}})
    assert r.status_code == 200, r.text
    msgs = c.collect_until("RNEngagementWaitInformationChangedMessage")
    left = [m for m in msgs if m["messageName"] == "RNEngagementParticipantLeftMessage"]
    assert left and left[0]["disconnectReason"] == "TRANSFERRED_TO_QUEUE" and left[0]["role"] == "LEAD"
    bob = Agent(srv.base_url, "bob")
    bob.state("ready")
    accept(bob, c.engagement["engagementId"])
    joined = c.collect_until("RNEngagementParticipantAddedMessage")[-1]
    assert joined["name"].startswith("Bob")

    result: dict[str, Any] = {}

    def poll() -> None:
        result["msgs"] = c.messages()

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    r = bob.http.post(f"/api/v1/chats/{chat_id}/end", json={})
    assert r.status_code == 200, r.text
    t.join(5)
    msgs = result["msgs"] or c.messages()
    assert names(msgs) == ["RNEngagementConcludedMessage"]  # item 51: no participant-left before it
    assert msgs[0]["reason"] == "AGENT_CONCLUDED" and msgs[0]["role"] == "LEAD"
    assert msgs[0]["clientId"] == joined["clientId"]
    for who in (alice, bob):
        who.state("logged_out")


def test_abandonment(srv: Any) -> None:
    http = client(srv.base_url)
    c = Consumer(http, token(http))
    c.engage()
    c.messages()
    time.sleep(ABANDON + 1.5)  # item 53: no call for the abandonment time
    msgs = c.messages()
    assert names(msgs) == ["RNEngagementConcludedMessage"]
    assert (
        msgs[0]["reason"] == "SYSTEM_CONCLUDED" and msgs[0]["role"] == "SYSTEM" and msgs[0]["clientId"] == 0
    )


def test_forged_tokens(srv: Any) -> None:
    http = client(srv.base_url)
    base = srv.base_url
    api = "/engagement/api/consumer/example/v1/requestEngagement?pool=1:1"

    def engage(tok: str) -> httpx.Response:
        return http.post(api, json={}, headers={"Authorization": "Bearer " + tok})

    ok = engage(forge(KEY, base))
    assert ok.status_code == 200, ok.text  # the configured key signs and verifies
    http.post(
        "/engagement/api/consumer/example/v1/concludeEngagement",
        json={},
        headers={"SessionId": ok.json()["sessionId"]},
    )
    old = int(time.time()) - 200
    expired = forge(KEY, base, iat=old, exp=old + 74)  # item 25: older than 125 s
    assert_error(engage(expired), 403, "ACCESS_DENIED", "JWT validation failed")
    within_leeway = forge(KEY, base, iat=int(time.time()) - 122, exp=int(time.time()) - 2)
    r = engage(within_leeway)
    assert r.status_code == 200, r.text
    http.post(
        "/engagement/api/consumer/example/v1/concludeEngagement",
        json={},
        headers={"SessionId": r.json()["sessionId"]},
    )
    for bad in (
        forge(KEY, base, iss="Someone"),
        forge(KEY, base, site="second"),
        forge(KEY, base, iat=int(time.time()) + 60),
        forge(new_key_pem(), base),
    ):
        assert_error(engage(bad), 403, "ACCESS_DENIED", "JWT validation failed")


def test_foreign_tenant(srv: Any) -> None:
    http = client(srv.base_url)
    r = http.post(CA, json={"authUserName": "x@second.example"}, auth=("second", "secret"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["chatSiteName"] == "second" and body["poolId"] == "2:2"
    foreign = body["jwt"]
    r = http.post(
        "/engagement/api/consumer/example/v1/requestEngagement?pool=1:1",
        json={},
        headers={"Authorization": "Bearer " + foreign},
    )
    assert_error(r, 403, "ACCESS_DENIED", "JWT validation failed")  # item 27, second part
    own = Consumer(http, foreign, api="/engagement/api/consumer/second/v1")
    r = http.post(
        "/engagement/api/consumer/second/v1/requestEngagement?pool=2:2",
        json={},
        headers={"Authorization": "Bearer " + foreign},
    )
    assert r.status_code == 200, r.text
    own.sid = r.json()["sessionId"]
    # a SessionId of the second site is unknown under the first (§8.2)
    r = http.post("/engagement/api/consumer/example/v1/getMessages", json={}, headers={"SessionId": own.sid})
    assert_error(r, 403, "ACCESS_DENIED", "Unknown consumer session")
    # a demo token is refused on the second site, and demo credentials do not reach it
    r = http.post(
        "/engagement/api/consumer/second/v1/requestEngagement",
        json={},
        headers={"Authorization": "Bearer " + token(http)},
    )
    assert_error(r, 403, "ACCESS_DENIED", "JWT validation failed")
    r = http.post(
        "/engagement/api/consumer/second/v1/concludeEngagement", json={}, headers={"SessionId": own.sid}
    )
    assert r.status_code == 200


def test_ended_session_retention(srv: Any) -> None:
    http = client(srv.base_url)
    c = Consumer(http, token(http))
    c.engage()
    c.ok("concludeEngagement")
    assert c.op("postMessage", {"body": "x"}).status_code == 409
    time.sleep(RETENTION + 0.5)  # §6.2: CLOSED although the final message was never fetched
    assert_error(c.op("getMessages"), 403, "ACCESS_DENIED", "Unknown consumer session")
