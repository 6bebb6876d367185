"""Runs the simulated agents together: stop rules, signals, progress (spec/native.md §10.2.1).

`run_agent_sim` is the one entry point; the CLI, tests and benchmarks call it the same way, the
latter two in-process with their own `stop` event and output stream.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
from collections.abc import Callable
from typing import Any, TextIO

import aiohttp

from frontdesk.agentsim.agent import SimAgent
from frontdesk.agentsim.client import NETWORK_ERRORS, AgentFatal, ApiClient, ApiError
from frontdesk.agentsim.options import SimOptions
from frontdesk.agentsim.output import Output, SimStats, progress_line

EXIT_OK = 0
EXIT_FAILED = 1


async def run_agent_sim(
    opts: SimOptions,
    *,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """Run until `stop` is set (or SIGINT/SIGTERM when no `stop` is given), `--duration` passes,
    `--chats` chats have ended, or an agent fails for good. Returns the exit code (0 or 1)."""
    output = Output(out, as_json=opts.json)
    stats = SimStats(opts.chats)
    stop_event = stop if stop is not None else asyncio.Event()
    force = asyncio.Event()  # a second signal: skip the drain
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**32)
    restore = _install_signals(stop_event, force) if stop is None else None
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            if opts.create and not await _create_agents(opts, http, output):
                return EXIT_FAILED
            agents = [
                SimAgent(login, i, opts, http, output, stats, seed) for i, login in enumerate(opts.logins)
            ]
            return await _supervise(opts, agents, stats, output, stop_event, force)
    finally:
        if restore is not None:
            restore()


async def _supervise(
    opts: SimOptions,
    agents: list[SimAgent],
    stats: SimStats,
    output: Output,
    stop: asyncio.Event,
    force: asyncio.Event,
) -> int:
    runs = {asyncio.ensure_future(a.run()): a for a in agents}
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(stats.target_reached.wait())]
    progress = asyncio.ensure_future(_progress(opts, agents, stats, output)) if opts.progress > 0 else None
    reported: set[asyncio.Task[None]] = set()

    def failed(task: asyncio.Task[None]) -> bool:
        """True (with one error line per agent) when a run ended with a failure for good."""
        if not task.done() or task.cancelled() or (exc := task.exception()) is None:
            return False
        if task not in reported:
            reported.add(task)
            detail = str(exc) if isinstance(exc, AgentFatal) else f"{type(exc).__name__}: {exc}"
            output.emit(runs[task].login, "error", detail=detail)
            output.status(f"agent-sim: {runs[task].login}: {detail}")
        return True

    loop = asyncio.get_running_loop()
    deadline = loop.time() + opts.duration if opts.duration else None
    pending: set[asyncio.Future[Any]] = {*runs, *waiters}
    cancelled = False
    try:
        while True:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                break
            done, pending = await asyncio.wait(pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if any(w in done for w in waiters) or all(t.done() for t in runs):
                break
            if any(failed(t) for t in runs if t in done):
                break
    except asyncio.CancelledError:
        cancelled = True  # our caller gave up: no graceful logout that could hang
        raise
    finally:
        if progress is not None:
            progress.cancel()
        if cancelled:
            await asyncio.gather(*(a.close() for a in agents))
        else:
            await asyncio.gather(*(a.shutdown(drain=opts.drain, force=force) for a in agents))
        await asyncio.gather(*runs, return_exceptions=True)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return EXIT_FAILED if any([failed(t) for t in runs]) else EXIT_OK


async def _progress(opts: SimOptions, agents: list[SimAgent], stats: SimStats, output: Output) -> None:
    while True:
        await asyncio.sleep(opts.progress)
        ready = sum(1 for a in agents if a.ready)
        open_chats = sum(a.open_chats for a in agents)
        output.status(progress_line(ready, len(agents), open_chats, stats))


async def _create_agents(opts: SimOptions, http: aiohttp.ClientSession, output: Output) -> bool:
    """`--create`: add missing agents through the admin API (§8.2); existing ones are kept."""
    admin = ApiClient(http, opts.url, opts.admin_login or "", opts.admin_password or "", opts.tenant)
    who = opts.admin_login or "admin"
    try:
        await admin.sign_in()
    except (AgentFatal, ApiError, *NETWORK_ERRORS) as exc:
        output.emit(who, "error", detail=f"--create: admin {exc}")
        return False
    for login in opts.logins:
        body = {
            "login": login,
            "roles": ["agent"],
            "password": opts.password,
            "skills": list(opts.skills),
            "max_chats": opts.max_chats,
        }
        try:
            await admin.call("POST", "/api/v1/admin/users", body)
        except ApiError as exc:
            if exc.code == "already_exists":
                continue
            if exc.status == 404:
                output.emit(who, "error", detail="--create: the server has no admin API (404)")
            else:
                output.emit(who, "error", detail=f"--create {login}: {exc}")
            return False
        except NETWORK_ERRORS as exc:
            output.emit(who, "error", detail=f"--create {login}: {exc}")
            return False
    return True


def _install_signals(stop: asyncio.Event, force: asyncio.Event) -> Callable[[], None] | None:
    """First SIGINT/SIGTERM stops (with `--drain`, gracefully); a second one cuts the drain short."""
    if threading.current_thread() is not threading.main_thread():
        return None
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (force if stop.is_set() else stop).set()

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return restore
