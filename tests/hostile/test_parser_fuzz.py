"""Hypothesis-generated input for every parser, against a real server: ServicePattern event bodies,
SOAP bodies, ECE XML (BOSH, survey, side requests), JSON bodies of the native and Fusion APIs, and a
sweep of every route of the app's route table with generated methods, path parameters, queries and
bodies (so a face added later is fuzzed without editing this file). No answer may be a 5xx (except a
well-formed SOAP Fault and ECE's protocol 500 for an unknown entry point), the server stays healthy,
and it logs no unhandled exception.

The CRM CSV importer (``frontdesk import-crm``) is not covered here: it had not landed when this
suite was written; add its generator beside these when it does.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx
import pytest
from hostile_support import (
    app_routes,
    healthy,
    log_has_no_crash,
    no_server_error,
    record,
    roomy_limits,
    soap_fault_ok,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

_OPEN: list[httpx.Client] = []
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
RN_PATH = "/cgi-bin/example.cfg/services/chat_soap"
HTTPBIND = "http://jabber.org/protocol/httpbind"
EGAIN = "http://bindings.egain.com/chat"

# -- generic strategies ----------------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
nasty_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud7ff\ue000\ufffd",
        "\u202e\u200b",
        "😀" * 50,
        "%00%2e%2e%2f",
        "../../etc/passwd",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "${jndi:ldap://127.0.0.1/a}",
        "A" * 20_000,
        "9" * 400,
        "-1",
        "1e309",
        "null",
    ]
)
texts = st.text(max_size=60) | nasty_text


def raw_json_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not what json.dumps writes: deep nesting, NaN, duplicate keys, BOMs, junk."""
    return st.one_of(
        st.integers(1, 200_000).map(lambda n: ("[" * n + "]" * n).encode()),
        st.integers(1, 100_000).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
        st.sampled_from(
            [
                b"NaN",
                b'{"events": NaN}',
                b'{"a": Infinity, "a": -Infinity}',
                b'{"events": [], "events": {}}',
                b"\xef\xbb\xbf{}",
                '{"x": "é"}'.encode("utf-16"),
                b'{"x": "\\ud800"}',
                b"1" * 5000,
                b"",
                b"{",
                b"\x00\x01\x02",
                b"[]",
                b'"str"',
                b"null",
            ]
        ),
        st.binary(max_size=200),
    )


def bodies(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(structured.map(lambda v: json.dumps(v).encode()), raw_json_bodies())


content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/xml",
        "",
    ]
)


