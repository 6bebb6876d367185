"""One contract for every Bus: memory, Redis and NATS (design sections 3 and 5).

Redis and NATS are the real local services. A test against an unreachable service fails with the
command that starts it: a skipped contract test would let a broken backend ship. Every test uses
its own channel prefix, so parallel runs on the same servers cannot hear each other.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from redis.asyncio import Redis

import frontdesk
from frontdesk.bus.memory import MemoryBus
from frontdesk.bus.nats import START_NATS, NatsBus
from frontdesk.bus.protocol import Bus
from frontdesk.bus.redis import START_REDIS, RedisBus
from frontdesk.bus.remote import RemoteBus
from frontdesk.config import parse_config_dict
from frontdesk.engine.engine import build_bus

pytestmark = pytest.mark.anyio

URLS = {
    "redis": os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "nats": os.environ.get("FRONTDESK_TEST_NATS_URL", "nats://127.0.0.1:4222"),
}
WAIT = 10.0  # seconds any single delivery may take before the test fails


class Inbox:
    """A subscriber callback that remembers what it was given, and on which thread."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, payload: str) -> None:
        self.got.append(payload)
        self.threads.add(threading.get_ident())

    def real(self) -> list[str]:
        """Without resync wake-ups (empty payloads)."""
        return [p for p in self.got if p]


async def until(cond: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.01)


