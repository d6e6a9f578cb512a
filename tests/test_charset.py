"""Charset repair: publishers' real bytes come out as the text they meant."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.charset import codec_name, declare_utf8, decode_body, misdecoded, to_utf8_xml

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"

ARABIC = "أعلنت كتائب الشهيد عز الدين القسام"
ARABIC_1256 = ARABIC.encode("cp1256")


@pytest.mark.parametrize(
    ("name", "encoding", "words"),
    [
        ("pages/arabic-news-snippet.windows-1256.no-charset.html", "cp1256", ["كتائب", "قطاع غزة"]),
        ("feeds/newsru.com.koi8-r.rss.xml", "koi8-r", ["Новости"]),
        ("feeds/hagada.org.il.windows-1255.rss.xml", "cp1255", ["הגדה השמאלית"]),
        ("feeds/guardian.utf-8.rss", "utf-8", ["The Guardian"]),
        ("feeds/heise.developer.atom", "utf-8", ["Informationen für Entwickler"]),
        ("pages/cnn-arabic.syria-2013.utf-8.html", "utf-8", ["معارضون يسيطرون على مخازن"]),
        ("pages/assabah.com.tn.sudan-interview.utf-8.html", "utf-8", ["السودان"]),
    ],
)
def test_each_fixture_decodes_to_its_publishers_text(name: str, encoding: str, words: list[str]) -> None:
    decoded = decode_body((FIXTURES / name).read_bytes())
    assert decoded.encoding == encoding
    for word in words:
        assert word in decoded.text


def test_undeclared_windows_1256_is_detected() -> None:
    decoded = decode_body((FIXTURES / "pages/arabic-news-snippet.windows-1256.no-charset.html").read_bytes())
    assert decoded.method == "detected"


def test_xml_prolog_declaration_is_used_after_a_comment_or_not() -> None:
    body = "<!-- note -->\n<?xml version='1.0' encoding='koi8-r'?><rss><title>Привет, мир</title></rss>"
    decoded = decode_body(body.encode("koi8-r"))
    assert (decoded.encoding, decoded.method) == ("koi8-r", "xml-declaration")
    assert "Привет, мир" in decoded.text


def test_header_charset_wins_over_the_prolog() -> None:
    body = "<?xml version='1.0' encoding='windows-1251'?><title>Новости дня</title>".encode("koi8-r")
    decoded = decode_body(body, content_type="application/rss+xml; charset=KOI8-R")
    assert (decoded.encoding, decoded.method) == ("koi8-r", "http")
    assert "Новости дня" in decoded.text


def test_html_meta_charset_and_http_equiv_are_read() -> None:
    for head in (
        '<meta charset="windows-1256">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
    ):
        decoded = decode_body(f"<html><head>{head}</head><body>{ARABIC}</body></html>".encode("cp1256"))
        assert (decoded.encoding, decoded.method) == ("cp1256", "html-meta")
        assert ARABIC in decoded.text


@pytest.mark.parametrize(
    ("declared", "content_type", "prefix"),
    [
        ("windows-1256", None, b""),
        (None, "text/html; charset=koi8-r", b""),
        (None, None, b'<?xml version="1.0" encoding="windows-1255"?>'),
        (None, None, b'<meta charset="iso-8859-1">'),
    ],
)
def test_valid_utf8_stays_utf8_whatever_the_declaration_says(
    declared: str | None, content_type: str | None, prefix: bytes
) -> None:
    decoded = decode_body(prefix + ARABIC.encode("utf-8"), declared=declared, content_type=content_type)
    assert decoded.encoding == "utf-8"
    assert decoded.text.endswith(ARABIC)


def test_byte_order_marks_are_stripped() -> None:
    assert decode_body(b"\xef\xbb\xbf<rss/>").text == "<rss/>"
    utf16 = decode_body("مرحبا".encode("utf-16"))
    assert (utf16.text, utf16.method) == ("مرحبا", "bom")


def test_declared_utf8_that_is_not_utf8_falls_back_to_detection() -> None:
    body = (FIXTURES / "pages/arabic-news-snippet.windows-1256.no-charset.html").read_bytes()
    decoded = decode_body(body, content_type="text/html; charset=utf-8")
    assert decoded.encoding == "cp1256"
    assert "كتائب" in decoded.text


@pytest.mark.parametrize("label", ["windows-1252", "koi8-r", "iso-8859-1"])
def test_single_byte_mislabel_that_decodes_into_mojibake_is_overruled(label: str) -> None:
    body = (FIXTURES / "pages/arabic-news-snippet.windows-1256.no-charset.html").read_bytes()
    decoded = decode_body(body, declared=label)
    assert decoded.encoding == "cp1256"
    assert "كتائب" in decoded.text


@pytest.mark.parametrize("label", ["no-such-charset", "base64", "rot13", "", "x" * 200])
def test_unknown_or_non_text_labels_are_ignored(label: str) -> None:
    decoded = decode_body(ARABIC_1256 + b" " + ARABIC_1256, declared=label)
    assert ARABIC in decoded.text


def test_latin1_label_decodes_as_windows_1252_like_browsers() -> None:
    decoded = decode_body("“Café” – Müller".encode("cp1252"), content_type="text/html; charset=ISO-8859-1")
    assert decoded.text == "“Café” – Müller"


def test_empty_body_is_empty_text() -> None:
    assert decode_body(b"").text == ""


def test_codec_name_canonicalizes_labels() -> None:
    assert codec_name(" Windows-1256 ") == "cp1256"
    assert codec_name("KOI8-R") == "koi8-r"
    assert codec_name("us-ascii") == "cp1252"
    assert codec_name("nonsense") is None


@pytest.mark.parametrize("label", ["undefined", "base64", "rot13", "zlib"])
def test_codec_name_refuses_codecs_that_are_no_charset(label: str) -> None:
    assert codec_name(label) is None


def test_decode_body_ignores_a_declared_codec_that_decodes_nothing() -> None:
    decoded = decode_body(b"caf\x80", declared="UNDEFINED")
    assert decoded.method not in ("declared", "http", "xml-declaration", "html-meta")


def test_to_utf8_xml_lets_feedparser_read_a_legacy_feed() -> None:
    raw = (FIXTURES / "feeds/newsru.com.koi8-r.rss.xml").read_bytes()
    converted = to_utf8_xml(raw)
    assert converted.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    parsed = feedparser.parse(converted)
    assert parsed.feed.description == "Новости"
    assert parsed.entries


def test_to_utf8_xml_fixes_a_lying_prolog() -> None:
    raw = '<?xml version="1.0" encoding="windows-1256"?><rss><channel><title>روسيا</title></channel></rss>'
    parsed = feedparser.parse(to_utf8_xml(raw.encode("utf-8")))
    assert parsed.feed.title == "روسيا"


def test_to_utf8_xml_reads_hebrew_feed_without_fetching_its_doctype() -> None:
    parsed = feedparser.parse(
        to_utf8_xml((FIXTURES / "feeds/hagada.org.il.windows-1255.rss.xml").read_bytes())
    )
    assert parsed.feed.title == "הגדה השמאלית"


def test_declare_utf8_touches_only_the_prolog() -> None:
    text = "<?xml version='1.0' encoding='koi8-r'?><a>encoding='koi8-r'</a>"
    assert declare_utf8(text) == "<?xml version='1.0' encoding='utf-8'?><a>encoding='koi8-r'</a>"
    assert declare_utf8("<a/>") == "<a/>"


# No deadline: tests never time anything, and this machine's cores are shared.
@settings(deadline=None)
@given(content=st.binary(max_size=300), declared=st.one_of(st.none(), st.text(max_size=20)))
def test_decode_body_never_raises(content: bytes, declared: str | None) -> None:
    assert isinstance(decode_body(content, declared=declared, content_type=declared).text, str)


# --- Latin-1 with no declaration, and its neighbours (issue 16) ------------------------------

SUITES = Path(__file__).resolve().parent / "data" / "encoding"
UOL = (SUITES / "neighbours/rss-parser.uolNoticias.rss").read_bytes()
JN = (SUITES / "neighbours/rss-parser.encoding.rss").read_bytes()
CNN_ARABIC = (FIXTURES / "pages/cnn-arabic.syria-2013.utf-8.html").read_bytes().decode("utf-8")
NEWSRU = (FIXTURES / "feeds/newsru.com.koi8-r.rss.xml").read_bytes().decode("koi8-r")


def test_latin1_feed_without_declaration_reads_as_windows_1252() -> None:
    decoded = decode_body(UOL)
    assert (decoded.encoding, decoded.method, decoded.rejected) == ("cp1252", "detected", ())
    for word in ("Últimas Notícias", "simulações", "Chávez", "perseguição", "liderança", "já"):
        assert word in decoded.text


def test_latin1_feed_without_declaration_gives_feedparser_the_right_titles() -> None:
    parsed = feedparser.parse(to_utf8_xml(UOL))
    titles = " ".join(entry.title for entry in parsed.entries)
    assert "Divisão" in titles or "campeão" in titles or "Chávez" in titles
    assert not set("ćēįŗķŚ") & set(titles)


def test_latin1_feed_served_with_a_baltic_charset_is_read_as_latin_and_the_refusal_recorded() -> None:
    decoded = decode_body(UOL, content_type="application/rss+xml; charset=windows-1257")
    assert decoded.encoding == "cp1252"
    assert decoded.rejected and decoded.rejected[0].startswith("cp1257")
    assert "simulações" in decoded.text
    assert "refused cp1257" in decoded.rule


def test_declared_latin1_feed_follows_its_declaration() -> None:
    decoded = decode_body(JN)
    assert (decoded.encoding, decoded.method) == ("cp1252", "xml-declaration")
    assert "Reações dos partidos" in decoded.text


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Příliš žluťoučký kůň úpěl ďábelské ódy. Vláda schválila návrh.", "cp1250"),
        ("Zażółć gęślą jaźń. Rząd przyjął projekt ustawy o źródłach energii.", "iso8859-2"),
        ("Ministru kabinets šodien apstiprināja ārējās politikas ziņojumu.", "cp1257"),
        ("Die Bundesregierung überprüft Exporte nach Rußland; Gespräche in Köln.", "cp1252"),
        ("Le gouvernement français a présenté un projet très attendu à Genève.", "cp1252"),
    ],
)
def test_declared_latin_pages_of_other_languages_are_not_overruled(text: str, codec: str) -> None:
    decoded = decode_body(f"<p>{text}</p>".encode(codec), content_type=f"text/html; charset={codec}")
    assert (decoded.text, decoded.rejected) == (f"<p>{text}</p>", ())


def test_xml_in_utf16_without_a_bom_is_recognised_by_its_first_bytes() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><rss><title>موسكو</title></rss>'
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        decoded = decode_body(body.encode(codec))
        assert (decoded.text, decoded.method) == (body, "xml-utf16")


def test_utf8_with_a_stray_latin1_byte_stays_utf8() -> None:
    body = "<p>روسيا وكوريا الشمالية – Moscou</p>".encode() + b" caf\xe9"
    decoded = decode_body(body, content_type="text/html; charset=windows-1252")
    assert decoded.method == "mostly-utf-8"
    assert decoded.text == "<p>روسيا وكوريا الشمالية – Moscou</p> café"
    assert decoded.rejected == ("cp1252: UTF-8 read as single bytes",)


def test_the_top_level_domain_is_a_hint_for_detection() -> None:
    body = "<p>Кремль заявил о переговорах с Пхеньяном</p>".encode("cp1251")
    assert decode_body(body, url="https://news.example.ru/a").text.endswith("Пхеньяном</p>")


# --- the mojibake check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wrong_codec"),
    [
        (CNN_ARABIC, "cp1252"),  # Arabic UTF-8 read as windows-1252: "Ø§Ù„"
        (CNN_ARABIC, "cp1256"),  # and as windows-1256
        (NEWSRU, "cp1252"),  # Cyrillic UTF-8 read as windows-1252: "Ð¿Ñ€"
        (UOL.decode("cp1252"), "cp1252"),  # Portuguese UTF-8 read as windows-1252: "Ã©"
    ],
)
def test_utf8_read_as_a_single_byte_page_is_flagged(text: str, wrong_codec: str) -> None:
    misread = text.encode("utf-8").decode(wrong_codec, "ignore")
    assert misdecoded(misread, wrong_codec) == "UTF-8 read as single bytes"


@pytest.mark.parametrize(
    ("raw", "wrong_codec"),
    [
        (UOL, "cp1257"),  # Portuguese as Baltic: "Notķcias", "simulaēões"
        (UOL, "iso8859-2"),  # and as Central European
        ("الرئيس الروسي يستقبل وزير الخارجية السعودي".encode("cp1256"), "cp1252"),
        ("Министр иностранных дел России прибыл в Пхеньян".encode("cp1251"), "cp1252"),
        # Latin read as Cyrillic or Arabic: "prйsentй", "franзais", "Mьller"
        (JN, "cp1251"),
        (JN, "cp1256"),
    ],
)
def test_text_read_with_a_foreign_code_page_is_flagged(raw: bytes, wrong_codec: str) -> None:
    assert misdecoded(raw.decode(wrong_codec, "ignore"), wrong_codec) is not None


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        (UOL.decode("cp1252"), "cp1252"),
        (JN.decode("cp1252"), "cp1252"),
        (NEWSRU, "koi8-r"),
        (CNN_ARABIC, "cp1256"),
        ("Zażółć gęślą jaźń; Erdoğan, Müller i Łukaszenka.", "cp1250"),
        ("Ministru kabinets šodien apstiprināja ārējās politikas ziņojumu.", "cp1257"),
    ],
)
def test_right_text_is_not_flagged(text: str, codec: str) -> None:
    assert misdecoded(text, codec) is None


def test_utf8_text_is_never_flagged() -> None:
    assert misdecoded("Ã© is what mojibake looks like", "utf-8") is None


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_bom_are_told_by_their_nuls(codec: str) -> None:
    text = "Lavrov arrived in Pyongyang on Tuesday; talks with Choe Son Hui follow. وصل لافروف"
    decoded = decode_body(text.encode(codec))
    assert (decoded.text, decoded.encoding, decoded.method) == (text, codec, "nul-pattern")


def test_iso_2022_jp_is_told_by_its_escapes_though_it_is_valid_utf8() -> None:
    text = "北朝鮮とロシアの外相が会談"
    decoded = decode_body(text.encode("iso2022_jp"))
    assert (decoded.text, decoded.encoding) == (text, "iso2022_jp")
