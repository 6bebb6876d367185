"""CRM record types, their fields and checks, the lists of values and the matching normalisation
(spec/crmod-cti.md §3.2, §3.3, §7.1, §7.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

COLLECTIONS: dict[str, str] = {
    "users": "User",
    "contacts": "Contact",
    "leads": "Lead",
    "accounts": "Account",
    "opportunities": "Opportunity",
    "serviceRequests": "Service Request",
    "campaigns": "Campaign",
    "activities": "Activity",
}
RECORD_COLLECTION: dict[str, str] = {v: k for k, v in COLLECTIONS.items() if k != "users"}

PRIVILEGES = (
    "Access Call Communications",
    "Access Chat Communications",
    "Access Email Communications",
    "Access Voicemail Communications",
    "Manage CTI On Demand Access",
)
MANAGE = "Manage CTI On Demand Access"
SR_STATUSES = ("Open", "Pending", "Closed")
ACTIVITY_STATUSES = ("In Progress", "Completed")


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    type: str
    customer: str  # "origin" | "destination" | "callback"
    privilege: str


_CALL = "Access Call Communications"
_EMAIL = "Access Email Communications"
_VM = "Access Voicemail Communications"
_CHAT = "Access Chat Communications"
CHANNELS: tuple[Channel, ...] = (
    Channel("Inbound Call", "Call", "origin", _CALL),
    Channel("Outbound Call", "Call", "destination", _CALL),
    Channel("Inbound Transfer", "Call", "origin", _CALL),
    Channel("Outbound Transfer", "Call", "destination", _CALL),
    Channel("Missed Transfer", "Call", "origin", _CALL),
    Channel("Predictive Call", "Call", "destination", _CALL),
    Channel("Predictive Transfer", "Call", "destination", _CALL),
    Channel("Preview Call", "Call", "destination", _CALL),
    Channel("Preview Transfer", "Call", "destination", _CALL),
    Channel("DID/Direct Call", "Call", "origin", _CALL),
    Channel("Inbound Email", "Email", "origin", _EMAIL),
    Channel("Outbound Email", "Email", "destination", _EMAIL),
    Channel("Forwarded Email", "Email", "origin", _EMAIL),
    Channel("Reassigned Email", "Email", "origin", _EMAIL),
    Channel("Email Response", "Email", "destination", _EMAIL),
    Channel("Inbound Voicemail", "Voicemail", "origin", _VM),
    Channel("Forwarded Voicemail", "Voicemail", "origin", _VM),
    Channel("Reassigned Voicemail", "Voicemail", "origin", _VM),
    Channel("Callback", "Callback", "callback", _CALL),
    Channel("Web Callback", "Callback", "callback", _CALL),
    Channel("Inbound Chat", "Chat", "origin", _CHAT),
    Channel("Chat Transfer", "Chat", "origin", _CHAT),
)
_WS = re.compile(r"\s+")


def lov_key(value: str) -> str:
    return _WS.sub(" ", value.strip()).lower()


_CHANNEL_BY_KEY = {lov_key(c.name): c for c in CHANNELS}
RECORD_TYPES = ("Account", "Activity", "Campaign", "Contact", "Lead", "Service Request", "Opportunity")
_RECORD_TYPE_BY_KEY = {lov_key(t): t for t in RECORD_TYPES} | {"servicerequest": "Service Request"}


def channel(value: str | None) -> Channel | None:
    """The channel of a ChannelType value, matched leniently (§3.2), or None."""
    return _CHANNEL_BY_KEY.get(lov_key(value)) if value else None


def record_type(value: str | None) -> str | None:
    return _RECORD_TYPE_BY_KEY.get(lov_key(value)) if value else None


_EPOCH = re.compile(r"^[0-9]{1,12}$")


def epoch(value: str | None) -> int | None:
    """A Date-Time value (§3.2): 1-12 ASCII digits up to 253402300799, else None."""
    if value is None:
        return None
    v = value.strip()
    if not _EPOCH.match(v):
        return None
    n = int(v)
    return n if n <= 253402300799 else None


# -- normalisation (§7.3) -------------------------------------------------------------------------
_EXT = re.compile(r"(?i)x|ext")


def norm_phone(value: str | None) -> str | None:
    if not value:
        return None
    m = _EXT.search(value)
    cut = value[: m.start()] if m else value
    digits = "".join(ch for ch in cut if "0" <= ch <= "9")
    return digits if len(digits) >= 7 else None


def norm_email(value: str | None) -> str | None:
    if not value:
        return None
    v = value
    if "<" in v and ">" in v:
        start = v.rfind("<")
        end = v.find(">", start)
        if end > start:
            v = v[start + 1 : end]
    v = v.strip().lower()
    local, at, domain = v.partition("@")
    if not at or not local or not domain or "@" in domain:
        return None
    return v


# -- fields -------------------------------------------------------------------------------------
# kind: id | ref | name(n) | phone | email | text(n) | int | bool | enum | privileges | secret | lov
Field = tuple[str, str, int]

_ID = re.compile(r"^[A-Za-z0-9-]{1,15}$")

FIELDS: dict[str, dict[str, tuple[str, Any]]] = {
    "users": {
        "SignInId": ("text", 100),
        "Password": ("secret", None),
        "PasswordHash": ("secret", None),
        "FullName": ("text", 100),
        "Privileges": ("privileges", None),
        "Disabled": ("bool", None),
    },
    "contacts": {
        "Id": ("id", None),
        "FirstName": ("text", 100),
        "LastName": ("text", 100),
        "WorkPhone": ("phone", None),
        "HomePhone": ("phone", None),
        "CellularPhone": ("phone", None),
        "Email": ("email", None),
        "AccountId": ("ref", "accounts"),
    },
    "leads": {
        "Id": ("id", None),
        "FirstName": ("text", 100),
        "LastName": ("text", 100),
        "Company": ("text", 100),
        "WorkPhone": ("phone", None),
        "CellularPhone": ("phone", None),
        "Email": ("email", None),
    },
    "accounts": {
        "Id": ("id", None),
        "Name": ("text", 100),
        "MainPhone": ("phone", None),
        "Email": ("email", None),
    },
    "opportunities": {
        "Id": ("id", None),
        "Name": ("text", 100),
        "AccountId": ("ref", "accounts"),
    },
    "serviceRequests": {
        "Id": ("id", None),
        "SRNumber": ("text", 100),
        "Subject": ("text", 250),
        "Status": ("enum", SR_STATUSES),
        "ContactId": ("ref", "contacts"),
        "AccountId": ("ref", "accounts"),
    },
    "campaigns": {
        "Id": ("id", None),
        "Name": ("text", 100),
        "SourceCode": ("text", 100),
        "InboundNumber": ("phone", None),
        "Email": ("email", None),
    },
    "activities": {
        "Id": ("id", None),
        "InteractionId": ("text", 30),
        "AgentOfferTime": ("int", None),
        "ChannelType": ("channel", None),
        "Type": ("text", 30),
        "Origin": ("text", 100),
        "Destination": ("text", 100),
        "Priority": ("text", 100),
        "Queue": ("text", 250),
        "IVRBeginTime": ("int", None),
        "QueueBeginTime": ("int", None),
        "Owner": ("text", 100),
        "ContactId": ("ref", "contacts"),
        "LeadId": ("ref", "leads"),
        "AccountId": ("ref", "accounts"),
        "ServiceRequestId": ("ref", "serviceRequests"),
        "CampaignId": ("ref", "campaigns"),
        "OpportunityId": ("ref", "opportunities"),
        "ParentActivityId": ("ref", "activities"),
        "AssociatedRecordId": ("text", 100),
        "AssociatedRecordType": ("rtype", None),
        "CampaignSourceCode": ("text", 100),
        "ContactPhoneNumber": ("text", 100),
        "ServiceRequestNumber": ("text", 100),
        "Subject": ("text", 250),
        "Description": ("text", 16000),
        "Status": ("enum", ACTIVITY_STATUSES),
        "WrappedUp": ("bool", None),
        "WrapUpTime": ("int", None),
        "WrappedUpBy": ("text", 100),
        "CreatedTime": ("int", None),
        # Frontdesk fields of chat activities (native.md §9.2)
        "ChatId": ("text", 36),
        "Disposition": ("text", 100),
        "DurationSeconds": ("int", None),
        "TranscriptUrl": ("text", 400),
        "SurveyResult": ("text", 16000),
    },
}
# Phone and e-mail fields indexed for matching, per collection (§3.5 C).
PHONE_FIELDS = {
    "contacts": ("WorkPhone", "HomePhone", "CellularPhone"),
    "leads": ("WorkPhone", "CellularPhone"),
    "accounts": ("MainPhone",),
    "campaigns": ("InboundNumber",),
}
EMAIL_FIELDS = {"contacts": ("Email",), "leads": ("Email",), "accounts": ("Email",), "campaigns": ("Email",)}
LINK_SLOTS = (
    ("ContactId", "contacts"),
    ("LeadId", "leads"),
    ("AccountId", "accounts"),
    ("ServiceRequestId", "serviceRequests"),
    ("CampaignId", "campaigns"),
    ("OpportunityId", "opportunities"),
)


class RecordError(Exception):
    """A record that breaks a rule of §7.1; ``field`` names the field."""

    def __init__(self, field: str, message: str, kind: str = "validation") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.kind = kind  # "validation" | "conflict" | "not_found"


def valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise RecordError(field, "must be true or false")


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise RecordError(field, "must be an integer")
    if isinstance(value, int):
        if value < 0:
            raise RecordError(field, "must not be negative")
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,15}", value.strip()):
        return int(value.strip())
    raise RecordError(field, "must be a non-negative integer")


def check_field(collection: str, name: str, value: Any) -> Any:
    """The field's value in stored form, or RecordError. None and "" mean absent (returns None)."""
    spec = FIELDS[collection].get(name)
    if spec is None:
        raise RecordError(name, "unknown field")
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    kind, arg = spec
    if kind == "bool":
        return _bool(value, name)
    if kind == "int":
        return _int(value, name)
    if kind == "privileges":
        items = value.split(";") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise RecordError(name, "must be a list of privilege names")
        out: list[str] = []
        for item in items:
            if not isinstance(item, str) or item.strip() not in PRIVILEGES:
                raise RecordError(name, f"unknown privilege {item!r}")
            if item.strip() not in out:
                out.append(item.strip())
        return out
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RecordError(name, "must be a string")
    text = str(value).strip()
    if kind == "secret":
        return text
    if kind in ("id", "ref"):
        if not valid_id(text):
            raise RecordError(name, "must be 1-15 characters from A-Z, a-z, 0-9 and -")
        return text
    if kind == "text":
        if len(text) > int(arg):
            raise RecordError(name, f"must be at most {arg} characters")
        return text
    if kind == "phone":
        if len(text) > 40 or sum(ch.isdigit() for ch in text) < 3:
            raise RecordError(name, "must be a phone number of at most 40 characters with at least 3 digits")
        return text
    if kind == "email":
        local, at, domain = text.partition("@")
        if len(text) > 100 or not at or not local or not domain or "@" in domain:
            raise RecordError(name, "must be an e-mail address with exactly one @")
        return text
    if kind == "enum":
        for option in arg:
            if option.lower() == text.lower():
                return option
        raise RecordError(name, f"must be one of {', '.join(arg)}")
    if kind == "channel":
        ch = channel(text)
        if ch is None:
            raise RecordError(name, "is not a ChannelType value")
        return ch.name
    if kind == "rtype":
        rt = record_type(text)
        if rt is None:
            raise RecordError(name, "is not a record type")
        return rt
    raise RecordError(name, "unsupported field")  # pragma: no cover


