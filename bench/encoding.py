"""Charset evaluation on the peers' own encoding suites: newsbrief's decoding beside feedparser's.

Run: python bench/encoding.py [--verbose]

Suites (files under tests/data/encoding/, origins and licences in its README):
- feedparser: every file of feedparser's tests/encoding, with the HTTP header its comment names;
- miniflux: the cases of Miniflux's internal/reader/encoding tests (label or Content-Type, and the
  text each test looks for);
- neighbours: real feeds and pages near the reported failure (Latin-1 with no declaration,
  declared Latin-1 and windows-1251, Arabic ISO-8859-6 and windows-1256 with no charset).

A case passes when the decoded text equals the text the suite expects: the bytes decoded with the
suite's expected encoding (feedparser, neighbours), or the text its test looks for (miniflux).
Both decoders see the same bytes and the same header. newsbrief's side is `bot.ingest.charset.decode_body`,
the function that feeds (`to_utf8_xml`), pages (`extract_page`) and fetches (`FetchResult.decoded`)
call; feedparser's side is `feedparser.parse(...).encoding` applied to the same bytes.
"""

from __future__ import annotations

import argparse
import codecs
import io
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser

from bot.ingest.charset import decode_body

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "encoding"
# Scripts whose every case must be right; "ascii" cases test only the rules, not the letters.
SCRIPTS = ("latin", "arabic", "cyrillic", "hebrew", "greek", "cjk")

# feedparser cases whose comment does not say `encoding == ...`: what the suite expects instead.
_FEEDPARSER_EXPECTED = {
    # The description says "unguessable characters" and the expectation is the windows-1252 reading
    # of UTF-8 ("â€™"): the suite pins feedparser's fallback, mojibake included.
    "bozo_linenoise.xml": "windows-1252",
    # RFC 3023's us-ascii for text/xml fails on these UTF-8 bytes; the prolog's utf-8 is expected.
    "bozo_http_i18n.xml": "utf-8",
    # A Latin-1 byte with no declaration: XML's UTF-8 fails, windows-1252 is the fallback.
    "bozo_encoding_mismatch_crash.xml": "windows-1252",
}
# Disagreements on purpose: the suite expects text that newsbrief refuses to show a reader.
KNOWN_DISAGREEMENTS = {"feedparser/bozo_linenoise.xml": "the suite expects mojibake (â€™ for ’)"}

# The grader reads the suites' own comments with its own sniffing, never with the code it grades.
_XML_UTF16 = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<", "utf-16-be"))
_XML_UTF16 += ((b"<\x00", "utf-16-le"),)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Case:
    """One input: bytes, the header or label the suite gives, and what a right decoding is."""

    suite: str
    name: str
    content: bytes
    content_type: str | None
    label: str | None
    check: Callable[[str], bool]
    script: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    ours: bool
    feedparser: bool
    our_rule: str
    feedparser_encoding: str


def feedparser_cases() -> list[Case]:
    cases = []
    for path in sorted((DATA / "feedparser").glob("*.xml")):
        content = path.read_bytes()
        comment = _comment(content)
        header = re.search(r"^Header:\s*Content-type:\s*(.*?)\s*$", comment, re.M | re.I)
        expected = _feedparser_expected(path.name, content, comment, header.group(1) if header else "")
        want = _text(content, expected)
        cases.append(
            Case(
                suite="feedparser",
                name=path.name,
                content=content,
                content_type=header.group(1) if header else None,
                label=None,
                check=lambda text, want=want: text == want,
                script=script_of(want),
            )
        )
    return cases


