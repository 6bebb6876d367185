"""Rendering of engine objects into the native wire types (native.md §1.1, §1.3, §3, §5)."""

from __future__ import annotations

import time
from typing import Any

from frontdesk.config.models import UserConfig
from frontdesk.domain import model
from frontdesk.domain.clock import rfc3339
from frontdesk.domain.events import PartyRef as DomainPartyRef
from frontdesk.engine.availability import ALL_FACES
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import schemas as s


def ts(value: float) -> str:
    out = rfc3339(value)
    assert out is not None
    return out


def profile(user: UserConfig) -> s.Profile:
    p = user.profile
    has_photo = bool(p.photo_file)
    return s.Profile(
        display_name=p.display_name,
        first_name=p.first_name,
        last_name=p.last_name,
        screen_name=p.screen_name,
        greeting=p.greeting,
        greeting_anonymous=p.greeting_anonymous,
        has_photo=has_photo,
        photo_url=f"/api/v1/users/{user.login}/photo" if has_photo else None,
    )


def roles_of(user: UserConfig) -> list[str]:
    return [r for r in ("agent", "supervisor", "admin") if r in user.roles]


def user_view(tenant: Tenant, user: UserConfig) -> s.User:
    agent = "agent" in user.roles
    return s.User(
        login=user.login,
        tenant=tenant.id,
        roles=roles_of(user),
        profile=profile(user),
        skills=list(user.skills) if agent else [],
        max_chats=user.max_chats if agent else 0,
        channels=list(user.channels or ALL_FACES),
    )


def agent_state(engine: Engine, tenant: Tenant, login: str) -> s.AgentState:
    agent = engine.agent_state(tenant.id, login)
    user = tenant.users.get(login)
    return s.AgentState(
        login=login,
        state=agent.state,
        reason=agent.reason,
        since=ts(agent.since),
        present=engine.agent_present(tenant, agent),
        load=engine.agent_load(tenant, agent),
        max_chats=user.max_chats if user else 0,
        chats=list(dict.fromkeys(agent.chats + agent.wrapups)),
        pending_offers=len(agent.offers),
    )


def tenant_info(tenant: Tenant) -> s.TenantInfo:
    cfg = tenant.config
    return s.TenantInfo(
        id=tenant.id,
        display_name=cfg.display_name,
        dispositions=[s.Choice(code=d.code, label=d.label) for d in cfg.dispositions],
        not_ready_reasons=[s.Choice(code=r.code, label=r.label) for r in cfg.not_ready_reasons],
        rona_seconds=cfg.timers.rona_seconds,
        wrapup_timeout_seconds=cfg.timers.wrapup_timeout_seconds,
        typing_ttl_seconds=cfg.timers.typing_ttl_seconds,
        upload_max_bytes=cfg.upload_max_bytes(tenant.server),
        message_max_chars=cfg.message_max_chars(tenant.server),
    )


def party_ref(ref: DomainPartyRef) -> s.PartyRef:
    return s.PartyRef(id=ref.id, kind=ref.kind, login=ref.login, display_name=ref.display_name)


def party_ref_json(data: dict[str, Any]) -> s.PartyRef:
    return s.PartyRef(
        id=data["id"], kind=data["kind"], login=data.get("login"), display_name=data["display_name"]
    )


def party(p: model.Party) -> s.Party:
    return s.Party(
        id=p.id,
        number=p.number,
        kind=p.kind,
        role=p.role,
        login=p.login,
        display_name=p.display_name,
        first_name=p.first_name,
        last_name=p.last_name,
        screen_name=p.screen_name,
        has_photo=p.has_photo,
        joined_at=ts(p.joined_at),
        left_at=rfc3339(p.left_at),
    )


def customer_party(chat: model.Chat) -> s.Party:
    c = chat.customer
    return s.Party(
        id=c.party_id,
        number=c.party_number,
        kind="customer",
        role=None,
        login=None,
        display_name=c.display_name,
        first_name=c.first_name or "",
        last_name=c.last_name or "",
        screen_name=c.display_name,
        has_photo=False,
        joined_at=ts(chat.created_at),
        left_at=rfc3339(chat.ended_at),
    )


def customer(c: model.Customer) -> s.Customer:
    return s.Customer(
        party_id=c.party_id,
        party_number=c.party_number,
        name=c.name,
        first_name=c.first_name,
        last_name=c.last_name,
        email=c.email,
        phone=c.phone,
        locale=c.locale,
        external_ids=dict(c.external_ids),
    )


def my_part(chat: model.Chat, login: str) -> s.MyPart | None:
    read = chat.read_seq.get(login, 0)
    active = chat.party_of(login)
    if active is not None:
        return s.MyPart(
            status="active", role=active.role, party_id=active.id, read_seq=read, wrapup_due_at=None
        )
    wrap = chat.pending_wrapup(login)
    if wrap is not None:
        return s.MyPart(
            status="wrapup",
            role=None,
            party_id=wrap.party_id,
            read_seq=read,
            wrapup_due_at=rfc3339(wrap.due_at),
        )
    if chat.offer is not None and chat.offer.login == login:
        return s.MyPart(status="offered", role=None, party_id=None, read_seq=read, wrapup_due_at=None)
    parts = chat.ever_party(login)
    if parts:
        return s.MyPart(status="done", role=None, party_id=parts[-1].id, read_seq=read, wrapup_due_at=None)
    return None


