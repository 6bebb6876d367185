"""Cross-tenant and cross-chat access with every id type on every face.

One server runs the demo tenant ``example.com`` (A) and a copy of it, ``second.example`` (B), with
its own id, domains, entry ids and integration credentials. Every id a face hands out in one tenant
or chat (ServicePattern chat_id and file_id; native chat, offer and file ids and logins; RightNow
SessionID and ChatToken; Fusion JWT and SessionId; ECE sid) is presented in the other tenant or by
another chat's owner, and each attempt must get that face's not-found or not-authorized answer.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hostile_support import SECOND, add_second_tenant, healthy, log_has_no_crash, record, roomy_limits

from tests_support import SP_AUTH

pytestmark = pytest.mark.slow

A = "example.com"
B = SECOND
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
HTTPBIND = "http://jabber.org/protocol/httpbind"
EGAIN = "http://bindings.egain.com/chat"
RN = {
    A: ("/cgi-bin/example.cfg/services/chat_soap", "demo"),
    B: ("/cgi-bin/second.cfg/services/chat_soap", "rn2"),
}
FUSION = {
    A: ("/engagement/api/consumer/example/v1", "1:1", "demo"),
    B: ("/engagement/api/consumer/second/v1", "2:2", "fu2"),
}
ECE_EP = {A: "1000", B: "6000"}
CA = "/crmRestApi/resources/11.13.18.05/chatAuthenticate"


def mutate(cfg: dict[str, Any]) -> None:
    add_second_tenant(cfg)
    roomy_limits(cfg)
    users = cfg["tenants"][0]["users"]
    alice = next(u for u in users if u["login"] == "alice")
    only = dict(alice, login="onlya")
    only["profile"] = dict(alice["profile"], display_name="Only A", screen_name="OnlyA")
    users.append(only)


class Tally:
    def __init__(self) -> None:
        self.attempts = 0
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str, r: httpx.Response) -> None:
        self.attempts += 1
        if not ok:
            self.failures.append(f"{what}: {r.status_code} {r.text[:300]!r}")


@pytest.fixture
def srv(server_factory: Any) -> Iterator[Any]:
    yield server_factory(mutate, name="tenants")


# -- ServicePattern ----------------------------------------------------------------------------------
def sp_auth(tenant: str) -> dict[str, str]:
    """A new customer of ``tenant`` (its ServicePattern entry id is the appId: ``test`` / ``stest``)."""
    auth = SP_AUTH.format(client_id=uuid.uuid4())
    if tenant == B:
        auth = auth.replace('appId="test"', 'appId="stest"')
    return {"Authorization": auth}


def sp(tenant: str, path: str) -> str:
    return f"/clientweb/api/v1{path}?tenantUrl={tenant}"


def sp_error(r: httpx.Response, code: str) -> bool:
    try:
        return r.status_code == 404 and str(r.json().get("error_code")) == code
    except ValueError:
        return False


def servicepattern(http: httpx.Client, t: Tally) -> None:
    auth_a = sp_auth(A)
    auth_b = sp_auth(B)
    chat_a = http.post(sp(A, "/chats"), json={}, headers=auth_a).json()["chat_id"]
    chat_b = http.post(sp(B, "/chats"), json={}, headers=auth_b).json()["chat_id"]
    up = http.post(
        sp(A, "/files"), headers=auth_a, files={"file-upload-input": ("a.txt", b"secret A", "text/plain")}
    )
    assert up.status_code == 200, up.text
    file_a = up.json()["file_id"]
    other_a = sp_auth(A)  # another customer of tenant A
    msg = {"events": [{"event": "chat_session_message", "msg": "hi"}]}
    same_customer_b = {"Authorization": auth_a["Authorization"].replace('appId="test"', 'appId="stest"')}
    for who, tenant, headers in (
        ("A's customer in tenant B", B, same_customer_b),
        ("B's customer", B, auth_b),
        ("another customer of A", A, other_a),
    ):
        r = http.get(sp(tenant, f"/chats/{chat_a}/events"), headers=headers)
        t.expect(sp_error(r, "5005"), f"SP poll A chat as {who}", r)
        r = http.post(sp(tenant, f"/chats/{chat_a}/events"), json=msg, headers=headers)
        t.expect(sp_error(r, "5005"), f"SP send to A chat as {who}", r)
        r = http.get(sp(tenant, f"/chats/{chat_a}/history"), headers=headers)
        t.expect(sp_error(r, "5005"), f"SP history of A chat as {who}", r)
        r = http.post(sp(tenant, f"/chats/{chat_a}/notifications"), json={}, headers=headers)
        t.expect(sp_error(r, "5005"), f"SP notifications of A chat as {who}", r)
    # file ids: A's file under B's chat, in B's tenant, and under a chat of nobody
    r = http.get(sp(B, f"/chats/{chat_b}/files/{file_a}"))
    t.expect(sp_error(r, "5502"), "SP A file via B chat", r)
    r = http.get(sp(A, f"/chats/{uuid.uuid4()}/files/{file_a}"))
    t.expect(sp_error(r, "5005"), "SP A file via unknown chat", r)
    # The bare download route ignores tenantUrl and auth by spec (servicepattern.md 3.9): the file id
    # itself is the capability, so it must be unguessable and a near miss must find nothing.
    assert len(re.sub(r"[^0-9a-fA-F]", "", file_a)) >= 32, file_a
    near = file_a[:-1] + ("0" if file_a[-1] != "0" else "1")
    r = http.get(f"/clientweb/file/{near}?tenantUrl={B}")
    t.expect(sp_error(r, "5502"), "SP bare download of a near-miss file id", r)
    # B's chat from A's customer
    r = http.get(sp(A, f"/chats/{chat_b}/history"), headers=auth_a)
    t.expect(sp_error(r, "5005"), "SP history of B chat from tenant A", r)


# -- native ------------------------------------------------------------------------------------------
def login(http: httpx.Client, tenant: str, user: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/login", json={"tenant": tenant, "login": user, "password": "demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def denied(r: httpx.Response) -> bool:
    return r.status_code in (403, 404) and r.headers.get("content-type", "").startswith(
        "application/problem+json"
    )


def wait_offer(http: httpx.Client, headers: dict[str, str], chat_id: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for offer in http.get("/api/v1/agent/offers", headers=headers).json()["items"]:
            if offer["chat_id"] == chat_id:
                return str(offer["offer_id"])
        time.sleep(0.05)
    raise AssertionError(f"no offer for {chat_id}")


def native(http: httpx.Client, t: Tally) -> None:
    alice_a, bob_a, sam_a = (login(http, A, u) for u in ("alice", "bob", "sam"))
    alice_b, sam_b = login(http, B, "alice"), login(http, B, "sam")
    for h in (alice_a, alice_b):
        assert http.put("/api/v1/agent/state", json={"state": "ready"}, headers=h).status_code == 200
    cust_a = sp_auth(A)
    chat_a = http.post(sp(A, "/chats"), json={}, headers=cust_a).json()["chat_id"]
    offer_a = wait_offer(http, alice_a, chat_a)
    for who, h in (("tenant B agent", alice_b), ("tenant B supervisor", sam_b), ("other agent", bob_a)):
        r = http.post(f"/api/v1/agent/offers/{offer_a}/accept", headers=h)
        t.expect(denied(r), f"native accept A offer as {who}", r)
        r = http.post(f"/api/v1/agent/offers/{offer_a}/reject", headers=h)
        t.expect(denied(r), f"native reject A offer as {who}", r)
    r = http.post(f"/api/v1/agent/offers/{offer_a}/accept", headers=alice_a)
    assert r.status_code == 200, r.text
    files = {"file": ("a.txt", b"secret A", "text/plain")}
    up = http.post(
        f"/api/v1/chats/{chat_a}/files", files=files, data={"client_msg_id": "f1"}, headers=alice_a
    )
    assert up.status_code in (200, 201), up.text
    file_match = re.search(r'"file_id"\s*:\s*"([^"]+)"', up.text)
    assert file_match is not None, up.text
    file_a = file_match.group(1)
    # a chat of tenant B for B's agent
    cust_b = sp_auth(B)
    chat_b = http.post(sp(B, "/chats"), json={}, headers=cust_b).json()["chat_id"]
    r = http.post(f"/api/v1/agent/offers/{wait_offer(http, alice_b, chat_b)}/accept", headers=alice_b)
    assert r.status_code == 200, r.text

    chat_calls: list[tuple[str, str, Any]] = [
        ("GET", "", None),
        ("GET", "/events", None),
        ("GET", "/transcript", None),
        ("POST", "/messages", {"client_msg_id": "x1", "text": "intruder"}),
        ("POST", "/typing", {"typing": True}),
        ("POST", "/read", {"seq": 1}),
        ("POST", "/push-url", {"url": "https://example.com/"}),
        ("POST", "/leave", {}),
        ("POST", "/end", {}),
        ("POST", "/wrapup", {"disposition": "resolved"}),
        ("POST", "/transfer", {"queue": "support"}),
        ("GET", f"/files/{file_a}", None),
    ]
    for who, h in (("tenant B agent", alice_b), ("tenant B supervisor", sam_b), ("other agent", bob_a)):
        for method, tail, body in chat_calls:
            if who == "other agent" and method == "GET" and tail in ("", "/events", "/transcript"):
                continue  # colleagues of one tenant may read chats where the spec allows it
            r = http.request(method, f"/api/v1/chats/{chat_a}{tail}", json=body, headers=h)
            t.expect(denied(r), f"native {method} A chat{tail} as {who}", r)
    r = http.post(f"/api/v1/supervisor/chats/{chat_a}/end", json={}, headers=sam_b)
    t.expect(denied(r), "native supervisor end of A chat from B", r)
    r = http.get(f"/api/v1/chats/{chat_b}/files/{file_a}", headers=alice_b)
    t.expect(denied(r), "native A file via B chat", r)
    # logins: onlya exists in tenant A only
    r = http.get("/api/v1/users/onlya/photo", headers=alice_b)
    t.expect(denied(r), "native photo of A-only login from B", r)
    r = http.put("/api/v1/supervisor/agents/onlya/state", json={"state": "ready"}, headers=sam_b)
    t.expect(denied(r), "native state of A-only login from B supervisor", r)
    r = http.get("/api/v1/supervisor/queues/support", headers=sam_b)
    assert r.status_code == 200  # B's own queue of the same name
    chats_b = http.get("/api/v1/supervisor/chats", headers=sam_b).text
    t.expect(chat_a not in chats_b, "native B supervisor chat list shows A chat", r)
    # B's chat from tenant A
    r = http.get(f"/api/v1/chats/{chat_b}", headers=sam_a)
    t.expect(denied(r), "native B chat from A supervisor", r)


# -- RightNow ----------------------------------------------------------------------------------------
def envelope(op: str, inner: str, user: str, sid: str | None = None) -> bytes:
    hdr = (
        '<c:ChatClientInfoHeader xmlns:c="urn:messages.common.chat.ws.rightnow.com/v1"><c:AppID>x</c:AppID>'
        + (f"<c:SessionID>{sid}</c:SessionID>" if sid else "")
        + "</c:ChatClientInfoHeader>"
        if op != "GetChatUrl"
        else ""
    )
    ns = (
        "urn:messages.chat.ws.rightnow.com/v1_2"
        if op == "GetChatUrl"
        else "urn:messages.enduser.chat.ws.rightnow.com/v1"
    )
    sec = (
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>'
        f"<wsse:Password>{user}</wsse:Password></wsse:UsernameToken></wsse:Security>"
    )
    return (
        f'<e:Envelope xmlns:e="{SOAP}"><e:Header>{hdr}{sec}</e:Header><e:Body><m:{op} xmlns:m="{ns}">{inner}'
        f"</m:{op}></e:Body></e:Envelope>"
    ).encode()


def fault(r: httpx.Response, text: str) -> bool:
    return r.status_code == 500 and "<faultstring>" + text in r.text


def rightnow(http: httpx.Client, t: Tally) -> None:
    def call(
        tenant: str, op: str, inner: str = "", sid: str | None = None, user: str | None = None
    ) -> httpx.Response:
        path, creds = RN[tenant]
        return http.post(
            path, content=envelope(op, inner, user or creds, sid), headers={"Content-Type": "text/xml"}
        )

    def token(tenant: str) -> str:
        r = call(tenant, "GetChatUrl", "<m:UrlType>ENDUSER</m:UrlType>")
        m = re.search(r"ChatToken>([^<]+)<", r.text)
        assert m is not None, r.text
        return m.group(1)

    def start(tenant: str) -> str:
        r = call(tenant, "RequestChat", f"<m:ChatSessionToken>{token(tenant)}</m:ChatSessionToken>")
        m = re.search(r"SessionID>([^<]+)<", r.text)
        assert m is not None, r.text
        return m.group(1)

    r = call(B, "RequestChat", f"<m:ChatSessionToken>{token(A)}</m:ChatSessionToken>")
    t.expect(fault(r, "Invalid chat session token"), "RightNow A ChatToken on B interface", r)
    sid_a = start(A)
    sid_b = start(B)
    for op, inner in (
        ("RetrieveMessages", ""),
        ("PostChatMessage", "<m:Body>intruder</m:Body>"),
        ("SendActivityChange", "<m:Mode>RESPONDING</m:Mode>"),
        ("TerminateChat", ""),
    ):
        r = call(B, op, inner, sid=sid_a)
        t.expect(fault(r, "Invalid session"), f"RightNow A SessionID {op} on B interface", r)
        r = call(A, op, inner, sid=sid_b)
        t.expect(fault(r, "Invalid session"), f"RightNow B SessionID {op} on A interface", r)
        forged = sid_a[:-1] + ("A" if sid_a[-1] != "A" else "B")
        r = call(A, op, inner, sid=forged)
        t.expect(fault(r, "Invalid session"), f"RightNow forged SessionID {op}", r)
    r = call(B, "GetChatUrl", "<m:UrlType>ENDUSER</m:UrlType>", user="demo")
    t.expect(r.status_code == 500 and "FailedAuthentication" in r.text, "RightNow A credentials on B", r)
    # the chats still work for their owners
    assert call(A, "RetrieveMessages", sid=sid_a).status_code == 200


# -- Fusion --------------------------------------------------------------------------------------------
def fusion_denied(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return r.status_code in (401, 403, 404) and "exceptionCode" in body


def fusion(http: httpx.Client, t: Tally) -> None:
    def jwt(tenant: str) -> str:
        user = FUSION[tenant][2]
        r = http.post(CA, json={"authUserName": f"u{uuid.uuid4().hex[:6]}@example.com"}, auth=(user, user))
        assert r.status_code == 201, r.text
        return str(r.json()["jwt"])

    def op(tenant: str, name: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        api, pool, _ = FUSION[tenant]
        return http.post(f"{api}/{name}?pool={pool}", json=body or {}, headers=headers)

    jwt_a = jwt(A)
    r = op(B, "requestEngagement", {"Authorization": "Bearer " + jwt_a})
    t.expect(fusion_denied(r), "Fusion A JWT on B site", r)
    r = op(A, "requestEngagement", {"Authorization": "Bearer " + jwt_a})
    assert r.status_code == 200, r.text
    sid_a = r.json()["sessionId"]
    r = op(B, "requestEngagement", {"Authorization": "Bearer " + jwt(B)})
    assert r.status_code == 200, r.text
    sid_b = r.json()["sessionId"]
    for name, body in (
        ("getMessages", {}),
        ("postMessage", {"body": "intruder"}),
        ("activity", {"mode": "RESPONDING"}),
        ("concludeEngagement", {}),
    ):
        r = op(B, name, {"SessionId": sid_a}, body)
        t.expect(fusion_denied(r), f"Fusion A SessionId {name} on B site", r)
        r = op(A, name, {"SessionId": sid_b}, body)
        t.expect(fusion_denied(r), f"Fusion B SessionId {name} on A site", r)
        r = op(A, name, {"SessionId": str(uuid.uuid4())}, body)
        t.expect(fusion_denied(r), f"Fusion unknown SessionId {name}", r)
    assert op(A, "getMessages", {"SessionId": sid_a}).status_code == 200


# -- ECE -------------------------------------------------------------------------------------------------
def ece(http: httpx.Client, t: Tally) -> None:
    def create(tenant: str) -> str:
        body = (
            f'<body rid="1000" xmlns="{HTTPBIND}" to="{ECE_EP[tenant]}" from="x@example.com" '
            f'wait="60" hold="1" ver="1.6"><egainParams xmlns="{EGAIN}"></egainParams></body>'
        )
        r = http.post(
            "/system/egain/chat/entrypoint", content=body.encode(), headers={"Content-Type": "text/xml"}
        )
        m = re.search(r'sid="([^"]+)"', r.text)
        assert r.status_code == 200 and m is not None, r.text
        return m.group(1)

    sid_a = create(A)
    create(B)
    forged = [
        sid_a[:-1] + ("0" if sid_a[-1] != "0" else "1"),
        sid_a + "x",
        sid_a.swapcase(),
        str(uuid.uuid4()),
    ]
    for sid in forged:
        if sid == sid_a:
            continue
        r = http.get(f"/system/egain/chat/entrypoint/sessionStatus/{sid}")
        t.expect(r.status_code == 404, "ECE sessionStatus with forged sid", r)
        for tail in ("sessionStatistics", "attachConnection"):
            r = http.post(f"/system/egain/chat/entrypoint/{tail}", json={"sid": sid}, headers={"Host": B})
            t.expect(r.status_code == 404, f"ECE {tail} with forged sid", r)
        r = http.post("/system/egain/chat/entrypoint/transcript", json={"sid": sid})
        t.expect(r.status_code == 400 and "closed" in r.text, "ECE transcript with forged sid", r)
        body = f'<body rid="1001" sid="{sid}" xmlns="{HTTPBIND}"/>'
        r = http.post(
            "/system/egain/chat/entrypoint", content=body.encode(), headers={"Content-Type": "text/xml"}
        )
        t.expect(
            r.status_code == 404 or (r.status_code == 200 and 'type="terminate"' in r.text),
            "ECE BOSH poll with forged sid",
            r,
        )


def test_cross_tenant_and_cross_chat_access(srv: Any) -> None:
    t = Tally()
    with httpx.Client(base_url=srv.base_url, timeout=30) as http:
        for face in (servicepattern, native, rightnow, fusion, ece):
            face(http, t)
            healthy(srv.base_url)
    log_has_no_crash(srv.log())
    record("cross_tenant_access", access_attempts=t.attempts)
    assert not t.failures, "\n".join(t.failures) + f"\n({len(t.failures)} of {t.attempts})"
