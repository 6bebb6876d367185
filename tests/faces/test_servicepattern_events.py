"""ServicePattern face: Send Events, history without agents, files (checklist items 23-31, 39-45, 51, 53)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sp_agent import Customer, assert_error, close_all

from conftest import ServerProc

LIMIT = 26_214_400


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


@pytest.fixture
def cust(server: ServerProc) -> Customer:
    c = Customer(server.base_url)
    c.start()
    first = c.events()  # the pending status, so later polls only see what the test causes
    assert first[0]["event"] == "chat_session_status"
    return c


def messages(c: Customer) -> list[dict[str, object]]:
    return [e for e in c.history().json()["events"] if e["event"] == "chat_session_message"]


def test_item23_valid_message(cust: Customer) -> None:
    r = cust.send({"event": "chat_session_message", "msg_id": "1", "msg": "Hello"})
    assert r.status_code == 200 and r.json() == {"events": []}


@pytest.mark.parametrize("chat_id", ["abc", str(uuid.uuid4())])
def test_item24_unknown_chat(server: ServerProc, chat_id: str) -> None:
    c = Customer(server.base_url)
    c.chat_id = chat_id
    assert_error(c.send({"event": "chat_session_message", "msg": "x"}), "5005", 404)
    assert_error(c.poll(), "5005", 404)
    assert_error(c.history(), "5005", 404)


def test_item25_foreign_chat(server: ServerProc, cust: Customer) -> None:
    other = Customer(server.base_url)
    other.chat_id = cust.chat_id
    assert_error(other.send({"event": "chat_session_message", "msg": "x"}), "5005", 404)
    assert_error(other.poll(), "5005", 404)
    other_app = Customer(server.base_url, app_id="widget", client_id=cust.client_id)
    other_app.chat_id = cust.chat_id
    assert_error(other_app.poll(), "5005", 404)


@pytest.mark.parametrize(
    "body",
    [
        b'{"events":',
        b"{}",
        b'{"events":"x"}',
        b'{"events":[1]}',
        b'{"events":[{"msg":"x"}]}',
        b'{"events":[' + b",".join([b'{"event":"chat_session_not_typing"}'] * 101) + b"]}",
        b'{"events":[{"event":"chat_session_message","msg_id":"1"}]}',
        b'{"events":[{"event":"chat_session_message","msg":"ok"},{"event":"chat_session_message"}]}',
        b'{"events":[{"event":"chat_session_location","latitude":"1"}]}',
        b'{"events":[{"event":"chat_session_signaling","data":"{not json"}]}',
    ],
)
def test_item26_invalid_bodies_apply_nothing(cust: Customer, body: bytes) -> None:
    assert_error(cust.post(f"/chats/{cust.chat_id}/events", content=body), "5003", 400)
    assert messages(cust) == []


def test_item27_unknown_event_and_empty_list(cust: Customer) -> None:
    for events in ([{"event": "chat_session_bogus"}], []):
        r = cust.post(f"/chats/{cust.chat_id}/events", {"events": events})
        assert r.status_code == 200 and r.json() == {"events": []}
    assert len(cust.history().json()["events"]) == 1


def test_item28_unknown_file(cust: Customer) -> None:
    r = cust.send({"event": "chat_session_file", "msg_id": "3", "file_id": str(uuid.uuid4())})
    assert_error(r, "5502", 400)


def test_item29_not_echoed(cust: Customer) -> None:
    cust.say("a < b\nc", "1")
    cust.send({"event": "chat_session_end"})
    polled = cust.collect_until("chat_session_ended")
    assert [e["event"] for e in polled] == ["chat_session_ended"]


def test_closing_history_answers(cust: Customer) -> None:
    cust.say("bye", "1")
    cust.send({"event": "chat_session_end"})
    h = cust.history()
    assert h.status_code == 200
    assert [e["event"] for e in h.json()["events"]][-1] == "chat_session_ended"
    # the terminal event reached the client through history: nothing is left to poll
    assert_error(cust.poll(), "5005", 404)


def test_item29_history_party_and_timestamp(cust: Customer) -> None:
    cust.say("Hello", "1")
    [msg] = messages(cust)
    assert msg["party_id"] == cust.chat_id and msg["msg_id"] == "1" and msg["msg"] == "Hello"
    assert isinstance(msg["timestamp"], str) and msg["timestamp"].isdigit()


def test_item30_retry_dedupe(cust: Customer) -> None:
    cust.say("same", "7")
    cust.say("same", "7")
    cust.say("other text", "7")  # a renumbering widget: same id, other content, is a new message
    texts = [m["msg"] for m in messages(cust)]
    assert texts == ["same", "other text"]


def test_item31_typing_and_signaling_not_in_history(cust: Customer) -> None:
    r = cust.send(
        {"event": "chat_session_typing", "msg": "Hel"},
        {"event": "chat_session_not_typing"},
        {
            "event": "chat_session_signaling",
            "msg_id": "5",
            "destination_party_id": "P",
            "data": {"type": "END_CALL"},
        },
        {"event": "chat_session_message_delivered", "ref_msg_id": "0"},
    )
    assert r.status_code == 200
    names = [e["event"] for e in cust.history().json()["events"]]
    assert names == ["chat_session_status"]


def test_client_events_kept_in_history(cust: Customer) -> None:
    r = cust.send(
        {
            "event": "chat_session_location",
            "msg_id": "9",
            "url": "",
            "latitude": 37.7749,
            "longitude": "-122.4194",
        },
        {
            "event": "chat_session_navigation",
            "msg_id": "11",
            "title": "Pricing",
            "page": "https://x.example/p",
        },
        {"event": "chat_session_message", "msg_id": "13", "msg": "a<br>b", "msg_text": "a\nb"},
        {"event": "chat_session_message", "msg": "no id"},
    )
    assert r.status_code == 200
    events = cust.history().json()["events"]
    loc = next(e for e in events if e["event"] == "chat_session_location")
    assert (
        loc["latitude"] == "37.7749" and loc["longitude"] == "-122.4194" and loc["party_id"] == cust.chat_id
    )
    nav = next(e for e in events if e["event"] == "chat_session_navigation")
    assert nav["title"] == "Pricing" and nav["msg_id"] == "11"
    msgs = [e for e in events if e["event"] == "chat_session_message"]
    assert msgs[0]["msg_text"] == "a\nb" and msgs[0]["msg"] == "a<br>b"
    assert msgs[1]["msg_id"] == f"{cust.chat_id}:1"


def test_call_request_is_rejected(cust: Customer) -> None:
    cust.send(
        {
            "event": "chat_session_signaling",
            "msg_id": "5",
            "data": '{"type":"REQUEST_CALL","offerVideo":true}',
        }
    )
    [ev] = cust.events()
    assert ev["event"] == "chat_session_signaling" and ev["data"]["type"] == "CALL_REJECTED"
    assert int(ev["msg_id"]) % 2 == 0 and ev["party_id"] == ""


def test_item39_history_moves_cursor(cust: Customer) -> None:
    c = Customer(cust.base)
    c.start()
    names = [e["event"] for e in c.history().json()["events"]]
    assert names == ["chat_session_status"]  # pending, not polled yet
    c.send({"event": "chat_session_end"})
    assert [e["event"] for e in c.events()] == ["chat_session_ended"]  # the status is not polled again


@pytest.mark.parametrize("ending", ["chat_session_end", "chat_session_disconnect"])
def test_item51_53_end_and_disconnect(cust: Customer, ending: str) -> None:
    assert cust.send({"event": ending}).json() == {"events": []}
    assert cust.send({"event": "chat_session_end"}).status_code == 200  # second end before the poll
    assert_error(cust.send({"event": "chat_session_message", "msg": "late"}), "5005", 404)
    assert [e["event"] for e in cust.events()] == ["chat_session_ended"]
    assert_error(cust.poll(), "5005", 404)
    assert_error(cust.history(), "5005", 404)
    assert_error(cust.send({"event": "chat_session_end"}), "5005", 404)


# -- files -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("part", ["file-upload-input", "file", "File"])
def test_item41_upload_any_part_name(cust: Customer, part: str) -> None:
    data = os.urandom(1024)
    r = cust.post("/files", files={part: ("photo.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"file_id", "file_name"} and body["file_name"] == "photo.jpg"


def test_item42_size_limit(cust: Customer) -> None:
    exact = cust.post("/files", files={"file": ("big.bin", b"\0" * LIMIT, "application/octet-stream")})
    assert exact.status_code == 200, exact.text
    over = cust.post("/files", files={"file": ("big.bin", b"\0" * (LIMIT + 1), "application/octet-stream")})
    assert_error(over, "5501", 400)


def test_item43_not_multipart(cust: Customer) -> None:
    assert_error(
        cust.post("/files", content=b"raw", headers={"Content-Type": "application/octet-stream"}), "5558", 400
    )
    assert_error(cust.post("/files", data={"field": "value"}, files={}), "5558", 400)
    r = cust.post(
        "/files",
        content=b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--x--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_error(r, "5558", 400)


def test_item44_download_without_auth(cust: Customer) -> None:
    data = os.urandom(2048)
    up = cust.post("/files", files={"file-upload-input": ("résumé.pdf", data, "application/pdf")}).json()
    r = cust.send(
        {"event": "chat_session_file", "msg_id": "3", "file_id": up["file_id"], "file_name": "résumé.pdf"}
    )
    assert r.status_code == 200
    plain = httpx.get(f"{cust.api}/chats/{cust.chat_id}/files/{up['file_id']}")
    assert plain.status_code == 200 and plain.content == data
    assert plain.headers["content-type"] == "application/pdf"
    assert plain.headers["content-disposition"].startswith("inline; filename=")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in plain.headers["content-disposition"]
    assert plain.headers["x-content-type-options"] == "nosniff"
    bare = httpx.get(f"{cust.base}/clientweb/file/{up['file_id'].upper()}")
    assert bare.status_code == 200 and bare.content == data
    [ev] = [e for e in cust.history().json()["events"] if e["event"] == "chat_session_file"]
    assert (
        ev["party_id"] == cust.chat_id and ev["file_id"] == up["file_id"] and ev["file_type"] == "attachment"
    )


def test_item45_download_errors(cust: Customer) -> None:
    assert_error(httpx.get(f"{cust.api}/chats/{cust.chat_id}/files/{uuid.uuid4()}"), "5502", 404)
    assert_error(httpx.get(f"{cust.base}/clientweb/file/{uuid.uuid4()}"), "5502", 404)
    assert_error(httpx.get(f"{cust.api}/chats/{uuid.uuid4()}/files/{uuid.uuid4()}"), "5005", 404)
    assert_error(httpx.get(f"{cust.api}/chats/{cust.chat_id}/profilephotos/{uuid.uuid4()}"), "5502", 404)
    assert_error(httpx.get(f"{cust.api}/chats/{uuid.uuid4()}/profilephotos/{uuid.uuid4()}"), "5005", 404)
    assert_error(httpx.get(f"{cust.api}/chats/{cust.chat_id}/chaticon"), "5502", 404)


def test_file_of_another_identity(server: ServerProc, cust: Customer) -> None:
    other = Customer(server.base_url)
    up = other.post("/files", files={"file": ("a.txt", b"x", "text/plain")}).json()
    assert_error(cust.send({"event": "chat_session_file", "file_id": up["file_id"]}), "5502", 400)


def test_ids_in_paths_case_insensitive(cust: Customer) -> None:
    cust.chat_id = str(cust.chat_id).upper()
    assert cust.history().status_code == 200


def test_closed_hours_blocked_types_disabled_entry(server_factory: Any) -> None:
    def mutate(cfg: dict[str, Any]) -> None:
        tenant = cfg["tenants"][0]
        tenant["calendars"]["closed"] = {"hours": {}}
        tenant["limits"]["upload_blocked_types"] = [".exe"]
        eps = tenant["entry_points"]
        eps[0]["calendar"] = "closed"
        eps[1]["enabled"] = False

    srv = server_factory(mutate)
    c = Customer(srv.base_url)
    assert c.get("/availability").json() == {"chat": "notAvailable", "ewt": "0"}
    assert_error(c.post("/chats", {}), "5001", 503)
    r = c.post("/files", files={"file": ("setup.exe", b"MZ", "application/octet-stream")})
    assert_error(r, "5558", 400)
    assert_error(Customer(srv.base_url, app_id="widget").get("/availability"), "5006", 403)
