"""Hardened XML input for the ECE face (spec/cisco-ece.md 8.1, 10.1; ARCHITECTURE.md 6).

ECE is not SOAP, so it does not use ``frontdesk.soap``; it shares only the policy: no DTD, no entity
expansion, no network, any DOCTYPE refused, and structural limits checked before anything reads the
tree. Element and attribute names are matched by local name, whatever the namespace.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

MAX_DEPTH = 32
MAX_ELEMENTS = 5000
MAX_ATTRIBUTES = 64
MAX_ATTRIBUTE_VALUE = 64 * 1024
_DOCTYPE = re.compile(rb"<!\s*doctype", re.IGNORECASE)
_DOCTYPE16 = re.compile("<!\\s*doctype", re.IGNORECASE)

Element = Any  # lxml ships no type information


class BadXml(ValueError):
    """Not well-formed, a DOCTYPE, or over a structural limit: the caller answers 400."""


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


def _mentions_doctype(data: bytes) -> bool:
    if _DOCTYPE.search(data):
        return True
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and (data[0] == 0 or data[1] == 0)):
        for enc in ("utf-16",):
            try:
                return bool(_DOCTYPE16.search(data.decode(enc, errors="ignore")))
            except (LookupError, ValueError):
                return False
    return False


def parse(data: bytes) -> Element:
    """The root element of ``data``; raises BadXml. Call only after the size limit was checked."""
    if not data.strip():
        raise BadXml("empty body")
    if _mentions_doctype(data):
        raise BadXml("DOCTYPE refused")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise BadXml(str(exc)) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BadXml("DOCTYPE refused")
    count = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if not isinstance(el.tag, str):
            if isinstance(el, etree._Entity):
                raise BadXml("entity reference refused")
            continue
        count += 1
        if depth > MAX_DEPTH or count > MAX_ELEMENTS:
            raise BadXml("document too deep or too large")
        if len(el.attrib) > MAX_ATTRIBUTES:
            raise BadXml("too many attributes")
        for value in el.attrib.values():
            if len(value) > MAX_ATTRIBUTE_VALUE:
                raise BadXml("attribute value too long")
        stack.extend((child, depth + 1) for child in el)
    return root


def local(el: Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return str(etree.QName(tag).localname)


def ns(el: Element) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):
        return None
    value = etree.QName(tag).namespace
    return str(value) if value is not None else None


def attr(el: Element, name: str) -> str | None:
    """Attribute by local name in any namespace (smack-ece puts some in the eGain namespace)."""
    value = el.get(name)
    if value is not None:
        return str(value)
    for key, val in el.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return str(val)
    return None


def children(el: Element, name: str | None = None, *, fold: bool = False) -> list[Element]:
    out = []
    want = name.lower() if (name is not None and fold) else name
    for child in el:
        if not isinstance(child.tag, str):
            continue
        ln = local(child)
        if want is None or (ln.lower() if fold else ln) == want:
            out.append(child)
    return out


def child(el: Element, name: str, *, fold: bool = False) -> Element | None:
    found = children(el, name, fold=fold)
    return found[0] if found else None


def text(el: Element | None) -> str:
    """All text inside ``el`` (CDATA included), as the parser decoded it."""
    if el is None:
        return ""
    return "".join(str(t) for t in el.itertext())
