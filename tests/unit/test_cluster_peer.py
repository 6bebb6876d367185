"""The signed client address a forwarding node adds (frontdesk.cluster.peer): believed only when
its MAC is right for this request and it is fresh, so a client cannot claim another address."""

from __future__ import annotations

import time

from frontdesk.cluster import peer

KEY = b"k" * 32


def test_a_signed_address_is_believed_for_its_own_request() -> None:
    value = peer.sign(KEY, "node-a", ("203.0.113.9", 51000), "https", "POST", "/clientweb/api/v1/chats")
    assert peer.verify(KEY, value, "POST", "/clientweb/api/v1/chats") == (("203.0.113.9", 51000), "https")


def test_forged_replayed_elsewhere_or_stale_headers_are_ignored() -> None:
    value = peer.sign(KEY, "node-a", ("203.0.113.9", 51000), "http", "GET", "/api/v1/agent/state")
    assert peer.verify(b"x" * 32, value, "GET", "/api/v1/agent/state") is None  # another key
    assert peer.verify(KEY, value, "PUT", "/api/v1/agent/state") is None  # another method
    assert peer.verify(KEY, value, "GET", "/api/v1/admin/config") is None  # another path
    forged = value.replace(b"203.0.113.9", b"127.0.0.1")
    assert peer.verify(KEY, forged, "GET", "/api/v1/agent/state") is None
    later = time.time() + peer.MAX_AGE + 5
    assert peer.verify(KEY, value, "GET", "/api/v1/agent/state", now=later) is None
    for junk in (b"", b"a b c", "é é é é é é".encode(), b"1.2.3.4 x http 0 n mac"):
        assert peer.verify(KEY, junk, "GET", "/api/v1/agent/state") is None
