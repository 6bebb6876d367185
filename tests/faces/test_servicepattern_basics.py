"""ServicePattern face: basics, tenant and auth, Request Chat, routing, CORS, cookies, v2 extras.

Items refer to the conformance checklist of spec/servicepattern.md section 7.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sp_agent import Customer, assert_error, auth, close_all

from conftest import ServerProc

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "servicepattern" / "seed-example.http"
UUID_LOWER = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JSON_TYPE = "application/json; charset=utf-8"


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def api(server: ServerProc, path: str, version: str = "v1") -> str:
    return f"{server.base_url}/clientweb/api/{version}{path}"


def seed_request(server: ServerProc) -> tuple[str, str, dict[str, str], bytes]:
    lines = [x for x in SEED.read_text().splitlines() if not x.startswith("#")]
    method, url = lines[0].split(" ", 1)
    blank = lines.index("")
    headers = dict(line.split(": ", 1) for line in lines[1:blank])
    body = "\n".join(lines[blank + 1 :]).strip().encode()
    return method, url.replace("{base}", server.base_url), headers, body


def test_item01_02_seed_request(server: ServerProc) -> None:
    method, url, headers, body = seed_request(server)
    headers["Authorization"] = auth("test", str(uuid.uuid4()))  # a fresh identity, as the seed's "123"
    first = httpx.request(method, url, headers=headers, content=body)
    assert first.status_code == 200, first.text
    data = first.json()
    assert set(data) == {"chat_id", "state", "ewt", "is_new_chat", "phone_number"}
    assert UUID_LOWER.match(data["chat_id"])
    assert data["state"] == "queued"
    assert re.fullmatch(r"[0-9]+", data["ewt"])
    assert data["is_new_chat"] is True
    assert data["phone_number"] == "3001"
    again = httpx.request(method, url, headers=headers, content=body).json()
    assert again["chat_id"] == data["chat_id"]
    assert again["is_new_chat"] is False


def test_seed_literal_client_id_123(server: ServerProc) -> None:
    method, url, headers, body = seed_request(server)
    r = httpx.request(method, url, headers=headers, content=body)
    assert r.status_code == 200, r.text
    assert r.json()["phone_number"] == "3001"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_item03_05_info_endpoints(server: ServerProc, version: str) -> None:
    c = Customer(server.base_url, version)
    r = c.get("/availability")
    assert r.status_code == 200
    assert r.headers["content-type"] == JSON_TYPE and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert (
        set(body) == {"chat", "ewt"} and body["chat"] == "available" and re.fullmatch("[0-9]+", body["ewt"])
    )
    assert c.get("/parameters").json() == {
        "parameters": [{"first_name": "FIRST_NAME"}, {"last_name": "LAST_NAME"}, {"email": "EMAIL"}]
    }
    assert c.get("/iceservers").json() == {"servers": []}
    conf = c.get("/configuration").json()
    assert isinstance(conf["widgets"], list)
    v = c.get("/version")
    if version == "v2":
        assert v.status_code == 200 and isinstance(v.json()["server_version"], str)
    else:
        assert_error(v, "5955", 404)
    # trailing slashes are tolerated
    assert c.get("/availability/").status_code == 200


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_item03_04_chat_paths_both_versions(server: ServerProc, version: str) -> None:
    c = Customer(server.base_url, version)
    started = c.start({})
    assert started["is_new_chat"] is True
    r = c.get("/chats/active")
    assert r.status_code == 200 and r.headers["content-type"] == JSON_TYPE
    assert r.headers["cache-control"] == "no-store" and r.content
    first = c.events()
    assert first[0]["event"] == "chat_session_status"
    assert c.say("hi", "1").json() == {"events": []}
    h = c.history()
    assert h.status_code == 200 and h.headers["cache-control"] == "no-store"


def test_item06_07_13_tenant(server: ServerProc) -> None:
    url = api(server, "/availability")
    h = {"Authorization": auth()}
    assert_error(httpx.get(url, headers={**h, "Host": "127.0.0.1:8080"}), "1000", 403)
    assert_error(httpx.get(url + "?tenantUrl=nosuch.example", headers=h), "1000", 403)
    for form in ("https%3A%2F%2Fexample.com%2F", "https://example.com/", "EXAMPLE.COM", "example.com.:443"):
        r = httpx.get(url + "?tenantUrl=" + form, headers=h)
        assert r.status_code == 200, (form, r.text)
    # item 13: tenant first
    assert_error(httpx.get(url + "?tenantUrl=nosuch.example"), "1000", 403)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "2000"),
        ("", "2000"),
        ("Bearer abc", "2002"),
        ("Basic dGVzdDp0ZXN0", "2002"),
        ("MOBILE-API-140-327-PLAIN appId", "2001"),
        ('MOBILE-API-140-327-PLAIN appId="test", appId="test", clientId="1"', "2001"),
        ('MOBILE-API-140-327-PLAIN appId="test", clientId="' + "x" * 257 + '"', "2001"),
        ('MOBILE-API-140-327-PLAIN clientId="x"', "2003"),
        ('MOBILE-API-140-327-PLAIN appId="test"', "2004"),
        ('MOBILE-API-140-327-PLAIN appId="nosuch", clientId="x"', "3000"),
    ],
)
def test_item08_11_auth_errors(server: ServerProc, header: str | None, code: str) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert_error(httpx.get(api(server, "/availability?tenantUrl=example.com"), headers=headers), code, 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/availability"),
        ("GET", "/parameters"),
        ("POST", "/chats"),
        ("GET", "/chats/active"),
        ("GET", "/iceservers"),
        ("GET", "/configuration"),
        ("POST", "/files"),
        ("GET", "/casehistory"),
        ("GET", f"/chats/{uuid.uuid4()}/events"),
        ("POST", f"/chats/{uuid.uuid4()}/events"),
        ("GET", f"/chats/{uuid.uuid4()}/history"),
    ],
)
def test_item11_unknown_app_id_everywhere(server: ServerProc, method: str, path: str) -> None:
    r = httpx.request(
        method,
        api(server, path, "v2") + "?tenantUrl=example.com",
        json={},
        headers={"Authorization": auth("nosuch")},
    )
    assert_error(r, "3000", 403)


@pytest.mark.parametrize(
    "header",
    [
        "MOBILE-API-140-327-PLAIN appId=test, clientId={cid}",
        'MOBILE-API-140-327-PLAIN   appId = "test" ,   clientId = "{cid}"',
        'MOBILE-API-140-327-PLAIN clientId="{cid}", appId="test"',
        'mobile-api-140-327-plain appid="test", CLIENTID="{cid}", extra="1"',
    ],
)
def test_item12_lenient_auth(server: ServerProc, header: str) -> None:
    cid = str(uuid.uuid4())
    url = api(server, "/chats?tenantUrl=example.com")
    r = httpx.post(url, headers={"Authorization": header.format(cid=cid), "UserAgent": "MobileClient"})
    assert r.status_code == 200, r.text
    again = httpx.post(url, headers={"Authorization": auth("test", cid)})
    assert again.json()["chat_id"] == r.json()["chat_id"], "the same identity whatever the header form"


@pytest.mark.parametrize("body", [b"", b"null", b"{}", b"\xef\xbb\xbf{}"])
def test_item14_empty_bodies(server: ServerProc, body: bytes) -> None:
    c = Customer(server.base_url)
    r = c.post("/chats", content=body)
    assert r.status_code == 200, r.text
    assert r.json()["phone_number"] == ""


@pytest.mark.parametrize(
    "body",
    [b'{"phone_number":', b"[1,2]", b'{"parameters":"x"}', b'{"phone_number":{}}', b'{"from":[1]}', b'"x"'],
)
def test_item15_16_bad_bodies(server: ServerProc, body: bytes) -> None:
    c = Customer(server.base_url)
    assert_error(c.post("/chats", content=body), "5003", 400)
    assert_error(c.get("/chats/active"), "5005", 404)  # nothing was created


def test_item17_scalars_and_object_parameters(server: ServerProc) -> None:
    c = Customer(server.base_url)
    body = {
        "phone_number": 3001,
        "from": "John Lee",
        "unknown": 1,
        "parameters": {"first_name": "John", "user_platform": {"os": "Android 14"}},
    }
    r = c.post("/chats", body)
    assert r.status_code == 200 and r.json()["phone_number"] == "3001"


def test_item18_concurrent_request_chat(server: ServerProc) -> None:
    cid = str(uuid.uuid4())
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        c = Customer(server.base_url, client_id=cid)
        barrier.wait()
        results.append(c.post("/chats", {}).json())

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r["chat_id"] for r in results}) == 1
    assert sorted(r["is_new_chat"] for r in results) == [False, True]


def test_item19_new_chat_after_gone(server: ServerProc) -> None:
    c = Customer(server.base_url)
    first = c.start()
    c.send({"event": "chat_session_end"})
    assert any(e["event"] == "chat_session_ended" for e in c.collect_until("chat_session_ended"))
    assert_error(c.poll(), "5005", 404)
    second = c.start()
    assert second["chat_id"] != first["chat_id"] and second["is_new_chat"] is True


def test_request_chat_while_closing_makes_old_chat_gone(server: ServerProc) -> None:
    c = Customer(server.base_url)
    first = c.start()["chat_id"]
    c.send({"event": "chat_session_end"})
    second = c.start()
    assert second["is_new_chat"] is True and second["chat_id"] != first
    c.chat_id = first
    assert_error(c.poll(), "5005", 404)


def test_item20_initial_message(server: ServerProc) -> None:
    c = Customer(server.base_url)
    c.start({"initial_message": {"event": "chat_session_message", "msg_id": "1", "msg": "Hello there"}})
    events = c.history().json()["events"]
    msgs = [e for e in events if e["event"] == "chat_session_message"]
    assert len(msgs) == 1 and msgs[0]["msg"] == "Hello there" and msgs[0]["party_id"] == c.chat_id


def _walk(obj: Any, bad: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("ewt", "timestamp", "error_code") and not (isinstance(v, str) and v.isdigit()):
                bad.append(f"{k}={v!r}")
            _walk(v, bad)
    elif isinstance(obj, list):
        for v in obj:
            _walk(v, bad)


def test_item21_no_forbidden_forms(server: ServerProc) -> None:
    c = Customer(server.base_url)
    replies = [c.post("/chats", {}), c.get("/chats/active"), c.get("/availability")]
    c.chat_id = replies[0].json()["chat_id"]
    replies += [c.poll(), c.say("x", "1"), c.history(), c.post("/chats/nosuch/events", {})]
    c.send({"event": "chat_session_end"})
    replies += [c.poll(), c.poll()]
    bad: list[str] = []
    for r in replies:
        assert "establishing" not in r.text
        _walk(r.json(), bad)
    assert not bad, bad


def test_item22_active_chat(server: ServerProc) -> None:
    c = Customer(server.base_url)
    assert_error(c.get("/chats/active"), "5005", 404)
    c.start({"phone_number": "555"})
    r = c.get("/chats/active").json()
    assert set(r) == {"chat_id", "state", "ewt", "phone_number"}
    assert r["chat_id"] == c.chat_id and r["phone_number"] == "555"
    assert_error(c.post("/chats/active", {}), "5955", 405)


def test_item55_notifications(server: ServerProc) -> None:
    c = Customer(server.base_url, "v2")
    c.start()
    path = f"/chats/{c.chat_id}/notifications"
    r = c.post(path, {"android_firebase_device_token": "t"})
    assert r.status_code == 200 and r.json() == {}
    assert_error(
        c.post(path, {"android_firebase_device_token": "t", "ios_firebase_device_token": "u"}), "5603", 406
    )
    assert_error(c.post(path, {"ios_apns_device_token": "t"}), "5003", 400)
    assert_error(c.post(path, {"ios_firebase_device_token": 5}), "5003", 400)
    ok = c.post(path, {"ios_apns_device_token": "t", "ios_app_bundle_id": "com.example.app"})
    assert ok.status_code == 200 and ok.json() == {}
    assert c.post(path, {}).json() == {}
    c.chat_id = str(uuid.uuid4())
    assert_error(c.post(f"/chats/{c.chat_id}/notifications", {}), "5005", 404)


def test_item56_case_paths(server: ServerProc) -> None:
    c = Customer(server.base_url, "v2")
    assert_error(c.get("/casehistory"), "5005", 404)  # no live chat yet
    c.start()
    assert_error(c.get("/casehistory"), "5601", 406)
    assert_error(c.post("/closecase", {"unrelated": 1}), "5601", 406)
    assert_error(c.get(f"/chats/{c.chat_id}/casehistory"), "5601", 406)
    assert_error(c.post(f"/chats/{c.chat_id}/closecase"), "5601", 406)


def test_item57_routing_errors(server: ServerProc) -> None:
    assert_error(httpx.get(api(server, "/nosuch")), "5955", 404)
    assert_error(httpx.post(api(server, "/requestsms?tenantUrl=example.com")), "5955", 404)
    r = httpx.delete(api(server, "/chats?tenantUrl=example.com"), headers={"Authorization": auth()})
    assert_error(r, "5955", 405)
    assert "POST" in r.headers["allow"]


def test_item58_preflight(server: ServerProc) -> None:
    r = httpx.options(
        api(server, "/chats"),
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://shop.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in r.headers["access-control-allow-methods"]


def test_item59_cors_on_every_reply(server: ServerProc) -> None:
    origin = {"Origin": "https://shop.example"}
    c = Customer(server.base_url)
    replies = [
        c.post("/chats", {}, headers=origin),
        c.get("/availability", headers=origin),
        c.get(f"/chats/{uuid.uuid4()}/events", headers=origin),
        httpx.get(api(server, "/availability"), headers=origin),
        httpx.get(api(server, "/nosuch"), headers=origin),
    ]
    assert replies[2].status_code == 404
    for r in replies:
        assert r.headers["access-control-allow-origin"] == "https://shop.example", r.request.url
        assert r.headers["access-control-allow-credentials"] == "true"


def test_item60_61_cookie_mode(server: ServerProc) -> None:
    url = api(server, "/chats?tenantUrl=example.com")
    h = {"Authorization": auth("test", "WebChat")}
    first = httpx.post(url, headers=h)
    assert first.status_code == 200
    cookie = first.cookies.get("frontdesk_webchat")
    assert cookie and UUID_LOWER.match(cookie)
    assert "Path=/clientweb" in first.headers["set-cookie"] and "SameSite=Lax" in first.headers["set-cookie"]
    with_cookie = httpx.post(url, headers={**h, "Cookie": f"frontdesk_webchat={cookie}"}).json()
    assert with_cookie["chat_id"] == first.json()["chat_id"] and with_cookie["is_new_chat"] is False
    without = httpx.post(url, headers={"Authorization": auth("test", "Webchat")}).json()
    assert without["chat_id"] != first.json()["chat_id"] and without["is_new_chat"] is True
    # item 61: a cookie of one identity on another identity's chat
    other = httpx.post(url, headers=h).cookies["frontdesk_webchat"]
    chat_id = first.json()["chat_id"]
    r = httpx.get(
        api(server, f"/chats/{chat_id}/history?tenantUrl=example.com"),
        headers={**h, "Cookie": f"frontdesk_webchat={other}"},
    )
    assert_error(r, "5005", 404)
    # no cookie at all: the chat id alone authorises (third-party cookies blocked)
    r = httpx.get(api(server, f"/chats/{chat_id}/history?tenantUrl=example.com"), headers=h)
    assert r.status_code == 200


def test_item62_body_over_1mib(server: ServerProc) -> None:
    c = Customer(server.base_url)
    big = b'{"phone_number":"' + b"1" * (1024 * 1024) + b'"}'
    assert_error(c.post("/chats", content=big), "5003", 413)
