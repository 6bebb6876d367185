"""A test customer for the Cisco ECE face that sends exactly what the eGain JavaScript library
(Strophe) and smack-ece (jbosh) send, as recorded in spec/cisco-ece.md 1.3 and section 5.

The library itself is not on a public registry, so the tests replay its requests; the decoders
below are the two client decoders of spec 5.7, so tests check that both read the same text.
"""

from __future__ import annotations

import random
import re
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import unescape as xml_unescape

import httpx
from lxml import etree

HTTPBIND = "http://jabber.org/protocol/httpbind"
JABBER = "jabber:client"
EGAIN = "http://bindings.egain.com/chat"
CREATE_QUERY = "entryPointId={ep}&templateName=aria&languageCode=en&countryCode=US&ver=v11&custtimeoffset=60"
MESSAGING = """&lt;![CDATA[
cust_welcome_msg = Thanks, an agent will be with you soon.
agent_join_msg = You are chatting with {0}
agent_close_session = {0} has ended the chat
]]&gt;"""


def param(name: str, attribute: str, obj: str, value: str, key: str = "0", max_len: int = 120) -> str:
    return (
        f'<param name="{name}"><mapping><attributeName>{attribute}</attributeName><objectName>{obj}'
        f"</objectName><attributeValue>{value}</attributeValue><validationString/><primaryKey>{key}"
        f"</primaryKey><minLength>1</minLength><maxLength>{max_len}</maxLength><required>1</required>"
        "<fieldType>1</fieldType></mapping></param>"
    )


def creation_body(
    rid: int,
    email: str = "jane.soap@example.com",
    name: str = "Jane Soap",
    subject: str = "Where is my order?",
    messaging: str | None = MESSAGING,
    to: str = "1000",
    messaging_in_params: bool = False,
    wait: int = 60,
    sender: str | None = None,
) -> str:
    """The eGain library's session creation of spec 1.3(c)."""
    params = (
        param("L10N_NAME_PROMPT", "full_name", "casemgmt::individual_customer_data", name)
        + param(
            "L10N_EMAIL_PROMPT",
            "email_address",
            "casemgmt::email_address_contact_point_data",
            email,
            "1",
            250,
        )
        + param("L10N_YOUR_QUESTION_PROMPT", "subject", "casemgmt::activity_data", subject, "0", 800)
    )
    md = f"<messagingData>{messaging}</messagingData>" if messaging is not None else ""
    inner = params + (md if messaging_in_params else "")
    outer = "" if messaging_in_params else md
    return (
        f'<body rid="{rid}" xmlns="{HTTPBIND}" to="{to}" from="{sender or email}" xml:lang="en-US" '
        f'wait="{wait}" '
        'hold="1" content="text/xml; charset=utf-8" ver="1.6" xmlns:xmpp="urn:xmpp:xbosh" '
        f'xmpp:version="1.0"><egainParams xmlns="{EGAIN}">{inner}</egainParams>{outer}</body>'
    )


def smack_creation_body(rid: int, domain: str = "1000") -> str:
    """smack-ece (jbosh) session creation: eGain-namespaced attributes, ack, ver 1.11."""
    return (
        f"<body xmlns='{HTTPBIND}' xmlns:eg='{EGAIN}' rid='{rid}' to='{domain}' xml:lang='en' wait='60' "
        "hold='1' ack='1' ver='1.11' eg:from='smack.user@example.com' eg:authid='x' "
        "eg:content='text/xml; charset=utf-8'>"
        f"<egainParams xmlns='{EGAIN}'>"
        + param("L10N_NAME_PROMPT", "full_name", "casemgmt::individual_customer_data", "Smack User")
        + "<messagingData>agent_join_msg=-You are chatting with {0}\n"
        "agent_close_session=_{0} has ended the chat\n</messagingData></egainParams></body>"
    )


def decode_library(body: str) -> str:
    """The eGain library: unescape, ^ → %, unescape (JavaScript semantics, no + handling)."""
    first = urllib.parse.unquote(body, errors="strict")
    return urllib.parse.unquote(first.replace("^", "%"))


def decode_smack(body: str) -> str:
    """smack-ece: URLDecoder (+ is space), ^x → %x, URLDecoder, XML unescape."""
    first = urllib.parse.unquote_plus(body)
    second = re.sub(r"\^([0-9a-z])", r"%\1", first)
    return xml_unescape(urllib.parse.unquote_plus(second), {"&quot;": '"', "&apos;": "'"})


@dataclass
class Stanza:
    type: str
    sender: str
    body: str
    subcmd: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return decode_library(self.body)


def stanzas(xml: str) -> list[Stanza]:
    root = etree.fromstring(xml.encode())
    out = []
    for msg in root.findall(f"{{{JABBER}}}message"):
        body = msg.find(f"{{{JABBER}}}body")
        cmd = msg.find(f"{{{EGAIN}}}egainCommand")
        params: dict[str, str] = {}
        sub = None
        if cmd is not None:
            sub = cmd.findtext(f"{{{EGAIN}}}subcmd")
            for p in cmd.findall(f"{{{EGAIN}}}egainAdditionalParam"):
                params[p.findtext(f"{{{EGAIN}}}paramKey") or ""] = p.findtext(f"{{{EGAIN}}}paramValue") or ""
        out.append(
            Stanza(
                msg.get("type") or "",
                msg.get("from") or "",
                (body.text or "") if body is not None else "",
                sub,
                params,
            )
        )
    return out