def _summary_fields(chat: model.Chat, login: str) -> dict[str, Any]:
    return {
        "id": chat.id,
        "number": chat.number,
        "state": chat.state,
        "face": chat.face,
        "entry_point": s.EntryPointRef(face=chat.face, id=chat.entry_point, name=chat.entry_point_name),
        "queue": chat.queue,
        "priority": chat.priority,
        "customer": customer(chat.customer),
        "subject": chat.subject,
        "created_at": ts(chat.created_at),
        "queued_at": ts(chat.queued_at),
        "connected_at": rfc3339(chat.connected_at),
        "ended_at": rfc3339(chat.ended_at),
        "end_reason": chat.end_reason,
        "last_seq": chat.committed_seq,
        "agents": [party_ref(p.ref()) for p in chat.present_agents()],
        "me": my_part(chat, login),
    }


def summary(chat: model.Chat, login: str) -> s.ChatSummary:
    return s.ChatSummary(**_summary_fields(chat, login))


def capabilities(tenant: Tenant, chat: model.Chat) -> s.Capabilities:
    face = chat.face
    ep = tenant.entry_point(face, chat.entry_point)
    return s.Capabilities(
        files=face == "servicepattern",
        typing=True,
        receipts=face == "servicepattern" and ep is not None and bool(ep.read_receipts),
        page_push=face == "ece",
    )


def survey_result(data: dict[str, Any]) -> s.SurveyResult:
    return s.SurveyResult(
        id=data["id"],
        chat_id=data.get("chat_id"),
        source=data["source"],
        survey=data.get("survey"),
        answers=[
            s.Answer(question=str(a.get("question", "")), answer=str(a.get("answer", "")))
            for a in data.get("answers") or []
        ],
        submitted_at=data["submitted_at"]
        if isinstance(data["submitted_at"], str)
        else ts(data["submitted_at"]),
    )


def survey_record(r: model.SurveyRecord) -> s.SurveyResult:
    return s.SurveyResult(
        id=r.id,
        chat_id=r.chat_id,
        source=r.source,
        survey=r.survey,
        answers=[
            s.Answer(question=str(a.get("question", "")), answer=str(a.get("answer", ""))) for a in r.answers
        ],
        submitted_at=ts(r.submitted_at),
    )


def detail(tenant: Tenant, chat: model.Chat, login: str) -> s.ChatDetail:
    surveys: list[s.SurveyResult] = []
    wrapups: list[s.WrapupRecord] = []
    for e in chat.events:
        if e.kind == "survey" and isinstance(e.data.get("result"), dict):
            surveys.append(survey_result(e.data["result"]))
        elif e.kind == "wrapup" and e.by is not None:
            wrapups.append(
                s.WrapupRecord(
                    by=party_ref(e.by),
                    disposition=str(e.data.get("disposition", "")),
                    notes=str(e.data.get("notes", "")),
                    auto=bool(e.data.get("auto")),
                    at=ts(e.at),
                )
            )
    return s.ChatDetail(
        **_summary_fields(chat, login),
        pre_chat=dict(chat.pre_chat),
        participants=[customer_party(chat), *(party(p) for p in chat.participants if p.kind != "customer")],
        crm=crm_info(chat),
        capabilities=capabilities(tenant, chat),
        surveys=surveys,
        wrapups=wrapups,
    )


def preview(chat: model.Chat) -> list[s.PreviewLine]:
    lines: list[s.PreviewLine] = []
    for e in reversed(chat.events):
        if e.kind == "message" and e.by is not None and e.by.kind == "customer":
            lines.append(s.PreviewLine(seq=e.seq, at=ts(e.at), text=str(e.data.get("text", ""))))
            if len(lines) == 3:
                break
    lines.reverse()
    return lines


def offer(chat: model.Chat, o: model.Offer) -> s.Offer:
    return s.Offer(
        offer_id=o.id,
        chat_id=o.chat_id,
        reason=o.reason,
        offered_at=ts(o.offered_at),
        expires_at=ts(o.expires_at),
        queue=o.queue,
        waited_seconds=max(0, int(time.time() - chat.queued_at)),
        from_agent=party_ref(o.from_agent) if o.from_agent else None,
        note=o.note,
        chat=summary(chat, o.login),
        pre_chat=dict(chat.pre_chat),
        preview=preview(chat),
        crm=crm_info(chat),
    )


def crm_info(chat: model.Chat) -> dict[str, Any] | None:
    """The chat's CRM activity as its latest ``crm_linked`` event carries it (native.md §9.2)."""
    for e in reversed(chat.events):
        if e.kind == "crm_linked" and isinstance(e.data.get("crm"), dict):
            return dict(e.data["crm"])
    from frontdesk.engine.crm_hooks import pending_info

    return pending_info(chat.id)
