"""Static WSDL documents served with this server's own address (ARCHITECTURE.md 10.11)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from frontdesk.soap.faults import xml_escape

_ADDRESS = re.compile(r'(<soap:address location=")[^"]*(")')


@cache
def _template(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def render_wsdl(package: str, name: str, endpoint: str) -> bytes:
    """The document as written, with only ``soap:address/@location`` replaced by ``endpoint``."""
    text = _template(package, name)
    out = _ADDRESS.sub(lambda m: m.group(1) + xml_escape(endpoint, attribute=True) + m.group(2), text)
    return out.encode("utf-8")
