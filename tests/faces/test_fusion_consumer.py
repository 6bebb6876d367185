"""The consumer engagement API without agents, on the shared demo server (spec/fusion-chat.md §4-§7,
§12 items 21-34, 37-46, 55-66). Every engagement a test opens is concluded at teardown so that no
queued chat is left for the agents of other tests."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fusion_client import API, SEED_JWT, Consumer, assert_error, client, close_all, token

NewConsumer = Callable[..., Consumer]


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    yield client(server.base_url)
    close_all()


@pytest.fixture
def consumer(http: httpx.Client) -> Iterator[NewConsumer]:
    made: list[Consumer] = []

    def make(engage: bool = True, **attrs: Any) -> Consumer:
        c = Consumer(http, token(http, **attrs))
        if engage:
            c.engage()
        made.append(c)
        return c

    yield make
    for c in made:
        if c.sid:
            c.op("concludeEngagement")


def bearer(http: httpx.Client, tok: str, op: str = "requestEngagement", **kw: Any) -> httpx.Response:
    return http.post(f"{API}/{op}?pool=1:1", json={}, headers={"Authorization": "Bearer " + tok, **kw})


def test_request_engagement_response(consumer: NewConsumer) -> None:
    c = consumer(engage=False)
    body = c.engage()  # item 21
    assert body["resultType"] == "SUCCESS"
    assert re.fullmatch(r"[a-z0-9]{25}", body["sessionId"])
    for key in ("engagementId", "clientId", "cancelledSurveyId", "completedSurveyId", "clientTransactionId"):
        assert isinstance(body[key], int) and body[key + "String"] == str(body[key])
    assert list(body) == sorted(body)
    assert body["clientRequestTime"] is None and body["cancelledSurveyAuth"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["serviceStartTime"])
    first = c.messages()  # item 34
    assert first[0]["messageName"] == "RNEngagementWaitInformationChangedMessage"
    assert first[0]["sequenceNumber"] == 1 and first[0]["sequenceNumberString"] == "1"
    assert first[0]["positionString"] == str(first[0]["position"])
    assert next(iter(first[0])) == "messageName" and list(first[0])[-3:] == [
        "createdTime",
        "sequenceNumber",
        "sequenceNumberString",
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # item 22
        {"Authorization": "Basic ZGVtbzpkZW1v"},  # item 23
        {"Authorization": "Bearer " + SEED_JWT},  # item 33
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
    ],
)
def test_request_engagement_refused(http: httpx.Client, headers: dict[str, str]) -> None:
    r = http.post(f"{API}/requestEngagement?pool=1:1", json={}, headers=headers)
    assert_error(r, 403, "ACCESS_DENIED", "JWT validation failed")


def test_tampered_token(http: httpx.Client) -> None:
    tok = token(http)
    head, payload, sig = tok.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]  # item 24
    assert_error(bearer(http, f"{head}.{payload}.{flipped}"), 403, "ACCESS_DENIED", "JWT validation failed")
    # a payload edited to another user, signature kept
    other = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    assert_error(bearer(http, f"{head}.{other}.{sig}"), 403, "ACCESS_DENIED")


def test_alg_none_and_hs256(http: httpx.Client) -> None:
    import base64

    import jwt as pyjwt

    tok = token(http)
    _, payload, _ = tok.split(".")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert_error(bearer(http, f"{none_head}.{payload}."), 403, "ACCESS_DENIED")  # item 26
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    hs = pyjwt.encode(claims, "x" * 32, algorithm="HS256")
    assert_error(bearer(http, hs), 403, "ACCESS_DENIED", "JWT validation failed")


def test_unknown_site_version_operation_pool(http: httpx.Client) -> None:
    tok = token(http)
    r = http.post(
        "/engagement/api/consumer/other/v1/requestEngagement?pool=1:1",
        json={},
        headers={"Authorization": "Bearer " + tok},
    )
    assert_error(r, 404, "NOT_FOUND", "Unknown site")  # item 27
    assert_error(http.post(f"{API}/nosuch", json={}), 404, "NOT_FOUND", "Unknown operation")  # item 61
    r = http.post("/engagement/api/consumer/example/v2/getMessages", json={})
    assert_error(r, 404, "NOT_FOUND")
    r = http.post(f"{API}/requestEngagement?pool=9:9", json={}, headers={"Authorization": "Bearer " + tok})
    assert_error(r, 404, "NOT_FOUND", "Unknown pool")  # item 28


@pytest.mark.parametrize("query", ["", "?pool=1%3A1", "?pool=1:1&"])
def test_pool_forms_accepted(http: httpx.Client, query: str) -> None:
    r = http.post(
        f"{API}/requestEngagement{query}", json={}, headers={"Authorization": "Bearer " + token(http)}
    )
    assert r.status_code == 200, r.text  # item 28
    http.post(f"{API}/concludeEngagement", json={}, headers={"SessionId": r.json()["sessionId"]})


def test_token_reuse_resumes_then_is_refused(consumer: NewConsumer) -> None:
    c = consumer()
    again = Consumer(c.http, c.jwt)
    second = again.engage()  # item 29
    assert second["engagementId"] == c.engagement["engagementId"]
    assert second["clientId"] == c.engagement["clientId"]
    assert second["sessionId"] != c.sid
    assert_error(c.op("getMessages"), 403, "ACCESS_DENIED", "Unknown consumer session")
    msgs = again.messages()  # undelivered messages went to the new session
    assert msgs[0]["sequenceNumber"] == 1
    again.ok("concludeEngagement")
    assert_error(bearer(c.http, c.jwt), 403, "ACCESS_DENIED", "JWT validation failed")  # item 30
    c.sid = again.sid


def test_resume_by_user(consumer: NewConsumer) -> None:
    user = f"resume-{time.time_ns()}@example.com"
    first = consumer(authUserName=user, resumeType="RESUME")
    second = consumer(authUserName=user, resumeType="RESUME")  # item 31
    assert second.engagement["engagementId"] == first.engagement["engagementId"]
    third = consumer(authUserName=user, resumeType="DO_NOT_RESUME")
    assert third.engagement["engagementId"] != first.engagement["engagementId"]


def test_session_id_undefined_is_absent(http: httpx.Client) -> None:
    r = bearer(http, token(http), SessionId="undefined")  # item 32
    assert r.status_code == 200, r.text
    http.post(f"{API}/concludeEngagement", json={}, headers={"SessionId": r.json()["sessionId"]})


def test_post_message_rules(consumer: NewConsumer) -> None:
    c = consumer()
    body = c.ok("postMessage", {"body": "hi"})  # item 38
    assert body["clientId"] == c.engagement["clientId"] and list(body) == sorted(body)
    for bad in ({}, {"body": "  "}, {"body": 5}):  # item 39
        assert_error(c.op("postMessage", bad), 400, "INVALID_FIELD", "body is required")
    assert_error(c.op("postMessage", {"body": "x" * 10_001}), 400, "INVALID_FIELD", "body is too long")
    bad_map = {"body": "x", "messageDataMap": {"k": 1}}
    assert_error(c.op("postMessage", bad_map), 400, "INVALID_FIELD", "messageDataMap is invalid")
    echoed = c.ok("postMessage", {"body": "t", "clientRequestTime": 1736935205000, "clientTransactionId": 7})
    assert echoed["clientRequestTime"] == 1736935205000  # item 40
    assert (echoed["clientTransactionId"], echoed["clientTransactionIdString"]) == (7, "7")
    echoed = c.ok(
        "postMessage", {"body": "u", "clientTransactionId": "12", "clientRequestTime": "2025-01-15T10:00:05Z"}
    )
    assert (echoed["clientTransactionId"], echoed["clientTransactionIdString"]) == (12, "12")  # item 41
    assert echoed["clientRequestTime"] == "2025-01-15T10:00:05Z"
    assert c.ok("postMessage", {"body": "v", "clientTransactionId": "x"})["clientTransactionId"] == 0
    rich = c.ok("postMessage", {"body": "<b>bold</b><script>x()</script>", "richText": True})
    assert rich["clientId"] == c.engagement["clientId"]
    names = [m["messageName"] for m in c.messages()]  # item 42: own messages never come back
    assert "RNEngagementMessagePostedMessage" not in names


def test_truncated_json_and_non_object(consumer: NewConsumer) -> None:
    c = consumer()
    r = c.http.post(f"{API}/postMessage?pool=1:1", content=b'{"body": "x", ', headers={"SessionId": c.sid})
    assert_error(r, 400, "BAD_REQUEST", "The request body is not a valid JSON object")  # item 63
    r = c.http.post(f"{API}/getMessages?pool=1:1", content=b"[1]", headers={"SessionId": c.sid})
    assert_error(r, 400, "BAD_REQUEST")
    r = c.http.post(f"{API}/getMessages?pool=1:1", content=b"", headers={"SessionId": c.sid})
    assert r.status_code == 200  # an empty body counts as {}


def test_session_credentials(consumer: NewConsumer, http: httpx.Client) -> None:
    c = consumer()
    for sid in ("", "unknown", "x" * 80, "null"):  # item 43
        assert_error(
            c.op("postMessage", {"body": "x"}, sid=sid), 403, "ACCESS_DENIED", "Unknown consumer session"
        )
    r = http.post(f"{API}/postMessage?pool=1:1", json={"body": "x"})
    assert_error(r, 403, "ACCESS_DENIED", "Unknown consumer session")
    ok = c.op("postMessage", {"body": "x"}, headers={"Authorization": "Bearer garbage"})
    assert ok.status_code == 200, ok.text  # item 44
    r = http.post(
        f"{API}/postMessage?pool=1:1", json={"body": "x"}, headers={"Authorization": "Bearer " + c.jwt}
    )
    assert_error(r, 403, "ACCESS_DENIED", "Unknown consumer session")  # item 45
    other = consumer()
    # a SessionId of another engagement only ever reaches that engagement
    assert (
        c.ok("postMessage", {"body": "mine"})["clientId"]
        != other.ok("postMessage", {"body": "x"})["clientId"]
    )
    lower = c.op("getMessages", headers={"sessionid": c.sid})
    assert lower.status_code == 200


def test_activity_modes(consumer: NewConsumer) -> None:
    c = consumer()
    assert c.ok("activity", {"mode": "RESPONDING"})["clientTransactionId"] == 0  # item 46
    assert c.ok("activity", {"mode": "listening", "sneakPreview": "My pr", "sneakPreviewFocus": True})
    assert_error(c.op("activity", {"mode": "TYPING"}), 400, "INVALID_FIELD", "mode is invalid")
    assert_error(c.op("activity", {}), 400, "INVALID_FIELD", "mode is required")


def test_ended_engagement(consumer: NewConsumer) -> None:
    c = consumer()
    c.messages()
    assert (
        c.ok("concludeEngagement", {"clientRequestTime": 1736935262000})["clientRequestTime"] == 1736935262000
    )
    for op, body in (("postMessage", {"body": "x"}), ("activity", {"mode": "RESPONDING"})):  # item 49
        assert_error(c.op(op, body), 409, "CONFLICT", "The engagement has ended")
    assert c.op("concludeEngagement").status_code == 200
    msgs = c.messages()  # item 48
    assert [m["messageName"] for m in msgs] == ["RNEngagementConcludedMessage"]
    assert msgs[0]["reason"] == "END_USER_CONCLUDED" and msgs[0]["role"] == "END_USER"
    assert msgs[0]["clientId"] == c.engagement["clientId"]
    for op in ("getMessages", "postMessage", "activity", "concludeEngagement"):  # item 50
        assert_error(
            c.op(op, {"body": "x", "mode": "RESPONDING"}), 403, "ACCESS_DENIED", "Unknown consumer session"
        )
    c.sid = ""


def test_second_poll_releases_the_first(consumer: NewConsumer) -> None:
    c = consumer()
    c.messages()
    result: dict[str, Any] = {}

    def held() -> None:
        started = time.monotonic()
        result["r"] = c.op("getMessages")
        result["t"] = time.monotonic() - started

    t = threading.Thread(target=held)
    t.start()
    time.sleep(0.5)
    second: dict[str, Any] = {}

    def newer() -> None:
        second["r"] = c.op("getMessages")

    t2 = threading.Thread(target=newer)
    t2.start()
    t.join(5)  # item 37
    assert not t.is_alive() and result["t"] < 3
    assert result["r"].json() == {"errorMessages": [], "systemMessages": []}
    c.ok("concludeEngagement")
    t2.join(10)
    assert [m["messageName"] for m in second["r"].json()["systemMessages"]] == [
        "RNEngagementConcludedMessage"
    ]
    c.sid = ""


def test_queue_stats(consumer: NewConsumer, http: httpx.Client) -> None:
    tok = token(http)
    r = http.post(
        f"{API}/getQueueStats?pool=1:1",
        json={"queueId": 313, "chatProactiveAvailableType": "AGENTS"},
        headers={"Authorization": "Bearer " + tok},
    )
    assert r.status_code == 200, r.text  # item 55
    body = r.json()
    for key in (
        "totalAvailableAgents",
        "availableAgentSessions",
        "engagementsInQueue",
        "expectedWaitTimeSeconds",
    ):
        assert isinstance(body[key], int)
    assert body["queueId"] == 1 and body["queueIdString"] == "1" and list(body) == sorted(body)
    c = consumer()
    r = http.get(
        f"{API}/getQueueStats?pool=1:1&request=%7B%22queueId%22%3A1%7D", headers={"SessionId": c.sid}
    )
    assert r.status_code == 200, r.text  # item 56
    assert_error(
        http.post(f"{API}/getQueueStats?pool=1:1", json={}), 403, "ACCESS_DENIED", "Access denied"
    )  # 57
    r = http.get(f"{API}/getQueueStats?pool=1:1&request=not-json", headers={"SessionId": c.sid})
    assert_error(r, 400, "BAD_REQUEST")
    r = http.post(
        f"{API}/getQueueStats?pool=1:1",
        json={"chatProactiveAvailableType": "PEOPLE"},
        headers={"Authorization": "Bearer " + tok},
    )
    assert_error(r, 400, "INVALID_FIELD", "chatProactiveAvailableType is invalid")
    engaged = Consumer(http, tok)
    engaged.engage()  # item 59: the token was not used up by getQueueStats
    engaged.ok("concludeEngagement")


def test_engagement_queue(http: httpx.Client) -> None:
    tok = token(http)
    request = {
        "interfaceId": 1,
        "interfaceName": "example",
        "productId": 10,
        "categoryId": 61,
        "organizationId": 112233,
        "customFields": [{"name": "priority", "type": "STRING", "value": "high"}],
    }
    url = f"{API}/getEngagementQueue?pool=1:1&request={quote(json.dumps(request, indent=1))}"
    r = http.get(url, headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 200, r.text  # item 58
    assert r.json()["queueId"] == 1 and r.json()["chatRouteId"] == 0
    request["customFields"] = [{"name": "x", "type": "BLOB", "value": "1"}]
    r = http.post(
        f"{API}/getEngagementQueue?pool=1:1", json=request, headers={"Authorization": "Bearer " + tok}
    )
    assert_error(r, 400, "INVALID_FIELD", "customFields is invalid")


def test_http_rules(consumer: NewConsumer, http: httpx.Client) -> None:
    r = http.get(f"{API}/postMessage")
    assert_error(r, 405, "METHOD_NOT_ALLOWED", "Method not allowed")  # item 60
    assert r.headers["allow"] == "POST, OPTIONS"
    c = consumer()
    big = json.dumps({"body": "x" * (65 * 1024)})
    for op in ("postMessage", "getMessages", "requestEngagement"):  # item 62
        r = http.post(f"{API}/{op}?pool=1:1", content=big, headers={"SessionId": c.sid})
        assert_error(r, 413, "BAD_REQUEST", "Request entity too large")
    r = http.options(
        f"{API}/postMessage",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Headers": "sessionid,content-type",
        },
    )
    assert r.status_code == 204  # item 64
    assert r.headers["access-control-allow-origin"] == "*"
    assert "SessionId" in r.headers["access-control-allow-headers"]
    assert r.headers["access-control-max-age"] == "600"
    r = c.op("getMessages", headers={"Origin": "https://shop.example"})
    assert r.headers["access-control-allow-origin"] == "*"  # item 65
    r = c.op("postMessage", {}, headers={"Origin": "https://shop.example"})
    assert r.headers["access-control-allow-origin"] == "*" and r.status_code == 400
    assert r.headers["cache-control"] == "no-store" or r.status_code == 400
    ok = c.op("postMessage", {"body": "x"}, headers={"Origin": "https://shop.example"})
    assert ok.headers["cache-control"] == "no-store"
    r = http.post(f"{API}/postMessage/?pool=1:1", json={"body": "x"}, headers={"SessionId": c.sid})
    assert r.status_code == 200  # trailing slash accepted