def miniflux_cases() -> list[Case]:
    folder = DATA / "miniflux"
    hello = "Привет мир"
    koi8_fixture = ("Пример RSS ленты", "Привет мир! Ёжик, чай, Москва, Санкт-Петербург.")
    koi8_header = ("Тестовая лента в кодировке KOI8-R", "Проверка специальных символов")
    table: list[tuple[str, bytes, str | None, str | None, tuple[str, ...], bool]] = [
        # name, bytes, label (CharsetReader), Content-Type (NewCharsetReader), texts, whole text
        ("CharsetReaderWithUTF8", _read(folder / "utf8.xml"), "UTF-8", None, ("Café",), False),
        ("CharsetReaderWithISO88591", _read(folder / "iso-8859-1.xml"), "ISO-8859-1", None, ("Café",), False),
        ("CharsetReaderWithWindows1252", _read(folder / "windows-1252.xml"), "windows-1252", None, ("Euro €",), False),
        ("CharsetReaderWithInvalidProlog", _read(folder / "invalid-prolog.xml"), "invalid", None, ("Café",), False),
        ("CharsetReaderWithUTF8DocumentWithIncorrectProlog", _read(folder / "utf8-incorrect-prolog.xml"), "ISO-8859-1", None, ("Café",), False),
        ("CharsetReaderWithWindows1252DocumentWithIncorrectProlog", _read(folder / "windows-1252-incorrect-prolog.xml"), "windows-1252", None, ("Euro €",), False),
        ("NewReaderWithUTF8Document", _read(folder / "utf8.html"), None, "text/html; charset=UTF-8", ("Café",), False),
        ("NewReaderWithUTF8DocumentAndNoContentEncoding", _read(folder / "utf8.html"), None, "text/html", ("Café",), False),
        ("NewReaderWithISO88591Document", _read(folder / "iso-8859-1.xml"), None, "text/html; charset=ISO-8859-1", ("Café",), False),
        ("NewReaderWithISO88591DocumentAndNoContentType", _read(folder / "iso-8859-1.xml"), None, "", ("Café",), False),
        ("NewReaderWithISO88591DocumentWithMetaAfter1024Bytes", _read(folder / "iso-8859-1-meta-after-1024.html"), None, "text/html", ("Café",), False),
        ("NewReaderWithUTF8DocumentWithMetaAfter1024Bytes", _read(folder / "utf8-meta-after-1024.html"), None, "text/html", ("Café",), False),
        ("CharsetReaderWithKOI8RLabel", hello.encode("koi8-r"), "koi8-r", None, (hello,), True),
        ("CharsetReaderWithUppercaseKOI8RLabel", hello.encode("koi8-r"), "KOI8-R", None, (hello,), True),
        ("CharsetReaderWithKOI8RFeedFixture", _read(folder / "koi8r.xml"), "KOI8-R", None, koi8_fixture, False),
        ("NewCharsetReaderWithKOI8RContentType", hello.encode("koi8-r"), None, "text/xml; charset=koi8-r", (hello,), True),
        ("NewCharsetReaderWithKOI8RFeedFixtureAndContentType", _read(folder / "koi8r.xml"), None, "application/rss+xml; charset=KOI8-R", koi8_header, False),
    ]  # fmt: skip
    return [
        Case(
            suite="miniflux",
            name=name,
            content=content,
            content_type=content_type,
            label=label,
            check=_contains(texts, whole),
            script=script_of(" ".join(texts)),
        )
        for name, content, label, content_type, texts, whole in table
    ]


def neighbour_cases() -> list[Case]:
    folder = DATA / "neighbours"
    table = [
        ("rss-parser.uolNoticias.rss", "windows-1252", ("Últimas Notícias", "simulações", "Chávez")),
        ("rss-parser.encoding.rss", "iso-8859-1", ("Jornal de Notícias", "Reações dos partidos")),
        (
            "miniflux-parser.no_encoding_ISO-8859-1.xml",
            "windows-1252",
            ("très complexe", "modèles européens"),
        ),
        ("miniflux-parser.encoding_ISO-8859-1.xml", "iso-8859-1", ("Viele Spieler wünschen",)),
        ("miniflux-parser.encoding_WINDOWS-1251.xml", "windows-1251", ("Новый цитатник Рунета",)),
        ("chromium.iso-8859-6.no-charset.html", "iso-8859-6", ("أعلنت كتائب الشهيد",)),
        ("chromium.windows-1256.no-charset.html", "windows-1256", ("أعلنت كتائب الشهيد",)),
    ]
    cases = []
    for name, expected, texts in table:
        content = _read(folder / name)
        want = _text(content, expected)
        assert all(text in want for text in texts), name  # the table itself is right
        cases.append(
            Case(
                suite="neighbours",
                name=name,
                content=content,
                content_type=None,
                label=None,
                check=lambda text, want=want: text == want,
                script=script_of(want),
            )
        )
    return cases


def all_cases() -> list[Case]:
    return feedparser_cases() + miniflux_cases() + neighbour_cases()


def ours(case: Case) -> tuple[str, str]:
    """newsbrief's text and the rule that decided, for one case."""
    decoded = decode_body(case.content, declared=case.label, content_type=case.content_type)
    return decoded.text, decoded.rule


def feedparsers(case: Case) -> tuple[str, str]:
    """feedparser's text and encoding for one case; a label goes in as the header's charset."""
    content_type = case.content_type
    if case.label is not None:
        content_type = f"application/xml; charset={case.label}"
    headers = {"content-type": content_type} if content_type else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = feedparser.parse(io.BytesIO(case.content), response_headers=headers)
    encoding = str(parsed.get("encoding") or "")
    return _text(case.content, encoding or "utf-8"), encoding


