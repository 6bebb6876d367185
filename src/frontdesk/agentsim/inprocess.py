"""The agent simulator inside the server: the demo agent Alex (spec/native.md §10.2.4, config D1).

When ``tenants[].faces.ece.demo_auto_agent`` is on, the server runs the ``alex`` profile itself. It
goes through the same engine operations the native routes call (presence, state, offers, accept,
messages, typing, end, wrap-up) - no HTTP, no password, and no shortcut past routing: Alex only gets
chats the router offers it, which its ``channels: [ece]`` limits to ECE chats.

The answering rules are those of §10.2.2 and reuse the option helpers of the CLI simulator, so the
in-process and the external ``frontdesk agent-sim --profile alex`` behave alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from frontdesk.agentsim.options import SimOptions, build_options, matches_end_on, render_echo, render_greeting
from frontdesk.domain import errors
from frontdesk.domain.events import Event
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant

log = logging.getLogger("frontdesk.agentsim.inprocess")
RESTART_STATES = ("rona", "disconnected")


class InProcessAgent:
    """One simulated agent bound to one tenant of this engine."""

    def __init__(self, engine: Engine, tenant: Tenant, opts: SimOptions, login: str) -> None:
        self.engine = engine
        self.tenant = tenant
        self.opts = opts
        self.login = login
        self._offers: set[str] = set()
        self._accepting: set[str] = set()
        self._workers: set[str] = set()

    def _profile(self) -> dict[str, Any]:
        user = self.tenant.users[self.login]
        p = user.profile
        return {
            "display_name": p.display_name,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "screen_name": p.screen_name,
            "greeting": p.greeting,
            "greeting_anonymous": p.greeting_anonymous,
        }

    async def run(self) -> None:
        engine, tenant, login = self.engine, self.tenant, self.login
        engine.agent_seen(tenant, login)
        engine.socket_opened(tenant, login)
        try:
            await engine.set_agent_state(tenant, login, "ready", None)
            with engine.notifier.waiter(f"agent:{tenant.id}:{login}") as waiter:
                while True:
                    engine.agent_seen(tenant, login)
                    await self._sweep()
                    await waiter.wait(30.0)
                    for payload in waiter.take():
                        if payload.startswith("offer:"):
                            self._offer_notice(payload)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("demo agent %s stopped", login)
        finally:
            engine.socket_closed(tenant, login)

    def _offer_notice(self, payload: str) -> None:
        try:
            body = json.loads(payload[len("offer:") :])
        except ValueError:
            return
        offer_id = str(body.get("offer_id") or "")
        if offer_id:
            self._start_offer(offer_id, str(body.get("chat_id") or ""))

    async def _sweep(self) -> None:
        """Catch up with everything the notices may have missed: state, offers, own chats."""
        agent = self.engine.agent_state(self.tenant.id, self.login)
        if agent.state == "logged_out" or (agent.state == "not_ready" and agent.reason in RESTART_STATES):
            await self.engine.set_agent_state(self.tenant, self.login, "ready", None)
        for offer in self.engine.offers_for(self.tenant.id, self.login):
            self._start_offer(offer.id, offer.chat_id)
        for chat in self.engine.agent_chats(self.tenant.id, self.login):
            if chat.id not in self._accepting:
                self._start_worker(chat, greet=False)

    def _start_offer(self, offer_id: str, chat_id: str) -> None:
        if offer_id in self._offers:
            return
        self._offers.add(offer_id)
        self._accepting.add(chat_id)
        self.engine.spawn(self._accept(offer_id, chat_id))

    async def _accept(self, offer_id: str, chat_id: str) -> None:
        try:
            await asyncio.sleep(self.opts.accept_delay)
            try:
                chat = await self.engine.accept_offer(self.tenant, self.login, offer_id)
            except errors.FrontdeskError as exc:
                log.info("demo agent %s: offer %s not accepted: %s", self.login, offer_id, exc)
                return
            self._start_worker(chat, greet=True)
        finally:
            self._accepting.discard(chat_id)
            self._offers.discard(offer_id)

    def _start_worker(self, chat: Chat, *, greet: bool) -> None:
        if chat.id in self._workers:
            return
        self._workers.add(chat.id)
        self.engine.spawn(self._work(chat, greet))

    async def _work(self, chat: Chat, greet: bool) -> None:
        try:
            await self._converse(chat, greet)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("demo agent %s: chat %s failed", self.login, chat.number)
        finally:
            self._workers.discard(chat.id)

    async def _converse(self, chat: Chat, greet: bool) -> None:
        o = self.opts
        if greet:
            await asyncio.sleep(o.greeting_delay)
            text = render_greeting(o.greeting, self._profile(), chat.customer.to_json())
            if text.strip() and chat.live:
                await self._say(chat, "greeting", text)
        answered = self._answered(chat)
        cursor = 0
        while True:
            with self.engine.waiter(chat.id) as waiter:
                events = self.engine.read_events(chat, cursor, 100)
                if not events:
                    await waiter.wait(30.0)
                    continue
            for ev in events:
                cursor = ev.seq
                if ev.kind == "ended":
                    await self._wrapup(chat)
                    return
                if ev.kind == "party_left" and (ev.data.get("party") or {}).get("login") == self.login:
                    if ev.data.get("reason") != "chat_ended":
                        return
                if self._customer_line(ev) and ev.seq > answered:
                    answered = ev.seq
                    if await self._answer(chat, ev):
                        continue

    def _answered(self, chat: Chat) -> int:
        """Lines answered before a restart, from our own replies' client message ids (§10.2.2.7)."""
        prefix = f"sim-{chat.number}-{self.login}-"
        done = 0
        for ev in self.engine.read_events(chat, 0, 1_000_000):
            cmid = ev.client_msg_id or ""
            if ev.kind == "message" and cmid.startswith(prefix) and cmid[len(prefix) :].isdigit():
                done = max(done, int(cmid[len(prefix) :]))
        return done

    @staticmethod
    def _customer_line(ev: Event) -> bool:
        return (
            ev.kind == "message"
            and ev.by is not None
            and ev.by.kind == "customer"
            and ev.data.get("visibility", "all") == "all"
            and not ev.data.get("note")
        )

    async def _answer(self, chat: Chat, ev: Event) -> bool:
        o = self.opts
        text = str(ev.data.get("text") or "")
        if not chat.live:
            return False
        if matches_end_on(o.end_on, text):
            await self._say(chat, str(ev.seq), o.farewell)
            try:
                await self.engine.end_chat(self.tenant, chat, self.login, None)
            except errors.FrontdeskError:
                pass
            return True
        if o.reply == "none":
            return True
        reply = render_echo(o.echo_format, text) if o.reply == "echo" else o.reply_text
        if o.typing:
            await self._typing(chat, True)
        await asyncio.sleep(o.think)
        if o.typing:
            await self._typing(chat, False)
        if reply.strip() and chat.live:
            await self._say(chat, str(ev.seq), reply)
        return True

    async def _say(self, chat: Chat, suffix: str, text: str) -> None:
        try:
            await self.engine.agent_message(
                self.tenant, chat, self.login, f"sim-{chat.number}-{self.login}-{suffix}", text
            )
        except errors.FrontdeskError as exc:
            log.info("demo agent %s: message not sent: %s", self.login, exc)

    async def _typing(self, chat: Chat, on: bool) -> None:
        try:
            await self.engine.agent_typing(chat, self.login, on)
        except errors.FrontdeskError:
            pass

    async def _wrapup(self, chat: Chat) -> None:
        if self.opts.no_wrapup:
            return
        try:
            await self.engine.wrapup(self.tenant, chat, self.login, self.opts.wrapup, self.opts.wrapup_notes)
        except errors.FrontdeskError as exc:
            log.info("demo agent %s: no wrap-up for chat %s: %s", self.login, chat.number, exc)


