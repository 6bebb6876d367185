"""Prometheus metrics (`/metrics`): one registry per app, gauges read from engine state at scrape.

Counters and histograms are updated where things happen (HTTP middleware, routing passes, the
store's group commits, webhook deliveries, committed message events); gauges that describe current
state (chats by state and queue, WebSocket agents, long polls) are computed when scraped.
"""

from __future__ import annotations

import contextvars
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from frontdesk import __version__
from frontdesk.engine.core import Tx
from frontdesk.engine.engine import Engine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LIVE_STATES = ("queued", "offered", "connected")
# True while an HTTP request (not a WebSocket) is being handled: waiters created then are long polls.
in_http_request: contextvars.ContextVar[bool] = contextvars.ContextVar("in_http_request", default=False)


class LongPolls:
    """Waiters created while handling an HTTP request; a closed waiter has no topics left."""

    def __init__(self) -> None:
        self._open: dict[int, Any] = {}

    def add(self, waiter: Any) -> None:
        if len(self._open) > 1000:
            self.count()
        self._open[id(waiter)] = waiter

    def count(self) -> int:
        self._open = {k: w for k, w in self._open.items() if getattr(w, "_topics", None)}
        return len(self._open)


class _State(Collector):
    def __init__(self, engine: Engine, long_polls: LongPolls) -> None:
        self.engine = engine
        self.long_polls = long_polls

    def collect(self) -> Iterator[Metric]:
        core = self.engine.core
        chats = GaugeMetricFamily(
            "frontdesk_chats", "Live chats by tenant, queue and state", labels=["tenant", "queue", "state"]
        )
        tally: Tally[tuple[str, str, str]] = Tally()
        for chat in list(core.chats.values()):
            if chat.state in LIVE_STATES:
                tally[(chat.tenant_id, chat.queue, chat.state)] += 1
        for tenant in self.engine.registry.tenants.values():
            for queue in tenant.queue_order:
                for state in LIVE_STATES:
                    tally.setdefault((tenant.id, queue, state), 0)
        for (tenant_id, queue, state), n in sorted(tally.items()):
            chats.add_metric([tenant_id, queue, state], n)
        yield chats
        sockets = GaugeMetricFamily(
            "frontdesk_websocket_agents", "Agents with at least one open WebSocket", labels=["tenant"]
        )
        per_tenant: Tally[str] = Tally({t: 0 for t in self.engine.registry.tenants})
        for agent in list(core.agents.values()):
            if agent.sockets > 0:
                per_tenant[agent.tenant_id] += 1
        for tenant_id, n in sorted(per_tenant.items()):
            sockets.add_metric([tenant_id], n)
        yield sockets
        open_polls = self.long_polls.count()
        yield GaugeMetricFamily(
            "frontdesk_long_polls_open", "HTTP requests parked waiting for events", open_polls
        )
        yield GaugeMetricFamily(
            "frontdesk_ended_chats_in_memory",
            "Ended chats still cached",
            sum(1 for c in list(core.chats.values()) if c.state == "ended"),
        )


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # prometheus_client's labels() takes a lock and builds a key per call; the hot paths (every
        # request, every message) reuse the labelled child instead.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Gauge("frontdesk_build_info", "Frontdesk version", ["version"], registry=r)
        self.info.labels(__version__).set(1)
        self.http_requests = Counter(
            "frontdesk_http_requests",
            "HTTP requests by face, method and status",
            ["face", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "frontdesk_http_request_seconds",
            "HTTP request duration by face (long polls included)",
            ["face"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.rate_limited = Counter(
            "frontdesk_rate_limited", "Requests refused by the general rate limit", ["face"], registry=r
        )
        self.messages = Counter(
            "frontdesk_messages",
            "Committed chat messages (rate() gives messages per second)",
            ["tenant"],
            registry=r,
        )
        self.routing_seconds = Histogram(
            "frontdesk_routing_pass_seconds",
            "Duration of one routing pass of a tenant",
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
        )
        self.commit_seconds = Histogram(
            "frontdesk_store_commit_seconds",
            "Duration of one store group commit",
            registry=r,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
        )
        self.commit_batch = Histogram(
            "frontdesk_store_commit_batch_size",
            "Write intents per store group commit",
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
        )
        self.webhooks = Counter(
            "frontdesk_webhook_deliveries",
            "Webhook delivery attempts by outcome",
            ["tenant", "outcome"],
            registry=r,
        )
        self.engine_node = Gauge(
            "frontdesk_engine_node", "1 while this node runs the engine (always 1 on one node)", registry=r
        )
        self.engine_node.set(1)
        self.forwarded = Counter(
            "frontdesk_forwarded_requests",
            "Requests this node forwarded to the engine node, by outcome (answered, retried, unavailable)",
            ["outcome"],
            registry=r,
        )
        self.long_polls = LongPolls()
        r.register(_State(engine, self.long_polls))

    def install(self) -> None:
        """Hook into the engine: commits, routing passes, store batches and long-poll waiters."""
        engine = self.engine
        engine.core.commit_hooks.append(self._count_messages)
        router = engine.core.router
        if router is not None:
            engine.core.router = self._timed(router)
        if hasattr(engine.store, "on_commit"):
            engine.store.on_commit = self._observe_commit
        notifier = engine.notifier
        make_waiter = notifier.waiter

        def waiter(*topics: str) -> Any:
            w = make_waiter(*topics)
            if in_http_request.get():
                self.long_polls.add(w)
            return w

        setattr(notifier, "waiter", waiter)  # noqa: B010 - instance attribute wraps the method

    def _timed(self, router: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
        async def timed(tenant_id: str) -> None:
            started = time.perf_counter()
            try:
                await router(tenant_id)
            finally:
                self.routing_seconds.observe(time.perf_counter() - started)

        return timed

    def child(self, metric: Counter | Histogram, *values: str) -> Any:
        """``metric.labels(*values)``, cached."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def _observe_commit(self, seconds: float, batch: int) -> None:
        self.commit_seconds.observe(seconds)
        self.commit_batch.observe(batch)

    def _count_messages(self, tx: Tx) -> None:
        """Count message events once their transaction has committed."""
        tenants = [
            chat.tenant_id
            for chat_id, event, _ in tx.intent.events
            if event.kind == "message" and (chat := self.engine.core.chats.get(chat_id)) is not None
        ]
        if tenants:

            def count() -> None:
                for tenant_id in tenants:
                    self.child(self.messages, tenant_id).inc()

            tx.after.append(count)

    def watch_cluster(self, leading: Callable[[], bool]) -> None:
        """In a cluster the gauge follows the lease, read at each scrape."""
        self.engine_node.set_function(lambda: 1.0 if leading() else 0.0)

    def forward_result(self, outcome: str) -> None:
        self.forwarded.labels(outcome).inc()

    def webhook_result(self, tenant_id: str, outcome: str) -> None:
        self.webhooks.labels(tenant_id, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
