"""A hypothesis state machine over routing: whatever agents and customers do, in any order,

* no agent is ever above capacity (active chats + pending offers + held wrap-ups),
* within a queue, chats are offered in priority-then-arrival order,
* no chat is lost: every chat not ended is waiting, offered to exactly one agent, or led by a
  present agent who has it in their list; RONA, transfer and logout all preserve that.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from frontdesk.domain import errors
from frontdesk.engine import availability as av
from frontdesk.engine import timeouts

from .engine_harness import Harness

AGENTS = ["alice", "bob"]


class Routing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="fd-routing-"))
        self.h = Harness(self.dir)
        self.created: list[str] = []
        self.known_offers: set[str] = set()

    def teardown(self) -> None:
        self.h.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _chats(self) -> list:  # type: ignore[type-arg]
        return [self.h.engine.core.chats[c] for c in self.created]

    @rule()
    def customer_starts_chat(self) -> None:
        self.created.append(self.h.new_chat().id)

    @rule(login=st.sampled_from(AGENTS), state=st.sampled_from(["ready", "not_ready", "logged_out"]))
    def agent_state(self, login: str, state: str) -> None:
        self.h.seen(login)
        reason = "break" if state == "not_ready" else None
        self.h.run(self.h.engine.set_agent_state(self.h.tenant, login, state, reason))
        self.h.settle()

    @rule(
        login=st.sampled_from(AGENTS),
        pick=st.integers(0, 5),
        action=st.sampled_from(["accept", "reject", "rona"]),
    )
    def answer_offer(self, login: str, pick: int, action: str) -> None:
        offers = self.h.engine.offers_for(self.h.tenant.id, login)
        if not offers:
            return
        offer = offers[pick % len(offers)]
        try:
            if action == "accept":
                self.h.run(self.h.engine.accept_offer(self.h.tenant, login, offer.id))
            elif action == "reject":
                self.h.run(self.h.engine.reject_offer(self.h.tenant, login, offer.id))
            else:
                self.h.run(timeouts.rona(self.h.engine.core, offer.id))
        except errors.AgentNotReady:
            pass
        self.h.settle()

    @rule(
        pick=st.integers(0, 50),
        action=st.sampled_from(["end", "customer_end", "transfer_queue", "transfer_agent"]),
    )
    def chat_action(self, pick: int, action: str) -> None:
        live = [c for c in self._chats() if c.state == "connected" and c.lead() is not None]
        if not live:
            return
        chat = live[pick % len(live)]
        lead = chat.lead()
        assert lead is not None and lead.login is not None
        try:
            if action == "end":
                self.h.run(self.h.engine.end_chat(self.h.tenant, chat, lead.login, None))
            elif action == "customer_end":
                self.h.run(self.h.engine.customer_end(chat))
            elif action == "transfer_queue":
                self.h.run(self.h.engine.transfer_to_queue(self.h.tenant, chat, lead.login, "support", None))
            else:
                other = "bob" if lead.login == "alice" else "alice"
                self.h.run(self.h.engine.transfer_to_agent(self.h.tenant, chat, lead.login, other, None))
        except (errors.TransferTargetUnavailable, errors.TransferInProgress):
            pass
        self.h.settle()

    @rule(login=st.sampled_from(AGENTS))
    def wrapup_all(self, login: str) -> None:
        for chat in self._chats():
            if chat.pending_wrapup(login) is not None:
                self.h.run(self.h.engine.wrapup(self.h.tenant, chat, login, "resolved", ""))
        self.h.settle()

    @invariant()
    def no_agent_above_capacity(self) -> None:
        for login in AGENTS:
            agent = self.h.engine.agent_state(self.h.tenant.id, login)
            user = self.h.tenant.users[login]
            assert av.agent_load(self.h.tenant, agent) <= user.max_chats, (login, agent)

    @invariant()
    def no_chat_lost(self) -> None:
        core = self.h.engine.core
        for chat in self._chats():
            if chat.state == "ended":
                assert chat.offer is None
                continue
            if chat.offer is not None:
                assert core.offers.get(chat.offer.id) is chat.offer
                assert chat.offer.id in core.agent(chat.tenant_id, chat.offer.login).offers
            if chat.state == "queued":
                assert chat.lead() is None
            elif chat.state == "offered":
                assert chat.offer is not None and chat.lead() is None
            else:
                assert chat.state == "connected"
                lead = chat.lead()
                assert lead is not None and lead.login is not None
                assert chat.id in core.agent(chat.tenant_id, lead.login).chats

    @invariant()
    def queue_order_kept(self) -> None:
        """An offer made in this step never skipped an earlier chat of its queue left waiting.

        Offers made in earlier steps may legitimately sit ahead of chats that came back to the
        queue later (a revoked offer does not pre-empt another agent's pending one).
        """
        core = self.h.engine.core
        offers = {c.offer.id: c for c in self._chats() if c.offer is not None}
        fresh = [c for oid, c in offers.items() if oid not in self.known_offers]
        self.known_offers = set(offers)
        unoffered = [c for c in self._chats() if c.state == "queued" and c.offer is None]
        for chat in fresh:
            if (
                chat.offer is None
                or chat.offer.reason not in ("queue", "transfer")
                or chat.lead() is not None
            ):
                continue
            pos = core.position(chat)
            assert pos is not None
            for other in unoffered:
                if other.queue == chat.queue:
                    other_pos = core.position(other)
                    assert other_pos is not None and other_pos > pos, "a later chat was offered first"


Routing.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestRouting = Routing.TestCase
