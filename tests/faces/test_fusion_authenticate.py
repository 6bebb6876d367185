"""chatAuthenticate over real HTTP (spec/fusion-chat.md §2, §3, §12 items 1-20, 67)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fusion_client import (
    API,
    CA,
    SEED_BODY,
    Consumer,
    assert_adf,
    authenticate,
    client,
    close_all,
    decode,
)

SEED_RESPONSE_ORDER = [
    "authUserName",
    "categoryId",
    "chatSiteName",
    "clientType",
    "contactId",
    "domain",
    "emailAddress",
    "firstName",
    "incidentId",
    "interfaceId",
    "jwt",
    "lastName",
    "organizationId",
    "poolId",
    "productId",
    "question",
    "queueId",
    "resumeType",
    "incidentName",
    "incidentType",
    "inventoryItemId",
    "inventoryOrgId",
    "prodGroupId",
    "links",
]


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    yield client(server.base_url)
    close_all()


def seed_call(
    http: httpx.Client, content_type: str | None = "application/x-www-form-urlencoded"
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return http.post(CA, content=SEED_BODY, auth=("demo", "demo"), headers=headers)


def test_seed_request_returns_the_seed_response(http: httpx.Client, server: Any) -> None:
    r = seed_call(http)  # item 1: the seed's cURL command (-d: form content type)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/vnd.oracle.adf.resourceitem+json"
    body = r.json()
    host = server.base_url.removeprefix("http://")
    # item 2
    assert body["chatSiteName"] == "example" and body["poolId"] == "1:1"
    assert body["domain"] == host and body["clientType"] == "CONSUMER"
    assert len(body["jwt"].split(".")) == 3
    # item 3 and the rest of §1.2 step 1
    expected = {
        "authUserName": "john.doe.4@us2.oraclecloud.com",
        "categoryId": "456000",
        "contactId": "123000",
        "emailAddress": "john.doe.4@us2.oraclecloud.com",
        "firstName": "John",
        "incidentId": None,
        "interfaceId": "1",
        "lastName": "Doe",
        "organizationId": "112233",
        "productId": None,
        "question": "This is a question",
        "queueId": "2",
        "resumeType": "RESUME",
        "incidentName": "Incident 200000",
        "incidentType": "SVC_SERVICE_REQUESTS",
        "inventoryItemId": "200000",
        "inventoryOrgId": "300000",
        "prodGroupId": "400000",
    }
    for key, value in expected.items():
        assert body[key] == value, key
    # item 4: key order and Location
    assert list(body) == SEED_RESPONSE_ORDER
    location = r.headers["location"]
    assert location == f"{server.base_url}{CA}/john.doe.4%40us2.oraclecloud.com"
    link = {"href": location, "name": "chatAuthenticate", "kind": "item"}
    assert body["links"] == [{"rel": "self", **link}, {"rel": "canonical", **link}]
    # §9 seed replay: the JWT is accepted by requestEngagement
    engaged = Consumer(http, body["jwt"]).engage()
    assert engaged["resultType"] == "SUCCESS"
    r = http.post(f"{API}/concludeEngagement?pool=1:1", json={}, headers={"SessionId": engaged["sessionId"]})
    assert r.status_code == 200


@pytest.mark.parametrize("ctype", ["application/json", "application/vnd.oracle.adf.resourceitem+json", None])
def test_any_content_type(http: httpx.Client, ctype: str | None) -> None:
    assert seed_call(http, ctype).status_code == 201  # item 5


@pytest.mark.parametrize(
    "path",
    [
        "/serviceApi/resources/latest/chatAuthenticate",
        "/serviceApi/resources/11.13.0.0/chatAuthenticate",
        "/crmRestApi/resources/latest/chatAuthenticate",
    ],
)
def test_other_paths(http: httpx.Client, path: str) -> None:
    r = http.post(path, content=SEED_BODY, auth=("demo", "demo"))  # item 6
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + base64.b64encode(b"demo:wrong").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"nobody:demo").decode()},
        {},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer abc.def.ghi"},
        {"Authorization": "Basic ZGVtbw=="},  # "demo" without a colon
    ],
)
def test_authentication_failures_are_identical(http: httpx.Client, headers: dict[str, str]) -> None:
    r = http.post(CA, content=SEED_BODY, headers=headers)  # items 7, 8
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="Frontdesk"'
    assert r.content == b""


def test_basic_scheme_case_and_unpadded_base64(http: httpx.Client) -> None:
    # "demo:demo" base64 is ZGVtbzpkZW1v (no padding needed); "demo:demo1" needs one "=".
    r = http.post(CA, content=SEED_BODY, headers={"Authorization": "bAsIc ZGVtbzpkZW1v"})
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "MISSING_ATTRIBUTE"),  # item 9
        (b"", 400, "MISSING_ATTRIBUTE"),
        ({"authUserName": "   "}, 400, "MISSING_ATTRIBUTE"),  # item 10
        ({"authUserName": None}, 400, "MISSING_ATTRIBUTE"),
        ({"authUserName": "u", "clientType": "AGENT"}, 400, "INVALID_ATTRIBUTE"),  # item 11
        ({"authUserName": "u", "resumeType": "MAYBE"}, 400, "INVALID_ATTRIBUTE"),  # item 12
        (b"[1,2]", 400, "INVALID_JSON"),  # item 14
        (b"not json", 400, "INVALID_JSON"),
        (b'{"authUserName": "u", "x": NaN}', 400, "INVALID_JSON"),
        (b'{"authUserName": "\xff"}', 400, "INVALID_JSON"),
        (b'{"authUserName": "u", "x": ' + b"[" * 20 + b"]" * 20 + b"}", 400, "INVALID_JSON"),
        ({"authUserName": "u", "firstName": {"a": 1}}, 400, "INVALID_ATTRIBUTE"),  # item 15
        ({"authUserName": "u", "lastName": [1]}, 400, "INVALID_ATTRIBUTE"),
        ({"authUserName": "a\u0001b"}, 400, "INVALID_ATTRIBUTE"),
        ({"authUserName": "u", "question": "x" * 4001}, 400, "INVALID_ATTRIBUTE"),
    ],
)
def test_bad_bodies(http: httpx.Client, body: Any, status: int, code: str) -> None:
    assert_adf(authenticate(http, body), status, code)


def test_missing_user_detail_text(http: httpx.Client) -> None:
    body = authenticate(http, {}).json()
    assert body == {
        "type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
        "title": "Bad Request",
        "status": "400",
        "o:errorDetails": [
            {"detail": "The attribute authUserName is mandatory.", "o:errorCode": "MISSING_ATTRIBUTE"}
        ],
    }


def test_minimal_body_and_conversions(http: httpx.Client) -> None:
    r = authenticate(http, {"authUserName": "u"})  # item 13
    assert r.status_code == 201 and r.json()["clientType"] == "CONSUMER"
    r = authenticate(http, {"authUserName": "u", "customFields": {"k": "v"}})  # item 16
    assert r.json()["customFields"] == '{"k":"v"}'
    r = authenticate(
        http, {"authUserName": "u", "unknownThing": 1, "jwt": "x", "poolId": "9:9", "clientType": "consumer"}
    )  # item 17
    body = r.json()
    assert r.status_code == 201 and "unknownThing" not in body
    assert body["jwt"] != "x" and body["poolId"] == "1:1" and body["clientType"] == "CONSUMER"
    body = authenticate(
        http, {"authUserName": "u", "chatPriority": 5, "allowAgentAttachments": True, "escalationLevel": 1.5}
    ).json()
    assert (body["chatPriority"], body["allowAgentAttachments"], body["escalationLevel"]) == (
        "5",
        "true",
        "1.5",
    )
    keys = list(body)
    assert keys.index("allowAgentAttachments") > keys.index(
        "prodGroupId" if "prodGroupId" in keys else "poolId"
    )
    assert keys[-1] == "links"
    body = authenticate(http, {"authUserName": "u", "resumeType": "do_not_resume"}).json()
    assert body["resumeType"] == "DO_NOT_RESUME"


def test_payload_too_large(http: httpx.Client) -> None:
    body = json.dumps({"authUserName": "u", "question": "x" * (65 * 1024)}).encode()
    assert_adf(authenticate(http, body), 413, "PAYLOAD_TOO_LARGE")  # item 18


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods(http: httpx.Client, method: str) -> None:
    for path in (CA, CA + "/someone"):  # item 19
        r = http.request(method, path, auth=("demo", "demo"))
        assert_adf(r, 405, "METHOD_NOT_ALLOWED")
        assert r.headers["allow"] == "POST, OPTIONS"


def test_token_contents(http: httpx.Client, server: Any) -> None:
    r = seed_call(http)
    head, claims = decode(r.json()["jwt"])  # item 20
    assert head["alg"] == "RS256" and head["typ"] == "JWT" and head["kid"].startswith("fd-")
    assert "x5t" not in head and len(head["kid"]) == 19
    assert claims["iss"] == "Fusion Apps"
    assert claims["sub"] == claims["prn"] == "john.doe.4@us2.oraclecloud.com"
    assert claims["aud"] == f"{server.base_url}/engagement/api/consumer/example"
    assert claims["exp"] - claims["iat"] == 120
    assert len(claims["jti"]) == 36
    assert list(claims)[:6] == ["exp", "sub", "aud", "iss", "prn", "iat"]
    chat = claims["chat"]
    assert chat["categoryId"] == "456000" and chat["clientType"] == "CONSUMER" and chat["incidentId"] is None
    assert "jwt" not in chat and "poolId" not in chat and len(chat) == 19


def test_cors_on_authenticate(http: httpx.Client) -> None:
    r = http.options(CA, headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    r = http.post(CA, content=SEED_BODY, auth=("demo", "demo"), headers={"Origin": "https://shop.example"})
    assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "*"


def test_demo_has_no_lockout(http: httpx.Client) -> None:
    for _ in range(11):
        assert authenticate(http, None, password="bad").status_code == 401
    assert authenticate(http).status_code == 201  # item 67, demo defaults


def test_lockout_and_privilege(server_factory: Any) -> None:
    def mutate(cfg: dict[str, Any]) -> None:
        fusion = cfg["tenants"][0]["faces"]["fusion"]
        fusion["auth_lockout"] = {
            "enabled": True,
            "max_failures": 10,
            "window_seconds": 60,
            "lock_seconds": 60,
        }
        fusion["credentials"].append({"username": "nochat", "password": "pw", "chat_privilege": False})

    srv = server_factory(mutate)
    http = client(srv.base_url)
    try:
        assert_adf(authenticate(http, None, "nochat", "pw"), 403, "ACCESS_DENIED")
        for _ in range(10):
            assert authenticate(http, None, password="bad").status_code == 401
        r = authenticate(http)  # item 67: the eleventh, with correct credentials
        assert_adf(r, 429, "TOO_MANY_REQUESTS")
        assert r.json()["type"] == "https://tools.ietf.org/html/rfc6585#section-4"
    finally:
        close_all()


def test_generated_key_survives_a_restart(server_factory: Any) -> None:
    """§3.3 / config.md §5: the generated key lives in the store, not in one process."""
    srv = server_factory()
    http = client(srv.base_url)
    try:
        jwt_ = authenticate(http).json()["jwt"]
        srv.stop()
        srv.start()
        c = Consumer(http, jwt_)
        c.engage()
        c.ok("concludeEngagement")
        assert decode(authenticate(http).json()["jwt"])[0]["kid"] == decode(jwt_)[0]["kid"]
    finally:
        close_all()
