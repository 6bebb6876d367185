"""Lenient reading of RightNow request elements (spec §4.4, §7.3, §9.1): local names only, any
order, first occurrence wins, identifiers trimmed, free text verbatim, limits of §15."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from frontdesk.faces.rightnow.faults import too_long
from frontdesk.soap import child, children, local_name, text_of
from frontdesk.soap.envelope import Element

TEXT_MAX = 4000
ID_MAX = 64
_ID_ATTR = re.compile(r"^\d{1,18}$")
_LEAF_MAX = 100
_OBJECT_DEPTH_MAX = 3


def ident(el: Element | None) -> str | None:
    """An identifier or enumeration value, trimmed; None when absent."""
    value = text_of(el)
    return value.strip() if value is not None else None


def free_text(el: Element | None, name: str, limit: int = TEXT_MAX) -> str | None:
    value = text_of(el)
    if value is not None and len(value) > limit:
        raise too_long(name)
    return value


def id_attr(el: Element | None) -> int | None:
    if el is None:
        return None
    raw = (el.get("id") or "").strip()
    return int(raw) if _ID_ATTR.match(raw) else None


def boolean(el: Element | None) -> bool | None:
    value = (ident(el) or "").lower()
    return True if value in ("true", "1") else False if value in ("false", "0") else None


@dataclass(slots=True)
class Transaction:
    request_time: str | None = None
    transaction_id: str | None = None


def transaction(op: Element) -> Transaction:
    trd = child(op, "TransactionRequestData")
    return Transaction(text_of(child(trd, "ClientRequestTime")), ident(child(trd, "ClientTransactionID")))


@dataclass(slots=True)
class ChatRequest:
    token: str | None
    customer: dict[str, Any] = field(default_factory=dict)
    pre_chat: dict[str, Any] = field(default_factory=dict)
    question: str | None = None


def _customer(info: Element | None, pre: dict[str, Any]) -> dict[str, Any]:
    email = free_text(child(info, "EMailAddress"), "EMailAddress")
    first = free_text(child(info, "FirstName"), "FirstName")
    last = free_text(child(info, "LastName"), "LastName")
    external: dict[str, str] = {}
    contact = child(info, "ContactID")
    if contact is None:
        contact = child(info, "ContactId")
    for key, value in (
        ("contact_id", id_attr(contact)),
        ("organization_id", id_attr(child(info, "OrganizationID"))),
    ):
        if value is not None:
            external[key] = str(value)
    for key, el in (("product_id", child(info, "ProductID")), ("category_id", child(info, "CategoryID"))):
        value = id_attr(el)
        if value is not None:
            pre[key] = value
    iface = child(info, "InterfaceID")
    if iface is not None:
        pre["interface_id"] = {
            "id": id_attr(child(iface, "ID")),
            "name": free_text(child(iface, "Name"), "Name"),
        }
    return {
        "first_name": first or None,
        "last_name": last or None,
        "email": email.strip() if email and email.strip() else None,
        "external_ids": external,
    }


def _flatten(obj: Element, prefix: str, depth: int, out: dict[str, str]) -> None:
    """GenericFields tree → ``a.b = text``; at most 100 leaves and 3 ObjectValue levels (§9.1)."""
    for gf in children(obj, "GenericFields"):
        name = (gf.get("name") or "").strip()
        value = child(gf, "DataValue")
        if not name or value is None:
            continue
        key = f"{prefix}.{name}" if prefix else name
        nested = child(value, "ObjectValue")
        if nested is not None:
            if depth < _OBJECT_DEPTH_MAX:
                _flatten(nested, key, depth + 1, out)
            continue
        for leaf in value:
            if isinstance(leaf.tag, str) and local_name(leaf).endswith("Value"):
                if len(out) < _LEAF_MAX and key not in out:
                    out[key] = (text_of(leaf) or "")[:TEXT_MAX]
                break


def chat_request(op: Element) -> ChatRequest:
    token = ident(child(op, "ChatSessionToken"))
    pre: dict[str, Any] = {}
    customer = _customer(child(op, "CustomerInformation"), pre)
    question = free_text(child(child(op, "CustomerInformation"), "Question"), "Question")
    fields: dict[str, str] = {}
    for cf in children(op, "CustomFields"):
        _flatten(cf, "", 0, fields)
    pre["custom_fields"] = fields
    resume = (ident(child(op, "ResumeType")) or "").upper()
    if resume:
        pre["resume_type"] = resume[:32]
    incident = id_attr(child(op, "IncidentID"))
    if incident is not None:
        pre["incident_id"] = incident
    if question:
        pre["question"] = question
    return ChatRequest(token=token, customer=customer, pre_chat=pre, question=question or None)
