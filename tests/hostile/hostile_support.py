"""Shared by the hostile-input suites: every endpoint comes from the app's own route table (so a face
added later is covered without editing the suites), the second-tenant configuration, the checks
that an answer is a face's clear error, and the counters of the closing note.

Counters go to ``artifacts/hardening-counts.json`` (git-ignored): one entry per test, plus totals.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped]
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from frontdesk.app import build_app
from frontdesk.config import load_config

ROOT = Path(__file__).resolve().parents[2]
COUNTS = ROOT / "artifacts" / "hardening-counts.json"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ECE_CHECKS = ("agentavailability", "agentavilability", "capacity", "livesessionstatus", "checkeligibility")

# A path whose template matches one of these is an XML endpoint (SOAP or ECE); new SOAP faces are
# found by the same patterns (CRM On Demand's /Services/Integration included).
SOAP_PATH = re.compile(r"soap|/services/integration", re.IGNORECASE)
ECE_PATH = re.compile(r"egain", re.IGNORECASE)
# The XML-reading endpoints behind ECE's catch-all route (spec/cisco-ece.md 4-6).
ECE_XML_SUBPATHS = (
    "chat/entrypoint",  # BOSH http-bind
    "chat/entrypoint/survey",
    "chat/endpoint/survey",
    "chat/entrypoint/attachConnection",
    "chat/entrypoint/transcript",
    "chat/entrypoint/sessionStatistics",
    "chat/entrypoint/initiateVideoChat",
)


# -- the route table -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    path: str  # the template, as the route table has it
    methods: frozenset[str]  # empty: the route takes any method (the face answers 405 itself)
    websocket: bool = False

    @property
    def params(self) -> list[tuple[str, str]]:
        """(name, converter) of every path parameter."""
        return [
            (m.group(1), m.group(2) or "str") for m in re.finditer(r"{([A-Za-z_]\w*)(?::(\w+))?}", self.path)
        ]

    def fill(self, values: dict[str, str] | None = None, default: str = "x") -> str:
        """The template with every parameter replaced (by name from ``values``, else ``default``)."""
        values = values or {}
        return re.sub(
            r"{([A-Za-z_]\w*)(?::\w+)?}",
            lambda m: values.get(m.group(1), default),
            self.path,
        )


def _walk(routes: list[BaseRoute], prefix: str = "") -> list[Endpoint]:
    out: list[Endpoint] = []
    for route in routes:
        if isinstance(route, Mount):
            sub = list(route.routes or [])
            if sub:
                out += _walk(sub, prefix + route.path)
            else:  # an app or static files: its root stands for it
                out.append(Endpoint(prefix + route.path + "/{path:path}", frozenset({"GET"})))
        elif isinstance(route, WebSocketRoute):
            out.append(Endpoint(prefix + route.path, frozenset({"GET"}), websocket=True))
        elif isinstance(route, Route):
            out.append(Endpoint(prefix + route.path, frozenset(route.methods or ())))
    return out


@functools.cache
def app_routes() -> tuple[Endpoint, ...]:
    """Every route of the app as ``frontdesk serve`` builds it for the demo configuration."""
    config = load_config(None)
    config.server.data_dir = tempfile.mkdtemp(prefix="hostile-routes-")
    app = build_app(config)
    return tuple(_walk(list(app.routes)))


def demo_interfaces() -> list[str]:
    config = load_config(None)
    return [ep.id for t in config.tenants for ep in t.entry_points if ep.face == "rightnow"]


@dataclass(frozen=True)
class XmlEndpoint:
    url_path: str
    kind: str  # "soap" or "ece"
    template: str


def xml_endpoints() -> list[XmlEndpoint]:
    """Every XML/SOAP endpoint of the route table, with its parameters made concrete."""
    out: list[XmlEndpoint] = []
    for ep in app_routes():
        if ep.websocket or (ep.methods and "POST" not in ep.methods):
            continue
        if SOAP_PATH.search(ep.path):
            names = [n for n, _ in ep.params]
            if "interface" in names:
                for iface in demo_interfaces():
                    out.append(XmlEndpoint(ep.fill({"interface": iface}), "soap", ep.path))
            else:
                out.append(XmlEndpoint(ep.fill(), "soap", ep.path))
        elif ECE_PATH.search(ep.path):
            if ep.params and ep.params[-1][1] == "path":
                for sub in ECE_XML_SUBPATHS:
                    out.append(XmlEndpoint(ep.fill({ep.params[-1][0]: sub}), "ece", ep.path))
            else:
                out.append(XmlEndpoint(ep.fill(), "ece", ep.path))
    return out


# -- configuration --------------------------------------------------------------------------------
def roomy_limits(cfg: dict[str, Any]) -> None:
    """Per-address limits high enough that hostile input reaches the parsers instead of a 429."""
    for tenant in cfg["tenants"]:
        ece = tenant.get("faces", {}).get("ece")
        if ece is not None:
            ece["limits"] = {
                "creations_per_minute": 100_000,
                "open_chats_per_address": 100_000,
                "surveys_per_minute": 100_000,
                "checks_per_minute": 100_000,
                "session_requests_per_second": 100_000,
            }


SECOND = "second.example"


def add_second_tenant(cfg: dict[str, Any]) -> None:
    """Tenant 1: a copy of tenant 0 with its own id, domains, entry ids and integration credentials."""
    import copy

    first = cfg["tenants"][0]
    second = copy.deepcopy(first)
    second["id"] = SECOND
    second["display_name"] = "Second tenant"
    second["domains"] = [SECOND]
    second.pop("demo", None)
    for ep in second["entry_points"]:
        if ep["face"] == "ece":
            ep["id"] = str(int(ep["id"]) + 5000)
        elif ep["face"] == "rightnow":
            ep["id"] = "second"
        elif ep["face"] == "fusion":
            ep["id"] = "second"
        else:
            ep["id"] = "s" + ep["id"]
    faces = second["faces"]
    faces["rightnow"].update(
        site_name="second", default_interface="second", credentials=[{"username": "rn2", "password": "rn2"}]
    )
    faces["fusion"].update(
        pool_id="2:2",
        credentials=[{"username": "fu2", "password": "fu2", "chat_privilege": True}],
    )
    if "web" in second and second["web"].get("widget_entry_point"):
        second["web"]["widget_entry_point"] = "s" + second["web"]["widget_entry_point"]
    second.pop("crm", None)
    cfg["tenants"].append(second)


# -- answers ---------------------------------------------------------------------------------------
FILE_MARKERS = ("root:x:0:0", "root:*:0:0", "/bin/sh", "/usr/sbin/nologin", "daemon:x:")


def secret_markers() -> list[str]:
    """Text that may appear only if an external entity was read (file contents of this machine)."""
    marks = list(FILE_MARKERS)
    try:
        host = Path("/etc/hostname").read_text().strip()
        if len(host) >= 6:
            marks.append(host)
    except OSError:
        pass
    return marks


def is_soap_fault(r: httpx.Response) -> bool:
    """A well-formed SOAP 1.1 (or 1.2) Fault: envelope, body, one Fault."""
    try:
        root = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return False
    if etree.QName(root).localname != "Envelope" or etree.QName(root).namespace not in (SOAP11, SOAP12):
        return False
    ns = etree.QName(root).namespace
    body = root.find(f"{{{ns}}}Body")
    return body is not None and body.find(f"{{{ns}}}Fault") is not None


UNEXPECTED = ("UnexpectedErrorFault", "An unexpected error occurred", "UNKNOWN_EXCEPTION")


def unexpected(r: httpx.Response) -> bool:
    """A fault for an exception the face did not expect: a server error dressed as a fault."""
    return any(mark in r.text for mark in UNEXPECTED)


def soap_fault_ok(r: httpx.Response) -> str | None:
    """None when ``r`` is the SOAP face's clear error; else why not."""
    if unexpected(r):
        return f"unexpected-error fault: {r.text[:300]!r}"
    if r.status_code >= 500 and r.status_code != 500:
        return f"status {r.status_code}"
    if r.status_code in (500, 400, 401, 403, 404, 405, 413, 415) and is_soap_fault(r):
        return None
    if r.status_code in (404, 405, 413, 415) and not r.content:
        return None
    return f"not a SOAP fault: {r.status_code} {r.text[:300]!r}"


