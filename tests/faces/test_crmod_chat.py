"""Chats become CRM activities (ARCHITECTURE.md 10.8, native.md §9.2), the CTICommand servlet
(crmod-cti.md §6, checklist 40-49) and the CRM routes (§7.5, native.md §9.1, checklist 50-53)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from crmod_client import BASIC_DEMO, activities, basic, envelope, insert, interaction, post, wrapup_body
from native_client import Agent as NativeAgent
from native_client import close_all
from sp_agent import Customer

from conftest import ServerProc, make_server

SERVLET = "/OnDemand/user/CTICommand"


@pytest.fixture(scope="module")
def crm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("crmod-chat"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def base(crm_server: ServerProc) -> Iterator[str]:
    r = httpx.post(crm_server.base_url + "/admin/api/crm/reset", headers=BASIC_DEMO, timeout=20)
    assert r.status_code == 204, r.text
    yield crm_server.base_url
    close_all()


def _error(r: httpx.Response) -> str:
    m = re.search(r'<p id="fd-error">(.*?)</p>', r.text)
    assert m is not None, r.text
    return m.group(1).replace("&#x27;", "'").replace("&amp;", "&")


def _get(base: str, query: str, auth: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(base + SERVLET + "?" + query, headers=BASIC_DEMO if auth is None else auth, timeout=20)


# -- the ServicePattern chat that ends as a wrapped-up activity ------------------------------------
def test_servicepattern_chat_becomes_a_wrapped_up_activity(base: str) -> None:
    agent = NativeAgent(base, "alice")
    agent.ready()
    customer = Customer(base)
    try:
        chat_id = customer.start({"parameters": {"email": "fred.hong@example.com", "first_name": "Fred"}})[
            "chat_id"
        ]
        offer = agent.wait_offer(chat_id, timeout=10)
        crm = offer["crm"]
        assert crm is not None, offer
        assert crm["screen_pop"]["record_type"] == "Contact"
        assert crm["screen_pop"]["record_id"] == "1QA2-RXQQC" and crm["screen_pop"]["name"] == "Fred Hong"
        assert crm["screen_pop"]["url"] == (
            "/OnDemand/user/CTICommand?Command=ScreenPop&Record%20Type=Contact&Record%20Id=1QA2-RXQQC"
        )
        assert crm["links"]["contact"] == {"id": "1QA2-RXQQC", "name": "Fred Hong"}
        activity_id = crm["activity_id"]
        assert re.fullmatch(r"1QA2-[0-9A-Z]{5,}", activity_id)
        agent.accept(offer["offer_id"])
        customer.say("Hello, my widget broke")
        agent.say(chat_id, "Sorry to hear that")
        events = agent.events(chat_id)
        linked = [e for e in events if e["kind"] == "crm_linked"]
        assert len(linked) == 1 and linked[0]["crm"]["activity_id"] == activity_id
        detail = agent.get(f"/api/v1/chats/{chat_id}")
        assert detail["crm"]["activity_id"] == activity_id
        agent.call("POST", f"/api/v1/chats/{chat_id}/end", {}, expect=200)
        agent.call(
            "POST",
            f"/api/v1/chats/{chat_id}/wrapup",
            {"disposition": "resolved", "notes": "Replacement sent"},
            expect=200,
        )
        act = agent.get(f"/api/v1/crm/activities/{activity_id}")
        assert act["InteractionId"].startswith("chat-") and act["ChannelType"] == "Inbound Chat"
        assert act["ContactId"] == "1QA2-RXQQC" and act["Origin"] == "fred.hong@example.com"
        assert act["WrappedUp"] is True and act["Status"] == "Completed" and act["WrappedUpBy"] == "alice"
        assert act["Owner"] == "alice" and act["Disposition"] == "resolved"
        assert act["Description"] == "Replacement sent"
        assert act["TranscriptUrl"] == f"/api/v1/chats/{chat_id}/transcript"
        assert isinstance(act["DurationSeconds"], int) and act["DurationSeconds"] >= 0
        assert act["Queue"] == "Support" or act["Queue"]
        # one activity per chat: the chat number is the InteractionId, and the SOAP wrap-up agrees
        number = act["InteractionId"].removeprefix("chat-")
        assert number.isdigit()
        r = post(
            base,
            envelope(
                wrapup_body(interaction(act["InteractionId"], "Inbound Chat", str(act["AgentOfferTime"])))
            ),
        )
        assert activities(r)[0]["Status"] == "Activity has already been wrapped up"
        found = agent.get("/api/v1/crm/activities?q=" + act["InteractionId"])
        assert found["total"] == 1
    finally:
        agent.call("PUT", "/api/v1/agent/state", {"state": "logged_out"})
        customer.close()


def test_chat_without_match_pops_the_activity(base: str) -> None:
    agent = NativeAgent(base, "bob")
    agent.ready()
    customer = Customer(base)
    try:
        chat_id = customer.start({"parameters": {"email": "nobody@example.net"}})["chat_id"]
        offer = agent.wait_offer(chat_id, timeout=10)
        pop = offer["crm"]["screen_pop"]
        assert pop["record_type"] == "Activity" and pop["record_id"] == offer["crm"]["activity_id"]
        assert pop["name"] == "Inbound Chat from nobody@example.net"
        assert all(v is None for v in offer["crm"]["links"].values())
    finally:
        agent.call("PUT", "/api/v1/agent/state", {"state": "logged_out"})
        customer.close()


# -- CTICommand servlet (items 40-49) -------------------------------------------------------------
def test_screen_pop_examples(base: str) -> None:
    r = _get(
        base, "Command=ScreenPop&Record%20Type=Activity&Record%20Id=1QA2-S5YEX&Channel%20Type=Inbound%20Call"
    )
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert 'data-record-type="Activity" data-record-id="1QA2-S5YEX"' in r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    r = _get(base, "Command=ScreenPop&Record%20Type=Contact&Record%20Id=1QA2-D903L00")
    assert r.status_code == 200 and 'data-record-id="1QA2-D903L00"' in r.text
    r = _get(
        base,
        "Command=ScreenPop&Channel%20Type=Inbound%20Voicemail&Record%20Id=1QA2-D903189&Record%20Type=Activity",
    )
    assert r.status_code == 200 and 'data-wrapped-up="false"' in r.text
    r = _get(base, "command=screenpop&RecordType=Contact&record+id=1QA2-RXQQC")
    assert r.status_code == 200 and "Fred Hong" in r.text


def test_screen_pop_errors(base: str) -> None:
    q = "Command=ScreenPop&Record%20Type=Activity&Record%20Id=1QA2-S5YEX&Channel%20Type=Inbound%20Call"
    r = httpx.get(base + SERVLET + "?" + q, timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Frontdesk CRM On Demand", charset="UTF-8"'
    assert _error(r) == "Access Denied"
    assert _get(base, q, basic("demo", "wrong")).status_code == 401
    cases = [
        (
            "Command=ScreenPop&Record%20Type=Activity&Record%20Id=1QA2-S5YEX&Channel%20Type=Inbound%20Chat",
            404,
            "Record not found",
        ),
        (
            "Command=ScreenPop&Record%20Type=Activity&Record%20Id=1QA2-S5YEX",
            400,
            "'Channel Type' is a required field. Please enter a value for the field.(SBL-DAT-00498)",
        ),
        (
            "Command=ScreenPop&Record%20Type=Widget&Record%20Id=1",
            400,
            "Invalid value, Widget, is specified for option Record Type",
        ),
        ("Command=ScreenPop&Record%20Type=Contact&Record%20Id=NOPE", 404, "Record not found"),
        ("Command=Dial", 400, "Invalid value, Dial, is specified for option Command"),
        (
            "Record%20Id=1",
            400,
            "'Command' is a required field. Please enter a value for the field.(SBL-DAT-00498)",
        ),
    ]
    for query, status, message in cases:
        r = _get(base, query)
        assert (r.status_code, _error(r)) == (status, message), query
    r = _get(
        base,
        "Command=ScreenPop&Channel%20Type=Inbound%20Voicemail&Record%20Id=1QA2-D903189&Record%20Type=Activity",
        basic("limited", "limited"),
    )
    assert (r.status_code, _error(r)) == (403, "Access Denied")
    assert httpx.delete(base + SERVLET, headers=BASIC_DEMO, timeout=10).status_code == 405


def test_wrapup_form_and_save(base: str) -> None:
    q = "Command=WrapUp&Agent%20Offer%20Time=1287786213&Interaction%20Id=90001841534038"
    r = _get(base, q)
    assert (
        r.status_code == 200
        and '<form id="fd-wrapup"' in r.text
        and 'data-activity-id="1QA2-D903190"' in r.text
    )
    r2 = _get(base, "Command=WrapUp&AgentOfferTime=1287786213&InteractionId=90001841534038")
    assert r2.status_code == 200 and 'data-activity-id="1QA2-D903190"' in r2.text
    token = re.search(r'name="FormToken" value="([^"]+)"', r.text)
    assert token is not None
    form = {
        "Command": "WrapUp",
        "Interaction Id": "90001841534038",
        "Agent Offer Time": "1287786213",
        "Action": "Save",
        "Description": "Called about invoice",
    }
    for bad in ({}, {"FormToken": token.group(1) + "0"}):
        r = httpx.post(base + SERVLET, data={**form, **bad}, headers=BASIC_DEMO, timeout=10)
        assert (r.status_code, _error(r)) == (403, "Access Denied")
    assert _get(base, q).status_code == 200  # unchanged
    r = httpx.post(base + SERVLET, data={**form, "FormToken": token.group(1)}, headers=BASIC_DEMO, timeout=10)
    assert r.status_code == 200 and 'id="fd-wrapup-done"' in r.text
    soap = post(base, envelope(wrapup_body(interaction("90001841534038", "Inbound Call", "1287786213"))))
    assert activities(soap)[0]["Status"] == "Activity has already been wrapped up"
    r = _get(base, q)
    assert (r.status_code, _error(r)) == (409, "Activity has already been wrapped up")
    act = httpx.get(base + "/admin/api/crm/activities/1QA2-D903190", headers=BASIC_DEMO, timeout=10).json()
    assert act["Description"] == "Called about invoice" and act["WrappedUpBy"] == "demo"


def test_wrapup_servlet_errors(base: str) -> None:
    r = _get(base, "Command=WrapUp&Agent%20Offer%20Time=1&Interaction%20Id=nope")
    assert (r.status_code, _error(r)) == (404, "Activity not found")
    r = _get(base, "Command=WrapUp&Agent%20Offer%20Time=1287786900&Interaction%20Id=100000000009")
    assert (r.status_code, _error(r)) == (409, "Multiple activites found")
    r = _get(base, "Command=WrapUp&Agent%20Offer%20Time=soon&Interaction%20Id=1")
    assert (r.status_code, _error(r)) == (
        400,
        "Invalid value, soon, is specified for option Agent Offer Time",
    )


# -- CRM administration and native CRM routes (items 50-53) ---------------------------------------
def _admin(
    base: str, method: str, path: str, body: Any = None, auth: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.request(
        method, base + "/admin/api/crm" + path, json=body, headers=auth or BASIC_DEMO, timeout=20
    )


def test_admin_crud_and_matching(base: str) -> None:
    r = _admin(
        base, "POST", "/contacts", {"FirstName": "Ana", "LastName": "Ruiz", "WorkPhone": "+44 20 7946 0000"}
    )
    assert r.status_code == 201, r.text
    ana = r.json()["Id"]
    assert r.headers["location"].endswith("/contacts/" + ana)
    got = insert(base, interaction("ana-1", Origin="442079460000"))[0]
    assert got["ContactId"] == ana and got["ContactFullName"] == "Ana Ruiz"
    r = _admin(base, "POST", "/contacts", {"Id": "1QA2-AC001", "LastName": "X"})
    assert (r.status_code, r.json()) == (409, {"error": "conflict", "field": "Id"})
    r = _admin(base, "POST", "/campaigns", {"Name": "Again", "SourceCode": "spring24"})
    assert (r.status_code, r.json()) == (409, {"error": "conflict", "field": "SourceCode"})
    r = _admin(base, "POST", "/contacts", {"LastName": "Bad", "Email": "not-an-email"})
    assert r.status_code == 400 and r.json()["error"] == "validation" and r.json()["field"] == "Email"
    assert _admin(base, "GET", "/contacts", auth=basic("limited", "limited")).status_code == 403
    assert _admin(base, "GET", "/contacts", auth=basic("demo", "nope")).status_code == 401
    assert _admin(base, "GET", "/widgets").status_code == 404
    listed = _admin(base, "GET", "/contacts?limit=2").json()
    assert listed["total"] == 5 and len(listed["items"]) == 2
    users = _admin(base, "GET", "/users").json()["items"]
    assert {u["SignInId"] for u in users} == {"demo", "limited"} and all(
        "PasswordHash" not in u for u in users
    )
    # PUT and DELETE; deleting an account clears the references to it
    r = _admin(base, "PUT", f"/contacts/{ana}", {"FirstName": "Ana", "LastName": "Ruiz-Diaz"})
    assert r.status_code == 200 and r.json()["LastName"] == "Ruiz-Diaz"
    assert _admin(base, "DELETE", "/accounts/1QA2-AC001").status_code == 204
    maria = _admin(base, "GET", "/contacts/1QA2-D903L00").json()
    assert "AccountId" not in maria
    assert _admin(base, "GET", "/accounts/1QA2-AC001").status_code == 404


def test_match_dry_run_and_dataset(base: str) -> None:
    r = _admin(base, "GET", "/match?channelType=Inbound%20Call&origin=15551111212&destination=18005550199")
    assert r.status_code == 200
    body = r.json()
    assert body["contactId"] == "1QA2-RXQQC" and body["campaignId"] == "1QA2-CP001"
    assert body["screenPopRecordType"] == "Campaign" and body["leadId"] is None
    # nothing created: the first insert still gets the first generated id
    assert insert(base, interaction("after-match"))[0]["ActivityId"] == "1QA2-S78VL"
    dataset = _admin(base, "GET", "/dataset").json()
    assert dataset["idPrefix"] == "1QA2" and len(dataset["activities"]) == 11
    assert all("PasswordHash" not in u for u in dataset["users"])
    dataset["contacts"] = [c for c in dataset["contacts"] if c["Id"] != "1QA2-RXQR2"]
    assert _admin(base, "PUT", "/dataset", dataset).status_code == 204
    assert insert(base, interaction("lee", Origin="15559990000"))[0]["ContactId"] == "1QA2-RXQR1"
    bad = dict(dataset, contacts=[{"Id": "x y"}])
    r = _admin(base, "PUT", "/dataset", bad)
    assert r.status_code == 400
    assert _admin(base, "GET", "/contacts/1QA2-RXQR1").status_code == 200  # nothing half-written
    # the demo password still works after a dataset round trip
    assert insert(base, interaction("after-put"))[0]["Status"] == "OK"


def test_native_crm_routes(base: str) -> None:
    alice = NativeAgent(base, "alice")
    sam = NativeAgent(base, "sam")
    found = alice.get("/api/v1/crm/contacts?email=FRED.HONG@example.com")
    assert [c["Id"] for c in found["items"]] == ["1QA2-RXQQC"]
    assert [c["Id"] for c in alice.get("/api/v1/crm/contacts?phone=1-555-999-0000")["items"]] == [
        "1QA2-RXQR1",
        "1QA2-RXQR2",
    ]
    assert [c["Id"] for c in alice.get("/api/v1/crm/contacts?q=lopez")["items"]] == ["1QA2-D903L00"]
    assert (
        alice.get("/api/v1/crm/match?channelType=Inbound%20Chat&origin=priya.patel@example.net")["leadId"]
        == "1QA2-LD001"
    )
    r = alice.call("POST", "/api/v1/crm/contacts", {"LastName": "Nope"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert alice.call("GET", "/api/v1/crm/users").status_code == 403
    assert alice.call("GET", "/api/v1/crm/contacts/NOPE").json()["code"] == "record_not_found"
    made = sam.call("POST", "/api/v1/crm/leads", {"FirstName": "New", "LastName": "Lead"}, expect=201).json()
    assert sam.call("DELETE", f"/api/v1/crm/leads/{made['Id']}").status_code == 204
    r = sam.call("POST", "/api/v1/crm/contacts", {"Id": "1QA2-RXQQC"})
    assert r.status_code == 409 and r.json()["code"] == "already_exists"
    assert sam.call("POST", "/api/v1/crm/reset").status_code == 204
    time.sleep(0)  # reset keeps the server usable
    assert sam.get("/api/v1/crm/users")["total"] == 2
