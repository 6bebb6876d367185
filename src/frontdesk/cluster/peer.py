"""The signed header a forwarding node adds, so the owner sees the real client address and scheme.

Rate limits, lockouts and ``trusted_proxies`` all read the ASGI ``client``; a forwarded request would
otherwise show the forwarding node's address. The header is believed only with a valid HMAC under
the cluster key kept in the store, and only for a minute, so a client cannot claim another address.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = b"x-frontdesk-peer"
MAX_AGE = 60.0


def _mac(key: bytes, fields: str, method: str, path: str) -> str:
    return hmac.new(key, f"{fields} {method} {path}".encode(), hashlib.sha256).hexdigest()


def sign(key: bytes, node: str, client: tuple[str, int] | None, scheme: str, method: str, path: str) -> bytes:
    host, port = client if client is not None else ("unknown", 0)
    fields = f"{host} {port} {scheme} {time.time():.3f} {node}"
    return f"{fields} {_mac(key, fields, method, path)}".encode()


def verify(
    key: bytes, value: bytes, method: str, path: str, now: float | None = None
) -> tuple[tuple[str, int], str] | None:
    """The forwarded (client, scheme), or None when the header is malformed, stale or forged."""
    try:
        host, port, scheme, at, node, mac = value.decode("ascii").split(" ")
        fields = f"{host} {port} {scheme} {at} {node}"
        fresh = abs((now if now is not None else time.time()) - float(at)) <= MAX_AGE
        if not fresh or scheme not in ("http", "https", "ws", "wss"):
            return None
        if not hmac.compare_digest(mac, _mac(key, fields, method, path)):
            return None
        return (host, int(port)), scheme
    except (UnicodeDecodeError, ValueError):
        return None