class EceCustomer:
    """One BOSH session, driven the way Strophe drives it: rid + 1 per request, one empty poll held
    by the server at a time, payload requests sent beside it (``requests`` 2)."""

    def __init__(self, base: str, prefix: str = "/system") -> None:
        self.base = base
        self.prefix = prefix
        self.http = httpx.Client(base_url=base, timeout=75, limits=httpx.Limits(max_connections=4))
        self.pool = ThreadPoolExecutor(max_workers=3)
        self.rid = random.randint(1_000_000, 4_000_000_000)
        self.sid = ""
        self.received: list[Stanza] = []
        self.inflight: list[Future[httpx.Response]] = []
        self.terminated = False

    def url(self, path: str = "") -> str:
        return f"{self.prefix}/egain/chat/entrypoint{path}"

    def start(self, ep: str = "1000", query: str | None = None, **kw: Any) -> httpx.Response:
        q = CREATE_QUERY.format(ep=ep) if query is None else query
        return self.create(creation_body(self.rid, **kw), q)

    def create(self, body: str, query: str) -> httpx.Response:
        r = self.http.post(
            self.url() + ("?" + query if query else ""),
            content=body,
            headers={"Content-Type": "application/xml", "X-egain-session": ""},
        )
        m = re.search(r'sid="([^"]+)"', r.text)
        if m:
            self.sid = m.group(1)
        return r

    def body(self, inner: str, rid: int, attrs: str = "") -> str:
        if not inner:
            return f'<body rid="{rid}" sid="{self.sid}" xmlns="{HTTPBIND}"{attrs}/>'
        return f'<body rid="{rid}" sid="{self.sid}" xmlns="{HTTPBIND}"{attrs}>{inner}</body>'

    def post(self, inner: str = "", rid: int | None = None, attrs: str = "") -> httpx.Response:
        """One synchronous request (nothing else in flight); the answer's stanzas are recorded."""
        if rid is None:
            self.rid += 1
            rid = self.rid
        r = self.http.post(
            self.url(), content=self.body(inner, rid, attrs), headers={"Content-Type": "application/xml"}
        )
        self._absorb(r)
        return r

    def _absorb(self, r: httpx.Response) -> None:
        if r.status_code == 200 and r.text:
            if 'type="terminate"' in r.text[:200]:
                self.terminated = True
            self.received.extend(stanzas(r.text))

    def fire(self, inner: str = "", attrs: str = "") -> Future[httpx.Response]:
        """A request sent beside the held poll, as Strophe sends a chat line."""
        self.rid += 1
        body = self.body(inner, self.rid, attrs)
        fut = self.pool.submit(
            self.http.post, self.url(), content=body, headers={"Content-Type": "application/xml"}
        )
        self.inflight.append(fut)
        time.sleep(0.05)  # keep the wire order of the requests
        return fut

    def settle(self) -> httpx.Response:
        """Wait for the oldest request in flight and record its answer (answers come in rid order)."""
        r = self.inflight.pop(0).result()
        self._absorb(r)
        return r

    def say(self, text: str) -> Future[httpx.Response]:
        esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return self.fire(f'<message type="chat" xmlns="{JABBER}"><body>{esc}</body></message>')

    def typing(self, on: bool = True) -> Future[httpx.Response]:
        return self.fire(
            f'<message type="normal" xmlns="{JABBER}"><body>{"1" if on else "0"}</body></message>'
        )

    def terminate(self) -> httpx.Response:
        self.fire(f'<presence type="unavailable" xmlns="{JABBER}"/>', attrs=' type="terminate"')
        r = self.settle()
        while self.inflight:
            r = self.settle()
        return r

    def pump(self, pred: Any, timeout: float = 5.0) -> list[Stanza]:
        """Keep one poll held until ``pred(received)`` holds or the chat terminated."""
        deadline = time.monotonic() + timeout
        while not pred(self.received) and not self.terminated:
            if time.monotonic() > deadline:
                got = [(s.type, s.sender, s.text) for s in self.received]
                raise AssertionError(f"timed out; received {got}")
            if not self.inflight:
                self.fire()
            r = self.settle()
            assert r.status_code == 200, r.status_code
        return self.received

    def drain(self) -> None:
        while self.inflight:
            self.settle()

    def side(self, path: str, content: str, ctype: str) -> httpx.Response:
        return self.http.post(self.url(path), content=content, headers={"Content-Type": ctype})

    def transcript(self) -> httpx.Response:
        return self.side("/transcript", f'{{"sid":"{self.sid}"}}', "application/json")

    def statistics(self) -> httpx.Response:
        xml = f"<sessionStatistics xmlns='{EGAIN}'><sid>{self.sid}</sid></sessionStatistics>"
        return self.side("/sessionStatistics", xml, "text/XML")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()
