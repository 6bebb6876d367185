"""Load generator shared by both ping-pong targets (asyncio + aiohttp).

A round trip is: the customer sends `ping <n>`, the agent side receives it and answers `pong <n>`,
the customer receives that answer. Latency runs from the start of the send to the receipt of the
answer. The customer loop (`run_customer`) and the measurement are the same code for both targets;
only the wire format of the two sides differs:

* `BaselineTarget` (benchmarks/baseline.py): customer and agent are two long-poll streams of one
  chat (`POST /chats/{id}/messages`, `GET /chats/{id}/messages?to=...&since=N`).
* `FrontdeskTarget`: the customer speaks the ServicePattern face (spec/servicepattern.md §3), the
  agents the native REST API plus one WebSocket each (spec/native.md §1, §5, §6).

Either way a round trip is two durable writes (ping, pong) and two deliveries.

`run_worker` is the body of one generator process; `pingpong.py` starts one or several and merges
their results. Server CPU and memory come from `/proc` (`proc_cpu_seconds`, `proc_rss_bytes`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

Json = dict[str, Any]

TENANT = "example.com"
SP_APP_ID = "test"
SP_BASE = "/clientweb/api/v1"
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
CONNECT_TIMEOUT = 30.0  # a chat must be connected to an agent within this
REPLY_TIMEOUT = 30.0  # a round trip that takes longer is an error
BASELINE_WAIT = 10  # seconds a baseline poll is held


# -- /proc ----------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (for servers that fork workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its live descendants (plus what they reaped), in seconds."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the comm field: state=0 ... utime=11 stime=12 cutime=13 cstime=14
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / CLK_TCK


def proc_thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of `pid` split into its main thread (the event loop) and its other threads
    (for Frontdesk: the SQLite writer and readers)."""
    out = {"main_thread": 0.0, "other_threads": 0.0}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        key = "main_thread" if int(tid) == pid else "other_threads"
        out[key] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def proc_rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and its live descendants."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def raise_nofile() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores, not idle or iowait), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return (sum(values[:8]) - idle - steal) / CLK_TCK


def self_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    """One session per process; `limit=0` means no cap on concurrent connections."""
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, force_close=False, ttl_dns_cache=None)
    return aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT)


class BenchError(Exception):
    pass


async def request_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    data = None if body is None else json.dumps(body)
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    if headers:
        hdrs.update(headers)
    async with http.request(method, url, data=data, headers=hdrs) as resp:
        raw = await resp.read()
        if resp.status >= 300:
            raise BenchError(f"{method} {url}: {resp.status} {raw[:300]!r}")
    return json.loads(raw) if raw else None


# -- the two targets ------------------------------------------------------------------------------


class CustomerChat(Protocol):
    """The customer side of one chat."""

    chat_id: str

    async def send(self, n: int) -> None: ...

    async def wait_reply(self, n: int, deadline: float) -> None:
        """Poll until the agent's `pong <n>` arrives; BenchError after `deadline` (monotonic)."""

    async def close(self) -> None: ...


class Target(Protocol):
    async def start(self, http: aiohttp.ClientSession) -> None: ...

    async def open_chat(self, http: aiohttp.ClientSession) -> CustomerChat: ...

    async def stop(self) -> None: ...


def pong_text(ping: str) -> str:
    return "pong" + ping[4:] if ping.startswith("ping") else "pong"


class BaselineChat:
    def __init__(self, http: aiohttp.ClientSession, base: str, chat_id: str) -> None:
        self.chat_id = chat_id
        self._http = http
        self._url = f"{base}/chats/{chat_id}/messages"
        self._cursor = 0
        self._agent = asyncio.ensure_future(self._agent_loop())

    async def send(self, n: int) -> None:
        await request_json(self._http, "POST", self._url, {"from": "customer", "text": f"ping {n}"})

    async def wait_reply(self, n: int, deadline: float) -> None:
        want = f"pong {n}"
        while time.monotonic() < deadline:
            url = f"{self._url}?to=customer&since={self._cursor}&wait={BASELINE_WAIT}"
            page = await request_json(self._http, "GET", url)
            for m in page["messages"]:
                self._cursor = max(self._cursor, int(m["id"]))
                if m["text"] == want:
                    return
        raise BenchError(f"chat {self.chat_id}: no reply to ping {n} within {REPLY_TIMEOUT}s")

    async def _agent_loop(self) -> None:
        """The agent half: poll `to=agent`, answer every ping with its pong."""
        cursor = 0
        while True:
            url = f"{self._url}?to=agent&since={cursor}&wait={BASELINE_WAIT}"
            page = await request_json(self._http, "GET", url)
            for m in page["messages"]:
                cursor = max(cursor, int(m["id"]))
                reply = {"from": "agent", "text": pong_text(m["text"])}
                await request_json(self._http, "POST", self._url, reply)

    async def close(self) -> None:
        self._agent.cancel()
        await asyncio.gather(self._agent, return_exceptions=True)


