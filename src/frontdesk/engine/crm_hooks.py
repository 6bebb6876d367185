"""Chats become CRM activities (ARCHITECTURE.md 10.8, native.md §9.2).

The engine's chat paths call these hooks inside their own transaction: the first offer creates the
chat's activity through the same ``insert_activity`` as CTIActivityInsert, the lead's wrap-up
completes it and a later survey adds its result. The CRM rows go into the same write intent as the
chat events, so both are stored together or not at all.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from frontdesk.crm import model as m
from frontdesk.crm.data import Interaction
from frontdesk.crm.info import crm_info
from frontdesk.crm.service import CrmService
from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat, SurveyRecord
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant

log = logging.getLogger("frontdesk.crm")
_SERVICES: weakref.WeakKeyDictionary[Core, CrmService] = weakref.WeakKeyDictionary()
_CHAT = m.channel("Inbound Chat")
# CRM information of activities created in a transaction not yet committed: an offer is visible to
# the agent's REST poll before its ``crm_linked`` event is, so views read it from here meanwhile.
_PENDING: dict[str, dict[str, Any]] = {}


def pending_info(chat_id: str) -> dict[str, Any] | None:
    return _PENDING.get(chat_id)


def _forget(chat_id: str) -> None:
    _PENDING.pop(chat_id, None)


def attach(core: Core, service: CrmService) -> None:
    _SERVICES[core] = service


def service(core: Core) -> CrmService | None:
    return _SERVICES.get(core)


def interaction_id(chat: Chat) -> str:
    return f"chat-{chat.number}"


def chat_activity(svc: CrmService, chat: Chat) -> dict[str, Any] | None:
    data = svc.tenants.get(chat.tenant_id)
    if data is None:
        return None
    ids = data.interactions.get(interaction_id(chat), [])
    return data.records.get(sorted(ids)[0]) if ids else None


def on_offer(core: Core, tx: Tx, tenant: Tenant, chat: Chat, login: str) -> None:
    """Create the chat's activity at its first offer (later offers keep it)."""
    svc = service(core)
    if svc is None or not tenant.config.crm.chat_activities or _CHAT is None:
        return
    try:
        if chat_activity(svc, chat) is not None:
            return
        data = svc.data(tenant.id)
        customer = chat.customer
        origin = customer.email or customer.phone or None
        contact_id = customer.external_ids.get("contact_id")
        assoc_id = contact_id if contact_id and data.get("contacts", contact_id) is not None else None
        queue = tenant.queues.get(chat.queue)
        now = int(time.time())
        it = Interaction(
            interaction_id=interaction_id(chat),
            agent_offer_time=now,
            channel=_CHAT,
            origin=origin[:100] if origin else None,
            queue=(queue.display_name if queue else chat.queue)[:250],
            associated_id=assoc_id,
            associated_type="Contact" if assoc_id else None,
            extra={"ChatId": chat.id},
        )
        result = data.insert_activity(
            it,
            login,
            now,
            max_activities=tenant.config.crm.max_activities,
            match_campaigns=tenant.config.crm.match_campaign_by_destination,
        )
        svc.add_to(tx.intent, tenant.id)
        if result.status == "OK" and result.activity is not None:
            info = crm_info(data, result.activity)
            core.append(tx, chat, ev.CRM_LINKED, {"crm": info})
            _PENDING[chat.id] = info
            chat_id = chat.id
            tx.after.append(lambda: _forget(chat_id))
    except Exception:  # the CRM record never stops a chat from being offered
        log.exception("CRM activity for chat %s failed", chat.id)


def on_wrapup(
    core: Core, tx: Tx, chat: Chat, login: str, party_role: str | None, disposition: str, notes: str
) -> None:
    """The lead's wrap-up completes the activity; other wrap-ups add their notes."""
    svc = service(core)
    if svc is None:
        return
    try:
        activity = chat_activity(svc, chat)
        if activity is None:
            return
        data = svc.data(chat.tenant_id)
        all_notes = [str(e.data.get("notes") or "") for e in chat.events if e.kind == ev.WRAPUP]
        all_notes.append(notes)
        description = "\n".join(n for n in all_notes if n)[:16000]
        now = int(time.time())
        if activity.get("WrappedUp"):
            data.update_activity(activity["Id"], {"Description": description or None})
        elif party_role in (None, "lead"):
            duration = None
            if chat.connected_at is not None:
                duration = max(0, int((chat.ended_at or time.time()) - chat.connected_at))
            data.wrap_up(
                activity,
                login,
                now,
                {
                    "Owner": login,
                    "Description": description or None,
                    "Disposition": disposition[:100] or None,
                    "DurationSeconds": duration,
                    "TranscriptUrl": f"/api/v1/chats/{chat.id}/transcript",
                },
            )
        else:
            return
        svc.add_to(tx.intent, chat.tenant_id)
    except Exception:
        log.exception("CRM wrap-up of chat %s failed", chat.id)


def on_survey(core: Core, tx: Tx, chat: Chat | None, record: SurveyRecord) -> None:
    svc = service(core)
    if svc is None or chat is None:
        return
    try:
        activity = chat_activity(svc, chat)
        if activity is None:
            return
        lines = [f"{a.get('question', '')}: {a.get('answer', '')}" for a in record.answers]
        svc.data(chat.tenant_id).update_activity(activity["Id"], {"SurveyResult": "\n".join(lines)[:16000]})
        svc.add_to(tx.intent, chat.tenant_id)
    except Exception:
        log.exception("CRM survey result of chat %s failed", chat.id)
