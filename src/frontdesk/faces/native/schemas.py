"""Wire types of the native API (native.md §1, §3, §5, §7), as msgspec structs.

The handlers decode requests into these structs and encode answers from them, and the OpenAPI
document is generated from the same structs, so the document cannot drift from the handlers.
Request structs are closed (``forbid_unknown_fields``): a typo is an ``invalid_request``.
"""

from __future__ import annotations

from typing import Any

import msgspec

Json = dict[str, Any]


class Req(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: closed objects."""


class Out(msgspec.Struct, kw_only=True):
    """Base of answers."""


# -- requests ----------------------------------------------------------------------------------
class LoginRequest(Req):
    login: str
    password: str
    tenant: str | None = None


class Empty(Req):
    pass


class StateChange(Req):
    state: str
    reason: str | None = None


class RejectOffer(Req):
    reason: str | None = None


class SendMessage(Req):
    client_msg_id: str
    text: str
    visibility: str = "all"


class PushUrl(Req):
    url: str


class Typing(Req):
    typing: bool


class ReadMark(Req):
    up_to_seq: int


class TransferTo(Req):
    queue: str | None = None
    agent: str | None = None


class Transfer(Req):
    to: TransferTo
    note: str | None = None


class Conference(Req):
    agent: str
    note: str | None = None


class EndChat(Req):
    reason: str | None = None


class Wrapup(Req):
    disposition: str
    notes: str = ""


# -- answers -----------------------------------------------------------------------------------
class FieldError(Out):
    path: str
    message: str


class Problem(Out):
    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str
    errors: list[FieldError] | None = None


class Info(Out):
    name: str
    version: str
    api: str


class Profile(Out):
    display_name: str
    first_name: str
    last_name: str
    screen_name: str
    greeting: str | None
    greeting_anonymous: str | None
    has_photo: bool
    photo_url: str | None


class User(Out):
    login: str
    tenant: str
    roles: list[str]
    profile: Profile
    skills: list[str]
    max_chats: int
    channels: list[str]


class LoginResponse(Out):
    token: str
    expires_at: str
    user: User


class AgentState(Out):
    login: str
    state: str
    reason: str | None
    since: str
    present: bool
    load: int
    max_chats: int
    chats: list[str]
    pending_offers: int


class Choice(Out):
    code: str
    label: str


class TenantInfo(Out):
    id: str
    display_name: str
    dispositions: list[Choice]
    not_ready_reasons: list[Choice]
    rona_seconds: int
    wrapup_timeout_seconds: int
    typing_ttl_seconds: int
    upload_max_bytes: int
    message_max_chars: int


class Me(Out):
    user: User
    agent_state: AgentState | None
    tenant: TenantInfo


class PartyRef(Out):
    id: str
    kind: str
    login: str | None
    display_name: str


class Party(Out):
    id: str
    number: int
    kind: str
    role: str | None
    login: str | None
    display_name: str
    first_name: str
    last_name: str
    screen_name: str
    has_photo: bool
    joined_at: str
    left_at: str | None


class Customer(Out):
    party_id: str
    party_number: int
    name: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    external_ids: dict[str, str]


class EntryPointRef(Out):
    face: str
    id: str
    name: str


class Capabilities(Out):
    files: bool
    typing: bool
    receipts: bool
    page_push: bool


class MyPart(Out):
    status: str
    role: str | None
    party_id: str | None
    read_seq: int
    wrapup_due_at: str | None


class ChatSummary(Out):
    id: str
    number: int
    state: str
    face: str
    entry_point: EntryPointRef
    queue: str
    priority: int
    customer: Customer
    subject: str | None
    created_at: str
    queued_at: str
    connected_at: str | None
    ended_at: str | None
    end_reason: str | None
    last_seq: int
    agents: list[PartyRef]
    me: MyPart | None


class Answer(Out):
    question: str
    answer: str


class SurveyResult(Out):
    id: str
    chat_id: str | None
    source: str
    survey: str | None
    answers: list[Answer]
    submitted_at: str


class WrapupRecord(Out):
    by: PartyRef
    disposition: str
    notes: str
    auto: bool
    at: str


class ChatDetail(ChatSummary):
    pre_chat: Json
    participants: list[Party]
    crm: Json | None
    capabilities: Capabilities
    surveys: list[SurveyResult]
    wrapups: list[WrapupRecord]


class PreviewLine(Out):
    seq: int
    at: str
    text: str


class Offer(Out):
    offer_id: str
    chat_id: str
    reason: str
    offered_at: str
    expires_at: str
    queue: str
    waited_seconds: int
    from_agent: PartyRef | None
    note: str | None
    chat: ChatSummary
    pre_chat: Json
    preview: list[PreviewLine]
    crm: Json | None


class OfferList(Out):
    items: list[Offer]


class ChatSummaryList(Out):
    items: list[ChatSummary]


class ChatSummaryPage(Out):
    items: list[ChatSummary]
    total: int
    limit: int
    offset: int


class DirectoryQueue(Out):
    name: str
    display_name: str
    open: bool
    waiting: int
    ready_agents: int


class DirectoryAgent(Out):
    login: str
    display_name: str
    state: str
    free_slots: int


class Directory(Out):
    queues: list[DirectoryQueue]
    agents: list[DirectoryAgent]


class CannedResponse(Out):
    id: str
    title: str
    text: str
    shortcut: str | None
    queues: list[str]


class CannedResponseList(Out):
    items: list[CannedResponse]


class SentEvent(Out):
    seq: int
    event: Json


class EventPage(Out):
    chat_id: str
    events: list[Json]
    last_seq: int
    more: bool


class Transcript(Out):
    chat: ChatDetail
    events: list[Json]
