"""Value types of spec/config.md §2 that are checked the same way wherever they appear."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any
from urllib.parse import urlsplit

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
HOST_RE = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
ARGON2_RE = re.compile(r"\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")


def describe(value: Any, src: str | None = None, *, secret: bool = False) -> str:
    """Name a found value for a message; secrets only by their type (§5: never in error texts)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        text = "boolean " + ("true" if value else "false")
    elif isinstance(value, int):
        text = "an integer" if secret else f"integer {value}"
    elif isinstance(value, float):
        text = "a number" if secret else f"number {value}"
    elif isinstance(value, str):
        if secret:
            return "a string"
        shown = value if len(value) <= 60 else value[:57] + "..."
        return "string " + json.dumps(shown)
    elif isinstance(value, datetime.date):
        text = f"date {value.isoformat()}"
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, dict):
        return "a mapping"
    else:
        return type(value).__name__
    if src is not None and not secret:
        text += f' (YAML reads the unquoted {src} that way; write "{src}" in quotes for a string)'
    return text


def check_name(value: str) -> str | None:
    if NAME_RE.fullmatch(value):
        return None
    return (
        "must be a name (lower-case letters, digits, '_' and '-', starting with a letter or digit, "
        f"at most 64 characters), got {json.dumps(value)}"
    )


def check_host(value: str) -> str | None:
    if value != value.lower():
        return f"must be a lower-case host name, got {json.dumps(value)}"
    if not HOST_RE.fullmatch(value):
        return f"must be a DNS host name without port or scheme, like example.com, got {json.dumps(value)}"
    return None


def check_argon2(value: str) -> str | None:
    # The value itself is never echoed: hashes are kept out of error texts like secrets (§5).
    if ARGON2_RE.fullmatch(value):
        return None
    return (
        "must be an argon2 hash ($argon2id$v=19$m=...,t=...,p=...$salt$hash) "
        "as printed by frontdesk hash-password"
    )


def normalise_url(value: str) -> tuple[str | None, str | None]:
    """Returns (normalised url, error)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, f"must be an absolute http or https URL, got {json.dumps(value)}"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return None, f"must be a URL without query or fragment, got {json.dumps(value)}"
    return value.rstrip("/"), None


def normalise_origin(value: str) -> tuple[str | None, str | None]:
    parts = urlsplit(value)
    bad = (
        "must be an origin (scheme, host and optional port, like https://shop.example), "
        f"got {json.dumps(value)}"
    )
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None, bad
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in value or "#" in value:
        return None, bad
    try:
        _ = parts.port
    except ValueError:
        return None, bad
    return f"{parts.scheme}://{parts.netloc.lower()}", None
