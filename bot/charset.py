"""Turn fetched bytes into text in the charset the publisher meant, whatever the headers claim.

Order of evidence: a byte-order mark; bytes that are valid UTF-8 (even when a declaration says
otherwise, because a lying declaration is far more common than Latin text that happens to be valid
UTF-8); the declared charset (HTTP header, then the XML prolog, then HTML `<meta>`) when it decodes
cleanly and the result looks like text; detection by charset-normalizer; UTF-8 with replacements.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email.message import Message
from typing import Literal

import charset_normalizer

Method = Literal["bom", "utf-8", "declared", "detected", "fallback"]

# Longest BOM first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Browsers decode these labels as their Windows supersets (WHATWG Encoding); publishers rely on it.
_SUPERSETS = {
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
}
_LABEL = rb"""["']?\s*([A-Za-z][A-Za-z0-9._:-]{0,39})"""
_XML_PROLOG = re.compile(rb"<\?xml[^>]{0,200}?\sencoding\s*=\s*" + _LABEL)
_HTML_META = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*" + _LABEL, re.IGNORECASE)
_XML_PROLOG_TEXT = re.compile(r"""(<\?xml[^>]{0,200}?\sencoding\s*=\s*)(["'])[^"']*\2""")
_PROLOG_SCAN = 1024
_META_SCAN = 4096


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded text, the Python codec name that produced it, and which evidence chose it."""

    text: str
    encoding: str
    method: Method = "utf-8"


def decode_body(content: bytes, *, declared: str | None = None, content_type: str | None = None) -> Decoded:
    """Decode a fetched body; `declared` is a charset label, `content_type` a raw Content-Type header."""
    bom = _strip_bom(content)
    if bom is not None:
        return bom
    try:
        return Decoded(content.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    fallback: Decoded | None = None
    for label in _declared_labels(content, declared, content_type):
        decoded = _try_declared(content, label)
        if decoded is None:
            continue
        if _looks_like_text(content, decoded.encoding):
            return decoded
        fallback = fallback or decoded
    return _detect(content) or fallback or Decoded(content.decode("utf-8", "replace"), "utf-8", "fallback")


def to_utf8_xml(content: bytes, *, declared: str | None = None, content_type: str | None = None) -> bytes:
    """Return an XML document as UTF-8 bytes whose prolog says utf-8, ready for feedparser.

    The contract with the feed reader: decode with `decode_body` rules, then hand feedparser these
    bytes and no Content-Type charset, so feedparser cannot re-decode them with a lying declaration.
    A BOM is dropped; a document without a prolog stays without one (XML then means UTF-8).
    """
    text = decode_body(content, declared=declared, content_type=content_type).text
    return declare_utf8(text).encode("utf-8")


def declare_utf8(text: str) -> str:
    """Rewrite the encoding in an already decoded XML prolog to utf-8; other text is unchanged."""
    return _XML_PROLOG_TEXT.sub(r"\1\2utf-8\2", text, count=1)


def codec_name(label: str) -> str | None:
    """The Python codec for a charset label (browser supersets applied), or None if unknown."""
    cleaned = label.strip().strip("\"'").lower()
    if not cleaned:
        return None
    try:
        name = codecs.lookup(cleaned).name
        # Python also registers codecs that are no charset: "undefined" raises on every byte,
        # base64 and rot13 are not text encodings. A probe decode weeds them all out.
        b"ab".decode(name, "replace")
    except (LookupError, ValueError, UnicodeError):  # ValueError: a label with a NUL in it
        return None
    return _SUPERSETS.get(name, name)


def _strip_bom(content: bytes) -> Decoded | None:
    for mark, codec in _BOMS:
        if content.startswith(mark):
            return Decoded(content[len(mark) :].decode(codec, "replace"), codec, "bom")
    return None


def _declared_labels(content: bytes, declared: str | None, content_type: str | None) -> list[str]:
    labels = [declared] if declared else []
    if content_type:
        labels.append(_header_charset(content_type) or "")
    for pattern, span in ((_XML_PROLOG, _PROLOG_SCAN), (_HTML_META, _META_SCAN)):
        found = pattern.search(content, 0, span)
        if found:
            labels.append(found.group(1).decode("ascii"))
    return [label for label in labels if label]


def _header_charset(content_type: str) -> str | None:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_charset()


def _try_declared(content: bytes, label: str) -> Decoded | None:
    codec = codec_name(label)
    if codec is None:
        return None
    try:
        return Decoded(content.decode(codec), codec, "declared")
    except (UnicodeDecodeError, LookupError):  # LookupError: a non-text codec such as base64
        return None


def _looks_like_text(content: bytes, codec: str) -> bool:
    # Single-byte code pages decode almost any bytes "cleanly"; Arabic windows-1256 labelled
    # windows-1252 or koi8-r is mojibake that only a mess measure can tell apart.
    return bool(charset_normalizer.from_bytes(content, cp_isolation=[codec]))


def _detect(content: bytes) -> Decoded | None:
    best = charset_normalizer.from_bytes(content).best()
    if best is None:
        return None
    return Decoded(str(best), codec_name(best.encoding) or best.encoding, "detected")
