"""Text rules of the ECE face (spec/cisco-ece.md 5.3.1, 5.3.2, 5.7, 5.11, 6.1).

Everything here is pure string work so that it can be tested without a server: the double body
encoding both client decoders undo, the client's `messagingData` templates, the allow-list HTML
sanitiser and the server-side masking that must match what the eGain library does in the browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import partial
from html.parser import HTMLParser
from string import ascii_letters, digits

from frontdesk.config.models import MaskingPattern

# -- 5.7 body encoding ------------------------------------------------------------------------

_CARET = {"%": "^25", "^": "^5e", "+": "^2b", '"': "^22", "'": "^27", ",": "^2c", "\\": "^5c"}
_SAFE = frozenset(ascii_letters + digits + "@*_-./")


def encode_body(text: str) -> str:
    """Caret step then JavaScript ``escape`` without ``%u``: the only form that survives both the
    library's ``unescape`` chain and smack-ece's ``URLDecoder`` chain unchanged."""
    careted = "".join(_CARET.get(c, c) for c in text)
    return "".join(c if ord(c) >= 128 or c in _SAFE else f"%{ord(c):02X}" for c in careted)


def xml_text(value: str) -> str:
    """Escape for element text: only the escapes 8.2 allows."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(value: str) -> str:
    return xml_text(value).replace('"', "&quot;")


# -- 5.3.2 double escaping of the eGain library ------------------------------------------------

_SECOND = re.compile(r"&(amp|lt|gt|quot|#39|apos);")
_SECOND_MAP = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'", "apos": "'"}
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def undouble(value: str) -> str:
    """The library escapes values before Strophe escapes the XML again; undo the inner layer once."""
    value = _SECOND.sub(lambda m: _SECOND_MAP[m.group(1)], value)
    return _BR.sub("\n", value)


# -- 5.3.1 messagingData -----------------------------------------------------------------------

MESSAGING_MAX_CHARS = 128 * 1024
MESSAGING_MAX_ENTRIES = 2000
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def unwrap_messaging(raw: str) -> str:
    text = raw.strip()
    if text.startswith("<![CDATA[") and text.endswith("]]>"):
        text = text[len("<![CDATA[") : -len("]]>")]
    return text[:MESSAGING_MAX_CHARS]


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    buf = ""
    cont = False
    for line in text.splitlines():
        piece = line.lstrip(" \t\f") if cont else line
        if not cont and piece.lstrip(" \t\f")[:1] in ("#", "!"):
            continue
        trailing = len(piece) - len(piece.rstrip("\\"))
        if trailing % 2 == 1:
            buf += piece[:-1]
            cont = True
            continue
        out.append(buf + piece)
        buf, cont = "", False
    if cont and buf:
        out.append(buf)
    return out


def _unescape_props(s: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2 : i + 6]):
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_properties(text: str) -> dict[str, str]:
    """java.util.Properties rules; the trailing whitespace of a value is kept, as Java does."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        line = line.lstrip(" \t\f")
        if not line:
            continue
        i = 0
        while i < len(line) and line[i] not in "=: \t\f":
            i += 2 if line[i] == "\\" else 1
        key = line[:i]
        rest = line[i:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        k, v = _unescape_props(key), _unescape_props(rest)
        if not k or len(k) > 200:
            continue
        if k not in result and len(result) >= MESSAGING_MAX_ENTRIES:
            continue
        result[k] = v[:8000]
    return result


def render_template(
    key: str, client: Mapping[str, str], defaults: Mapping[str, str], arg: str | None = None
) -> str:
    """The client's template, else the tenant default; ``{0}`` HTML-escaped; no trimming (5.3.1)."""
    template = client.get(key)
    if template is None:
        template = defaults.get(key, "")
    if arg is not None:
        template = template.replace("{0}", html.escape(arg, quote=True))
    return template


# -- 5.11 content rules ------------------------------------------------------------------------

_ALLOWED = frozenset({"b", "strong", "i", "em", "u", "br", "p", "span", "a"})
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed"})
_VOID = frozenset({"br"})
_SCHEMES = ("http:", "https:", "mailto:")


class _Sanitiser(HTMLParser):
    def __init__(self, masks: list[MaskingPattern]) -> None:
        super().__init__(convert_charrefs=True)
        self.masks = masks
        self.out: list[str] = []
        self.dropping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping:
            if tag in _DROP_WITH_CONTENT:
                self.dropping.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            self.dropping.append(tag)
            return
        if tag not in _ALLOWED:
            return
        kept = []
        if tag == "a":
            for name, value in attrs:
                if value is None:
                    continue
                if name == "href":
                    if value.strip().lower().startswith(_SCHEMES):
                        kept.append(f' href="{html.escape(value.strip(), quote=True)}"')
                elif name in ("target", "rel"):
                    kept.append(f' {name}="{html.escape(value, quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}{' /' if tag in _VOID else ''}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _DROP_WITH_CONTENT and self.dropping and self.dropping[-1] == tag:
            self.dropping.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag == self.dropping[-1]:
                self.dropping.pop()
            return
        if tag in _ALLOWED and tag not in _VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(mask(data, self.masks), quote=False))


def sanitise(raw_html: str, masks: list[MaskingPattern]) -> str:
    """Allow-list HTML with masking applied to text nodes only (rule X, 6.1)."""
    parser = _Sanitiser(masks)
    parser.feed(raw_html)
    parser.close()
    return "".join(parser.out)


def html_to_text(fragment: str) -> str:
    """Plain text of sanitised HTML: tags removed, entities decoded, ``<br>`` as newline (native 4.4)."""
    return html.unescape(re.sub(r"<[^>]*>", "", _BR.sub("\n", fragment)))


def blank(raw_html: str) -> bool:
    stripped = _BR.sub("", raw_html).replace("&nbsp;", "").replace("\u00a0", "")
    return not stripped.strip()


def agent_html(text: str) -> str:
    """Agents write plain text: escape it and keep line breaks (5.11)."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br />")


# -- 6.1 masking -------------------------------------------------------------------------------


def luhn_ok(digits_only: str) -> bool:
    if not digits_only:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits_only)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_one(m: re.Match[str], p: MaskingPattern) -> str:
    found = m.group(0)
    if p.luhn:
        if not re.fullmatch(r"[0-9 \-]+", found) or not luhn_ok(re.sub(r"\D", "", found)):
            return found
    n = len(found)
    out = []
    for i, ch in enumerate(found):
        keep = i < p.retain_left or i >= n - p.retain_right or ch in "\r\n"
        out.append(ch if keep else p.mask_char)
    return "".join(out)


def mask(text: str, patterns: list[MaskingPattern]) -> str:
    for p in patterns:
        try:
            compiled = re.compile(p.regex, re.IGNORECASE)
        except re.error:
            continue
        text = compiled.sub(partial(_mask_one, p=p), text)
    return text
