"""Canonical events → ECE stanzas M1-M7 (spec/cisco-ece.md 5.8; native.md 4.3) and the JSON
transcript (6.3). Rendering is a pure function of the event log and the chat's templates, so a
replayed or re-read range renders to the same bytes on every node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frontdesk.domain.events import Event
from frontdesk.domain.model import Chat
from frontdesk.faces.ece.codec import agent_html, encode_body, render_template, xml_text

SYSTEM_END_REASONS = frozenset({"inactivity", "queue_timeout", "failed", "system"})


def screen_name(chat: Chat, by: Mapping[str, Any] | None, party_id: str | None = None) -> str:
    wanted = party_id or (by or {}).get("id")
    for p in chat.participants:
        if p.id == wanted:
            return p.screen_name or p.display_name
    return str((by or {}).get("display_name") or "Agent")


def _param(key: str, value: str) -> str:
    return (
        f"<ns2:egainAdditionalParam><ns2:paramKey>{xml_text(key)}</ns2:paramKey>"
        f"<ns2:paramValue>{xml_text(value)}</ns2:paramValue></ns2:egainAdditionalParam>"
    )


def m1(text: str, command: str = "") -> str:
    body = encode_body(text)
    return f'<ns3:message type="headline" from="system"><ns3:body>{body}</ns3:body>{command}</ns3:message>'


def m2(text: str, name: str) -> str:
    param = _param("agentName", name)
    cmd = f"<ns2:egainCommand><ns2:subcmd>agentPickup</ns2:subcmd>{param}</ns2:egainCommand>"
    return m1(text, cmd)


def m3(name: str, html_text: str, command: str = "") -> str:
    return (
        f'<ns3:message type="chat" from="{name}"><ns3:body>{encode_body(html_text)}</ns3:body>'
        f"{command}</ns3:message>"
    )


def typing(name: str, on: bool) -> str:
    body = "typing_message" if on else "0"
    return f'<ns3:message type="normal" from="{name}"><ns3:body>{body}</ns3:body></ns3:message>'


class Renderer:
    """Renders one chat's events with that chat's client templates and the tenant defaults."""

    def __init__(self, chat: Chat, client: Mapping[str, str], defaults: Mapping[str, str]) -> None:
        self.chat = chat
        self.client = client
        self.defaults = defaults

    def text(self, key: str, arg: str | None = None) -> str:
        return render_template(key, self.client, self.defaults, arg)

    def system_text(self, ev: Event) -> str | None:
        """The system message an event shows the customer (also its transcript line), or None."""
        d = ev.data
        if ev.kind == "created":
            return self.text("cust_welcome_msg") or None
        if ev.kind == "party_joined" and (d.get("party") or {}).get("role") == "lead":
            return self.text("agent_join_msg", self._party_name(d))
        if (
            ev.kind == "party_left"
            and d.get("reason") in ("logged_out", "removed")
            and d.get("role") == "lead"
        ):
            return self.text("agent_left_session", self._party_name(d))
        if ev.kind == "transferred":
            to = d.get("to") or {}
            key = "agent_transfer_msg" if to.get("type") == "agent" else "queue_transfer_msg"
            return self.text(key, str(to.get("display_name") or to.get("queue") or ""))
        if ev.kind == "ended":
            reason = d.get("reason")
            if reason == "agent":
                by = ev.by.to_json() if ev.by else None
                return self.text("agent_close_session", screen_name(self.chat, by))
            if reason in SYSTEM_END_REASONS:
                return self.text("system_close_session")
        return None

    def _party_name(self, d: Mapping[str, Any]) -> str:
        party = d.get("party") or {}
        return str(party.get("screen_name") or screen_name(self.chat, party, party.get("id")))

    def stanza(self, ev: Event) -> str | None:
        d = ev.data
        by = ev.by.to_json() if ev.by else None
        if ev.kind == "message":
            if ev.by is None or ev.by.kind == "customer" or d.get("visibility", "all") != "all":
                return None
            body = d.get("html") or agent_html(str(d.get("text") or ""))
            return m3(screen_name(self.chat, by), body)
        if ev.kind == "typing":
            if ev.by is None or ev.by.kind == "customer":
                return None
            return typing(screen_name(self.chat, by), bool(d.get("typing")))
        if ev.kind == "activity" and d.get("type") == "page_push" and ev.by is not None:
            url = str((d.get("data") or {}).get("url") or d.get("url") or "")
            if not url.lower().startswith(("http://", "https://")):
                return None
            esc = xml_text(url).replace('"', "&quot;")
            link = self.text("pagepush_msg", None).replace(
                "{0}", f'<a href="{esc}" target="_blank">{esc}</a>'
            )
            cmd = "<ns2:egainCommand><ns2:subcmd>pagePushLink</ns2:subcmd></ns2:egainCommand>"
            return m3(screen_name(self.chat, by), link, cmd)
        text = self.system_text(ev)
        if text is None:
            return None
        if ev.kind == "party_joined":
            return m2(text, self._party_name(d))
        if ev.kind == "transferred":
            to = d.get("to") or {}
            kind = "1" if to.get("type") == "agent" else "2"
            cmd = (
                "<ns2:egainCommand><ns2:subcmd>activityTransfer</ns2:subcmd>"
                + _param("eglvtransfertype", kind)
                + _param("eglvtransferEntityName", str(to.get("display_name") or to.get("queue") or ""))
                + _param("chatAttachment", "0")
                + "</ns2:egainCommand>"
            )
            return m1(text, cmd)
        return m1(text)

    def transcript_entry(self, ev: Event) -> dict[str, Any] | None:
        d = ev.data
        ms = int(ev.at * 1000)
        if ev.kind == "message" and ev.by is not None and d.get("visibility", "all") == "all":
            if ev.by.kind == "customer":
                body = d.get("html") or agent_html(str(d.get("text") or ""))
                sender = {"name": self.chat.customer.display_name, "type": "Customer"}
            else:
                body = d.get("html") or agent_html(str(d.get("text") or ""))
                sender = {"name": screen_name(self.chat, ev.by.to_json()), "type": "Agent"}
            return {"body": body, "sender": sender, "timeStamp": ms, "offRecord": False}
        text = self.system_text(ev)
        if text is None:
            return None
        return {
            "body": text,
            "sender": {"name": "system", "type": "System"},
            "timeStamp": ms,
            "offRecord": False,
        }


def assigned_to(chat: Chat) -> str | None:
    lead = chat.lead()
    return (lead.screen_name or lead.display_name) if lead is not None else None
