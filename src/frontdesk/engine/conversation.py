"""Agent actions on a chat (native.md 5.5-5.9): write, type, read marks, files, transfer,
conference, leave, end, wrap-up; plus the supervisor's end."""

from __future__ import annotations

import time
from typing import Any

from frontdesk.domain import errors
from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat, FileRecord, Party
from frontdesk.engine import availability as av
from frontdesk.engine import lifecycle, routing
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.notifier import chat_topic
from frontdesk.engine.tenants import Tenant

FACE_FILES = {"servicepattern"}
RESERVED_DISPOSITIONS = ("timeout", "logged_out")


def active_party(chat: Chat, login: str) -> Party:
    if not chat.live:
        raise errors.ChatEnded()
    party = chat.party_of(login)
    if party is None:
        raise errors.NotParticipant()
    return party


def lead_party(chat: Chat, login: str) -> Party:
    party = active_party(chat, login)
    if party.role != "lead":
        raise errors.NotChatLead()
    return party


async def send_message(
    core: Core, tenant: Tenant, chat: Chat, login: str, client_msg_id: str, text: str, visibility: str = "all"
) -> tuple[ev.Event, bool]:
    key = f"agent:{login}:{client_msg_id}"
    seq = chat.dedupe.get(key)
    if seq is not None:
        if seq > chat.committed_seq:
            # The first send is still committing: answer the retry from it once it is durable.
            with core.notifier.waiter(chat_topic(chat.id)) as waiter:
                while seq > chat.committed_seq:
                    if not await waiter.wait(10.0):
                        raise errors.Unavailable("the original message is not committed yet")
        original = chat.events[seq - chat.events[0].seq] if chat.events else None
        if (
            original is not None
            and original.data.get("text") == text
            and original.data.get("visibility") == visibility
        ):
            return original, False
        if original is not None:
            raise errors.DuplicateClientMsgId()
    party = active_party(chat, login)
    limit = tenant.config.message_max_chars(tenant.server)
    if not text.strip() or len(text.strip()) > limit:
        raise errors.InvalidRequest(
            f"text must have 1 to {limit} characters", [("/text", f"must have 1 to {limit} characters")]
        )
    tx = Tx()
    data = {
        "text": text,
        "html": None,
        "client_msg_id": client_msg_id,
        "visibility": visibility,
        "note": False,
        "off_record": False,
    }
    event = core.append(
        tx, chat, ev.MESSAGE, data, party.ref(), client_msg_id=client_msg_id, dedupe_key=key, log_only=True
    )
    await core.commit(tx)
    return event, True


async def typing(core: Core, chat: Chat, login: str, is_typing: bool) -> None:
    party = active_party(chat, login)
    tx = Tx()
    core.append(tx, chat, ev.TYPING, {"typing": is_typing, "preview": None}, party.ref(), log_only=True)
    await core.commit(tx)


async def read_mark(core: Core, chat: Chat, login: str, up_to_seq: int) -> None:
    current = chat.read_seq.get(login, 0)
    if up_to_seq <= current:
        return
    chat.read_seq[login] = min(up_to_seq, chat.last_seq)
    tx = Tx()
    tx.intent.save_chat(chat)
    tenant = core.registry.tenant(chat.tenant_id)
    ep = tenant.entry_point(chat.face, chat.entry_point) if tenant else None
    party = chat.party_of(login)
    if chat.live and party is not None and ep is not None and ep.read_receipts:
        core.append(tx, chat, ev.RECEIPT, {"state": "read", "up_to_seq": chat.read_seq[login]}, party.ref())
    await core.commit(tx)


async def send_file(
    core: Core, chat: Chat, login: str, f: FileRecord, client_msg_id: str | None
) -> tuple[ev.Event, bool]:
    if chat.face not in FACE_FILES:
        raise errors.NotSupported("this chat's face cannot carry files")
    key = f"agent:{login}:{client_msg_id}" if client_msg_id else None
    if key is not None and key in chat.dedupe:
        seq = chat.dedupe[key]
        return chat.events[seq - chat.events[0].seq], False
    party = active_party(chat, login)
    f.chat_id = chat.id
    file_type = "image" if f.content_type.startswith("image/") else "attachment"
    tx = Tx()
    tx.intent.files.append(f)
    data = {
        "file_id": f.id,
        "name": f.name,
        "content_type": f.content_type,
        "size": f.size,
        "file_type": file_type,
        "client_msg_id": client_msg_id,
    }
    event = core.append(tx, chat, ev.FILE, data, party.ref(), client_msg_id=client_msg_id, dedupe_key=key)
    await core.commit(tx)
    return event, True