class BaselineTarget:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    async def start(self, http: aiohttp.ClientSession) -> None:
        pass

    async def open_chat(self, http: aiohttp.ClientSession) -> CustomerChat:
        return BaselineChat(http, self.base, uuid.uuid4().hex)

    async def stop(self) -> None:
        pass


def sp_headers(client_id: str) -> dict[str, str]:
    return {"Authorization": f'MOBILE-API-140-327-PLAIN appId="{SP_APP_ID}", clientId="{client_id}"'}


async def sp_create_chat(http: aiohttp.ClientSession, base: str, client_id: str) -> str:
    url = f"{base}{SP_BASE}/chats?tenantUrl={TENANT}"
    answer = await request_json(http, "POST", url, {}, sp_headers(client_id))
    return str(answer["chat_id"])


class ServicePatternChat:
    """A Frontdesk customer on the ServicePattern face."""

    def __init__(self, http: aiohttp.ClientSession, base: str, chat_id: str, client_id: str) -> None:
        self.chat_id = chat_id
        self._http = http
        self._headers = sp_headers(client_id)
        self._url = f"{base}{SP_BASE}/chats/{chat_id}/events?tenantUrl={TENANT}"

    async def poll(self) -> list[Json]:
        page = await request_json(self._http, "GET", self._url, None, self._headers)
        events: list[Json] = page["events"]
        return events

    async def wait_connected(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT
        while loop.time() < deadline:
            for ev in await self.poll():
                if ev.get("event") == "chat_session_status":
                    if ev.get("state") == "connected":
                        return
                    if ev.get("state") == "failed":
                        raise BenchError(f"chat {self.chat_id} failed")
                elif ev.get("event") in ("chat_session_ended", "chat_session_inactivity_timeout"):
                    raise BenchError(f"chat {self.chat_id} ended before it connected")
        raise BenchError(f"chat {self.chat_id} not connected within {CONNECT_TIMEOUT}s")

    async def send(self, n: int) -> None:
        body = {"events": [{"event": "chat_session_message", "msg_id": str(2 * n + 1), "msg": f"ping {n}"}]}
        await request_json(self._http, "POST", self._url, body, self._headers)

    async def wait_reply(self, n: int, deadline: float) -> None:
        want = f"pong {n}"
        while time.monotonic() < deadline:
            for ev in await self.poll():
                kind = ev.get("event")
                if kind == "chat_session_message" and (ev.get("msg_text") or ev.get("msg")) == want:
                    return
                if kind in ("chat_session_ended", "chat_session_inactivity_timeout"):
                    raise BenchError(f"chat {self.chat_id} ended: {kind}")
        raise BenchError(f"chat {self.chat_id}: no reply to ping {n} within {REPLY_TIMEOUT}s")

    async def close(self) -> None:
        body = {"events": [{"event": "chat_session_end"}]}
        try:
            await request_json(self._http, "POST", self._url, body, self._headers)
        except (BenchError, aiohttp.ClientError, OSError, TimeoutError):
            pass


class FrontdeskAgent:
    """One agent: login, one WebSocket, ready; accepts every offer and answers every ping."""

    def __init__(self, http: aiohttp.ClientSession, base: str, login: str, password: str) -> None:
        self._http = http
        self._base = base
        self.login = login
        self._password = password
        self._token = ""
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: dict[str, int] = {}  # chat id -> highest seq handled
        self._ids = itertools.count(1)
        self.errors: list[str] = []
        self.hello = asyncio.Event()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.errors.append(f"{self.login}: {type(exc).__name__}: {exc}")

    async def start(self) -> None:
        body = {"tenant": TENANT, "login": self.login, "password": self._password}
        answer = await request_json(self._http, "POST", f"{self._base}/api/v1/auth/login", body)
        self._token = str(answer["token"])
        ws_url = self._base.replace("http://", "ws://", 1) + f"/api/v1/ws?token={self._token}"
        self._ws = await self._http.ws_connect(ws_url, max_msg_size=0, autoping=True)
        await self._ws.send_str(json.dumps({"type": "resume", "cursors": {}}))
        self._spawn(self._reader(self._ws))
        self._spawn(self._pinger(self._ws))
        await asyncio.wait_for(self.hello.wait(), timeout=30)
        await request_json(
            self._http, "PUT", f"{self._base}/api/v1/agent/state", {"state": "ready"}, self._auth()
        )

    async def _pinger(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        nonce = 0
        while not ws.closed:
            await asyncio.sleep(15)
            nonce += 1
            await ws.send_str(json.dumps({"type": "ping", "nonce": str(nonce)}))

    async def _reader(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "chat_event":
                self._on_chat_event(ws, frame)
            elif kind == "offer":
                self._spawn(self._accept(frame["offer"]))
            elif kind == "hello":
                for offer in frame.get("offers") or []:
                    self._spawn(self._accept(offer))
                self.hello.set()
            elif kind in ("nack", "error"):
                self.errors.append(f"{self.login}: {frame}")

    def _on_chat_event(self, ws: aiohttp.ClientWebSocketResponse, frame: Json) -> None:
        chat_id = str(frame["chat_id"])
        seq = int(frame["seq"])
        if seq <= self._seen.get(chat_id, 0):
            return
        self._seen[chat_id] = seq
        event = frame["event"]
        if event.get("kind") != "message" or (event.get("by") or {}).get("kind") != "customer":
            return
        n = next(self._ids)
        reply = {
            "type": "message",
            "id": f"{self.login}-{n}",
            "chat_id": chat_id,
            "client_msg_id": f"{self.login}-{n}",
            "text": pong_text(str(event.get("text", ""))),
        }
        self._spawn(ws.send_str(json.dumps(reply)))

    async def _accept(self, offer: Json) -> None:
        url = f"{self._base}/api/v1/agent/offers/{offer['offer_id']}/accept"
        try:
            await request_json(self._http, "POST", url, None, self._auth())
        except BenchError as exc:
            if "offer_gone" not in str(exc) and "offer_not_found" not in str(exc):
                raise

    async def stop(self) -> None:
        try:
            await request_json(
                self._http, "PUT", f"{self._base}/api/v1/agent/state", {"state": "logged_out"}, self._auth()
            )
        except (BenchError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.errors.append(f"{self.login}: logout: {exc}")
        if self._ws is not None:
            await self._ws.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class FrontdeskTarget:
    def __init__(self, bases: list[str], agents: list[str], password: str) -> None:
        self.bases = [b.rstrip("/") for b in bases]
        self._logins = agents
        self._password = password
        self.agents: list[FrontdeskAgent] = []
        self._opened = 0

    async def start(self, http: aiohttp.ClientSession) -> None:
        sem = asyncio.Semaphore(2)  # argon2 logins are expensive; do not pile them up

        async def one(i: int, login: str) -> None:
            agent = FrontdeskAgent(http, self.bases[i % len(self.bases)], login, self._password)
            async with sem:
                await agent.start()
            self.agents.append(agent)

        await asyncio.gather(*(one(i, login) for i, login in enumerate(self._logins)))

    async def open_chat(self, http: aiohttp.ClientSession) -> CustomerChat:
        self._opened += 1
        base = self.bases[self._opened % len(self.bases)]
        client_id = str(uuid.uuid4())
        chat_id = await sp_create_chat(http, base, client_id)
        chat = ServicePatternChat(http, base, chat_id, client_id)
        await chat.wait_connected()
        return chat

    def errors(self) -> list[str]:
        return [e for a in self.agents for e in a.errors]

    async def stop(self) -> None:
        await asyncio.gather(*(a.stop() for a in self.agents))


# -- measurement ----------------------------------------------------------------------------------


@dataclass
class Window:
    """The measured interval, in time.monotonic() (system-wide on Linux, so shared by processes)."""

    start: float
    end: float


@dataclass
class StepResult:
    chats: int
    latencies: list[float] = field(default_factory=list)  # seconds, round trips ending in the window
    errors: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0
    total_round_trips: int = 0


async def run_customer(
    chat: CustomerChat, window: Window, result: StepResult, interval: float | None = None
) -> None:
    """The ping-pong loop of one customer, until the window closes.

    Closed loop (``interval`` None): the next ping leaves as soon as the last pong arrived. Paced:
    one ping every ``interval`` seconds from a random phase, and a round trip's latency counts from
    its scheduled start, so a late reply also delays the pings behind it without hiding the wait
    (no coordinated omission, as wrk2 measures)."""
    n = 0
    next_at = time.monotonic() + (random.uniform(0, interval) if interval else 0.0)
    while time.monotonic() < window.end:
        n += 1
        if interval:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            t0 = next_at
            next_at += interval
        else:
            t0 = time.monotonic()
        await chat.send(n)
        await chat.wait_reply(n, t0 + REPLY_TIMEOUT)
        t1 = time.monotonic()
        result.total_round_trips += 1
        if window.start <= t1 <= window.end:
            result.latencies.append(t1 - t0)


async def run_step(
    http: aiohttp.ClientSession,
    target: Target,
    chats: int,
    sync: Callable[[], Awaitable[float]],
    warmup: float,
    duration: float,
    interval: float | None = None,
) -> StepResult:
    """Open `chats` chats, wait for everybody (`sync` returns the common start time), ping-pong
    (closed loop, or one ping per chat every `interval` seconds)."""
    result = StepResult(chats=chats)
    sem = asyncio.Semaphore(50)

    async def open_one() -> CustomerChat:
        async with sem:
            return await target.open_chat(http)

    opened = await asyncio.gather(*(open_one() for _ in range(chats)), return_exceptions=True)
    live: list[CustomerChat] = []
    for item in opened:
        if isinstance(item, BaseException):
            result.errors.append(f"open: {type(item).__name__}: {item}")
        else:
            live.append(item)
    t0 = await sync()
    window = Window(t0 + warmup, t0 + warmup + duration)

    async def cpu_meter() -> None:
        await asyncio.sleep(max(0.0, window.start - time.monotonic()))
        c0 = self_cpu_seconds()
        await asyncio.sleep(max(0.0, window.end - time.monotonic()))
        result.client_cpu_s = self_cpu_seconds() - c0

    meter = asyncio.ensure_future(cpu_meter())
    outcomes = await asyncio.gather(
        *(run_customer(c, window, result, interval) for c in live), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.errors.append(f"round trip: {type(outcome).__name__}: {outcome}")
    await meter
    await asyncio.gather(*(c.close() for c in live))
    return result


# -- one generator process ------------------------------------------------------------------------


@dataclass
class WorkerSpec:
    target: str  # "baseline" | "frontdesk"
    base_url: str
    index: int
    steps: list[int]  # chats per step, this worker's share
    warmup: float
    duration: float
    intervals: list[float | None] = field(default_factory=list)  # per step: None = closed loop
    agents: list[str] = field(default_factory=list)
    password: str = "demo"
    # Several nodes of one cluster: agents and customers are spread over them (agent i on node
    # i mod n, chat j on node j+1 mod n, so a chat's two sides usually sit on different nodes).
    node_urls: list[str] = field(default_factory=list)


class SyncPoint(Protocol):
    """multiprocessing.Barrier as seen by a worker."""

    def wait(self, timeout: float | None = None) -> int: ...

    def abort(self) -> None: ...


class ResultSink(Protocol):
    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None: ...


SYNC_TIMEOUT = 180.0


async def worker_main(spec: WorkerSpec, barrier: SyncPoint, out: ResultSink) -> None:
    raise_nofile()
    loop = asyncio.get_running_loop()

    async def sync() -> float:
        await loop.run_in_executor(None, barrier.wait, SYNC_TIMEOUT)
        return time.monotonic()

    target: Target
    fd_target: FrontdeskTarget | None = None
    if spec.target == "baseline":
        target = BaselineTarget(spec.base_url)
    else:
        fd_target = FrontdeskTarget(spec.node_urls or [spec.base_url], spec.agents, spec.password)
        target = fd_target
    async with new_session() as http:
        await target.start(http)
        await sync()  # every worker's agents are ready
        intervals = spec.intervals or [None] * len(spec.steps)
        for chats, interval in zip(spec.steps, intervals, strict=True):
            result = await run_step(http, target, chats, sync, spec.warmup, spec.duration, interval)
            if fd_target is not None:
                result.errors += fd_target.errors()
                for agent in fd_target.agents:
                    agent.errors.clear()
            out.put(("step", spec.index, result))
            await sync()  # every worker has closed its chats
        await target.stop()
    out.put(("done", spec.index, None))


def run_worker(spec: WorkerSpec, barrier: SyncPoint, out: ResultSink) -> None:
    """Process entry point."""
    try:
        import uvloop

        uvloop.run(worker_main(spec, barrier, out))
    except BaseException as exc:
        barrier.abort()
        out.put(("error", spec.index, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


# -- idle long polls ------------------------------------------------------------------------------


@dataclass
class IdleResult:
    requested: int
    created: int = 0
    create_s: float = 0.0
    held_peak: int = 0
    rss_before_mb: float = 0.0
    rss_open_mb: float = 0.0  # after the chats were opened and drained, before any poll is held
    rss_peak_mb: float = 0.0
    rss_samples_mb: list[float] = field(default_factory=list)
    create_progress: list[tuple[int, float]] = field(default_factory=list)  # (chats, seconds)
    create_timed_out: bool = False
    errors: list[str] = field(default_factory=list)


async def idle_polls(
    base_url: str, server_pid: int, count: int, hold_s: float, create_timeout: float
) -> IdleResult:
    """Open `count` ServicePattern chats (giving up on the rest after `create_timeout` seconds),
    then keep one long poll held on each for `hold_s` seconds (re-issuing polls as they return),
    sampling the server's RSS meanwhile."""
    base = base_url.rstrip("/")
    res = IdleResult(requested=count, rss_before_mb=proc_rss_bytes(server_pid) / 2**20)
    sem = asyncio.Semaphore(100)
    chats: list[ServicePatternChat] = []
    async with new_session() as http:

        async def create() -> None:
            client_id = str(uuid.uuid4())
            async with sem:
                try:
                    chat_id = await sp_create_chat(http, base, client_id)
                except (BenchError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                    if len(res.errors) < 20:
                        res.errors.append(f"create: {type(exc).__name__}: {exc}")
                    return
            chats.append(ServicePatternChat(http, base, chat_id, client_id))
            if len(chats) % 1000 == 0:
                res.create_progress.append((len(chats), round(time.monotonic() - t0, 2)))

        t0 = time.monotonic()
        creations = [asyncio.ensure_future(create()) for _ in range(count)]
        _, pending = await asyncio.wait(creations, timeout=create_timeout)
        if pending:
            res.create_timed_out = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        res.create_s = time.monotonic() - t0
        res.created = len(chats)
        # Drain what is pending (the status events), so the polls below are held.
        drain_sem = asyncio.Semaphore(200)

        async def drain(chat: ServicePatternChat) -> None:
            async with drain_sem:
                await chat.poll()

        await asyncio.gather(*(drain(c) for c in chats), return_exceptions=True)
        res.rss_open_mb = proc_rss_bytes(server_pid) / 2**20
        held = 0
        end = time.monotonic() + hold_s

        async def hold(chat: ServicePatternChat) -> None:
            nonlocal held
            while time.monotonic() < end:
                held += 1
                try:
                    await chat.poll()
                except (BenchError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                    if len(res.errors) < 20:
                        res.errors.append(f"poll: {type(exc).__name__}: {exc}")
                    await asyncio.sleep(1)
                finally:
                    held -= 1

        tasks = [asyncio.ensure_future(hold(c)) for c in chats]
        while time.monotonic() < end:
            await asyncio.sleep(0.5)
            rss = proc_rss_bytes(server_pid) / 2**20
            res.rss_samples_mb.append(round(rss, 1))
            res.rss_peak_mb = max(res.rss_peak_mb, rss)
            res.held_peak = max(res.held_peak, held)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return res
