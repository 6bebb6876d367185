"""CTI Activity web service (spec/crmod-cti.md §1-§5, §10, checklist items 1-39, 54).

One server for the module; every test starts from the freshly seeded state through
``POST /admin/api/crm/reset`` (checklist item 52), so the seed's exact ActivityIds hold.
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from crmod_client import (
    BASIC_DEMO,
    FIXTURES,
    INSERT_TEMPLATE,
    NOT_WELL_FORMED,
    OPEN,
    SECURITY,
    activities,
    activity_elements,
    assert_fault,
    envelope,
    fault,
    insert,
    insert_body,
    interaction,
    post,
    wrapup,
    wrapup_body,
)
from lxml import etree

from conftest import ServerProc, make_server

E1 = "The security token could not be authenticated or authorized."
WRAP4 = [
    interaction("100000000000", "Inbound Call"),
    interaction("100000000001", "Inbound Chat"),
    interaction("100000000002", "Inbound Email"),
    interaction("100000000003", "Inbound Voicemail"),
]


@pytest.fixture(scope="module")
def crm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("crmod-soap"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def base(crm_server: ServerProc) -> str:
    r = httpx.post(crm_server.base_url + "/admin/api/crm/reset", headers=BASIC_DEMO, timeout=20)
    assert r.status_code == 204, r.text
    return crm_server.base_url


def _expected_seed_response() -> list[list[tuple[str, str]]]:
    root = etree.fromstring((FIXTURES / "insert_response.xml").read_bytes())
    data = "urn:/crmondemand/xml/ctiactivity/data"
    return [
        [(etree.QName(c).localname, (c.text or "").strip()) for c in act]
        for act in root.iter(f"{{{data}}}Activity")
    ]


# -- items 1-3: the seed's Insert sample ----------------------------------------------------------
def test_seed_insert_sample_exact(base: str) -> None:
    r = post(
        base,
        INSERT_TEMPLATE,
        headers={"SOAPAction": '"document/urn:crmondemand/ws/odctibs/ctiactivity/:CTIActivityInsert"'},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "text/xml; charset=utf-8"
    assert activity_elements(r) == _expected_seed_response()
    text = r.text
    assert not text.startswith("<?xml")
    assert text.startswith(
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:ns0="urn:crmondemand/ws/odctibs/ctiactivity/" '
        'xmlns:ns1="urn:/crmondemand/xml/ctiactivity/data">'
        '<env:Header><wsse:Security env:mustUnderstand="1" '
        'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
        'xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"/></env:Header>'
        "<env:Body><ns0:CTIActivityInsert_Output><ns1:ListOfActivity><ns1:Activity><ns1:Status>OK</ns1:Status>"
    )
    assert ">\n" not in text and "> <" not in text
    assert "set-cookie" not in r.headers
    # item 3: the same request again
    again = activities(post(base, INSERT_TEMPLATE))
    assert [a["Status"] for a in again] == ["Activity already exists"] * 4
    assert [a["ActivityId"] for a in again] == ["1QA2-S78VL", "1QA2-S78VM", "1QA2-S78VN", "1QA2-S78VO"]
    for a in again:
        assert a["ScreenPopRecordType"] == "Activity" and a["ScreenPopRecordId"] == a["ActivityId"]
        assert "ContactId" not in a


# -- items 4-9: WrapUp ---------------------------------------------------------------------------
def test_seed_wrapup_sample_and_statuses(base: str) -> None:
    r = post(base, envelope(wrapup_body(*WRAP4)))
    assert r.status_code == 200
    assert activity_elements(r) == [
        [("Status", "OK"), ("InteractionId", iid), ("AgentOfferTime", "1287786900")]
        for iid in ("100000000000", "100000000001", "100000000002", "100000000003")
    ]
    assert "<ns0:CTIActivityWrapUp_Output>" in r.text
    again = wrapup(base, *WRAP4)
    assert [a["Status"] for a in again] == ["Activity has already been wrapped up"] * 4
    assert wrapup(base, interaction("100000000008"))[0]["Status"] == "Activity has already been wrapped up"
    assert wrapup(base, interaction("100000000009"))[0]["Status"] == "Multiple activites found"
    assert wrapup(base, interaction("999"))[0]["Status"] == "Activity not found"
    assert wrapup(base, interaction("100000000001", "Inbound Call"))[0]["Status"] == "Activity not found"
    assert wrapup(base, interaction("1" * 31))[0]["Status"] == "Activity not found"


# -- items 10-16: WS-Security --------------------------------------------------------------------
def _token(inner: str) -> str:
    token = f"<wsse:Security><wsse:UsernameToken>{inner}</wsse:UsernameToken></wsse:Security>"
    return f"<soapenv:Header>{token}</soapenv:Header>"


ONE_CALL = insert_body(interaction("sec-1"))


def test_missing_security_header_creates_nothing(base: str) -> None:
    r = post(base, envelope(ONE_CALL, header=""))
    assert_fault(r, "Missing <wsse:Security> in SOAP Header")
    assert "Missing &lt;wsse:Security&gt; in SOAP Header" in r.text
    assert r.text.startswith(
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><env:Fault>'
    )
    assert_fault(
        post(base, envelope(ONE_CALL, header="<soapenv:Header/>")), "Missing <wsse:Security> in SOAP Header"
    )
    assert insert(base, interaction("sec-1"))[0]["Status"] == "OK"


@pytest.mark.parametrize(
    ("header", "text"),
    [
        ("<soapenv:Header><wsse:Security/></soapenv:Header>", "Policy requires authentication token"),
        (_token("<wsse:Password>demo</wsse:Password>"), "Missing user name in security token"),
        (
            _token("<wsse:Username>  </wsse:Username><wsse:Password>demo</wsse:Password>"),
            "Missing user name in security token",
        ),
        (_token("<wsse:Username>demo</wsse:Username>"), "Missing password value"),
        (
            _token("<wsse:Username>demo</wsse:Username><wsse:Password> </wsse:Password>"),
            "Missing password value",
        ),
    ],
)
def test_incomplete_tokens(base: str, header: str, text: str) -> None:
    assert_fault(post(base, envelope(ONE_CALL, header=header)), text)


@pytest.mark.parametrize(("user", "password"), [("demo", "wrong"), ("nobody", "demo"), ("demo", "DEMO")])
def test_wrong_credentials(base: str, user: str, password: str) -> None:
    assert_fault(post(base, envelope(ONE_CALL, user=user, password=password)), E1)


def test_password_digest_is_refused(base: str) -> None:
    header = _token(
        '<wsse:Username>demo</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-username-token-profile-1.0#PasswordDigest">abc=</wsse:Password>'
        "<wsse:Nonce>bm9uY2U=</wsse:Nonce><wsse:Created>2024-01-01T00:00:00Z</wsse:Created>"
    )
    assert_fault(post(base, envelope(ONE_CALL, header=header)), E1)


def test_sign_in_id_is_case_insensitive(base: str) -> None:
    assert insert(base, interaction("case-1"), user="DEMO")[0]["Status"] == "OK"
    header = _token("<wsse:UserName>demo</wsse:UserName><wsse:PassWord>demo</wsse:PassWord>")
    r = post(base, envelope(insert_body(interaction("case-2")), header=header))
    assert activities(r)[0]["Status"] == "OK"


# -- items 17-30: request shape and validation ----------------------------------------------------
def test_more_than_five_interactions_creates_nothing(base: str) -> None:
    six = [interaction(f"six-{i}") for i in range(6)]
    assert_fault(post(base, envelope(insert_body(*six))), "Request contains too many interactions")
    assert_fault(post(base, envelope(wrapup_body(*six))), "Request contains too many interactions")
    assert [a["Status"] for a in insert(base, *six[:5])] == ["OK"] * 5


def test_empty_list_and_missing_elements(base: str) -> None:
    r = post(base, envelope(insert_body()))
    assert r.status_code == 200 and "<ns1:ListOfActivity/>" in r.text
    assert_fault(
        post(base, envelope("<cti:CTIActivityInsert_Input/>")),
        "Caught exception while handling request: expected element is missing: ListOfInteraction",
    )
    assert_fault(
        post(base, envelope("")),
        "Caught exception while handling request: expected element is missing: CTIActivityInsert_Input",
    )
    r = post(
        base,
        envelope(""),
        headers={"SOAPAction": "document/urn:crmondemand/ws/odctibs/ctiactivity/:CTIActivityWrapUp"},
    )
    assert_fault(
        r, "Caught exception while handling request: expected element is missing: CTIActivityWrapUp_Input"
    )
    assert_fault(
        post(base, envelope("<cti:CTIActivityDelete_Input/>")),
        "Caught exception while handling request: unknown operation: CTIActivityDelete_Input",
    )


@pytest.mark.parametrize("missing", ["InteractionId", "AgentOfferTime", "ChannelType"])
def test_required_fields(base: str, missing: str) -> None:
    values = {"InteractionId": "req-1", "AgentOfferTime": "1287786900", "ChannelType": "Inbound Call"}
    values[missing] = "  "
    item = (
        "<data:Interaction>"
        + "".join(f"<data:{k}>{v}</data:{k}>" for k, v in values.items())
        + "</data:Interaction>"
    )
    text = f"'{missing}' is a required field. Please enter a value for the field.(SBL-DAT-00498)"
    for body in (insert_body(interaction("ok-first"), item), wrapup_body(item)):
        r = post(base, envelope(body))
        assert_fault(r, text)
        assert fault(r)[2] == {"ErrorCode": "SBL-DAT-00498", "ErrorMessage": text}
    assert insert(base, interaction("ok-first"))[0]["Status"] == "OK"  # nothing half-written


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"channel": "Inbound Fax"}, "Invalid value, Inbound Fax, is specified for option ChannelType"),
        (
            {"aot": "2010-10-22T22:35:00Z"},
            "Invalid value, 2010-10-22T22:35:00Z, is specified for option AgentOfferTime",
        ),
        (
            {"AssociatedRecordType": "Widget"},
            "Invalid value, Widget, is specified for option AssociatedRecordType",
        ),
    ],
)
def test_invalid_values(base: str, fields: dict[str, str], text: str) -> None:
    assert_fault(post(base, envelope(insert_body(interaction("inv-1", **fields)))), text)


def test_lenient_values(base: str) -> None:
    out = insert(
        base,
        interaction("len-1", "inbound   CALL"),
        interaction("len-2", Priority="9-Urgent", IVRBeginTime="yesterday"),
        interaction("len-3", aot="01287786900"),
        interaction("1" * 31),
    )
    assert [a["Status"] for a in out] == ["OK", "OK", "OK", "Unable to create activity"]
    assert out[2]["AgentOfferTime"] == "01287786900"
    assert set(out[3]) == {"Status", "InteractionId", "AgentOfferTime"}
    # the key compares the integer value of AgentOfferTime
    assert insert(base, interaction("len-3"))[0]["Status"] == "Activity already exists"


def test_limited_user_privileges(base: str) -> None:
    chat = post(
        base, envelope(insert_body(interaction("lim-1", "Inbound Chat")), user="limited", password="limited")
    )
    assert_fault(chat, "Access Denied")
    assert insert(base, interaction("lim-2"), user="limited", password="limited")[0]["Status"] == "OK"
    assert_fault(
        post(
            base,
            envelope(
                wrapup_body(interaction("100000000001", "Inbound Chat")), user="limited", password="limited"
            ),
        ),
        "Access Denied",
    )


def test_same_key_twice_in_one_request(base: str) -> None:
    out = insert(base, interaction("dup-1"), interaction("dup-1"))
    assert [a["Status"] for a in out] == ["OK", "Activity already exists"]
    assert out[0]["ActivityId"] == out[1]["ActivityId"]


def test_lenient_input_shape(base: str) -> None:
    canonical = insert(base, interaction("shape-1", Origin="15551111212"))[0]
    xml = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
        + SECURITY.replace("wsse:", "w:")
        .replace("soapenv:", "s:")
        .replace(
            "<w:Security",
            '<w:Security xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"',
        )
        .format(user="demo", password="demo")
        + '</s:Header><s:Body>\n <CTIActivityInsert_Input xmlns="urn:crmondemand/ws/odctibs/ctiactivity/">'
        '<x:ListOfInteraction xmlns:x="urn:/crmondemand/xml/ctiactivity/data"> <x:Interaction>'
        "<x:Origin> 15551111212 </x:Origin><x:Foo>1</x:Foo><ChannelType xmlns=''>Inbound Call</ChannelType>"
        "<x:AgentOfferTime>1287786900</x:AgentOfferTime><!-- c --><x:InteractionId>shape-2</x:InteractionId>"
        "</x:Interaction></x:ListOfInteraction></CTIActivityInsert_Input></s:Body></s:Envelope>"
    )
    got = activities(post(base, xml))[0]
    assert got["Status"] == "OK"
    for key in ("ContactId", "ContactFullName", "ScreenPopRecordId", "ScreenPopRecordType"):
        assert got[key] == canonical[key]


# -- item 31: table 9.5 --------------------------------------------------------------------------
TABLE_95: list[tuple[dict[str, str], str, dict[str, str], tuple[str, str | None]]] = [
    (
        {"Origin": "1 (555) 222-3434"},
        "Inbound Call",
        {"ContactId": "1QA2-D903L00", "ContactFullName": "Maria Lopez"},
        ("Contact", "1QA2-D903L00"),
    ),
    (
        {"Origin": "15554445656"},
        "Inbound Call",
        {"AccountId": "1QA2-AC001", "AccountName": "Acme Widgets Inc."},
        ("Account", "1QA2-AC001"),
    ),
    (
        {"Origin": "Priya &lt;PRIYA.PATEL@example.net&gt;"},
        "Inbound Email",
        {"LeadId": "1QA2-LD001", "LeadFullName": "Priya Patel"},
        ("Lead", "1QA2-LD001"),
    ),
    (
        {"Origin": "15553334545"},
        "Inbound Chat",
        {"LeadId": "1QA2-LD001", "LeadFullName": "Priya Patel"},
        ("Lead", "1QA2-LD001"),
    ),
    (
        {"Origin": "18003849503", "Destination": "15552223434"},
        "Outbound Call",
        {"ContactId": "1QA2-D903L00", "ContactFullName": "Maria Lopez"},
        ("Contact", "1QA2-D903L00"),
    ),
    (
        {"Origin": "15551111212", "Destination": "+1 800 555 0199"},
        "Inbound Call",
        {
            "ContactId": "1QA2-RXQQC",
            "ContactFullName": "Fred Hong",
            "CampaignId": "1QA2-CP001",
            "CampaignName": "Spring Upgrade Offer",
        },
        ("Campaign", "1QA2-CP001"),
    ),
    (
        {"ServiceRequestNumber": "1-0000101"},
        "Inbound Call",
        {
            "ServiceRequestId": "1QA2-SR001",
            "ServiceRequestNumber": "1-0000101",
            "ContactId": "1QA2-D903L00",
            "ContactFullName": "Maria Lopez",
            "AccountId": "1QA2-AC001",
            "AccountName": "Acme Widgets Inc.",
        },
        ("Service Request", "1QA2-SR001"),
    ),
    (
        {"CampaignSourceCode": "spring24"},
        "Inbound Call",
        {"CampaignId": "1QA2-CP001", "CampaignName": "Spring Upgrade Offer"},
        ("Campaign", "1QA2-CP001"),
    ),
    (
        {"ContactPhoneNumber": "15551111212"},
        "Inbound Call",
        {"ContactId": "1QA2-RXQQC", "ContactFullName": "Fred Hong"},
        ("Contact", "1QA2-RXQQC"),
    ),
    (
        {"Origin": "15551111212", "AssociatedRecordType": "Contact", "AssociatedRecordId": "1QA2-D903L00"},
        "Inbound Call",
        {"ContactId": "1QA2-D903L00", "ContactFullName": "Maria Lopez"},
        ("Contact", "1QA2-D903L00"),
    ),
    (
        {"AssociatedRecordType": "Opportunity", "AssociatedRecordId": "1QA2-OP001"},
        "Outbound Call",
        {"AccountId": "1QA2-AC001", "AccountName": "Acme Widgets Inc."},
        ("Account", "1QA2-AC001"),
    ),
    ({"Origin": "15559990000"}, "Inbound Call", {}, ("Activity", None)),
]
LINK_KEYS = {
    "ContactId", "ContactFullName", "LeadId", "LeadFullName", "AccountId", "AccountName",
    "ServiceRequestId", "ServiceRequestNumber", "CampaignId", "CampaignName",
}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "channel", "links", "pop"), TABLE_95, ids=[str(i) for i in range(len(TABLE_95))]
)
def test_table_9_5(
    base: str, fields: dict[str, str], channel: str, links: dict[str, str], pop: tuple[str, str | None]
) -> None:
    got = insert(base, interaction("t95", channel, **fields))[0]
    assert got["Status"] == "OK"
    assert {k: v for k, v in got.items() if k in LINK_KEYS} == links
    assert got["ScreenPopRecordType"] == pop[0]
    assert got["ScreenPopRecordId"] == (pop[1] or got["ActivityId"])


def test_create_service_request(base: str) -> None:
    got = insert(base, interaction("sr-1", Origin="15552223434", CreateServiceRequest="true"))[0]
    assert got["ContactId"] == "1QA2-D903L00" and got["ServiceRequestNumber"] == "1-0000102"
    assert (
        got["ScreenPopRecordType"] == "Service Request"
        and got["ScreenPopRecordId"] == got["ServiceRequestId"]
    )
    assert re.fullmatch(r"1QA2-[0-9A-Z]{5,}", got["ServiceRequestId"])
    # ignored when a ServiceRequestNumber is given
    got = insert(base, interaction("sr-2", ServiceRequestNumber="1-0000101", CreateServiceRequest="1"))[0]
    assert got["ServiceRequestId"] == "1QA2-SR001"


# -- matching: zero, one and several candidates of each type -------------------------------------
def _admin(base: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, base + "/admin/api/crm" + path, json=body, headers=BASIC_DEMO, timeout=20)


@pytest.mark.parametrize(
    ("collection", "record", "slot", "channel", "value"),
    [
        (
            "contacts",
            {"FirstName": "Zed", "LastName": "One", "CellularPhone": "+1 555 700 0001"},
            "ContactId",
            "Inbound Call",
            "15557000001",
        ),
        (
            "contacts",
            {"FirstName": "Zed", "LastName": "Mail", "Email": "zed@example.com"},
            "ContactId",
            "Inbound Email",
            "ZED@example.com",
        ),
        (
            "leads",
            {"FirstName": "Lee", "LastName": "Ad", "CellularPhone": "+1 555 700 0002"},
            "LeadId",
            "Inbound Voicemail",
            "15557000002",
        ),
        (
            "leads",
            {"FirstName": "Lee", "LastName": "Mail", "Email": "lead@example.com"},
            "LeadId",
            "Inbound Chat",
            "lead@example.com",
        ),
        (
            "accounts",
            {"Name": "Zeta", "MainPhone": "+1 555 700 0003"},
            "AccountId",
            "Inbound Call",
            "15557000003",
        ),
        (
            "accounts",
            {"Name": "Zeta Mail", "Email": "hello@zeta.example"},
            "AccountId",
            "Inbound Email",
            "hello@zeta.example",
        ),
    ],
)
def test_matching_zero_one_several(
    base: str, collection: str, record: dict[str, str], slot: str, channel: str, value: str
) -> None:
    zero = insert(base, interaction("m-0", channel, Origin=value))[0]
    assert slot not in zero and zero["ScreenPopRecordType"] == "Activity"
    first = _admin(base, "POST", f"/{collection}", record)
    assert first.status_code == 201, first.text
    one = insert(base, interaction("m-1", channel, Origin=value))[0]
    assert one[slot] == first.json()["Id"]
    assert _admin(base, "POST", f"/{collection}", record).status_code == 201
    several = insert(base, interaction("m-2", channel, Origin=value))[0]
    assert slot not in several


def test_campaign_matching_zero_one_several(base: str) -> None:
    number = "+1 800 555 7777"
    assert "CampaignId" not in insert(base, interaction("c-0", Destination=number))[0]
    assert _admin(base, "POST", "/campaigns", {"Name": "A", "InboundNumber": number}).status_code == 201
    assert insert(base, interaction("c-1", Destination=number))[0]["ScreenPopRecordType"] == "Campaign"
    assert _admin(base, "POST", "/campaigns", {"Name": "B", "InboundNumber": number}).status_code == 201
    assert "CampaignId" not in insert(base, interaction("c-2", Destination=number))[0]
    # service requests and campaigns by IVR value: zero (unknown) is no error
    got = insert(base, interaction("c-3", ServiceRequestNumber="1-9999999", CampaignSourceCode="nope"))[0]
    assert got["Status"] == "OK" and got["ScreenPopRecordType"] == "Activity"


# -- items 33-37: hostile and odd bodies ---------------------------------------------------------
def test_doctype_and_entities_refused(base: str) -> None:
    body = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY x "y">]>' + envelope(insert_body(interaction("&x;")))
    assert_fault(post(base, body), NOT_WELL_FORMED)
    assert insert(base, interaction("y"))[0]["Status"] == "OK"


@pytest.mark.parametrize("body", [b"hello", b"", b"<a>", OPEN.encode() + b"<soapenv:Body>"])
def test_malformed_xml(base: str, body: bytes) -> None:
    assert_fault(post(base, body), NOT_WELL_FORMED)


def test_oversized_body(base: str) -> None:
    body = envelope(insert_body(interaction("big", Queue="q"))).replace(
        "<soapenv:Body>", "<soapenv:Body><!--" + "x" * 300_000 + "-->"
    )
    assert_fault(
        post(base, body),
        "Caught exception while handling request: request body exceeds 262144 bytes",
        status=413,
    )


def test_soap12_envelope(base: str) -> None:
    body = envelope(insert_body(interaction("v12"))).replace(
        "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"
    )
    r = post(base, body)
    assert r.status_code == 500 and fault(r)[0] == "env:VersionMismatch"


def test_wsdl_and_methods(base: str) -> None:
    r = httpx.get(base + "/Services/Integration?wsdl", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    assert root.get("targetNamespace") == "urn:crmondemand/ws/odctibs/ctiactivity/"
    assert "CTIActivityInsert" in r.text and "CTIActivityWrapUp" in r.text
    assert f'location="{base}/Services/Integration"' in r.text
    assert httpx.delete(base + "/Services/Integration", timeout=10).status_code == 405
    assert httpx.get(base + "/Services/Integration", timeout=10).status_code == 405


# -- item 54: concurrency ------------------------------------------------------------------------
def test_concurrent_inserts_of_one_key(base: str) -> None:
    xml = envelope(insert_body(interaction("conc-1")))
    insert(base, interaction("conc-warm"))  # the credential check is cached after one success
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: activities(post(base, xml))[0], range(50)))
    statuses = sorted(r["Status"] for r in results)
    assert statuses.count("OK") == 1 and statuses.count("Activity already exists") == 49
    assert len({r["ActivityId"] for r in results}) == 1


# -- items 38-39: lockout and allotment (own servers) ----------------------------------------------
def _post_from(base: str, xml: str, source: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=20) as client:
        return client.post(
            base + "/Services/Integration", content=xml.encode(), headers={"Content-Type": "text/xml"}
        )


def test_lockout_and_allotment(server_factory: Any) -> None:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["tenants"][0]["faces"]["crmod"]["auth_lockout"] = True
        cfg["tenants"][0]["faces"]["crmod"]["daily_operation_allotment"] = 8

    srv = server_factory(mutate)
    base = srv.base_url
    call = insert_body(interaction("lock-1"))
    for _ in range(5):
        assert_fault(post(base, envelope(call, user="limited", password="wrong")), E1)
    assert_fault(post(base, envelope(call, user="limited", password="limited")), E1)
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
        other_ok = True
    except OSError:
        other_ok = False
    if other_ok:
        assert (
            activities(_post_from(base, envelope(call, user="limited", password="limited"), "127.0.0.2"))[0][
                "Status"
            ]
            == "OK"
        )
    assert insert(base, interaction("lock-2"))[0]["Status"] == "OK"
    used = 2 if other_ok else 1
    for i in range(8 - used):
        assert insert(base, interaction(f"allot-{i}"))[0]["Status"] == "OK"
    r = post(base, envelope(insert_body(interaction("allot-x"))))
    text = (
        "The Web Services Operations Allotment of 8 has been reached or there is insufficient capacity "
        "remaining to process your request.(SBL-SBL-70172)"
    )
    assert_fault(r, text, code="env:Server")
    assert fault(r)[2]["ErrorCode"] == "SBL-SBL-70172"
    # reset clears the counter and the lockouts
    assert httpx.post(base + "/admin/api/crm/reset", headers=BASIC_DEMO, timeout=20).status_code == 204
    assert insert(base, interaction("lock-3"), user="limited", password="limited")[0]["Status"] == "OK"