class Nodes:
    """Started buses of one kind on one fresh channel prefix; each is a separate "node"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.prefix = f"fdtest-{uuid.uuid4().hex}"
        self.buses: list[Bus] = []

    def make(self, name: str, url: str | None = None, **kwargs: Any) -> Bus:
        node_id = f"{name}-{uuid.uuid4().hex[:8]}"
        if self.kind == "memory":
            return MemoryBus()
        if self.kind == "redis":
            return RedisBus(url or URLS["redis"], self.prefix, node_id, **kwargs)
        return NatsBus(url or URLS["nats"], self.prefix, node_id, **kwargs)

    async def start(self, name: str = "a", url: str | None = None, **kwargs: Any) -> Bus:
        bus = self.make(name, url, **kwargs)
        await bus.start()  # an unreachable service raises, naming it and its start command
        self.buses.append(bus)
        return bus

    async def fence(self, sender: Bus, receiver: Bus) -> None:
        """Once this returns, everything ``sender`` published before has reached ``receiver``'s node.

        Both servers keep one publisher's messages in order, so a marker sent last arrives last.
        """
        topic = f"fence:{uuid.uuid4()}"
        heard = Inbox()
        unsubscribe = receiver.subscribe(topic, heard)
        try:
            sender.publish(topic, "fence")
            await until(lambda: "fence" in heard.got, "fence delivered")
        finally:
            unsubscribe()

    async def close(self) -> None:
        for bus in self.buses:
            await bus.close()


@pytest.fixture(params=["memory", "redis", "nats"])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    group = Nodes(request.param)
    yield group
    await group.close()


@pytest.fixture(params=["redis", "nats"])
async def remote(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    """Backends with a server between nodes (memory has only one node)."""
    group = Nodes(request.param)
    yield group
    await group.close()


# -- every bus ---------------------------------------------------------------------------------------


async def test_local_delivery_is_synchronous(nodes: Nodes) -> None:
    bus = await nodes.start()
    inbox = Inbox()
    bus.subscribe("chat:abc", inbox)
    bus.publish("chat:abc", "7")
    assert inbox.got == ["7"]  # before any await: the publishing node never waits for the network


async def test_only_subscribers_of_the_topic_are_woken(nodes: Nodes) -> None:
    bus = await nodes.start()
    inboxes = {f"chat:{i}": Inbox() for i in range(50)}
    for topic, inbox in inboxes.items():
        bus.subscribe(topic, inbox)
    for i in range(50):
        bus.publish(f"chat:{i}", str(i))
    bus.publish("chat:nobody", "x")
    await asyncio.sleep(0.2)  # a remote echo, if any, would arrive now
    for i, inbox in enumerate(inboxes.values()):
        assert inbox.got == [str(i)]


async def test_no_echo_duplicate_for_the_publishers_own_subscribers(nodes: Nodes) -> None:
    bus = await nodes.start()
    inbox = Inbox()
    bus.subscribe("agent:demo:alice", inbox)
    for i in range(20):
        bus.publish("agent:demo:alice", f"offer:{i}")
    if nodes.kind != "memory":
        other = await nodes.start("b")
        await nodes.fence(bus, other)  # bus's own messages went through the server ...
        await nodes.fence(other, bus)  # ... and anything the server echoed back has arrived
    assert inbox.got == [f"offer:{i}" for i in range(20)]


async def test_unsubscribe_stops_delivery(nodes: Nodes) -> None:
    bus = await nodes.start()
    first, second = Inbox(), Inbox()
    unsubscribe = bus.subscribe("chat:x", first)
    bus.subscribe("chat:x", second)
    bus.publish("chat:x", "1")
    unsubscribe()
    unsubscribe()  # twice is harmless
    bus.publish("chat:x", "2")
    assert first.got == ["1"]
    assert second.got == ["1", "2"]


async def test_an_every_topic_subscriber_hears_every_topic_once(nodes: Nodes) -> None:
    bus = await nodes.start()
    heard: list[tuple[str | None, str]] = []
    unsubscribe = bus.subscribe_every(lambda topic, payload: heard.append((topic, payload)))
    bus.publish("chat:1", "a")
    bus.publish("sp-poll:1", "b")
    assert heard == [("chat:1", "a"), ("sp-poll:1", "b")]  # synchronous, like topic subscribers
    if nodes.kind != "memory":
        other = await nodes.start("b")
        other.publish("agent:demo:bob", "c")
        await until(lambda: ("agent:demo:bob", "c") in heard, "another node's publish")
        await nodes.fence(bus, other)
        await nodes.fence(other, bus)
    unsubscribe()
    bus.publish("chat:1", "after")
    await asyncio.sleep(0.1)
    assert [payload for topic, payload in heard if topic and not topic.startswith("fence")] == (
        ["a", "b"] if nodes.kind == "memory" else ["a", "b", "c"]
    )


async def test_arbitrary_topics_and_payloads(nodes: Nodes) -> None:
    bus = await nodes.start()
    odd = [
        "",
        "chat:abc:17",
        "line one\nline two\r\n",
        'quotes " and \\ backslash',
        "émoji 🎧 ünïcødé 中文 עברית",
        "nul \x00 and tab \t",
        '["looks", "like", "a frame"]',
        "x" * 20_000,
    ]
    topics = ["chat:abc", "agent:demo:alice", "a.b.*.>", "spaces in topic", "ü:\n:", ""]
    inboxes = {topic: Inbox() for topic in topics}
    for topic, inbox in inboxes.items():
        bus.subscribe(topic, inbox)
    for topic in topics:
        for payload in odd:
            bus.publish(topic, payload)
    for inbox in inboxes.values():
        assert inbox.got == odd


async def test_ping(nodes: Nodes) -> None:
    bus = await nodes.start()
    await asyncio.wait_for(bus.ping(), 5)


async def test_a_failing_subscriber_does_not_stop_the_others(nodes: Nodes) -> None:
    bus = await nodes.start()
    inbox = Inbox()

    def broken(payload: str) -> None:
        raise ValueError("subscriber bug")

    bus.subscribe("chat:x", broken)
    bus.subscribe("chat:x", inbox)
    bus.publish("chat:x", "1")
    assert inbox.got == ["1"]


# -- buses with a server between nodes ---------------------------------------------------------------


async def test_second_node_receives_and_publisher_gets_one_copy(remote: Nodes) -> None:
    a = await remote.start("a")
    b = await remote.start("b")
    at_a, at_b = Inbox(), Inbox()
    a.subscribe("chat:abc", at_a)
    b.subscribe("chat:abc", at_b)
    a.publish("chat:abc", "1")
    await until(lambda: at_b.got == ["1"], "b receives a's wake-up")
    await remote.fence(b, a)
    assert at_a.got == ["1"]
    assert at_b.got == ["1"]
    assert at_b.threads == at_a.threads == {threading.get_ident()}
    assert isinstance(a, RemoteBus) and isinstance(b, RemoteBus)
    assert b.received >= 1 and a.dropped == b.dropped == 0


async def test_unsubscribe_stops_remote_delivery(remote: Nodes) -> None:
    a = await remote.start("a")
    b = await remote.start("b")
    inbox = Inbox()
    unsubscribe = b.subscribe("chat:x", inbox)
    a.publish("chat:x", "1")
    await until(lambda: inbox.got == ["1"], "first wake-up")
    unsubscribe()
    a.publish("chat:x", "2")
    await remote.fence(a, b)
    assert inbox.got == ["1"]


async def test_many_topics_keep_per_publisher_order(remote: Nodes) -> None:
    a = await remote.start("a")
    b = await remote.start("b")
    topics = [f"chat:{uuid.uuid4()}" for _ in range(100)]
    inboxes = {topic: Inbox() for topic in topics}
    for topic, inbox in inboxes.items():
        b.subscribe(topic, inbox)
    expected = [str(seq) for seq in range(1, 21)]
    for seq in expected:
        for topic in topics:
            a.publish(topic, seq)
    await until(lambda: all(len(i.got) == len(expected) for i in inboxes.values()), "all topics delivered")
    for inbox in inboxes.values():
        assert inbox.got == expected


async def test_arbitrary_topics_and_payloads_cross_nodes(remote: Nodes) -> None:
    a = await remote.start("a")
    b = await remote.start("b")
    payloads = ["", "a:b:c", "multi\nline\r\n", "🎧 中文 \x00", '{"seq": 3}', "y" * 50_000]
    topics = ["a.b.*.>", "chat: with space", "ü\n", "agent:demo:alice"]
    inboxes = {topic: Inbox() for topic in topics}
    for topic, inbox in inboxes.items():
        b.subscribe(topic, inbox)
    for topic in topics:
        for payload in payloads:
            a.publish(topic, payload)
    await until(lambda: all(len(i.got) == len(payloads) for i in inboxes.values()), "all delivered")
    for inbox in inboxes.values():
        assert inbox.got == payloads


async def test_burst_of_10000_all_delivered_across_nodes(remote: Nodes) -> None:
    a = await remote.start("a")
    b = await remote.start("b")
    inbox = Inbox()
    b.subscribe("chat:burst", inbox)
    for seq in range(10_000):
        a.publish("chat:burst", str(seq))
    await until(lambda: len(inbox.got) >= 10_000, "10,000 wake-ups delivered", timeout=30)
    assert inbox.got == [str(seq) for seq in range(10_000)]
    assert isinstance(a, RemoteBus) and isinstance(b, RemoteBus)
    await until(lambda: a.published == 10_000, "the sender counted its last batch")  # b may be faster
    assert (a.dropped, b.received) == (0, 10_000)


async def test_close_flushes_what_is_queued(remote: Nodes) -> None:
    a = remote.make("a")
    await a.start()
    b = await remote.start("b")
    inbox = Inbox()
    b.subscribe("chat:last", inbox)
    for seq in range(500):
        a.publish("chat:last", str(seq))
    await a.close()
    await until(lambda: len(inbox.got) >= 500, "queued wake-ups sent by close")
    assert inbox.got == [str(seq) for seq in range(500)]
    a.publish("chat:last", "after close")  # never raises, goes nowhere
    assert isinstance(a, RemoteBus) and a.dropped == 1


async def test_a_full_queue_drops_and_counts(remote: Nodes) -> None:
    bus = remote.make("a", queue_max=5)  # not started: nothing drains the queue
    inbox = Inbox()
    bus.subscribe("chat:x", inbox)
    for seq in range(12):
        bus.publish("chat:x", str(seq))
    assert len(inbox.got) == 12  # local delivery does not depend on the queue
    assert isinstance(bus, RemoteBus) and bus.dropped == 7
    await bus.close()


async def test_unreachable_server_fails_start_clearly(remote: Nodes) -> None:
    port = free_port()
    scheme = "redis" if remote.kind == "redis" else "nats"
    url = f"{scheme}://127.0.0.1:{port}" + ("/0" if scheme == "redis" else "")
    bus = remote.make("a", url)
    began = time.monotonic()
    with pytest.raises(RuntimeError) as caught:
        await bus.start()
    assert time.monotonic() - began < 10
    message = str(caught.value)
    assert url in message and "unreachable" in message
    assert (START_REDIS if scheme == "redis" else START_NATS) in message
    await bus.close()


async def test_survives_connection_loss_and_resyncs(remote: Nodes) -> None:
    """Cut the node's connections (through a proxy) and keep the server away for a while."""
    async with Proxy(URLS[remote.kind]) as proxy:
        a = await remote.start("a", proxy.url)
        b = await remote.start("b")
        at_a, at_b = Inbox(), Inbox()
        a.subscribe("chat:r", at_a)
        b.subscribe("chat:r", at_b)
        every_at_a: list[str | None] = []
        a.subscribe_every(lambda topic, payload: every_at_a.append(topic))
        a.publish("chat:r", "before")
        await until(lambda: at_b.got == ["before"], "delivery before the cut")

        await proxy.cut()
        await until_ping_fails(a)
        for _ in range(100):
            a.publish("chat:r", "during")  # never raises, never blocks
        assert at_a.got.count("during") == 100
        await asyncio.sleep(0.5)
        await proxy.restore()

        await until(lambda: "" in at_a.got, "resync wake-up after reconnect")
        assert None in every_at_a  # and every-topic subscribers are told to look at everything
        await until_ping_works(a)
        b.publish("chat:r", "after")
        await until(lambda: "after" in at_a.got, "b reaches a again")
        await until(lambda: at_b.real().count("during") >= 1, "a's queued wake-ups reach b")
        assert isinstance(a, RemoteBus) and a.published >= 101
        await a.close()  # before the proxy goes: its disappearance is not part of this test


