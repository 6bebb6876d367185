"""The CRM information agents see for a chat (native.md §3.3 CrmInfo, ScreenPop, CrmLinks)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from frontdesk.crm.data import CrmData

_LINKS = (
    ("contact", "ContactId"),
    ("lead", "LeadId"),
    ("account", "AccountId"),
    ("service_request", "ServiceRequestId"),
    ("campaign", "CampaignId"),
    ("opportunity", "OpportunityId"),
)


def screen_pop_url(record_type: str, record_id: str) -> str:
    return (
        "/OnDemand/user/CTICommand?Command=ScreenPop"
        f"&Record%20Type={quote(record_type, safe='')}&Record%20Id={quote(record_id, safe='')}"
    )


def crm_info(data: CrmData, activity: dict[str, Any]) -> dict[str, Any]:
    rtype, rid = data.screen_pop(activity)
    name = data.name_of(rid)
    links: dict[str, Any] = {}
    for key, slot in _LINKS:
        ref = activity.get(slot)
        links[key] = {"id": ref, "name": data.name_of(ref)} if ref else None
    return {
        "activity_id": activity["Id"],
        "screen_pop": {
            "record_type": rtype,
            "record_id": rid,
            "name": name,
            "url": screen_pop_url(rtype, rid),
        },
        "links": links,
    }
