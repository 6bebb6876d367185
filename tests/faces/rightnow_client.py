"""Helpers for the RightNow chat SOAP face tests (spec/rightnow-chat-soap.md): envelopes as real
clients write them, a raw HTTP client, fault assertions, the seed replay substitutions (§14.2), and
a native-API agent that answers chats by EngagementID."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rightnow"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SITE_NS = "urn:messages.chat.ws.rightnow.com/v1_2"
COMMON_NS = "urn:messages.common.chat.ws.rightnow.com/v1"
ENDUSER_NS = "urn:messages.enduser.chat.ws.rightnow.com/v1"
SITE_FAULT_NS = "urn:fault.ws.rightnow.com/v1_2"
CHAT_FAULT_NS = "urn:faults.chat.ws.rightnow.com/v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PATH = "/cgi-bin/example.cfg/services/chat_soap"
SEED_SID = "12a3bcdefghi4jk56lmn7o8pq"
SEED_TOKEN = "1234a5b6-c789-01d2-345-678ef90a1bc2"
CHAT_FRAME_DECLS = (
    ' xmlns="urn:messages.common.chat.ws.rightnow.com/v1"'
    ' xmlns:ns2="urn:messages.uq.chat.ws.rightnow.com/v1"'
    ' xmlns:ns3="urn:messages.enduser.chat.ws.rightnow.com/v1"'
    ' xmlns:ns4="urn:faults.chat.ws.rightnow.com/v1">'
)

# Fault catalogue of spec §12.3: id -> (faultcode suffix or wsse code, exceptionCode or None, faultstring)
FAULTS: dict[str, tuple[str, str | None, str]] = {
    "DTD_FORBIDDEN": ("Client", "INVALID_REQUEST", "DTDs are not allowed"),
    "MALFORMED_XML": ("Client", "INVALID_REQUEST", "Request is not well-formed XML"),
    "TOO_COMPLEX": ("Client", "INVALID_REQUEST", "Request is too complex"),
    "TOO_LARGE": ("Client", "INVALID_REQUEST", "Request entity too large"),
    "NOT_SOAP": ("Client", "INVALID_REQUEST", "Request is not a SOAP 1.1 envelope"),
    "VERSION_MISMATCH": ("VersionMismatch", None, "Only SOAP 1.1 is supported"),
    "UNKNOWN_OPERATION": ("Client", "INVALID_REQUEST", "Unknown operation"),
    "MUST_UNDERSTAND": ("MustUnderstand", None, "Header not understood"),
    "SECURITY_MISSING": ("wsse:InvalidSecurity", "INVALID_LOGIN", "Missing wsse:Security header"),
    "SECURITY_INCOMPLETE": ("wsse:InvalidSecurity", "INVALID_LOGIN", "Incomplete UsernameToken"),
    "AUTH_FAILED": (
        "wsse:FailedAuthentication",
        "INVALID_LOGIN",
        "The security token could not be authenticated or authorized",
    ),
    "SESSION_MISSING": ("Client", "MISSING_ARGUMENT", "SessionID is required"),
    "BAD_ID": ("Client", "BAD_ID", "Invalid session"),
    "BAD_TOKEN": ("Client", "BAD_ID", "Invalid chat session token"),
    "CHAT_ENDED": ("Client", "INVALID_REQUEST", "The chat has ended"),
    "MISSING_ARGUMENT": ("Client", "MISSING_ARGUMENT", "{Element} is required"),
    "INVALID_FIELD": ("Client", "INVALID_FIELD", "{Element} is invalid"),
}

_OPEN: list[Any] = []


def close_all() -> None:
    while _OPEN:
        _OPEN.pop().close()


def security(
    user: str = "demo", password: str = "demo", ptype: str | None = "#PasswordText", must: str = ""
) -> str:
    type_attr = f' Type="{PROFILE}{ptype}"' if ptype is not None else ""
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}"{must}><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username><wsse:Password{type_attr}>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security>"
    )


def digest_security(user: str, password: str, nonce: bytes | None = None, created: str | None = None) -> str:
    nonce = nonce or os.urandom(16)
    created = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{PROFILE}#PasswordDigest">{digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{WSSE[:-4]}#Base64Binary">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def envelope(body: str, headers: str | None = None) -> str:
    head = security() if headers is None else headers
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:v1="{COMMON_NS}" xmlns:v11="{ENDUSER_NS}"'
        f' xmlns:rncm="{SITE_NS}"><soapenv:Header>{head}</soapenv:Header>'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def session_header(sid: str | None) -> str:
    inner = "<v1:AppID>pytest</v1:AppID>" + (f"<v1:SessionID>{sid}</v1:SessionID>" if sid is not None else "")
    return f"<v1:ChatClientInfoHeader>{inner}</v1:ChatClientInfoHeader>"


def trd(time_value: str | None = None, tid: str | None = "1", site: str | None = "example") -> str:
    parts = ["<v11:TransactionRequestData>"]
    if time_value is not None:
        parts.append(f"<v11:ClientRequestTime>{time_value}</v11:ClientRequestTime>")
    if tid is not None:
        parts.append(f"<v11:ClientTransactionID>{tid}</v11:ClientTransactionID>")
    if site is not None:
        parts.append(f"<v11:SiteName>{site}</v11:SiteName>")
    return "".join(parts) + "</v11:TransactionRequestData>"


def seed(name: str, **subst: str) -> str:
    """A seed request with the §14.2 placeholders replaced and the annotation removed."""
    text = (FIXTURES / f"seed-{name}.request.xml").read_text().strip()
    for old, new in (
        ("YourUserID", "demo"),
        ("YourUserName", "demo"),
        ("XXXXX", "demo"),
        ("YOUR_SITE_NAME", "example"),
        ("YourSiteName", "example"),
    ):
        text = text.replace(old, new)
    if subst.get("keep_annotation") is None:
        text = text.replace("<-- Must match the Token above!", "")
    if "token" in subst:
        text = text.replace(SEED_TOKEN, subst["token"])
    if "sid" in subst:
        text = text.replace(SEED_SID, subst["sid"])
    return text


def xml(r: httpx.Response) -> Any:
    return etree.fromstring(r.content)


def find(root: Any, local: str) -> Any:
    found = root.xpath(f"//*[local-name()='{local}']")
    return found[0] if found else None


def value(r: httpx.Response, local: str) -> str | None:
    el = find(xml(r), local)
    return None if el is None else str(el.text or "")


def assert_fault(
    r: httpx.Response, fault_id: str, style: str = "chat", status: int = 500, text: str | None = None
) -> None:
    code, exc_code, catalogue_text = FAULTS[fault_id]
    text = text or catalogue_text
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = xml(r)
    prefix = "S" if style == "chat" else "soapenv"
    assert root.prefix == prefix, r.text
    assert find(root, "Header") is None
    fault = find(root, "Fault")
    assert fault.tag == f"{{{SOAP}}}Fault"
    expected_code = code if code.startswith("wsse:") else f"{prefix}:{code}"
    assert fault.findtext("faultcode") == expected_code, r.text
    assert fault.findtext("faultstring") == text, r.text
    if exc_code is None:
        assert fault.find("detail") is None, r.text
        return
    detail = fault.find("detail")
    err = detail[0]
    ns = CHAT_FAULT_NS if style == "chat" else SITE_FAULT_NS
    assert err.tag == f"{{{ns}}}RequestErrorFault", r.text
    assert err.findtext(f"{{{ns}}}exceptionCode") == exc_code
    assert err.findtext(f"{{{ns}}}exceptionMessage") == text


class Soap:
    """A raw SOAP client of one interface endpoint."""

    def __init__(self, base_url: str, path: str = PATH, timeout: float = 40.0) -> None:
        self.url = base_url + path
        self.base = base_url
        self.http = httpx.Client(timeout=timeout)
        _OPEN.append(self.http)

    def post(self, body: str | bytes, **headers: str) -> httpx.Response:
        content = body.encode("utf-8") if isinstance(body, str) else body
        return self.http.post(
            self.url, content=content, headers={"Content-Type": "text/xml;charset=UTF-8", **headers}
        )

    def healthy(self) -> None:
        assert self.http.get(self.base + "/healthz").status_code == 200

    def get_chat_url(self, headers: str | None = None) -> httpx.Response:
        return self.post(
            envelope("<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>", headers)
        )

    def token(self) -> str:
        r = self.get_chat_url()
        assert r.status_code == 200, r.text
        return str(value(r, "ChatToken"))

    def request_chat(
        self, token: str | None = None, extra: str = "", headers: str | None = None
    ) -> httpx.Response:
        tok = self.token() if token is None else token
        body = (
            f"<v11:RequestChat>{trd()}<v11:CustomerInformation><v1:FirstName>Ada</v1:FirstName>"
            f"<v1:LastName>Lovelace</v1:LastName>{extra}</v11:CustomerInformation>"
            f"<v11:ChatSessionToken>{tok}</v11:ChatSessionToken></v11:RequestChat>"
        )
        hdr = session_header(None) + security() if headers is None else headers
        return self.post(envelope(body, hdr))

    def start(self) -> tuple[str, str]:
        """A new chat: (SessionID, EngagementID)."""
        r = self.request_chat()
        assert r.status_code == 200, r.text
        return str(value(r, "SessionID")), str(find(xml(r), "EngagementID").get("id"))

    def op(
        self, sid: str | None, op: str, inner: str = "", time_value: str | None = None, tid: str = "1"
    ) -> httpx.Response:
        body = f"<v11:{op}>{trd(time_value, tid)}{inner}</v11:{op}>"
        return self.post(envelope(body, session_header(sid) + security()))

    def retrieve(self, sid: str, **kw: Any) -> httpx.Response:
        return self.op(sid, "RetrieveMessages", **kw)

    def say(self, sid: str, text: str) -> httpx.Response:
        return self.op(sid, "PostChatMessage", f"<v11:Body>{text}</v11:Body>")

    def activity(self, sid: str, mode: str) -> httpx.Response:
        return self.op(sid, "SendActivityChange", f"<v11:Mode>{mode}</v11:Mode>")

    def terminate(self, sid: str) -> httpx.Response:
        return self.op(sid, "TerminateChat")

    def messages(self, sid: str) -> list[Any]:
        r = self.retrieve(sid)
        assert r.status_code == 200, r.text
        return list(find(xml(r), "SystemMessages"))

    def until(self, sid: str, name: str, timeout: float = 20.0) -> list[Any]:
        """Retrieve until a message named ``name`` arrives; every message seen, in order."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.messages(sid)
            seen.extend(batch)
            if any(etree.QName(m).localname == name for m in batch):
                return seen
        raise AssertionError(f"no {name}; saw {[etree.QName(m).localname for m in seen]}")


