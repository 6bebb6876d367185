"""Customer-side operations every face calls: start a chat, write, type, send files, end, answer a
survey. Faces translate their protocol into these calls and render the resulting events."""

from __future__ import annotations

import time
import uuid
from typing import Any

from frontdesk.config.models import EntryPointConfig
from frontdesk.domain import errors
from frontdesk.domain import events as ev
from frontdesk.domain.ids import new_chat_id, new_party_id
from frontdesk.domain.model import Chat, Customer, FileRecord, SurveyRecord
from frontdesk.engine import calendar, lifecycle, timeouts
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant


def check_entry(core: Core, tenant: Tenant, ep: EntryPointConfig, now: float) -> None:
    if not ep.enabled:
        raise errors.EntryPointDisabled()
    cal = ep.effective_calendar(tenant.config)
    if not calendar.is_open(tenant.config.calendars, cal, tenant.config.timezone, now):
        raise errors.QueueClosed()
    q = tenant.queues.get(ep.queue)
    if q is not None and q.max_waiting is not None:
        if len(core.waiting.get((tenant.id, ep.queue), ())) >= q.max_waiting:
            raise errors.QueueFull()


def live_chat_of(core: Core, tenant_id: str, identity: str) -> Chat | None:
    chat_id = core.identities.get((tenant_id, identity))
    chat = core.chats.get(chat_id) if chat_id else None
    return chat if chat is not None and chat.live else None


async def create(
    core: Core,
    tenant: Tenant,
    ep: EntryPointConfig,
    *,
    customer: dict[str, Any],
    pre_chat: dict[str, Any],
    subject: str | None = None,
    identity: str | None = None,
    priority: int | None = None,
) -> tuple[Chat, bool]:
    """Start a chat, or return the identity's live chat (``False``: not new)."""
    if identity is not None:
        existing = live_chat_of(core, tenant.id, identity)
        if existing is not None:
            return existing, False
    now = time.time()
    check_entry(core, tenant, ep, now)
    tx = Tx()
    number = core.next_counter(tx, tenant.id, "chat", 1001)
    party_number = core.next_counter(tx, tenant.id, "party", 2001)
    email = customer.get("email")
    name = (
        customer.get("name")
        or " ".join(x for x in (customer.get("first_name"), customer.get("last_name")) if x)
        or None
    )
    cust = Customer(
        party_id=new_party_id(),
        party_number=party_number,
        name=name,
        first_name=customer.get("first_name"),
        last_name=customer.get("last_name"),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        phone=customer.get("phone") or None,
        locale=customer.get("locale"),
        external_ids={k: str(v) for k, v in (customer.get("external_ids") or {}).items() if v is not None},
    )
    chat = Chat(
        id=new_chat_id(),
        tenant_id=tenant.id,
        number=number,
        face=ep.face,
        entry_point=ep.id,
        entry_point_name=ep.name,
        queue=ep.queue,
        priority=priority if priority is not None else ep.effective_priority(tenant.config),
        skills=list(ep.skills),
        state="queued",
        customer=cust,
        subject=subject,
        pre_chat=pre_chat,
        created_at=now,
        first_queued_at=now,
        queued_at=now,
        identity=identity,
    )
    core.chats[chat.id] = chat
    if identity is not None:
        core.identities[(tenant.id, identity)] = chat.id
    core.append(
        tx,
        chat,
        ev.CREATED,
        {
            "face": ep.face,
            "entry_point": {"face": ep.face, "id": ep.id, "name": ep.name},
            "queue": ep.queue,
            "priority": chat.priority,
            "customer": cust.to_json(),
            "subject": subject,
            "pre_chat": pre_chat,
        },
    )
    lifecycle.status_queued(core, tx, tenant, chat)
    await core.commit(tx)
    core.request_route(tenant.id)
    return chat, True


def _require_live(chat: Chat) -> None:
    if not chat.live:
        raise errors.ChatEnded()


def restarts_inactivity(kind: str, data: dict[str, Any]) -> bool:
    """Content restarts the inactivity clock; of the activities only a location is content (SP 5.4)."""
    return kind in ev.CUSTOMER_CONTENT and (kind != ev.ACTIVITY or data.get("type") == "location")


