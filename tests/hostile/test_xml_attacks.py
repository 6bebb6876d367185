"""XML attack corpus against every XML/SOAP endpoint of the route table (ARCHITECTURE.md 6, 10.7).

Endpoints come from ``app.routes`` by path pattern (``hostile_support.xml_endpoints``): RightNow's
chat SOAP interfaces, ECE's BOSH, survey and side endpoints, and any later SOAP face such as CRM On
Demand's ``/Services/Integration``. Each attack must get the face's clear error (a 4xx, or a
well-formed SOAP Fault, which is HTTP 500 by protocol), no entity may be expanded, no file content
may come back, nothing may be fetched from the loopback listener the attacks point at, and
``/healthz`` stays 200 after every attack.
"""

from __future__ import annotations

import codecs
import gzip
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hostile_support import (
    XmlEndpoint,
    healthy,
    log_has_no_crash,
    no_server_error,
    record,
    roomy_limits,
    secret_markers,
    soap_fault_ok,
    xml_endpoints,
)

pytestmark = pytest.mark.slow

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
HTTPBIND = "http://jabber.org/protocol/httpbind"
LOL = "lol"


class Listener:
    """A loopback HTTP server that counts every request: an external entity, DTD, schema or
    stylesheet the server fetched would show up here."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = b'<!ENTITY leak "LEAKED-FROM-LISTENER">'
                self.send_response(200)
                self.send_header("Content-Type", "application/xml-dtd")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Attack:
    name: str
    build: Callable[[Callable[[str], str], str], bytes]  # (wrap, listener url) -> body
    may_succeed: bool = False  # harmless once parsed safely: a 2xx answer is allowed
    headers: dict[str, str] | None = None


def soap_wrap(payload: str) -> str:
    security = (
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>demo</wsse:Username>'
        "<wsse:Password>demo</wsse:Password></wsse:UsernameToken></wsse:Security>"
    )
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:rncm="urn:messages.chat.ws.rightnow.com/v1_2">'
        f"<soapenv:Header>{security}</soapenv:Header><soapenv:Body><rncm:GetChatUrl>"
        f"<rncm:UrlType>{payload}</rncm:UrlType></rncm:GetChatUrl></soapenv:Body></soapenv:Envelope>"
    )


def ece_wrap(path: str) -> Callable[[str], str]:
    low = path.lower()
    if low.endswith("/survey"):
        return lambda p: (
            f'<egainSurvey sid="1000"><survey><question>Q</question><answer>{p}</answer></survey>'
            "</egainSurvey>"
        )
    if low.endswith("/entrypoint"):
        return lambda p: (
            f'<body rid="1000" xmlns="{HTTPBIND}" to="1000" from="x@example.com" wait="60" hold="1" '
            f'ver="1.6"><egainParams xmlns="http://bindings.egain.com/chat">{p}</egainParams></body>'
        )
    return lambda p: f"<request><sid>{p}</sid></request>"


def _dtd(subset: str, wrap: Callable[[str], str], payload: str, root: str = "r") -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE {root} [{subset}]>' + wrap(payload)).encode()


def billion_laughs(wrap: Callable[[str], str], url: str) -> bytes:
    ents = [f'<!ENTITY {LOL} "{LOL}">']
    prev = LOL
    for n in range(1, 10):
        name = f"{LOL}{n}"
        ents.append(f'<!ENTITY {name} "{("&" + prev + ";") * 10}">')
        prev = name
    return _dtd("".join(ents), wrap, f"&{prev};")


def quadratic(wrap: Callable[[str], str], url: str) -> bytes:
    return _dtd(f'<!ENTITY a "{"A" * 50_000}">', wrap, "&a;" * 15_000)


def xxe(target: str) -> Callable[[Callable[[str], str], str], bytes]:
    return lambda wrap, url: _dtd(f'<!ENTITY xxe SYSTEM "{target.format(url=url)}">', wrap, "&xxe;")


def param_entity(wrap: Callable[[str], str], url: str) -> bytes:
    return _dtd(f'<!ENTITY % p SYSTEM "{url}/param.dtd"> %p;', wrap, "&leak;")


def external_dtd(target: str) -> Callable[[Callable[[str], str], str], bytes]:
    return lambda wrap, url: (
        f'<?xml version="1.0" standalone="no"?><!DOCTYPE r SYSTEM "{target.format(url=url)}">'
        + wrap("&leak;")
    ).encode()


def encoded(enc: str, bom: bool, declare: str | None = None) -> Callable[[Callable[[str], str], str], bytes]:
    def build(wrap: Callable[[str], str], url: str) -> bytes:
        decl = f'<?xml version="1.0" encoding="{declare}"?>' if declare else ""
        text = decl + '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + wrap("&xxe;")
        data = text.encode(enc)
        if bom:
            data = {
                "utf-16-le": codecs.BOM_UTF16_LE,
                "utf-16-be": codecs.BOM_UTF16_BE,
                "utf-32-le": codecs.BOM_UTF32_LE,
                "utf-32-be": codecs.BOM_UTF32_BE,
                "utf-8": codecs.BOM_UTF8,
            }[enc] + data
        return data

    return build


def utf7(wrap: Callable[[str], str], url: str) -> bytes:
    doc = f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{wrap("&xxe;")}'
    return b'<?xml version="1.0" encoding="UTF-7"?>' + doc.encode("utf-7")


def lying_encoding(wrap: Callable[[str], str], url: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + wrap("&xxe;")
    ).encode()


def deep(levels: int) -> Callable[[Callable[[str], str], str], bytes]:
    return lambda wrap, url: wrap("<a>" * levels + "x" + "</a>" * levels).encode()


def huge_attribute(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap(f'<a v="{"A" * 900_000}"/>').encode()


def many_attributes(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap("<a " + " ".join(f'a{i}="{i}"' for i in range(20_000)) + "/>").encode()


def many_namespaces(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap("<a " + " ".join(f'xmlns:n{i}="urn:n{i}"' for i in range(20_000)) + "/>").encode()


def many_elements(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap("<a/>" * 150_000).encode()


def long_name(wrap: Callable[[str], str], url: str) -> bytes:
    name = "n" * 500_000
    return wrap(f"<{name}/>").encode()


def huge_text(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap("B" * 1_000_000).encode()


def char_refs(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap("&#65;&amp;&lt;" * 60_000).encode()


def xinclude(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap(
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/xi" parse="text"/>'
    ).encode()


def schema_location(wrap: Callable[[str], str], url: str) -> bytes:
    return wrap(
        '<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:x {url}/s.xsd" xsi:noNamespaceSchemaLocation="{url}/n.xsd"/>'
    ).encode()


def stylesheet(wrap: Callable[[str], str], url: str) -> bytes:
    return (
        f'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="{url}/x.xsl"?>' + wrap("x")
    ).encode()


def raw(data: bytes) -> Callable[[Callable[[str], str], str], bytes]:
    return lambda wrap, url: data


def gzip_bomb(wrap: Callable[[str], str], url: str) -> bytes:
    return gzip.compress(wrap("x").encode() + b" " * 50_000_000, compresslevel=9)


ATTACKS: list[Attack] = [
    Attack("billion_laughs", billion_laughs),
    Attack("quadratic_blowup", quadratic),
    Attack("xxe_file_passwd", xxe("file:///etc/passwd")),
    Attack("xxe_file_hostname", xxe("file:///etc/hostname")),
    Attack("xxe_file_relative", xxe("frontdesk.yaml")),
    Attack("xxe_http_loopback", xxe("{url}/xxe")),
    Attack("xxe_public_id", lambda w, u: _dtd(f'<!ENTITY xxe PUBLIC "-//X//Y" "{u}/pub">', w, "&xxe;")),
    Attack("xxe_parameter_entity", param_entity),
    Attack(
        "xxe_in_attribute", lambda w, u: _dtd('<!ENTITY x SYSTEM "file:///etc/passwd">', w, '<a v="&x;"/>')
    ),
    Attack("external_dtd_http", external_dtd("{url}/ext.dtd")),
    Attack("external_dtd_file", external_dtd("file:///etc/passwd")),
    Attack("doctype_plain", lambda w, u: ("<!DOCTYPE r>" + w("x")).encode()),
    Attack("doctype_spaced", lambda w, u: ("<!DOCTYPE\n\t r [\n ]>" + w("x")).encode()),
    Attack("doctype_after_comment", lambda w, u: ("<!-- c --><!DOCTYPE r [ ]>" + w("x")).encode()),
    Attack("utf8_bom_doctype", encoded("utf-8", True)),
    Attack("utf16le_bom_doctype", encoded("utf-16-le", True)),
    Attack("utf16be_bom_doctype", encoded("utf-16-be", True)),
    Attack("utf16le_declared_no_bom", encoded("utf-16-le", False, "UTF-16LE")),
    Attack("utf16be_declared_no_bom", encoded("utf-16-be", False, "UTF-16BE")),
    Attack("utf32le_bom_doctype", encoded("utf-32-le", True)),
    Attack("utf32be_declared_no_bom", encoded("utf-32-be", False, "UTF-32BE")),
    Attack("utf7_doctype", utf7),
    Attack("lying_encoding_declaration", lying_encoding),
    Attack("deep_nesting_40", deep(40)),
    Attack("deep_nesting_300", deep(300)),
    Attack("deep_nesting_50000", deep(50_000)),
    Attack("huge_attribute", huge_attribute),
    Attack("big_attribute_200k", lambda w, u: w(f'<a v="{"A" * 200_000}"/>').encode()),
    Attack(
        "attributes_100", lambda w, u: w("<a " + " ".join(f'a{i}="{i}"' for i in range(100)) + "/>").encode()
    ),
    Attack("elements_12000", lambda w, u: w("<a/>" * 12_000).encode()),
    Attack("many_attributes", many_attributes),
    Attack("many_namespaces", many_namespaces),
    Attack("many_elements", many_elements),
    Attack("long_element_name", long_name),
    Attack("huge_text", huge_text, may_succeed=True),
    Attack("many_char_refs", char_refs, may_succeed=True),
    Attack("xinclude", xinclude, may_succeed=True),
    Attack("schema_location", schema_location, may_succeed=True),
    Attack("xml_stylesheet_pi", stylesheet, may_succeed=True),
    Attack("undefined_entity", lambda w, u: w("&xxe;").encode()),
    Attack("cdata_doctype", lambda w, u: w("<![CDATA[<!DOCTYPE r [<!ENTITY x 'y'>]>]]>").encode()),
    Attack("nul_bytes", lambda w, u: w("a\x00b").encode()),
    Attack("invalid_utf8", lambda w, u: w("x").encode().replace(b">x<", b">\xff\xfe\xc3(<")),
    Attack("truncated", lambda w, u: w("x").encode()[:-7]),
    Attack("empty", raw(b"")),
    Attack("whitespace_only", raw(b" \r\n\t " * 100)),
    Attack("not_xml", raw(b'{"json": true}')),
    Attack("two_roots", lambda w, u: (w("x") + w("y")).encode()),
    Attack("gzip_bomb", gzip_bomb, headers={"Content-Encoding": "gzip"}),
]


def _endpoints() -> list[XmlEndpoint]:
    found = xml_endpoints()
    kinds = {e.kind for e in found}
    assert {"soap", "ece"} <= kinds, f"XML endpoints not found in the route table: {found}"
    return found


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def check_answer(ep: XmlEndpoint, attack: Attack, r: httpx.Response, markers: list[str]) -> str | None:
    text = r.content.decode("utf-8", errors="replace")
    for mark in [*markers, "LEAKED-FROM-LISTENER", LOL * 3]:
        if mark in text:
            return f"{mark!r} in the answer: {text[:500]!r}"
    if "A" * 1000 in text:
        return "the quadratic entity came back expanded"
    crash = no_server_error(r, ep.url_path)
    if crash is not None:
        return crash
    if attack.may_succeed and r.status_code < 300:
        return None
    if ep.kind == "soap":
        return soap_fault_ok(r)
    if 400 <= r.status_code < 500:
        return None
    return f"{r.status_code} is not a clear error: {text[:300]!r}"


def chunked(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_xml_attack_corpus(server_factory: Any, listener: Listener) -> None:
    srv = server_factory(roomy_limits, name="xml")
    endpoints = _endpoints()
    markers = secret_markers()
    failures: list[str] = []
    tried = 0
    with httpx.Client(base_url=srv.base_url, timeout=60) as http:
        for ep in endpoints:
            wrap = soap_wrap if ep.kind == "soap" else ece_wrap(ep.url_path)
            for attack in ATTACKS:
                body = attack.build(wrap, listener.url)
                headers = {"Content-Type": "text/xml; charset=utf-8", **(attack.headers or {})}
                r = http.post(ep.url_path, content=body, headers=headers)
                tried += 1
                problem = check_answer(ep, attack, r, markers)
                if problem is not None:
                    failures.append(f"{ep.url_path} {attack.name}: {problem}")
                healthy(srv.base_url)
            # the same corpus once more as a chunked upload (no Content-Length to trust)
            for attack in ATTACKS[:12]:
                r = http.post(
                    ep.url_path,
                    content=chunked(attack.build(wrap, listener.url)),
                    headers={"Content-Type": "text/xml"},
                )
                tried += 1
                problem = check_answer(ep, attack, r, markers)
                if problem is not None:
                    failures.append(f"{ep.url_path} {attack.name} (chunked): {problem}")
    healthy(srv.base_url)
    assert srv.proc is not None and srv.proc.poll() is None
    log_has_no_crash(srv.log())
    record(
        "xml_attack_corpus",
        attacks_tried=tried,
        attack_kinds=len(ATTACKS),
        xml_endpoints=len(endpoints),
        listener_fetches=len(listener.hits),
    )
    assert not listener.hits, f"the server fetched {listener.hits}"
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures of {tried})"