def mname(el: Any) -> str:
    return str(etree.QName(el).localname)


def mfield(el: Any, name: str) -> str | None:
    return el.findtext(f"{{{ENDUSER_NS}}}{name}")


class Agent:
    """A demo agent on the native API that finds chats by EngagementID (the chat number)."""

    def __init__(self, base_url: str, login: str = "alice") -> None:
        self.http = httpx.Client(base_url=base_url, timeout=20.0)
        _OPEN.append(self.http)
        r = self.http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": login, "password": "demo"}
        )
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = "Bearer " + r.json()["token"]
        self.n = 0
        self.chats: list[str] = []

    def ready(self) -> None:
        r = self.http.put("/api/v1/agent/state", json={"state": "ready"})
        assert r.status_code == 200, r.text

    def accept(self, engagement_id: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get("/api/v1/agent/offers")
            assert r.status_code == 200, r.text
            for offer in r.json()["items"]:
                if str(offer["chat"]["number"]) == engagement_id:
                    a = self.http.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept")
                    assert a.status_code == 200, a.text
                    self.chats.append(offer["chat_id"])
                    return str(offer["chat_id"])
            time.sleep(0.05)
        raise AssertionError(f"no offer for engagement {engagement_id}")

    def write(self, chat_id: str, text: str) -> None:
        self.n += 1
        r = self.http.post(
            f"/api/v1/chats/{chat_id}/messages", json={"client_msg_id": f"m{self.n}", "text": text}
        )
        assert r.status_code in (200, 201), r.text

    def typing(self, chat_id: str, typing: bool) -> None:
        r = self.http.post(f"/api/v1/chats/{chat_id}/typing", json={"typing": typing})
        assert r.status_code == 204, r.text

    def events(self, chat_id: str) -> list[dict[str, Any]]:
        r = self.http.get(f"/api/v1/chats/{chat_id}/events", params={"limit": 500})
        assert r.status_code == 200, r.text
        return list(r.json()["events"])

    def detail(self, chat_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/chats/{chat_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def end(self, chat_id: str) -> None:
        r = self.http.post(f"/api/v1/chats/{chat_id}/end", json={})
        assert r.status_code == 200, r.text

    def clean(self) -> None:
        """End what is still open, wrap up, log out: the next test finds the agent as it was."""
        for chat_id in self.chats:
            self.http.post(f"/api/v1/chats/{chat_id}/end", json={})
            self.http.post(f"/api/v1/chats/{chat_id}/wrapup", json={"disposition": "resolved"})
        self.http.put("/api/v1/agent/state", json={"state": "logged_out"})
        self.http.post("/api/v1/auth/logout")


def engagement_of(r: httpx.Response) -> str:
    return str(find(xml(r), "EngagementID").get("id"))


def unprefixed_created_time(raw: bytes, message: str) -> bool:
    return (
        re.search(
            rf"<ns3:{message}><CreatedTime>\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z</CreatedTime>",
            raw.decode(),
        )
        is not None
    )
