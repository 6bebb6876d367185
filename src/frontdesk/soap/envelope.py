"""Envelope parsing with the one hardened lxml parser (ARCHITECTURE.md 6, 10.7).

The parser never loads a DTD, resolves an entity, touches the network or builds a huge tree; a
DOCTYPE is refused outright (before parsing when it is visible in the bytes, after parsing when an
unusual encoding hid it), and the tree's depth, size and attribute counts are checked before any
face reads it. Lookups below the envelope are by local name only (lenient input, 10.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from lxml import etree  # type: ignore[import-untyped]

from frontdesk.soap.faults import SOAP11_NS, SoapFault
from frontdesk.soap.policy import Limits, SoapPolicy

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
Element: TypeAlias = etree._Element

_DOCTYPE_MARKERS = tuple(
    b"<!DOCTYPE".decode().encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_blank_text=False,
    )


_PARSER = _parser()


@dataclass(slots=True)
class Envelope:
    root: Element
    headers: list[Element]
    body: Element
    operation: Element | None

    @property
    def operation_name(self) -> str | None:
        return local_name(self.operation) if self.operation is not None else None

    def header(self, name: str) -> Element | None:
        for h in self.headers:
            if local_name(h) == name:
                return h
        return None


def local_name(el: Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace_of(el: Element) -> str | None:
    tag = el.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return None


def elements(el: Element) -> list[Element]:
    return [c for c in el if isinstance(c.tag, str)]


def child(el: Element | None, name: str) -> Element | None:
    """First child with this local name, in any namespace or none (first occurrence wins)."""
    if el is None:
        return None
    for c in el:
        if isinstance(c.tag, str) and local_name(c) == name:
            return c
    return None


def children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str) and local_name(c) == name]


def text_of(el: Element | None) -> str | None:
    """The element's whole text content (comments skipped), or None when the element is absent."""
    if el is None:
        return None
    return "".join(t for t in el.itertext() if isinstance(t, str))


def _check_limits(root: Element, limits: Limits) -> None:
    count = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        count += 1
        if depth > limits.max_depth or count > limits.max_elements or len(el.attrib) > limits.max_attributes:
            raise SoapFault("TOO_COMPLEX")
        if limits.max_text is not None:
            n = limits.max_text
            if (
                len(el.text or "") > n
                or len(el.tail or "") > n
                or any(len(v) > n for v in el.attrib.values())
            ):
                raise SoapFault("TOO_COMPLEX")
        for c in el:
            if isinstance(c.tag, str):
                stack.append((c, depth + 1))


def parse_xml(data: bytes, limits: Limits) -> Element:
    if any(marker in data for marker in _DOCTYPE_MARKERS):
        raise SoapFault("DTD_FORBIDDEN")
    try:
        root: Element = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        raise SoapFault("MALFORMED_XML") from None
    except (ValueError, etree.LxmlError):
        raise SoapFault("MALFORMED_XML") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise SoapFault("DTD_FORBIDDEN")
    _check_limits(root, limits)
    return root


def parse_envelope(data: bytes, policy: SoapPolicy) -> Envelope:
    """Parse and check the SOAP 1.1 frame; faults use the catalogue ids of the RightNow spec §12.3."""
    root = parse_xml(data, policy.limits)
    if local_name(root) == "Envelope" and namespace_of(root) == SOAP12_NS:
        raise SoapFault("VERSION_MISMATCH")
    if local_name(root) != "Envelope" or namespace_of(root) != SOAP11_NS:
        raise SoapFault("NOT_SOAP")
    header: Element | None = None
    body: Element | None = None
    for c in elements(root):
        if namespace_of(c) != SOAP11_NS:
            continue
        if local_name(c) == "Header" and header is None:
            header = c
        elif local_name(c) == "Body" and body is None:
            body = c
    if body is None:
        raise SoapFault("NOT_SOAP")
    ops = elements(body)
    return Envelope(
        root=root,
        headers=elements(header) if header is not None else [],
        body=body,
        operation=ops[0] if ops else None,
    )


_TRUE = ("1", "true")


def check_must_understand(env: Envelope, policy: SoapPolicy) -> None:
    """Fault on a header block the face does not process but the sender says it must."""
    if not policy.enforce_must_understand:
        return
    for block in env.headers:
        if local_name(block) in policy.understood_headers:
            continue
        value = block.get(f"{{{SOAP11_NS}}}mustUnderstand")
        if value is None and policy.unqualified_must_understand:
            value = block.get("mustUnderstand")
        if value is not None and value.strip().lower() in _TRUE:
            raise SoapFault("MUST_UNDERSTAND")