def evaluate(cases: list[Case]) -> list[Outcome]:
    outcomes = []
    for case in cases:
        our_text, rule = ours(case)
        their_text, encoding = feedparsers(case)
        outcomes.append(
            Outcome(case, case.check(_unmarked(our_text)), case.check(their_text), rule, encoding)
        )
    return outcomes


def script_of(text: str) -> str:
    """The main script of the letters outside ASCII: latin, arabic, cyrillic, ..., or ascii."""
    counts: dict[str, int] = {}
    for char in text:
        if ord(char) < 0x80 or not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        script = next(
            (s for key, s in _SCRIPT_NAMES if name.startswith(key)),
            "other",
        )
        counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else "ascii"


_SCRIPT_NAMES = (
    ("LATIN", "latin"),
    ("ARABIC", "arabic"),
    ("CYRILLIC", "cyrillic"),
    ("HEBREW", "hebrew"),
    ("GREEK", "greek"),
    ("CJK", "cjk"),
    ("HANGUL", "cjk"),
    ("HIRAGANA", "cjk"),
    ("KATAKANA", "cjk"),
)


def _comment(content: bytes) -> str:
    text = _text(content, _sniffed(content))
    found = re.search(r"<!--(.*?)-->", text, re.S)
    return found.group(1) if found else ""


def _sniffed(content: bytes) -> str:
    for mark, codec in _BOMS:
        if content.startswith(mark):
            return codec
    for start, codec in _XML_UTF16:
        if content.startswith(start):
            return codec
    return "latin-1"


def _feedparser_expected(name: str, content: bytes, comment: str, header: str) -> str:
    said = re.search(r"encoding == '([^']+)'", comment)
    if said:
        return said.group(1)
    if name in _FEEDPARSER_EXPECTED:
        return _FEEDPARSER_EXPECTED[name]
    charset = re.search(r"charset=['\"]?([\w-]+)", header)
    if charset and _known(charset.group(1)):
        return charset.group(1)
    prolog = re.search(rb"""<\?xml[^>]*encoding=["']([^"']+)""", content[:200].replace(b"\x00", b""))
    if prolog and _known(prolog.group(1).decode("ascii")):
        return prolog.group(1).decode("ascii")
    sniffed = _sniffed(content)
    return "utf-8" if sniffed == "latin-1" else sniffed


def _known(label: str) -> bool:
    try:
        codecs.lookup(label)
    except LookupError:
        return False
    return True


def _text(content: bytes, encoding: str) -> str:
    codec = encoding if _known(encoding) else "utf-8"
    return _unmarked(content.decode(codec, "replace"))


def _unmarked(text: str) -> str:
    return text.removeprefix("\ufeff")


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _contains(texts: tuple[str, ...], whole: bool) -> Callable[[str], bool]:
    if whole:
        return lambda text: text == texts[0]
    return lambda text: all(t in text for t in texts)


def summary(outcomes: list[Outcome]) -> dict[str, tuple[int, int, int]]:
    """Per suite (and "all"): cases, passed by newsbrief, passed by feedparser."""
    table: dict[str, tuple[int, int, int]] = {}
    for key in [*dict.fromkeys(o.case.suite for o in outcomes), "all"]:
        chosen = [o for o in outcomes if key in ("all", o.case.suite)]
        table[key] = (len(chosen), sum(o.ours for o in chosen), sum(o.feedparser for o in chosen))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args()
    outcomes = evaluate(all_cases())
    if args.verbose:
        for o in outcomes:
            mark = f"{'ok ' if o.ours else 'BAD'} feedparser {'ok ' if o.feedparser else 'BAD'}"
            print(
                f"{mark} {o.case.suite}/{o.case.name} [{o.case.script}] ours={o.our_rule} feedparser={o.feedparser_encoding}"
            )
    print("suite        cases  newsbrief        feedparser")
    for suite, (n, our, their) in summary(outcomes).items():
        print(f"{suite:12} {n:5}  {our:3} ({our / n:6.1%})  {their:3} ({their / n:6.1%})")
    for key, why in KNOWN_DISAGREEMENTS.items():
        print(f"disagreement on purpose: {key}: {why}")
    scripted = [o for o in outcomes if o.case.script in SCRIPTS]
    print(
        f"cases in {', '.join(SCRIPTS)}: {len(scripted)}, right: newsbrief {sum(o.ours for o in scripted)}, feedparser {sum(o.feedparser for o in scripted)}"
    )


if __name__ == "__main__":
    main()
