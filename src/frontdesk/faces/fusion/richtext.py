"""postMessage ``richText`` bodies: the allow-list sanitiser of cisco-ece.md §5.11 rule X and the
plain text derived from it (native.md §4.2: ``text`` is always plain, ``html`` already sanitised)."""

from __future__ import annotations

import html
from html.parser import HTMLParser

ALLOWED = frozenset({"b", "strong", "i", "em", "u", "br", "p", "span", "a"})
DROPPED = frozenset({"script", "style", "iframe", "object", "embed"})
_VOID = frozenset({"br"})
_SCHEMES = ("http:", "https:", "mailto:")


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html: list[str] = []
        self.text: list[str] = []
        self.skip = 0
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.text.append("\n")
        elif tag == "p" and self.text:
            self.text.append("\n")
        if tag not in ALLOWED:
            return
        kept = ""
        if tag == "a":
            for name, value in attrs:
                if value is None:
                    continue
                if name == "href" and value.strip().lower().startswith(_SCHEMES):
                    kept += f' href="{html.escape(value.strip(), quote=True)}"'
                elif name in ("target", "rel"):
                    kept += f' {name}="{html.escape(value, quote=True)}"'
        if tag in _VOID:
            self.html.append(f"<{tag} />")
        else:
            self.open.append(tag)
            self.html.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in DROPPED:
            self.skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or tag not in ALLOWED or tag in _VOID or tag not in self.open:
            return
        while self.open:
            top = self.open.pop()
            self.html.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.html.append(html.escape(data, quote=False))
            self.text.append(data)


def sanitise(body: str) -> tuple[str, str]:
    """``(safe_html, plain_text)`` of a customer's HTML line."""
    parser = _Sanitiser()
    parser.feed(body)
    parser.close()
    while parser.open:
        parser.html.append(f"</{parser.open.pop()}>")
    return "".join(parser.html), "".join(parser.text).replace("\xa0", " ").strip()