@pytest.mark.slow
async def test_a_silent_connection_is_noticed(remote: Nodes) -> None:
    """No FIN, no RST, just silence (a lost NAT entry): the client heartbeat must notice it."""
    async with Proxy(URLS[remote.kind]) as proxy:
        a = await remote.start("a", proxy.url)
        b = await remote.start("b")
        at_a = Inbox()
        a.subscribe("chat:s", at_a)
        proxy.freeze()  # existing connections go silent; new ones work
        await until(lambda: "" in at_a.got, "resync after the silent connection was replaced", timeout=40)
        b.publish("chat:s", "after")
        await until(lambda: "after" in at_a.got, "delivery on the new connection")
        await a.close()


async def test_redis_client_kill_reconnects_and_resyncs() -> None:
    nodes = Nodes("redis")
    try:
        a = await nodes.start("a")
        b = await nodes.start("b")
        assert isinstance(a, RedisBus)
        at_a, at_b = Inbox(), Inbox()
        a.subscribe("chat:k", at_a)
        b.subscribe("chat:k", at_b)
        a.publish("chat:k", "opens the publishing connection")
        await until(lambda: len(at_b.got) == 1, "first delivery")
        admin = Redis.from_url(URLS["redis"])
        try:
            killed = 0
            for client in await admin.client_list():
                if client.get("name") == f"frontdesk-bus:{a.node_id}":
                    killed += await admin.client_kill_filter(_id=client["id"])
        finally:
            await admin.aclose()
        assert killed >= 2  # the subscription and the publishing connection
        a.publish("chat:k", "own")  # never raises
        await until(lambda: "" in at_a.got, "resync wake-up after CLIENT KILL")
        await until(lambda: "own" in at_b.got, "the publish sent again on a new connection")
        b.publish("chat:k", "from b")
        await until(lambda: "from b" in at_a.got, "delivery after CLIENT KILL")
        await until_ping_works(a)
    finally:
        await nodes.close()


