"""chatAuthenticate attributes (fusion-chat.md §2.4-§2.7): conversion, validation, key order, and how
they become the chat's Customer, pre_chat and subject (native.md §3.2)."""

from __future__ import annotations

from typing import Any

import msgspec

from frontdesk.faces.fusion.http import AdfError

MAX_CHARS = 4000
# Request attributes of §2.5 (response-only ones excluded).
REQUEST_ATTRIBUTES = frozenset(
    {
        "allowAgentAttachments",
        "applicationClassification",
        "assigneeId",
        "authUserName",
        "businessUnitOrgId",
        "categoryId",
        "chatPriority",
        "clientType",
        "contactId",
        "customFields",
        "emailAddress",
        "escalationLevel",
        "firstName",
        "lastName",
        "incidentId",
        "incidentName",
        "incidentType",
        "incidentSeverity",
        "interfaceId",
        "inventoryItemId",
        "inventoryOrgId",
        "prodGroupId",
        "mediaList",
        "organizationId",
        "productId",
        "question",
        "queueId",
        "resumeType",
        "stripeCd",
    }
)
# The seed response's key order (§2.7); other supplied attributes follow alphabetically.
SEED_ORDER = (
    "authUserName",
    "categoryId",
    "chatSiteName",
    "clientType",
    "contactId",
    "domain",
    "emailAddress",
    "firstName",
    "incidentId",
    "interfaceId",
    "jwt",
    "lastName",
    "organizationId",
    "poolId",
    "productId",
    "question",
    "queueId",
    "resumeType",
    "incidentName",
    "incidentType",
    "inventoryItemId",
    "inventoryOrgId",
    "prodGroupId",
)
_RANK = {k: i for i, k in enumerate(SEED_ORDER)}
# Fusion attribute -> Customer field (native.md §3.2); the rest goes to pre_chat under its own name.
CUSTOMER_FIELDS = {"firstName": "first_name", "lastName": "last_name", "emailAddress": "email"}
EXTERNAL_IDS = {
    "contactId": "contact_id",
    "organizationId": "organization_id",
    "incidentId": "incident_id",
    "authUserName": "auth_user_name",
}


def invalid(name: str) -> AdfError:
    return AdfError(400, "INVALID_ATTRIBUTE", f"The attribute {name} has an invalid value.")


def missing_user() -> AdfError:
    return AdfError(400, "MISSING_ATTRIBUTE", "The attribute authUserName is mandatory.")


def bad_json() -> AdfError:
    return AdfError(400, "INVALID_JSON", "The request body is not a valid JSON object.")


def convert(name: str, value: Any) -> str | None:
    """§2.4 rule 5: scalars become text (numbers in decimal), ``null`` stays; objects are refused."""
    if value is None or isinstance(value, str):
        out = value
    elif isinstance(value, bool):
        out = "true" if value else "false"
    elif isinstance(value, int):
        out = str(value)
    elif isinstance(value, float):
        out = repr(value)
    elif name == "customFields" and isinstance(value, dict | list):
        out = msgspec.json.encode(value).decode()
    else:
        raise invalid(name)
    if out is not None and len(out) > MAX_CHARS:
        raise invalid(name)
    return out


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


def parse(body: Any) -> dict[str, str | None]:
    """The request's known attributes after conversion and validation, ``clientType`` always set."""
    if body is None:
        raise missing_user()
    if not isinstance(body, dict):
        raise bad_json()
    user = body.get("authUserName")
    if user is None or (isinstance(user, str) and not user.strip()):
        raise missing_user()
    attrs: dict[str, str | None] = {}
    for key, value in body.items():
        if key in REQUEST_ATTRIBUTES:
            attrs[key] = convert(key, value)
    name = attrs["authUserName"]
    if name is None or not name.strip():
        raise missing_user()
    if _has_control(name):
        raise invalid("authUserName")
    client_type = attrs.get("clientType")
    if client_type is None:
        attrs["clientType"] = "CONSUMER"
    elif client_type.upper() != "CONSUMER":
        raise invalid("clientType")
    else:
        attrs["clientType"] = "CONSUMER"
    resume = attrs.get("resumeType")
    if resume is not None:
        if resume.upper() not in ("RESUME", "DO_NOT_RESUME"):
            raise invalid("resumeType")
        attrs["resumeType"] = resume.upper()
    return attrs


def ordered(values: dict[str, Any]) -> dict[str, Any]:
    """Seed order for the seed's keys, then the rest alphabetically (§2.7)."""
    keys = sorted(values, key=lambda k: (0, _RANK[k], "") if k in _RANK else (1, 0, k))
    return {k: values[k] for k in keys}


def customer_of(chat: dict[str, Any]) -> dict[str, Any]:
    """The engine's customer record from the token's ``chat`` claim (native.md §3.2)."""
    out: dict[str, Any] = {}
    for attr, field in CUSTOMER_FIELDS.items():
        value = chat.get(attr)
        if isinstance(value, str) and value.strip():
            out[field] = value
    out["external_ids"] = {
        key: chat[attr] for attr, key in EXTERNAL_IDS.items() if isinstance(chat.get(attr), str)
    }
    return out


def pre_chat_of(chat: dict[str, Any]) -> dict[str, Any]:
    """Everything of the claim that did not go into the Customer, under its Fusion name."""
    used = {a for a, f in CUSTOMER_FIELDS.items() if isinstance(chat.get(a), str) and chat[a].strip()}
    used |= {a for a in EXTERNAL_IDS if isinstance(chat.get(a), str)}
    return {k: v for k, v in chat.items() if k not in used}
