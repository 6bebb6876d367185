"""Cisco ECE entry-point web services, initialize, CORS and the survey (spec/cisco-ece.md 2-4, 6.1,
checklist items 1-18 and 44) over real HTTP against a fresh demo server (automatic agent off).

Expected bytes are the seed's examples (fixtures/ece/seed-examples.txt) with the spec's fixes K2/K3.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ServerProc, make_server

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ece"
PREFIXES = ["/system/egain/chat/entrypoint", "/egain/chat/entrypoint"]
NSDECL = (
    'xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns4="urn:ietf:params:xml:ns:xmpp-stanzas" '
    'xmlns:ns3="jabber:client" xmlns:ns5="http://jabber.org/protocol/httpbind"'
)
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def seed(name: str) -> str:
    """One example of the seed fixture: the text between ``== name`` and the next marker."""
    text = (FIX / "seed-examples.txt").read_text()
    part = text.split(f"== {name}\n", 1)[1].split("\n== ", 1)[0]
    return part.rstrip("\n")


@pytest.fixture(scope="module")
def ece(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("ece-checks"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def http(ece: ServerProc) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ece.base_url, timeout=10) as client:
        yield client


def healthy(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("prefix", PREFIXES)
def test_seed_examples_exact(http: httpx.Client, prefix: str) -> None:
    """Items 1, 4, 5, 6, 7 and the seed acceptance rule of 9.3."""
    for path, name in [
        ("agentAvailability", "agentAvailability"),
        ("capacity", "capacity-0"),
        ("liveSessionStatus", "liveSessionStatus-empty"),
        ("checkEligibility", "checkEligibility"),
        ("chatAllowed", "chatAllowed"),
    ]:
        r = http.get(f"{prefix}/{path}/1000")
        assert r.status_code == 200, path
        assert r.headers["content-type"] == "application/xml"
        assert r.headers["cache-control"] == "no-cache, no-store"
        assert r.text == seed(name), path


def test_seed_fixture_matches_spec_layout() -> None:
    assert seed("agentAvailability") == f'{DECL}<agentAvailability available="true" {NSDECL}/>'
    assert seed("checkEligibility").endswith(f'{NSDECL} responseType="0"/>')


@pytest.mark.parametrize(
    ("accept", "json_body"),
    [
        ("application/json", '{"available":true}'),
        ("application/xml, text/xml, */*; q=0.01", None),
        ("*/*", None),
        ("application/json, text/xml", None),
    ],
)
def test_content_negotiation(http: httpx.Client, accept: str, json_body: str | None) -> None:
    """Items 2 and 3."""
    r = http.get("/egain/chat/entrypoint/agentAvailability/1000", headers={"Accept": accept})
    assert r.status_code == 200
    if json_body is None:
        assert r.headers["content-type"] == "application/xml"
        assert r.text == seed("agentAvailability")
    else:
        assert r.headers["content-type"] == "application/json"
        assert r.text == json_body


def test_json_variants(http: httpx.Client) -> None:
    h = {"Accept": "application/json"}
    base = "/egain/chat/entrypoint"
    assert http.get(f"{base}/capacity/1000", headers=h).text == '{"count":0}'
    assert http.get(f"{base}/liveSessionStatus/1000", headers=h).text == '{"waitTime":0.0,"queueDepth":0}'
    assert http.get(f"{base}/checkEligibility/1000", headers=h).text == '{"responseType":0}'
    assert http.get(f"{base}/chatAllowed/1000", headers=h).text == '{"allowed":true}'
    assert (
        http.get(f"{base}/chatAllowed/1001", headers=h).text
        == '{"allowed":false,"reason":"entry_point_inactive"}'
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_refusal_reasons(http: httpx.Client, prefix: str) -> None:
    """Items 8 and 9."""
    expect = {
        "1001": "entry_point_inactive",
        "1002": "agent_not_available",
        "1003": "queue_depth_reached",
        "9999": "invalid_entry_point",
    }
    for ep, reason in expect.items():
        r = http.get(f"{prefix}/chatAllowed/{ep}")
        assert r.status_code == 200
        assert r.text == f'{DECL}<chatAllowed {NSDECL} allowed="false" reason="{reason}"/>'
    assert http.get(f"{prefix}/checkEligibility/1002").text.endswith('responseType="1"/>')
    assert http.get(f"{prefix}/checkEligibility/1003").text.endswith('responseType="2"/>')
    assert 'available="false"' in http.get(f"{prefix}/agentAvailability/1002").text
    assert "<ns2:count>0</ns2:count>" in http.get(f"{prefix}/capacity/1002").text


@pytest.mark.parametrize("prefix", PREFIXES)
def test_unknown_entry_point_is_500(http: httpx.Client, prefix: str) -> None:
    """Item 10 (rule U)."""
    for path in ("agentAvailability", "capacity", "liveSessionStatus", "checkEligibility", "initialize"):
        r = http.get(f"{prefix}/{path}/9999")
        assert r.status_code == 500, path
        assert r.content == b""
        assert r.headers["content-length"] == "0"
        assert "content-type" not in r.headers
    healthy(http)


@pytest.mark.parametrize("bad", ["abc", "1.5", "1e3", "99999999999999999999", "9223372036854775808", "+1000"])
def test_non_numeric_entry_point_is_404(http: httpx.Client, bad: str) -> None:
    """Item 11."""
    for path in ("agentAvailability", "chatAllowed", "initialize"):
        r = http.get(f"/egain/chat/entrypoint/{path}/{bad}")
        assert r.status_code == 404
        assert r.content == b""
    healthy(http)


def test_path_leniency(http: httpx.Client) -> None:
    """Items 11 (leading zeros), 12 (alias, case, trailing slash) and 2.1 (query ignored)."""
    want = seed("agentAvailability")
    for path in (
        "/egain/chat/entrypoint/agentAvailability/01000",
        "/system/egain/chat/entrypoint/agentAvilability/1000",
        "/system/egain/chat/entrypoint/AGENTAVAILABILITY/1000/",
        "/egain/chat/entrypoint/agentAvailability/1000?foo=1&videoChat=1",
    ):
        r = http.get(path)
        assert r.status_code == 200, path
        assert r.text == want
    assert http.get("/egain/chat/nothing/here").status_code == 404
    assert http.get("/system/egain/chat/entrypoint/unknownThing/1").content == b""


def test_methods(http: httpx.Client) -> None:
    """Item 13 and 2.5."""
    r = http.post("/egain/chat/entrypoint/agentAvailability/1000")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert r.content == b""
    r = http.head("/system/egain/chat/entrypoint/agentAvailability/1000")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"] == "application/xml"
    assert http.get("/egain/chat/entrypoint/survey").status_code == 405
    assert http.get("/egain/chat/entrypoint").headers["allow"] == "POST"


def test_cors(http: httpx.Client) -> None:
    """Item 14 and 2.4."""
    r = http.options(
        "/egain/chat/entrypoint",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-egain-session",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert (
        r.headers["access-control-allow-headers"] == "Content-Type, Accept, X-egain-session, X-Requested-With"
    )
    assert r.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert r.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in r.headers
    r = http.get("/egain/chat/entrypoint/capacity/1000", headers={"Origin": "https://shop.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-expose-headers"] == "X-egain-session"


def test_initialize(http: httpx.Client) -> None:
    """Item 44 and 6.1."""
    for prefix in PREFIXES:
        r = http.get(f"{prefix}/initialize/1000")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.text == seed("initialize")
    assert http.get("/egain/chat/entrypoint/initialize/abc").status_code == 404


SURVEY_PATHS = [
    "/egain/chat/endpoint/survey",
    "/system/egain/chat/endpoint/survey",
    "/egain/chat/entrypoint/survey",
    "/system/egain/chat/entrypoint/survey",
]


@pytest.mark.parametrize("path", SURVEY_PATHS)
def test_seed_survey(http: httpx.Client, path: str) -> None:
    """Item 15."""
    r = http.post(path, content=seed("survey"), headers={"Content-Type": "text/XML"})
    assert r.status_code == 204
    assert r.content == b""


def test_survey_namespace_and_case(http: httpx.Client) -> None:
    """Item 16 and K7."""
    body = (
        '<eGainSurvey sid="1000" xmlns="http://bindings.egain.com/chat"><survey><question>Q1</question>'
        "<answer></answer></survey></eGainSurvey>"
    )
    assert http.post(SURVEY_PATHS[2], content=body).status_code == 204


QA = "<survey><question>Q</question><answer>A</answer></survey>"


def sv(inner: str, sid: str = "1") -> str:
    return f'<egainSurvey sid="{sid}">{inner}</egainSurvey>'


BAD_SURVEYS: dict[str, Any] = {
    "no sid": "<egainSurvey><survey><question>Q</question><answer>A</answer></survey></egainSurvey>",
    "blank sid": sv(QA, "  "),
    "no survey": '<egainSurvey sid="1000"></egainSurvey>',
    "no answer": '<egainSurvey sid="1000"><survey><question>Q</question></survey></egainSurvey>',
    "empty question": sv("<survey><question> </question><answer>A</answer></survey>"),
    "wrong root": '<survey sid="1000"><survey><question>Q</question><answer>A</answer></survey></survey>',
    "not xml": "not xml",
    "unclosed": '<egainSurvey sid="1000"><survey>',
    "doctype": (
        '<?xml version="1.0"?><!DOCTYPE egainSurvey [<!ENTITY x "boom">]>'
        '<egainSurvey sid="1000"><survey><question>&x;</question><answer>A</answer></survey></egainSurvey>'
    ),
    "external entity": (
        '<!DOCTYPE egainSurvey [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<egainSurvey sid="1000"><survey><question>&xxe;</question><answer>A</answer></survey></egainSurvey>'
    ),
    "billion laughs": (
        '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        '<egainSurvey sid="1"><survey><question>&c;</question><answer>A</answer></survey></egainSurvey>'
    ),
    "undeclared entity": sv("<survey><question>&x;</question><answer>A</answer></survey>"),
    "too many": '<egainSurvey sid="1">'
    + "<survey><question>Q</question><answer>A</answer></survey>" * 51
    + "</egainSurvey>",
    "long answer": sv(f"<survey><question>Q</question><answer>{'a' * 4001}</answer></survey>"),
    "too deep": '<egainSurvey sid="1">' + "<x>" * 40 + "</x>" * 40 + "</egainSurvey>",
}


@pytest.mark.parametrize("case", sorted(BAD_SURVEYS))
def test_bad_survey(http: httpx.Client, case: str) -> None:
    """Item 17 and 10.1: each malformed, hostile or over-long survey is 400 with an empty body."""
    body = BAD_SURVEYS[case]
    r = http.post(SURVEY_PATHS[0], content=body.encode() if isinstance(body, str) else body)
    assert r.status_code == 400
    assert r.content == b""
    healthy(http)


def test_oversized_survey(http: httpx.Client) -> None:
    """Item 18 (size)."""
    filler = "<survey><question>Q</question><answer>" + "a" * 3000 + "</answer></survey>"
    body = '<egainSurvey sid="1000">' + filler * 22 + "</egainSurvey>"
    assert len(body) > 64 * 1024
    r = http.post(SURVEY_PATHS[1], content=body)
    assert r.status_code == 413
    assert r.content == b""
    healthy(http)
