"""The five entry-point web services of the seed and ``initialize`` (spec/cisco-ece.md 3, 6.1).

Every figure comes from the engine at request time (``queue_figures`` with face ``ece``, so agents
that do not take ECE chats are not counted, and the demo agent Alex is); this module only decides
which of the spec's answers applies and renders its exact bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from frontdesk.engine.engine import Engine
from frontdesk.faces.ece.http import NSDECL, XML_DECL, EntryPoint


@dataclass(slots=True)
class Verdict:
    agents_ok: bool
    free_slots: int
    waiting: int
    wait_seconds: float
    depth_reached: bool
    running: bool
    open_for_chats: bool  # the tenant's ECE channel and the entry point's calendar allow chats


def assess(engine: Engine, found: EntryPoint) -> Verdict:
    tenant, ep = found.tenant, found.ep
    fig = engine.queue_figures(tenant, ep.queue, face="ece")
    agents_ok = (not ep.agent_availability_required) or fig.ready_agents > 0
    processing = fig.waiting + fig.active_chats
    depth_reached = ep.max_queue_depth is not None and processing >= ep.max_queue_depth
    wait = float(engine.queue_ewt(tenant, ep.queue, fig.waiting, face="ece")) if fig.waiting > 0 else 0.0
    face = tenant.config.faces.ece
    return Verdict(
        agents_ok=agents_ok,
        free_slots=fig.slots_free,
        waiting=fig.waiting,
        wait_seconds=wait,
        depth_reached=depth_reached,
        running=not tenant.paused,
        open_for_chats=face.enabled,
    )


def seconds(value: float) -> str:
    """One decimal digit, as the seed's ``3.0``."""
    return f"{round(value, 1):.1f}"


def response_type(v: Verdict) -> int:
    if not v.agents_ok:
        return 1
    if v.depth_reached:
        return 2
    return 0


def refusal(found: EntryPoint, v: Verdict) -> str | None:
    """The first applicable chatAllowed reason (3.5), or None when chats are allowed."""
    if not found.ep.enabled:
        return "entry_point_inactive"
    if not v.running:
        return "service_not_running"
    if not v.agents_ok:
        return "agent_not_available"
    if v.depth_reached:
        return "queue_depth_reached"
    if not v.open_for_chats:
        return "other"
    return None


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def agent_availability(v: Verdict, as_json: bool) -> tuple[str, str]:
    flag = "true" if v.agents_ok else "false"
    if as_json:
        return _compact({"available": v.agents_ok}), "application/json"
    return f'{XML_DECL}<agentAvailability available="{flag}" {NSDECL}/>', "application/xml"


def capacity(v: Verdict, as_json: bool) -> tuple[str, str]:
    if as_json:
        return _compact({"count": v.free_slots}), "application/json"
    body = f"{XML_DECL}<availableSlots {NSDECL}>\n  <ns2:count>{v.free_slots}</ns2:count>\n</availableSlots>"
    return body, "application/xml"


def session_status_xml(wait: float, depth: int, alt: int | None = None) -> str:
    lines = [
        f"{XML_DECL}<sessionStatus {NSDECL}>",
        f"  <ns2:waitTime>{seconds(wait)}</ns2:waitTime>",
        f"  <ns2:queueDepth>{depth}</ns2:queueDepth>",
    ]
    if alt is not None:
        lines.append(f"  <ns2:altEngmtTime>{alt}</ns2:altEngmtTime>")
    lines.append("</sessionStatus>")
    return "\n".join(lines)


def live_session_status(v: Verdict, as_json: bool) -> tuple[str, str]:
    if as_json:
        return (
            f'{{"waitTime":{seconds(v.wait_seconds)},"queueDepth":{v.waiting}}}',
            "application/json",
        )
    return session_status_xml(v.wait_seconds, v.waiting), "application/xml"


def check_eligibility(v: Verdict, as_json: bool) -> tuple[str, str]:
    kind = response_type(v)
    if as_json:
        return _compact({"responseType": kind}), "application/json"
    return f'{XML_DECL}<checkEligibility {NSDECL} responseType="{kind}"/>', "application/xml"


def chat_allowed(reason: str | None, as_json: bool) -> tuple[str, str]:
    if as_json:
        out: dict[str, object] = {"allowed": reason is None}
        if reason is not None:
            out["reason"] = reason
        return _compact(out), "application/json"
    if reason is None:
        return f'{XML_DECL}<chatAllowed {NSDECL} allowed="true"/>', "application/xml"
    return f'{XML_DECL}<chatAllowed {NSDECL} allowed="false" reason="{reason}"/>', "application/xml"


HTML_TAG_MATCHER = "((?:<[^>]*>)*)"


def initialize(found: EntryPoint) -> str:
    patterns = [
        {
            "regEx": p.regex,
            "maskingChar": p.mask_char,
            "charToRetainLeft": p.retain_left,
            "charToRetainRight": p.retain_right,
            "luhnAlgo": "1" if p.luhn else "0",
        }
        for p in found.ep.masking_patterns
    ]
    return _compact(
        {
            "entryPointId": found.id,
            "active": found.ep.enabled,
            "maskingPatterns": {"maskingPattern": patterns},
            "htmlTagMatcherRegEx": HTML_TAG_MATCHER,
            "htmlTagMatcherIncr": 1,
        }
    )