def clean_record(collection: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Checked copy of a record body: unknown fields and bad values raise RecordError."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        stored = check_field(collection, name, value)
        if stored is not None:
            out[name] = stored
    if collection == "users":
        if not out.get("SignInId"):
            raise RecordError("SignInId", "is required")
        out.setdefault("Privileges", [])
        out.setdefault("Disabled", False)
    if collection == "activities":
        for req in ("InteractionId", "AgentOfferTime", "ChannelType"):
            if out.get(req) is None:
                raise RecordError(req, "is required")
        ch = channel(out["ChannelType"])
        assert ch is not None
        out["Type"] = ch.type
        out.setdefault("WrappedUp", False)
        out.setdefault("Status", "Completed" if out["WrappedUp"] else "In Progress")
        out.setdefault("IVRBeginTime", out["AgentOfferTime"])
        out.setdefault("QueueBeginTime", out["AgentOfferTime"])
    return out


def full_name(rec: dict[str, Any]) -> str:
    return " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)


def display_name(collection: str, rec: dict[str, Any]) -> str:
    if collection in ("contacts", "leads"):
        return full_name(rec)
    if collection == "serviceRequests":
        return " ".join(p for p in (rec.get("SRNumber"), rec.get("Subject")) if p)
    if collection == "activities":
        return str(rec.get("Subject") or rec.get("ChannelType") or "")
    return str(rec.get("Name") or "")
