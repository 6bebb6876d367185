"""Small helpers shared by test packages (plain module on the test path)."""

from __future__ import annotations

SP_AUTH = 'MOBILE-API-140-327-PLAIN appId="test", clientId="{client_id}"'


def sp_url(path: str) -> str:
    return f"/clientweb/api/v1{path}?tenantUrl=example.com"
