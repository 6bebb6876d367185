"""Engine rules with a real SQLite store and no HTTP: routing, RONA, transfer, wrap-up, recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.domain import errors
from frontdesk.domain.model import Chat
from frontdesk.engine import timeouts
from frontdesk.faces.native import stats

from .engine_harness import Harness


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def kinds(h: Harness, chat_id: str) -> list[str]:
    chat = h.engine.core.chats[chat_id]
    return [e.kind for e in h.engine.read_events(chat, 0, 1000)]


def test_chat_starts_with_created_then_queued_status(h: Harness) -> None:
    chat = h.new_chat()
    events = h.engine.read_events(chat, 0)
    assert [e.seq for e in events] == [1, 2]
    assert events[0].kind == "created" and events[1].kind == "status"
    assert events[1].data["state"] == "queued" and events[1].data["position"] == 1


def test_longest_idle_ready_agent_gets_the_offer(h: Harness) -> None:
    h.ready("bob")
    h.ready("alice")  # alice became ready later: bob has been idle longer
    chat = h.new_chat()
    offers = h.engine.offers_for(h.tenant.id, "bob")
    assert [o.chat_id for o in offers] == [chat.id]
    assert h.engine.offers_for(h.tenant.id, "alice") == []


def test_priority_then_arrival_order(h: Harness) -> None:
    first = h.new_chat()
    second = h.new_chat()
    h.ready("alice")
    offered = [o.chat_id for o in h.engine.offers_for(h.tenant.id, "alice")]
    assert offered == [first.id, second.id]


def test_capacity_is_never_exceeded(h: Harness) -> None:
    chats = [h.new_chat() for _ in range(5)]
    h.ready("alice")  # max_chats 3
    assert len(h.engine.offers_for(h.tenant.id, "alice")) == 3
    assert sum(c.state == "queued" for c in chats) == 2


def test_rona_requeues_and_makes_agent_not_ready(h: Harness) -> None:
    chat = h.new_chat()
    h.ready("alice")
    offer = h.engine.offers_for(h.tenant.id, "alice")[0]
    h.run(timeouts.rona(h.engine.core, offer.id))
    h.settle()
    agent = h.engine.agent_state(h.tenant.id, "alice")
    assert agent.state == "not_ready" and agent.reason == "rona"
    assert chat.state == "queued" and chat.offer is None
    with pytest.raises(errors.OfferGone):
        h.run(h.engine.accept_offer(h.tenant, "alice", offer.id))
    h.ready("bob")
    assert [o.chat_id for o in h.engine.offers_for(h.tenant.id, "bob")] == [chat.id]


def test_reject_prefers_another_agent(h: Harness) -> None:
    h.ready("alice")
    chat = h.new_chat()
    offer = h.engine.offers_for(h.tenant.id, "alice")[0]
    h.ready("bob")
    h.run(h.engine.reject_offer(h.tenant, "alice", offer.id))
    h.settle()
    assert h.engine.offers_for(h.tenant.id, "alice") == []
    assert [o.chat_id for o in h.engine.offers_for(h.tenant.id, "bob")] == [chat.id]


def connected_chat(h: Harness, dedupe_key: str) -> Chat:
    """A chat with one customer message, accepted by alice."""
    chat = h.new_chat()
    h.run(h.engine.customer_message(chat, "Hello", client_msg_id=dedupe_key, dedupe_key=dedupe_key))
    h.ready("alice")
    offer = h.engine.offers_for(h.tenant.id, "alice")[0]
    h.run(h.engine.accept_offer(h.tenant, "alice", offer.id))
    return chat


def test_accept_message_end_wrapup_sequence(h: Harness) -> None:
    chat = connected_chat(h, "1")
    event, created = h.run(h.engine.agent_message(h.tenant, chat, "alice", "a-1", "Hi"))
    again, created_again = h.run(h.engine.agent_message(h.tenant, chat, "alice", "a-1", "Hi"))
    assert created and not created_again and again.seq == event.seq
    with pytest.raises(errors.DuplicateClientMsgId):
        h.run(h.engine.agent_message(h.tenant, chat, "alice", "a-1", "other"))
    h.run(h.engine.end_chat(h.tenant, chat, "alice", None))
    agent = h.engine.agent_state(h.tenant.id, "alice")
    assert agent.wrapups == [chat.id] and agent.chats == []
    with pytest.raises(errors.InvalidRequest):
        h.run(h.engine.wrapup(h.tenant, chat, "alice", "timeout", ""))
    h.run(h.engine.wrapup(h.tenant, chat, "alice", "resolved", "done"))
    assert kinds(h, chat.id) == [
        "created",
        "status",
        "message",
        "status",
        "crm_linked",
        "party_joined",
        "status",
        "message",
        "party_left",
        "ended",
        "wrapup",
    ]
    assert agent.wrapups == []


def test_duplicate_customer_message_is_stored_once(h: Harness) -> None:
    chat = h.new_chat()
    h.run(h.engine.customer_message(chat, "Hello", client_msg_id="7", dedupe_key="7|Hello"))
    _, created = h.run(h.engine.customer_message(chat, "Hello", client_msg_id="7", dedupe_key="7|Hello"))
    assert not created
    assert kinds(h, chat.id).count("message") == 1


def test_transfer_to_queue_keeps_first_entry_order(h: Harness) -> None:
    chat = h.new_chat()
    h.ready("alice")
    h.run(h.engine.accept_offer(h.tenant, "alice", h.engine.offers_for(h.tenant.id, "alice")[0].id))
    h.run(h.engine.transfer_to_queue(h.tenant, chat, "alice", "sales", "upgrade"))
    h.settle()
    assert chat.queue == "sales" and chat.state == "queued"
    h.ready("bob")
    offer = h.engine.offers_for(h.tenant.id, "bob")[0]
    assert offer.reason == "transfer" and offer.note == "upgrade"
    h.run(h.engine.accept_offer(h.tenant, "bob", offer.id))
    joined = [e for e in h.engine.read_events(chat, 0, 100) if e.kind == "party_joined"]
    assert joined[-1].data["reason"] == "transfer"
    assert h.engine.agent_state(h.tenant.id, "alice").wrapups == []


def test_logout_requeues_chats_and_completes_wrapups(h: Harness) -> None:
    chat = h.new_chat()
    other = h.new_chat()
    h.ready("alice")
    for offer in h.engine.offers_for(h.tenant.id, "alice"):
        h.run(h.engine.accept_offer(h.tenant, "alice", offer.id))
    h.run(h.engine.end_chat(h.tenant, other, "alice", None))
    h.run(h.engine.set_agent_state(h.tenant, "alice", "logged_out", None))
    h.settle()
    assert chat.state == "queued"
    assert other.wrapups[0].done
    assert h.engine.agent_state(h.tenant.id, "alice").chats == []


def test_inactivity_warns_then_ends(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        chat = h.new_chat()
        h.ready("alice")
        h.run(h.engine.accept_offer(h.tenant, "alice", h.engine.offers_for(h.tenant.id, "alice")[0].id))
        t = 600
        chat.last_customer_content_at = (chat.last_customer_content_at or 0) - t / 2
        h.run(timeouts.inactivity(h.engine.core, chat.id))
        assert kinds(h, chat.id)[-1] == "timeout_warning"
        chat.last_customer_content_at = (chat.last_customer_content_at or 0) - t
        h.run(timeouts.inactivity(h.engine.core, chat.id))
        events = h.engine.read_events(chat, 0, 100)
        assert events[-1].kind == "ended" and events[-1].data["reason"] == "inactivity"
    finally:
        h.close()


def test_state_survives_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    chat = h.new_chat()
    h.run(h.engine.customer_message(chat, "Hello", client_msg_id="1", dedupe_key="k1"))
    h.ready("alice")
    offer_id = h.engine.offers_for(h.tenant.id, "alice")[0].id
    h.close()
    h2 = Harness(tmp_path)
    try:
        restored = h2.engine.core.chats[chat.id]
        assert restored.state == "offered" and restored.offer is not None and restored.offer.id == offer_id
        assert [e.kind for e in h2.engine.read_events(restored, 0)] == [
            "created",
            "status",
            "message",
            "status",
            "crm_linked",
        ]
        _, created = h2.run(h2.engine.customer_message(restored, "Hello", client_msg_id="1", dedupe_key="k1"))
        assert not created
        h2.run(h2.engine.accept_offer(h2.tenant, "alice", offer_id))
        assert restored.state == "connected"
    finally:
        h2.close()


def test_messages_write_no_chat_row_and_restart_rebuilds_what_they_changed(tmp_path: Path) -> None:
    """Messages write their event row only (decision 40); start-up rebuilds the inactivity clock,
    the sequence and the dedupe index from the log, so nothing the row lacks is lost."""
    h = Harness(tmp_path)
    chat = connected_chat(h, "c-1")
    chat.inactivity_warned = True
    h.run(h.engine.save_face_state(chat))  # the row now says: warned, clock at the first message
    stale = h.run(h.engine.store.load_chat(chat.id))
    h.run(h.engine.customer_message(chat, "Still there", client_msg_id="c-2", dedupe_key="c-2"))
    h.run(h.engine.agent_message(h.tenant, chat, "alice", "a-1", "Yes"))
    row = h.run(h.engine.store.load_chat(chat.id))
    assert row is not None and stale is not None
    assert (row.last_seq, row.last_customer_content_at) == (stale.last_seq, stale.last_customer_content_at)
    said_at = chat.last_customer_content_at
    assert said_at is not None and said_at > (stale.last_customer_content_at or 0)
    h.close()
    h2 = Harness(tmp_path)
    try:
        restored = h2.engine.core.chats[chat.id]
        assert restored.last_seq == restored.committed_seq == chat.last_seq
        assert restored.last_customer_content_at == said_at and not restored.inactivity_warned
        _, created = h2.run(h2.engine.customer_message(restored, "Still there", dedupe_key="c-2"))
        assert not created
    finally:
        h2.close()


def test_ended_chats_leave_memory_and_reload_from_the_store(h: Harness) -> None:
    chat = h.new_chat()
    h.run(h.engine.customer_message(chat, "Hello", client_msg_id="1", dedupe_key="k1"))
    h.run(h.engine.customer_end(chat))
    h.run(timeouts.evict(h.engine.core, chat.id))
    assert chat.id not in h.engine.core.chats
    again = h.run(h.engine.get_chat(chat.id))
    assert again is not None and again.state == "ended"
    assert [e.kind for e in h.engine.read_events(again, 0)] == ["created", "status", "message", "ended"]


def test_a_compacted_chat_keeps_its_end_in_memory_and_reloads_the_rest(h: Harness) -> None:
    chat = connected_chat(h, "c-1")
    h.run(h.engine.agent_message(h.tenant, chat, "alice", "a-1", "Hi"))
    h.run(h.engine.end_chat(h.tenant, chat, "alice", None))
    full = [e.kind for e in h.engine.read_events(chat, 0)]
    core = h.engine.core
    h.run(timeouts.compact(core, chat.id))
    assert chat.id not in core.compacted  # the wrap-up is still owed: nothing is dropped yet
    h.run(h.engine.wrapup(h.tenant, chat, "alice", "resolved", "done"))
    h.run(timeouts.compact(core, chat.id))
    assert chat.id in core.compacted
    assert [e.kind for e in chat.events] == ["ended", "wrapup"] and chat.dedupe == {}
    # The day's figures read the wrap-up, which stays in memory.
    day = stats.all_agent_stats(h.engine, h.tenant)
    assert next(a for a in day if a.login == "alice").today.handled == 1
    again = h.run(h.engine.get_chat(chat.id))
    assert again is chat and chat.id not in core.compacted
    assert [e.kind for e in h.engine.read_events(chat, 0)] == [*full, "wrapup"]
    assert [e.seq for e in chat.events] == list(range(1, chat.last_seq + 1))
    assert chat.dedupe.get("c-1") is not None
