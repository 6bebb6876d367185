"""The hot-route lane (decision 35) on one raw connection: pipelined requests that mix lane routes
and ASGI routes are answered in order, and keep-alive and Connection: close behave as HTTP says."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from sp_agent import Customer, close_all

from conftest import ServerProc


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all()


def _request(c: Customer, method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    target = urlsplit(c.url(path))
    query = f"?{target.query}" if target.query else ""
    head = [f"{method} {target.path}{query} HTTP/1.1", f"Host: {target.netloc}"]
    head += [f"{name}: {value}" for name, value in c.headers.items()]
    if body:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if extra:
        head.append(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    buf = b""
    out: list[tuple[int, dict[str, str], bytes]] = []
    while len(out) < count:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} responses"
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        size = int(headers["content-length"])
        while len(buf) < size:
            chunk = sock.recv(65536)
            assert chunk
            buf += chunk
        out.append((int(lines[0].split()[1]), headers, buf[:size]))
        buf = buf[size:]
    return out


def _connect(server: ServerProc) -> socket.socket:
    url = urlsplit(server.base_url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    return sock


def test_pipelined_lane_and_asgi_requests_answer_in_order(server: ServerProc) -> None:
    c = Customer(server.base_url)
    c.start()

    def send(msg_id: str, text: str) -> bytes:
        body = {"events": [{"event": "chat_session_message", "msg_id": msg_id, "msg": text}]}
        return _request(c, "POST", f"/chats/{c.chat_id}/events", json.dumps(body).encode())

    with _connect(server) as sock:
        sock.sendall(
            send("m1", "first")  # lane
            + _request(c, "GET", "/availability")  # ASGI, queued behind the lane request
            + send("m2", "second")  # lane again, behind an ASGI one
        )
        (s1, _, b1), (s2, _, b2), (s3, h3, b3) = _read_responses(sock, 3)
    assert (s1, json.loads(b1)) == (200, {"events": []})
    assert s2 == 200 and json.loads(b2)["chat"] in ("available", "notAvailable")
    assert (s3, json.loads(b3), h3["cache-control"]) == (200, {"events": []}, "no-store")
    history = c.get(f"/chats/{c.chat_id}/history").json()["events"]
    texts = [e["msg"] for e in history if e["event"] == "chat_session_message"]
    assert texts == ["first", "second"]


def test_connection_close_on_the_lane_closes_after_the_reply(server: ServerProc) -> None:
    c = Customer(server.base_url)
    c.start()
    with _connect(server) as sock:
        sock.sendall(_request(c, "GET", f"/chats/{c.chat_id}/events", extra="Connection: close"))
        [(status, headers, body)] = _read_responses(sock, 1)
        assert status == 200 and headers.get("connection") == "close"
        assert json.loads(body)["events"][0]["event"] == "chat_session_status"
        assert sock.recv(1) == b""  # the server closed the connection


def test_a_large_body_takes_the_asgi_path_with_the_same_answer(server: ServerProc) -> None:
    c = Customer(server.base_url)
    c.start()
    big = json.dumps(
        {"events": [{"event": "chat_session_message", "msg_id": "big", "msg": "x" * 70_000}]}
    ).encode()
    r = c.post(f"/chats/{c.chat_id}/events", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == {"events": []}
    with _connect(server) as sock:
        sock.sendall(_request(c, "POST", f"/chats/{c.chat_id}/events", b"{not json"))
        [(status, _, body)] = _read_responses(sock, 1)
    assert status == 400 and json.loads(body)["error_code"]


def test_sigterm_answers_a_held_poll_at_once(server_factory: Callable[..., ServerProc]) -> None:
    srv = server_factory()
    c = Customer(srv.base_url)
    c.start()
    c.events()  # the queued status: the next poll is held (10 s on the demo tenant)
    with _connect(srv) as sock:
        sock.sendall(_request(c, "GET", f"/chats/{c.chat_id}/events"))
        time.sleep(0.5)  # parked
        started = time.monotonic()
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGTERM)
        [(status, headers, body)] = _read_responses(sock, 1)
        answered = time.monotonic() - started
        assert (status, json.loads(body), headers.get("connection")) == (200, {"events": []}, "close")
        assert answered < 3.0, answered
    assert srv.proc.wait(10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