def run(strategy: st.SearchStrategy[Any], examples: int, body: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def fuzz(value: Any) -> None:
        body(value)

    fuzz()


class Checker:
    """Sends, counts, and collects every answer that is a server error."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=60)
        _OPEN.append(self.http)
        self.sent = 0
        self.failures: list[str] = []

    def send(self, method: str, url: str, **kw: Any) -> httpx.Response | None:
        try:
            r = self.http.request(method, url, **kw)
        except (httpx.InvalidURL, UnicodeError, httpx.LocalProtocolError):
            return None  # refused by the client: never reached the server
        except httpx.HTTPError as exc:
            self.failures.append(f"{method} {url[:200]}: no answer ({exc!r})")
            return None
        self.sent += 1
        problem = no_server_error(r, urllib.parse.urlsplit(url).path)
        if problem is not None:
            self.failures.append(f"{method} {url[:200]}: {problem}")
        return r

    def finish(self, srv: Any, name: str, **extra: int) -> None:
        self.http.close()
        healthy(self.base)
        assert srv.proc is not None and srv.proc.poll() is None
        log_has_no_crash(srv.log())
        record(name, requests_fuzzed=self.sent, **extra)
        assert not self.failures, "\n".join(self.failures[:30]) + f"\n({len(self.failures)} failures)"


@pytest.fixture
def srv(server_factory: Any) -> Iterator[Any]:
    yield server_factory(roomy_limits, name="fuzz")
    while _OPEN:
        _OPEN.pop().close()


# -- ServicePattern events --------------------------------------------------------------------------
SP_EVENTS = [
    "chat_session_message",
    "chat_session_message_delivered",
    "chat_session_message_read",
    "chat_session_typing",
    "chat_session_not_typing",
    "chat_session_form_data",
    "chat_session_secure_form_data",
    "chat_session_secure_form_cancel",
    "chat_session_end",
    "chat_session_disconnect",
    "chat_session_signaling",
    "chat_session_file",
    "chat_session_location",
    "chat_session_navigation",
    "chat_session_cobrowsing_started",
    "chat_session_party_joined",
]
SP_FIELDS = [
    "msg",
    "msg_id",
    "file_id",
    "file_type",
    "form_name",
    "form_request_id",
    "form_response",
    "data",
    "latitude",
    "longitude",
    "url",
    "party_id",
    "timestamp",
    "page",
    "reason",
]
sp_event = st.builds(
    lambda name, extra: {"event": name, **extra},
    st.sampled_from(SP_EVENTS) | json_values,
    st.dictionaries(st.sampled_from(SP_FIELDS) | st.text(max_size=8), json_values | texts, max_size=5),
)
sp_body = st.one_of(
    st.fixed_dictionaries({"events": st.lists(sp_event, max_size=4)}),
    st.fixed_dictionaries({"events": json_values}),
    json_values,
)


def test_servicepattern_event_bodies(srv: Any) -> None:
    check = Checker(srv.base_url)
    chat: dict[str, str] = {}

    def new_chat() -> None:
        auth = SP_AUTH.format(client_id=uuid.uuid4())
        r = check.send("POST", sp_url("/chats"), json={}, headers={"Authorization": auth})
        assert r is not None and r.status_code == 200, r
        chat.update(id=r.json()["chat_id"], auth=auth)

    new_chat()

    def one(value: tuple[bytes, str, bool]) -> None:
        data, ctype, foreign = value
        chat_id = str(uuid.uuid4()) if foreign else chat["id"]
        headers = {"Authorization": chat["auth"]}
        if ctype:
            headers["Content-Type"] = ctype
        r = check.send("POST", sp_url(f"/chats/{chat_id}/events"), content=data, headers=headers)
        if r is not None and r.status_code == 404 and not foreign:
            new_chat()  # a generated chat_session_end ended it

    run(st.tuples(bodies(sp_body), content_types, st.booleans()), 400, one)
    check.finish(srv, "parser_servicepattern_events")


# -- SOAP bodies -----------------------------------------------------------------------------------
RN_OPS = [
    "GetChatUrl",
    "GetChatOperatingHours",
    "RequestChat",
    "PostChatMessage",
    "RetrieveMessages",
    "SendActivityChange",
    "TerminateChat",
]
RN_NAMES = [
    "TransactionRequestData",
    "ClientRequestTime",
    "ClientTransactionID",
    "SiteName",
    "CustomerInformation",
    "FirstName",
    "LastName",
    "EMailAddress",
    "ChatSessionToken",
    "Body",
    "Mode",
    "UrlType",
    "InterfaceID",
    "Question",
    "CustomFields",
    "Product",
    "Category",
    "ContactID",
    "OrganizationID",
    "ResumeType",
    "AppID",
    "SessionID",
]
RN_NS = [
    "urn:messages.chat.ws.rightnow.com/v1_2",
    "urn:messages.common.chat.ws.rightnow.com/v1",
    "urn:messages.enduser.chat.ws.rightnow.com/v1",
    "",
    "urn:other",
]
xml_text = st.text(max_size=40).map(escape) | nasty_text.map(escape)


def element(names: list[str], ns: list[str]) -> st.SearchStrategy[str]:
    def build(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda name, n, kids, attrs: (
                f"<{name}{' xmlns=' + quoteattr(n) if n else ''}"
                + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
                + f">{''.join(kids)}</{name}>"
            ),
            st.sampled_from(names),
            st.sampled_from(ns),
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(["id", "type", "Type", "lang", "nil"]), st.text(max_size=8)),
        )

    return st.recursive(xml_text, build, max_leaves=12)


def security(user: str, password: str, ptype: str) -> str:
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>{escape(user)}'
        f'</wsse:Username><wsse:Password Type="{PROFILE}#{ptype}">{escape(password)}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security>"
    )


def soap_envelope(op: str, inner: str, sid: str | None, sec: str) -> str:
    header = (
        '<c:ChatClientInfoHeader xmlns:c="urn:messages.common.chat.ws.rightnow.com/v1">'
        "<c:AppID>fuzz</c:AppID>"
        + (f"<c:SessionID>{escape(sid)}</c:SessionID>" if sid is not None else "")
        + "</c:ChatClientInfoHeader>"
    )
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Header>{header}{sec}</soapenv:Header>'
        f'<soapenv:Body><m:{op} xmlns:m="urn:messages.enduser.chat.ws.rightnow.com/v1">{inner}</m:{op}>'
        "</soapenv:Body></soapenv:Envelope>"
    )


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for pos, cut, insert in edits:
        at = pos % (len(data) + 1)
        data = data[:at] + insert + data[at + cut :]
    return data


def test_soap_bodies(srv: Any) -> None:
    check = Checker(srv.base_url)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    ok = soap_envelope(
        "GetChatUrl", "<m:UrlType>ENDUSER</m:UrlType>", None, security("demo", "demo", "PasswordText")
    )
    r = check.send("POST", RN_PATH, content=ok.encode(), headers=headers)
    assert r is not None and r.status_code == 200, r.text if r is not None else r
    token_match = re.search(r"ChatToken>([^<]+)<", r.text)
    token = token_match.group(1) if token_match else "x"
    request_chat = soap_envelope(
        "RequestChat",
        f"<m:ChatSessionToken>{token}</m:ChatSessionToken>",
        None,
        security("demo", "demo", "PasswordText"),
    )
    r = check.send("POST", RN_PATH, content=request_chat.encode(), headers=headers)
    sid_match = re.search(r"SessionID>([^<]+)<", r.text if r is not None else "")
    real_sid = sid_match.group(1) if sid_match else "x"

    structured = st.builds(
        soap_envelope,
        st.sampled_from(RN_OPS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
        st.lists(element(RN_NAMES, RN_NS), max_size=4).map("".join),
        st.sampled_from([real_sid, None]) | st.text(max_size=30),
        st.builds(
            security,
            st.sampled_from(["demo", "", "x" * 300]) | st.text(max_size=10),
            st.sampled_from(["demo", ""]) | st.text(max_size=10),
            st.sampled_from(["PasswordText", "PasswordDigest", "Other"]),
        )
        | st.just(""),
    ).map(lambda s: s.encode("utf-8", errors="surrogatepass"))
    mutated = st.builds(
        mutate,
        st.sampled_from([ok.encode(), request_chat.encode()]),
        st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 20), st.binary(max_size=12)), max_size=4),
    )
    failures = check.failures

    def one(value: tuple[bytes, str]) -> None:
        data, path = value
        r = check.send("POST", path, content=data, headers=headers)
        if r is not None and r.status_code != 200:
            problem = soap_fault_ok(r)
            if problem is not None:
                failures.append(f"SOAP {data[:200]!r}: {problem}")

    paths = st.sampled_from([RN_PATH, "/services/soap/connect/chat_soap"])
    run(st.tuples(structured | mutated, paths), 400, one)
    check.finish(srv, "parser_soap_bodies")


# -- ECE XML ---------------------------------------------------------------------------------------
BOSH_ATTRS = [
    "rid",
    "sid",
    "to",
    "from",
    "wait",
    "hold",
    "ver",
    "type",
    "ack",
    "content",
    "xml:lang",
    "key",
    "newkey",
    "restart",
    "requests",
    "inactivity",
    "pause",
]
ECE_NAMES = [
    "message",
    "body",
    "egainParams",
    "param",
    "mapping",
    "attributeName",
    "attributeValue",
    "messagingData",
    "egainCommand",
    "subcmd",
    "egainAdditionalParam",
    "paramKey",
    "paramValue",
    "presence",
    "composing",
    "sid",
]
attr_values = (
    st.integers(-(2**65), 2**65).map(str)
    | st.sampled_from(["terminate", "1000", "1001", "1002", "1003", "9999", "-1", "1.6", "60", ""])
    | st.text(max_size=20)
)


def bosh(attrs: dict[str, str], kids: list[str]) -> bytes:
    a = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f'<body xmlns="{HTTPBIND}" xmlns:xmpp="urn:xmpp:xbosh"{a}>{"".join(kids)}</body>'.encode(
        "utf-8", errors="surrogatepass"
    )


def survey(sid: str, items: list[tuple[str, str]]) -> bytes:
    inner = "".join(f"<survey><question>{q}</question><answer>{a}</answer></survey>" for q, a in items)
    return f"<egainSurvey sid={quoteattr(sid)}>{inner}</egainSurvey>".encode("utf-8", errors="surrogatepass")


def test_ece_xml(srv: Any) -> None:
    check = Checker(srv.base_url)
    create = bosh(
        {"rid": "1000", "to": "1000", "from": "fuzz@example.com", "wait": "60", "hold": "1", "ver": "1.6"},
        [f'<egainParams xmlns="{EGAIN}"></egainParams>'],
    )
    r = check.send(
        "POST", "/system/egain/chat/entrypoint", content=create, headers={"Content-Type": "text/xml"}
    )
    sid_match = re.search(r'sid="([^"]+)"', r.text if r is not None else "")
    real_sid = sid_match.group(1) if sid_match else "x"
    sids = st.sampled_from([real_sid, "1000"]) | st.text(max_size=20)
    bosh_bodies = st.builds(
        bosh,
        st.dictionaries(st.sampled_from(BOSH_ATTRS), attr_values | sids, max_size=8),
        st.lists(element(ECE_NAMES, [EGAIN, "jabber:client", ""]), max_size=3),
    )
    surveys = st.builds(survey, sids, st.lists(st.tuples(xml_text, xml_text), max_size=4))
    side_bodies = st.one_of(
        sids.map(lambda s: json.dumps({"sid": s}).encode()),
        sids.map(lambda s: f"<r><sid>{escape(s)}</sid></r>".encode("utf-8", errors="surrogatepass")),
        sids.map(lambda s: urllib.parse.urlencode({"sid": s}).encode()),
        raw_json_bodies(),
    )
    prefix = st.sampled_from(["/system/egain/chat/entrypoint", "/egain/chat/entrypoint"])
    requests = st.one_of(
        st.tuples(prefix, st.just(""), bosh_bodies),
        st.tuples(prefix, st.just("/survey"), surveys),
        st.tuples(
            prefix,
            st.sampled_from(
                [
                    "/attachConnection",
                    "/transcript",
                    "/sessionStatistics",
                    "/initiateVideoChat",
                    "/uploadAttachments",
                ]
            ),
            side_bodies,
        ),
    )

    def one(value: tuple[tuple[str, str, bytes], str]) -> None:
        (base, tail, data), ctype = value
        check.send("POST", base + tail, content=data, headers={"Content-Type": ctype or "text/xml"})

    run(st.tuples(requests, content_types), 500, one)
    check.finish(srv, "parser_ece_xml")


# -- JSON bodies of the native and Fusion APIs -----------------------------------------------------
def login(base: str, who: str) -> str:
    r = httpx.post(
        base + "/api/v1/auth/login",
        json={"tenant": "example.com", "login": who, "password": "demo"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def json_targets() -> list[tuple[str, str]]:
    """(method, path template) of every JSON-reading route: native writes and Fusion's endpoints."""
    out: list[tuple[str, str]] = []
    for ep in app_routes():
        if ep.websocket:
            continue
        if ep.path.startswith("/api/"):
            out += [(m, ep.path) for m in sorted(ep.methods) if m in ("POST", "PUT", "PATCH", "DELETE")]
        elif "chatAuthenticate" in ep.path or ep.path.startswith("/engagement/"):
            out.append(("POST", ep.path))
    return out


FUSION_OPS = [
    "requestEngagement",
    "postMessage",
    "getMessages",
    "concludeEngagement",
    "activity",
    "getQueueStats",
    "getEngagementQueue",
]


def test_json_bodies(srv: Any) -> None:
    base = srv.base_url
    check = Checker(base)
    tokens = {who: login(base, who) for who in ("alice", "sam")}
    auth = httpx.post(
        base + "/crmRestApi/resources/11.13.18.05/chatAuthenticate",
        json={"authUserName": "fuzz@example.com"},
        auth=("demo", "demo"),
        timeout=30,
    )
    assert auth.status_code == 201, auth.text
    fusion_jwt = auth.json()["jwt"]
    targets = json_targets()
    assert any(p.startswith("/api/") for _, p in targets) and any("chatAuthenticate" in p for _, p in targets)
    structured = json_values | st.dictionaries(
        st.sampled_from(
            [
                "state",
                "text",
                "client_msg_id",
                "reason",
                "queue",
                "to",
                "login",
                "disposition",
                "authUserName",
            ]
        ),
        json_values | texts,
        max_size=5,
    )

    def fill(path: str, words: list[str]) -> str:
        it: Iterator[str] = iter(words)

        def one(m: re.Match[str]) -> str:
            if m.group(2) == "path":
                if path.startswith("/engagement/"):
                    return f"example/v1/{next(it, 'x')}"
                return urllib.parse.quote(next(it, "x"), safe="/")
            return urllib.parse.quote(next(it, "x"), safe="")

        return re.sub(r"{([A-Za-z_]\w*)(?::(\w+))?}", one, path)

    def one(value: tuple[tuple[str, str], list[str], bytes, str, str]) -> None:
        (method, template), words, data, ctype, who = value
        headers = {"Content-Type": ctype or "application/json"}
        if who in tokens:
            headers["Authorization"] = "Bearer " + tokens[who]
        elif who == "fusion":
            headers["Authorization"] = "Bearer " + fusion_jwt
            headers["SessionId"] = words[-1] if words else ""
        elif who == "basic":
            headers["Authorization"] = "Basic ZGVtbzpkZW1v"
        check.send(method, fill(template, words), content=data, headers=headers)

    words = st.lists(
        st.sampled_from([*FUSION_OPS, "alice", "support"]) | st.text(min_size=1, max_size=12), max_size=3
    )
    who = st.sampled_from(["none", "alice", "sam", "fusion", "basic"])
    run(st.tuples(st.sampled_from(targets), words, bodies(structured), content_types, who), 500, one)
    check.finish(srv, "parser_json_bodies", json_routes=len(targets))


# -- every route of the table ------------------------------------------------------------------------
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


def test_every_route(srv: Any) -> None:
    check = Checker(srv.base_url)
    endpoints = list(app_routes())
    assert len(endpoints) > 40

    def one(value: tuple[int, str, list[str], dict[str, str], bytes, str]) -> None:
        index, method, words, query, data, ctype = value
        ep = endpoints[index % len(endpoints)]
        it = iter(words)
        path = re.sub(
            r"{([A-Za-z_]\w*)(?::(\w+))?}",
            lambda m: urllib.parse.quote(next(it, "x"), safe="/" if m.group(2) == "path" else ""),
            ep.path,
        )
        if method not in ep.methods and ep.methods and index % 3:
            method = sorted(ep.methods)[index % len(ep.methods)]
        check.send(
            method,
            path,
            params=query,
            content=data if method not in ("GET", "HEAD") else None,
            headers={"Content-Type": ctype} if ctype else {},
        )

    words = st.lists(
        st.sampled_from(["v1", "v2", "example", "chat/entrypoint", "1000", "9999", "-1", "a/b"])
        | st.text(min_size=1, max_size=20),
        max_size=4,
    )
    query = st.dictionaries(
        st.sampled_from(["tenantUrl", "since", "limit", "state", "wsdl", "pool", "token", "sid"])
        | st.text(max_size=6),
        st.text(max_size=20) | st.sampled_from(["example.com", "-1", "99999999999999999999", ""]),
        max_size=3,
    )
    strategy = st.tuples(
        st.integers(0, 10_000),
        st.sampled_from(METHODS),
        words,
        query,
        raw_json_bodies() | st.binary(max_size=100),
        content_types,
    )
    run(strategy, 1000, one)
    check.finish(srv, "parser_every_route", routes=len(endpoints))