def demo_agent_tenants(engine: Engine) -> list[Tenant]:
    """Tenants that run Alex: the switch is on, the tenant is the demo, and it has an agent ``alex``."""
    out = []
    for tenant in engine.registry.tenants.values():
        cfg = tenant.config
        user = tenant.users.get("alex")
        if cfg.faces.ece.demo_auto_agent and cfg.demo and user is not None and "agent" in user.roles:
            out.append(tenant)
    return out


RECHECK_SECONDS = 2.0


async def run_demo_agents(engine: Engine) -> None:
    """Keep one Alex per tenant that wants one, following reloads and admin changes of the switch:
    a tenant that turns it on gets Alex within a few seconds; one that turns it off sees him log
    out (his chats re-queue or stay, as logout is configured)."""
    opts = build_options({"profile": "alex"}, env={})
    login = opts.logins[0]
    running: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            wanted = {t.id: t for t in demo_agent_tenants(engine)}
            for tenant_id, task in list(running.items()):
                if tenant_id in wanted and not task.done():
                    continue
                del running[tenant_id]
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                tenant = engine.tenant(tenant_id)
                if tenant_id not in wanted and tenant is not None:
                    try:
                        await engine.logout(tenant, login)
                    except errors.FrontdeskError as exc:
                        log.info("demo agent %s: no logout in %s: %s", login, tenant_id, exc)
            for tenant_id, tenant in wanted.items():
                if tenant_id not in running:
                    runner = InProcessAgent(engine, tenant, opts, login)
                    running[tenant_id] = asyncio.get_running_loop().create_task(runner.run())
            await asyncio.sleep(RECHECK_SECONDS)
    finally:
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)


async def start_demo_agents(engine: Engine) -> None:
    """Startup hook of the ECE face (``Engine.add_startup_hook``)."""
    engine.spawn(run_demo_agents(engine))