def no_server_error(r: httpx.Response, path: str) -> str | None:
    """None when ``r`` is acceptable for hostile input: never a 5xx, except where the protocol
    prescribes one (a SOAP fault is HTTP 500; ECE answers an empty 500 for an unknown entry point)."""
    if r.status_code < 500:
        return None
    if r.status_code == 500 and is_soap_fault(r) and not unexpected(r):
        return None
    low = path.lower()
    if r.status_code == 500 and not r.content and "egain/chat/entrypoint/" in low:
        parts = low.rstrip("/").split("/")
        if len(parts) >= 2 and (parts[-2] in ECE_CHECKS or parts[-2] == "initialize"):
            return None
    return f"{r.status_code} on {path}: {r.text[:300]!r}"


def healthy(base: str) -> None:
    r = httpx.get(base + "/healthz", timeout=10)
    assert r.status_code == 200, r.text


def log_has_no_crash(log: str) -> None:
    """Unhandled exceptions reach uvicorn's log as a traceback; none may appear."""
    for marker in ("Exception in ASGI application", "Traceback (most recent call last)"):
        if marker in log:
            frames = re.findall(r"/frontdesk/[\w/]+\.py:\d+ in \w+", log)
            raised = re.findall(r"^\w*(?:Error|Exception)\b.*$", log, re.MULTILINE)
            raise AssertionError(f"unhandled exception in the server log: {raised[:5]} at {frames[:8]}")


# -- counters ---------------------------------------------------------------------------------------
def record(test: str, **counts: int) -> None:
    """Keep this test's counts and the totals over every test recorded so far."""
    COUNTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        data: dict[str, Any] = json.loads(COUNTS.read_text())
    except (OSError, ValueError):
        data = {}
    tests: dict[str, Any] = data.setdefault("tests", {})
    tests[test] = {**counts, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    totals: dict[str, int] = {}
    for entry in tests.values():
        for key, value in entry.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    data["totals"] = totals
    tmp = COUNTS.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(COUNTS)
    print(f"\n[counts] {test}: {json.dumps(counts, sort_keys=True)}")