def _target(tenant: Tenant, chat: Chat, login: str, core: Core) -> Any:
    user = tenant.users.get(login)
    if user is None or user.disabled or "agent" not in user.roles:
        raise errors.TransferTargetUnavailable("no such agent")
    agent = core.agents.get((tenant.id, login))
    if agent is None or agent.state != "ready" or not av.is_present(tenant, agent, time.time()):
        raise errors.TransferTargetUnavailable("the target agent is not ready")
    if chat.party_of(login) is not None:
        raise errors.TransferTargetUnavailable("the target agent is already in the chat")
    if chat.face not in (user.channels or av.ALL_FACES):
        raise errors.TransferTargetUnavailable("the target agent does not take this chat's face")
    if av.agent_load(tenant, agent) >= user.max_chats:
        raise errors.TransferTargetUnavailable("the target agent has no free slot")
    return user, agent


async def transfer_to_queue(
    core: Core, tenant: Tenant, chat: Chat, login: str, queue: str, note: str | None
) -> Chat:
    lead = lead_party(chat, login)
    if chat.offer is not None:
        raise errors.TransferInProgress()
    q = tenant.queues.get(queue)
    if q is None:
        raise errors.QueueNotFound()
    from frontdesk.engine import calendar

    if not calendar.is_open(tenant.config.calendars, q.calendar, tenant.config.timezone, time.time()):
        raise errors.QueueClosed()
    if q.max_waiting is not None and len(core.waiting.get((tenant.id, queue), ())) >= q.max_waiting:
        raise errors.QueueFull()
    tx = Tx()
    core.append(
        tx,
        chat,
        ev.TRANSFERRED,
        {
            "from_party": lead.ref().to_json(),
            "to": {"type": "queue", "queue": queue, "login": None, "display_name": q.display_name},
            "note": note,
        },
        lead.ref(),
    )
    lifecycle.leave(core, tx, chat, lead, "transferred", "transferred")
    for other in chat.present_agents():
        lifecycle.leave(core, tx, chat, other, "left", "left")
    chat.transfer_from = lead.ref()
    chat.transfer_note = note
    chat.rejected_by = []
    lifecycle.requeue(core, tx, tenant, chat, queue)
    await core.commit(tx)
    return chat


async def invite(
    core: Core, tenant: Tenant, chat: Chat, login: str, target: str, note: str | None, reason: str
) -> Chat:
    """Transfer to an agent (``reason`` transfer) or a conference invitation: an offer to the target."""
    lead = lead_party(chat, login)
    if chat.offer is not None:
        raise errors.TransferInProgress()
    user, agent = _target(tenant, chat, target, core)
    tx = Tx()
    routing.make_offer(core, tx, tenant, chat, user, agent, reason, lead.ref(), note)
    await core.commit(tx)
    return chat


async def withdraw(core: Core, tenant: Tenant, chat: Chat, login: str, reason: str) -> None:
    lead_party(chat, login)
    offer = chat.offer
    if offer is None or offer.reason != reason:
        raise errors.InvalidState("no pending invitation")
    tx = Tx()
    lifecycle.revoke_offer(core, tx, tenant, offer, "withdrawn", requeue_chat=False)
    await core.commit(tx)


async def leave(core: Core, tenant: Tenant, chat: Chat, login: str) -> Chat:
    party = active_party(chat, login)
    others = [p for p in chat.present_agents() if p is not party]
    if party.role == "lead" and not others:
        raise errors.InvalidState("a lead alone cannot leave: transfer or end the chat")
    tx = Tx()
    lifecycle.leave(core, tx, chat, party, "left", "left")
    if party.role == "lead":
        heir = min(others, key=lambda p: p.joined_at)
        heir.role = "lead"
        core.append(tx, chat, ev.PARTY_UPDATED, {"party": heir.to_json()})
    await core.commit(tx)
    return chat


async def end(core: Core, tenant: Tenant, chat: Chat, login: str, reason: str | None) -> Chat:
    if not chat.live:
        raise errors.ChatEnded()
    lead = lead_party(chat, login)
    tx = Tx()
    lifecycle.end_chat(core, tx, tenant, chat, "agent", lead.ref(), agents_leave=True)
    if reason:
        chat.face_state["end_note"] = reason
    await core.commit(tx)
    return chat


async def supervisor_end(core: Core, tenant: Tenant, chat: Chat) -> Chat:
    if not chat.live:
        raise errors.ChatEnded()
    tx = Tx()
    lifecycle.end_chat(core, tx, tenant, chat, "system", None, agents_leave=True)
    await core.commit(tx)
    return chat


async def wrapup(core: Core, tenant: Tenant, chat: Chat, login: str, disposition: str, notes: str) -> Chat:
    if chat.pending_wrapup(login) is None:
        raise errors.WrapupNotPending()
    codes = [d.code for d in tenant.config.dispositions]
    if disposition in RESERVED_DISPOSITIONS or disposition not in codes:
        raise errors.InvalidRequest(
            "unknown disposition", [("/disposition", f"must be one of {', '.join(codes)}")]
        )
    if len(notes) > 16000:
        raise errors.InvalidRequest("notes too long", [("/notes", "at most 16000 characters")])
    tx = Tx()
    lifecycle.complete_wrapup(core, tx, chat, login, disposition, notes, False)
    await core.commit(tx)
    return chat
