"""Turn fetched bytes into text in the charset the publisher meant, whatever the headers claim.

Order of evidence (the WHATWG encoding sniffing algorithm, the XML spec, feedparser and Miniflux):

1. a byte-order mark, or the first bytes of an XML document in UTF-16/32 without one (XML 1.0 F.1),
   or UTF-16/32 told by where the NULs of its ASCII characters fall;
2. bytes that are valid UTF-8 (ISO-2022-JP escapes aside), even when a declaration says otherwise:
   a lying declaration is far more common than Latin text that happens to be valid UTF-8 (Miniflux
   does the same), and XML with no declaration is UTF-8 by definition;
3. the declared charset, in this order: the caller's label, the HTTP Content-Type, the XML
   declaration, the HTML ``<meta>`` (comments skipped, as the WHATWG prescan does), each taken only
   when it decodes cleanly and the result looks like text;
4. a body that is mostly UTF-8 with a few stray bytes: UTF-8, the stray bytes read as windows-1252;
5. detection: Firefox's detector (chardetng), which prefers windows-1252 over the rarer Latin pages
   when the bytes fit both and scores Arabic, Cyrillic, Hebrew, Greek and CJK by their letters, with
   the URL's top-level domain as a hint; then charset-normalizer's candidates;
6. a detected codec with replacement characters, then UTF-8 with them.

Every candidate from 3 on passes a mojibake check (`misdecoded`) before it is taken; a flagged one
is skipped for the next, and the skip is recorded in `Decoded.rejected`. When every candidate is
flagged, the first (the strongest evidence) stands, its refusal recorded.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

import chardetng_py
import charset_normalizer

Method = Literal[
    "bom",
    "xml-utf16",
    "nul-pattern",
    "utf-8",
    "declared",
    "http",
    "xml-declaration",
    "html-meta",
    "mostly-utf-8",
    "detected",
    "fallback",
]

# Longest BOM first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 appendix F.1: "<?" in UTF-32 or UTF-16 without a byte-order mark.
_XML_UTF16 = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
# Browsers decode these labels as their supersets (WHATWG Encoding); publishers rely on it.
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
    "big5": "big5hkscs",
}
# WHATWG names (chardetng answers with them) that Python spells differently.
_WHATWG_NAMES = {"iso-8859-8-i": "iso8859-8", "x-mac-cyrillic": "mac-cyrillic", "windows-874": "cp874"}
_LABEL = rb"""["']?\s*([A-Za-z][A-Za-z0-9._:-]{0,39})"""
_XML_PROLOG = re.compile(rb"<\?xml[^>]{0,200}?\sencoding\s*=\s*" + _LABEL)
_HTML_META = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*" + _LABEL, re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.DOTALL)
_XML_PROLOG_TEXT = re.compile(r"""(<\?xml[^>]{0,200}?\sencoding\s*=\s*)(["'])[^"']*\2""")
_PROLOG_SCAN = 1024
_META_SCAN = 4096
# Detection reads this much: enough letters to score, and the cost stays flat for large pages.
_DETECT_SCAN = 65_536


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded text, the Python codec that produced it, the rule that chose it, and what was refused.

    `rejected` names each earlier candidate skipped because its text looked mis-decoded, with why,
    e.g. ``("cp1257: foreign letters",)``.
    """

    text: str
    encoding: str
    method: Method = "utf-8"
    rejected: tuple[str, ...] = ()

    @property
    def rule(self) -> str:
        """One line for people: which rule decided, the codec, and any candidate refused."""
        line = f"{self.method}: {self.encoding}"
        return line + (f" (refused {'; '.join(self.rejected)})" if self.rejected else "")


def decode_body(
    content: bytes,
    *,
    declared: str | None = None,
    content_type: str | None = None,
    url: str | None = None,
) -> Decoded:
    """Decode a fetched body.

    `declared` is a charset label from elsewhere (it goes first), `content_type` a raw Content-Type
    header, `url` where the body came from (its top-level domain is a hint for detection).
    """
    early = _strip_bom(content) or _xml_utf16(content) or _utf16_by_nuls(content)
    if early is not None:
        return early
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _iso2022(content) or Decoded(text, "utf-8", "utf-8")
    rejected: list[str] = []
    first: Decoded | None = None
    for candidate, measure in _candidates(content, declared, content_type, url):
        first = first or candidate
        reason = misdecoded(candidate.text, candidate.encoding)
        if reason is None and measure and not _looks_like_text(content, candidate.encoding):
            reason = "not text by its letters"
        if reason is None:
            return Decoded(candidate.text, candidate.encoding, candidate.method, tuple(rejected))
        rejected.append(f"{candidate.encoding}: {reason}")
    if first is not None:  # every candidate looked wrong: the strongest evidence stands
        return Decoded(first.text, first.encoding, first.method, tuple(rejected))
    return Decoded(content.decode("utf-8", "replace"), "utf-8", "fallback", tuple(rejected))


def to_utf8_xml(
    content: bytes, *, declared: str | None = None, content_type: str | None = None, url: str | None = None
) -> bytes:
    """Return an XML document as UTF-8 bytes whose prolog says utf-8, ready for feedparser.

    The contract with the feed reader: decode with `decode_body` rules, then hand feedparser these
    bytes and no Content-Type charset, so feedparser cannot re-decode them with a lying declaration.
    A BOM is dropped; a document without a prolog stays without one (XML then means UTF-8).
    """
    return decode_xml(content, declared=declared, content_type=content_type, url=url)[0]


def decode_xml(
    content: bytes, *, declared: str | None = None, content_type: str | None = None, url: str | None = None
) -> tuple[bytes, Decoded]:
    """`to_utf8_xml`, with the `Decoded` that says how the bytes were read."""
    decoded = decode_body(content, declared=declared, content_type=content_type, url=url)
    return declare_utf8(decoded.text).encode("utf-8"), decoded


def declare_utf8(text: str) -> str:
    """Rewrite the encoding in an already decoded XML prolog to utf-8; other text is unchanged."""
    return _XML_PROLOG_TEXT.sub(r"\1\2utf-8\2", text, count=1)


def codec_name(label: str) -> str | None:
    """The Python codec for a charset label (browser supersets applied), or None if unknown."""
    cleaned = label.strip().strip("\"'").lower()
    if not cleaned:
        return None
    try:
        name = codecs.lookup(_WHATWG_NAMES.get(cleaned, cleaned)).name
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


def _xml_utf16(content: bytes) -> Decoded | None:
    for start, codec in _XML_UTF16:
        if content.startswith(start):
            return Decoded(content.decode(codec, "replace"), codec, "xml-utf16")
    return None


def _utf16_by_nuls(content: bytes) -> Decoded | None:
    """UTF-16 or UTF-32 with no BOM, told by where the NUL bytes of its ASCII characters fall.

    NULs are valid UTF-8, so such text would otherwise pass for UTF-8; no page or feed has them.
    """
    head = content[:_NUL_SCAN]
    if b"\x00" not in head or len(head) < 8:
        return None
    share = [column.count(0) / len(column) for column in (head[i::4] for i in range(4))]
    for codec, zeros in _NUL_COLUMNS:
        pattern_holds = all((share[i] > 0.3) == (i in zeros) for i in range(4))
        if pattern_holds and not any(share[i] > 0.05 for i in range(4) if i not in zeros):
            try:
                return Decoded(content.decode(codec), codec, "nul-pattern")
            except UnicodeDecodeError:
                return None
    return None


_NUL_SCAN = 1024
# Which byte columns (position modulo 4) hold the NULs of ASCII text in each encoding.
_NUL_COLUMNS = (
    ("utf-32-le", {1, 2, 3}),
    ("utf-32-be", {0, 1, 2}),
    ("utf-16-le", {1, 3}),
    ("utf-16-be", {0, 2}),
)
# ISO-2022-JP is 7-bit, so valid UTF-8: its escape sequences give it away (as browsers detect it).
_ISO2022_JP = re.compile(rb"\x1b\$[@B]|\x1b\(J")


def _iso2022(content: bytes) -> Decoded | None:
    if b"\x1b" not in content or not _ISO2022_JP.search(content):
        return None
    try:
        return Decoded(content.decode("iso2022_jp"), "iso2022_jp", "detected")
    except UnicodeDecodeError:
        return None


def _candidates(
    content: bytes, declared: str | None, content_type: str | None, url: str | None
) -> Iterator[tuple[Decoded, bool]]:
    """Decodings in the order of evidence, each produced only when the one before it was refused.

    The flag asks for charset-normalizer's mess measure too: a declared single-byte page decodes
    any bytes, so decoding cleanly proves nothing (detected ones have passed that measure already).
    """
    tried: set[str] = set()
    for method, label in _declared_labels(content, declared, content_type):
        codec = codec_name(label)
        if codec is None or codec in tried:
            continue
        tried.add(codec)
        decoded = _decode_strict(content, codec, method)
        if decoded is not None:
            yield decoded, True
    mostly = _mostly_utf8(content)
    if mostly is not None:
        yield mostly, False
    broken: list[str] = []
    for codec in _detected(content, url):
        if codec not in tried:
            tried.add(codec)
            decoded = _decode_strict(content, codec, "detected")
            if decoded is not None:
                yield decoded, False
            else:
                broken.append(codec)
    # Only a few bytes fail the detected codec (a truncated character, a stray byte): its text still
    # beats UTF-8 with replacement characters.
    for codec in broken:
        yield Decoded(content.decode(codec, "replace"), codec, "detected"), False


def _declared_labels(
    content: bytes, declared: str | None, content_type: str | None
) -> list[tuple[Method, str]]:
    labels: list[tuple[Method, str]] = []
    if declared:
        labels.append(("declared", declared))
    if content_type:
        labels.append(("http", _header_charset(content_type) or ""))
    prolog = _XML_PROLOG.search(content, 0, _PROLOG_SCAN)
    if prolog:
        labels.append(("xml-declaration", prolog.group(1).decode("ascii")))
    head = _COMMENT.sub(b"", content[:_META_SCAN])
    meta = _HTML_META.search(head)
    if meta:
        labels.append(("html-meta", meta.group(1).decode("ascii")))
    return [(method, label) for method, label in labels if label]


def _header_charset(content_type: str) -> str | None:
    message = Message()
    message["content-type"] = content_type
    charset = message.get_content_charset()
    return charset.strip().strip("\"'") if charset else None


def _decode_strict(content: bytes, codec: str, method: Method) -> Decoded | None:
    try:
        return Decoded(content.decode(codec), codec, method)
    except (UnicodeDecodeError, LookupError):  # LookupError: a non-text codec such as base64
        return None


def _looks_like_text(content: bytes, codec: str) -> bool:
    # Single-byte code pages decode almost any bytes "cleanly"; Arabic windows-1256 labelled
    # windows-1252 or koi8-r is mojibake that only a mess measure can tell apart.
    return bool(charset_normalizer.from_bytes(content[:_DETECT_SCAN], cp_isolation=[codec]))


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
# At most one stray byte per this many bytes in UTF-8 sequences: legacy text in a single-byte page
# forms UTF-8 sequences by chance far more rarely (an Arabic letter before "،" in windows-1256).
_STRAY_RATIO = 4


def _mostly_utf8(content: bytes) -> Decoded | None:
    """UTF-8 with stray single bytes (a Latin-1 byte pasted into a UTF-8 feed) read as windows-1252."""
    in_sequences = sum(len(match) for match in _UTF8_SEQUENCE.findall(content))
    stray = len(_HIGH_BYTE.findall(content)) - in_sequences
    if in_sequences == 0 or stray * _STRAY_RATIO > in_sequences:
        return None
    return Decoded(content.decode("utf-8", "newsbrief-cp1252"), "utf-8", "mostly-utf-8")


def _stray_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    stray = error.object[error.start : error.end]
    return stray.decode("cp1252", "replace"), error.end


codecs.register_error("newsbrief-cp1252", _stray_as_cp1252)


def _detected(content: bytes, url: str | None) -> Iterator[str]:
    """Firefox's guess, then charset-normalizer's candidates (computed only if the guess is refused)."""
    sample = content[:_DETECT_SCAN]
    guess = codec_name(chardetng_py.detect(sample, allow_utf8=False, tld=_tld(url)))
    if guess:
        yield guess
    for match in charset_normalizer.from_bytes(sample):
        codec = codec_name(match.encoding)
        if codec and codec != guess:
            yield codec


def _tld(url: str | None) -> bytes | None:
    host = urlsplit(url).hostname if url else None
    label = host.rsplit(".", 1)[-1] if host and "." in host else ""
    return label.encode("ascii") if label.isascii() and label.isalpha() else None


# --- the mojibake check ---------------------------------------------------------------------

# The accented letters each common written language uses; text whose accented letters fit none of
# them was read with another language's code page ("Notķcias", "simulaēões" for "Notícias").
_ALPHABETS = (
    "áâãàçéêíóôõúü",  # Portuguese
    "áéíóúüñ",  # Spanish
    "àâæçéèêëîïôœùûüÿ",  # French
    "àèéìíîòóùú",  # Italian
    "äöüßé",  # German
    "áéëïóöüè",  # Dutch
    "àçéèíïòóúü",  # Catalan
    "åäöéü",  # Swedish, Finnish
    "æøåéó",  # Danish, Norwegian
    "áðéíóúýþæö",  # Icelandic
    "õäöüšž",  # Estonian
    "āčēģīķļņšūž",  # Latvian
    "ąčęėįšųūž",  # Lithuanian
    "ąćęłńóśźż",  # Polish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "áéíóöőúüű",  # Hungarian
    "ăâîșțşţ",  # Romanian
    "čćđšž",  # Croatian, Bosnian, Serbian (Latin), Slovene
    "çğıöşüâî",  # Turkish, Azerbaijani
    "çë",  # Albanian
    "ċġħżàèìòù",  # Maltese
    "âêîôûŵŷ",  # Welsh
)
_ALPHABET_SETS = tuple(frozenset(alphabet) for alphabet in _ALPHABETS)
_LATIN_ACCENTED = re.compile(r"[\u00c0-\u024f]")
_FOREIGN_MIN_LETTERS = 4
_FOREIGN_MIN_SHARE = 0.8
# An accented capital straight after a lower-case letter ("ÇáÚÑÈíÉ", Arabic read as Latin).
_CAMEL = re.compile(r"(?<=[a-z\u00df-\u00ff])[\u00c0-\u00de]")
_CAMEL_MAX_SHARE = 0.1
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A Latin letter and a Greek, Cyrillic, Hebrew or Arabic one side by side in a word ("Mьller",
# "иtи": Latin-1 read as windows-1251). Real words keep to one script.
_OTHER_SCRIPT = "\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff"
_MIXED_SCRIPTS = re.compile(f"[A-Za-z][{_OTHER_SCRIPT}]|[{_OTHER_SCRIPT}][A-Za-z]")
_WORD_WITH_OTHER_SCRIPT = re.compile(f"\\w*[{_OTHER_SCRIPT}]\\w*")
_MIXED_MIN = 3
_MIXED_MAX_SHARE = 0.05


def misdecoded(text: str, codec: str) -> str | None:
    """Why `text`, decoded from bytes with `codec`, looks mis-decoded, or None when it looks right.

    Cheap checks, meant for the decodings of legacy code pages (UTF-8 is never checked):
    UTF-8 sequences read as single bytes ("Ã©", "Ø§"); accented Latin letters that fit no single
    language's alphabet; accented capitals inside lower-case words.
    """
    if codec.startswith("utf"):
        return None
    if _utf8_read_as_single_bytes(text, codec):
        return "UTF-8 read as single bytes"
    if _mixed_scripts(text):
        return "Latin and another script inside words"
    letters = Counter(c.lower() for c in _LATIN_ACCENTED.findall(text) if c.isalpha())
    total = sum(letters.values())
    if total < _FOREIGN_MIN_LETTERS:
        return None
    if len(_CAMEL.findall(text)) > _CAMEL_MAX_SHARE * total:
        return "accented capitals inside words"
    best = max(sum(n for c, n in letters.items() if c in alphabet) for alphabet in _ALPHABET_SETS)
    if best < _FOREIGN_MIN_SHARE * total:
        return "accented letters of no one language"
    return None


def _mixed_scripts(text: str) -> bool:
    mixed = len(_MIXED_SCRIPTS.findall(text))
    if mixed < _MIXED_MIN:
        return False
    return mixed > _MIXED_MAX_SHARE * len(_WORD_WITH_OTHER_SCRIPT.findall(text))


def _utf8_read_as_single_bytes(text: str, codec: str) -> bool:
    pattern = _utf8_mojibake_pattern(codec)
    if pattern is None:
        return False
    found = pattern.findall(text)
    if len(found) < 2:
        return False
    in_sequences = sum(len(span) for span in found if _is_utf8(span, codec))
    non_ascii = len(_NON_ASCII.findall(text))
    return in_sequences >= 0.5 * non_ascii


def _is_utf8(span: str, codec: str) -> bool:
    try:
        span.encode(codec).decode("utf-8")
    except UnicodeError:
        return False
    return True


@cache
def _utf8_mojibake_pattern(codec: str) -> re.Pattern[str] | None:
    """A lead byte of a UTF-8 sequence followed by continuation bytes, as `codec` renders them."""
    try:
        leads = bytes(range(0xC2, 0xF5)).decode(codec, "ignore")
        continuations = bytes(range(0x80, 0xC0)).decode(codec, "ignore")
    except LookupError:
        return None
    if len(leads) != 0xF5 - 0xC2:  # a multi-byte code page: bytes are not characters
        return None
    return re.compile(f"[{re.escape(leads)}][{re.escape(continuations)}]{{1,3}}")