async def test_configuration_selects_the_backend(remote: Nodes) -> None:
    data = yaml.safe_load((Path(frontdesk.__file__).parent / "demo.yaml").read_text())
    data["server"]["bus"] = {"kind": remote.kind, "url": URLS[remote.kind], "channel_prefix": remote.prefix}
    data["server"]["cluster"] = {"node_id": "node-7"}
    config, issues = parse_config_dict(data)
    assert config is not None, [issue.line() for issue in issues]
    bus = build_bus(config)
    assert isinstance(bus, RedisBus if remote.kind == "redis" else NatsBus)
    assert (bus.url, bus.prefix, bus.node_id) == (URLS[remote.kind], remote.prefix, "node-7")
    await bus.start()
    try:
        await bus.ping()
    finally:
        await bus.close()


# -- helpers -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_ping_fails(bus: Bus) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(bus.ping(), 1)
        except Exception:
            return
        await asyncio.sleep(0.05)
    pytest.fail("ping kept succeeding after the connection was cut")


async def until_ping_works(bus: Bus) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            await asyncio.wait_for(bus.ping(), 1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)


class Proxy:
    """A TCP relay to a real server that a test can take down (connections cut, new ones refused).

    Refusing rather than accepting-and-closing is what a stopped server does; nats-py also leaks a
    stream writer per attempt against a listener that closes right after accepting.
    """

    def __init__(self, upstream: str) -> None:
        self._parts = urlsplit(upstream)
        self._host = self._parts.hostname or "127.0.0.1"
        self._port = self._parts.port or 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._frozen: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.url = upstream

    async def __aenter__(self) -> Proxy:
        await self._listen()
        self.url = urlunsplit(self._parts._replace(netloc=f"127.0.0.1:{self.port}"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    def freeze(self) -> None:
        """Silently drop everything on the connections open now, in both directions."""
        self._frozen.update(self._writers)

    async def restore(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._relay(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers = [writer]
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
            writers.append(up_writer)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            for w in writers:
                self._writers.discard(w)
                self._frozen.discard(w)
                w.transport.abort()
            for w in writers:
                with suppress(Exception):
                    await w.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if writer not in self._frozen:
                    writer.write(data)
                    await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
