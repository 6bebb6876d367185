"""Identifier forms shared by every face (native.md 0.2)."""

from __future__ import annotations

import re
import uuid

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_chat_id() -> str:
    return str(uuid.uuid4())


def new_party_id() -> str:
    """Party ids are upper-case UUIDs, as the real ServicePattern server sends them."""
    return str(uuid.uuid4()).upper()


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    return bool(_UUID_RE.match(value))