def _content(core: Core, tenant: Tenant, chat: Chat, at: float) -> None:
    """A customer content event restarts the inactivity clock (10.4)."""
    if chat.state == "connected":
        chat.last_customer_content_at = at
        chat.inactivity_warned = False
        timeouts.arm_inactivity(core, tenant, chat)


def replay_log(chat: Chat, stored_seq: int) -> None:
    """Bring a chat loaded from its stored row up to its log.

    Log-only appends (customer and agent messages, typing) write no chat row, so the row can be
    older than the log: ``stored_seq`` is the ``last_seq`` the row was written with. What those
    appends change in the chat is rebuilt here from the events after it (decision 40)."""
    if chat.state != "connected":
        return  # every state change writes the row, so the state is current
    for event in chat.events:
        if (
            event.seq > stored_seq
            and event.by is not None
            and event.by.kind == "customer"
            and restarts_inactivity(event.kind, event.data)
        ):
            chat.last_customer_content_at = event.at
            chat.inactivity_warned = False


async def customer_event(
    core: Core,
    chat: Chat,
    kind: str,
    data: dict[str, Any],
    *,
    client_msg_id: str | None = None,
    dedupe_key: str | None = None,
    file: FileRecord | None = None,
) -> tuple[ev.Event | None, bool]:
    """Append one customer event; (event, created). A known dedupe key returns (None, False)."""
    _require_live(chat)
    if dedupe_key is not None and dedupe_key in chat.dedupe:
        return None, False
    tenant = _tenant(core, chat)
    tx = Tx()
    event = core.append(
        tx,
        chat,
        kind,
        data,
        chat.customer.ref(),
        client_msg_id=client_msg_id,
        dedupe_key=dedupe_key,
        log_only=True,
    )
    if file is not None:
        tx.intent.files.append(file)
    if restarts_inactivity(kind, data):
        _content(core, tenant, chat, event.at)
    await core.commit(tx)
    return event, True


async def message(
    core: Core,
    chat: Chat,
    text: str,
    *,
    client_msg_id: str | None = None,
    dedupe_key: str | None = None,
    html: str | None = None,
    note: bool = False,
    off_record: bool = False,
) -> tuple[ev.Event | None, bool]:
    data = {
        "text": text,
        "html": html,
        "client_msg_id": client_msg_id,
        "visibility": "all",
        "note": note,
        "off_record": off_record,
    }
    return await customer_event(
        core, chat, ev.MESSAGE, data, client_msg_id=client_msg_id, dedupe_key=dedupe_key
    )


async def typing(core: Core, chat: Chat, is_typing: bool, preview: str | None = None) -> None:
    if not chat.live:
        return
    await customer_event(core, chat, ev.TYPING, {"typing": is_typing, "preview": preview})


async def attach_file(
    core: Core,
    chat: Chat,
    f: FileRecord,
    file_type: str,
    *,
    client_msg_id: str | None = None,
    dedupe_key: str | None = None,
) -> tuple[ev.Event | None, bool]:
    _require_live(chat)
    if f.chat_id is None:
        f.chat_id = chat.id
    data = {
        "file_id": f.id,
        "name": f.name,
        "content_type": f.content_type,
        "size": f.size,
        "file_type": file_type,
        "client_msg_id": client_msg_id,
    }
    return await customer_event(
        core, chat, ev.FILE, data, client_msg_id=client_msg_id, dedupe_key=dedupe_key, file=f
    )


async def end(core: Core, chat: Chat, reason: str = "customer") -> None:
    if not chat.live:
        return
    tenant = _tenant(core, chat)
    tx = Tx()
    by = chat.customer.ref() if reason == "customer" else None
    lifecycle.end_chat(core, tx, tenant, chat, reason, by)
    await core.commit(tx)


async def disconnect(core: Core, chat: Chat) -> None:
    """Customer leaves; with a post-chat survey on the entry point, ask it first (native.md 5.10)."""
    if not chat.live or chat.survey_pending is not None:
        return
    tenant = _tenant(core, chat)
    ep = tenant.entry_point(chat.face, chat.entry_point)
    survey = ep.post_chat_survey if ep is not None else None
    survey_cfg = tenant.config.surveys.get(survey.survey) if survey is not None else None
    if survey is None or survey_cfg is None:
        await end(core, chat)
        return
    tx = Tx()
    if chat.offer is not None:
        lifecycle.revoke_offer(core, tx, tenant, chat.offer, "customer_left", requeue_chat=False)
    now = time.time()
    due_in = tenant.config.timers.wrapup_timeout_seconds
    for party in chat.present_agents():
        lifecycle.leave(core, tx, chat, party, "chat_ended", None)
        lifecycle.owe_wrapup(core, tx, tenant, chat, party, due_in, now)
    core.timers.cancel(f"inact:{chat.id}")
    form_id = str(core.next_counter(tx, tenant.id, "form", 1))
    timeout = survey.timeout_seconds
    chat.survey_pending = {"form_request_id": form_id, "form_name": survey.survey, "timeout": timeout}
    core.track(chat)
    questions = [
        {
            "id": q.id,
            "text": q.text,
            "type": q.type,
            "min": q.min,
            "max": q.max,
            "choices": q.choices,
            "required": q.required,
        }
        for q in survey_cfg.questions
    ]
    core.append(
        tx,
        chat,
        ev.FORM,
        {
            "form_request_id": form_id,
            "form_name": survey.survey,
            "purpose": "survey",
            "timeout_seconds": timeout,
            "questions": questions,
        },
    )
    core.timers.set(f"form:{chat.id}", now + timeout, lambda: timeouts.form_timeout(core, chat.id))
    await core.commit(tx)


async def form_response(
    core: Core, chat: Chat, form_request_id: str, status: str, data: dict[str, Any] | None
) -> bool:
    """Answer (or cancel, or time out) the pending survey form; False when none matches."""
    pending = chat.survey_pending
    if pending is None or pending["form_request_id"] != form_request_id:
        return False
    tenant = _tenant(core, chat)
    tx = Tx()
    core.timers.cancel(f"form:{chat.id}")
    chat.survey_pending = None
    core.track(chat)
    core.append(
        tx,
        chat,
        ev.FORM_RESPONSE,
        {
            "form_request_id": form_request_id,
            "form_name": pending["form_name"],
            "status": status,
            "data": data,
        },
        chat.customer.ref() if status != "timeout" else None,
    )
    if status == "submitted" and data is not None:
        record_survey(core, tx, tenant, chat, "servicepattern", pending["form_name"], data)
    lifecycle.end_chat(core, tx, tenant, chat, "customer", chat.customer.ref())
    await core.commit(tx)
    return True


def record_survey(
    core: Core,
    tx: Tx,
    tenant: Tenant,
    chat: Chat | None,
    source: str,
    survey_name: str | None,
    data: dict[str, Any],
) -> SurveyRecord:
    questions = {}
    if survey_name and survey_name in tenant.config.surveys:
        questions = {q.id: q.text for q in tenant.config.surveys[survey_name].questions}
    answers = [{"question": questions.get(k, k), "answer": str(v)} for k, v in data.items()]
    record = SurveyRecord(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        chat_id=chat.id if chat else None,
        source=source,
        survey=survey_name,
        answers=answers,
        submitted_at=time.time(),
        entry_point=chat.entry_point if chat else None,
        queue=chat.queue if chat else None,
    )
    tx.intent.surveys.append(record)
    if chat is not None:
        core.append(tx, chat, ev.SURVEY, {"result": survey_json(record)})
        from frontdesk.engine import crm_hooks

        crm_hooks.on_survey(core, tx, chat, record)  # a later survey adds its result (native.md §9.2)
    # Announced after the commit: a supervisor socket woken earlier would read a store without it.
    tx.after.append(lambda: core.notifier.publish(f"surveys:{tenant.id}", record.id))
    return record


def survey_json(record: SurveyRecord) -> dict[str, Any]:
    from frontdesk.domain.clock import rfc3339

    return {
        "id": record.id,
        "chat_id": record.chat_id,
        "source": record.source,
        "survey": record.survey,
        "answers": record.answers,
        "submitted_at": rfc3339(record.submitted_at),
    }


def seen(core: Core, chat: Chat, abandon_seconds: float) -> None:
    if chat.live:
        timeouts.customer_seen(core, chat, abandon_seconds)


def _tenant(core: Core, chat: Chat) -> Tenant:
    tenant = core.registry.tenant(chat.tenant_id)
    if tenant is None:
        raise errors.ChatNotFound()
    return tenant
