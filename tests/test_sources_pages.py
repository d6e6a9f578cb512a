"""Article pages: real Arabic pages, legacy bytes without a charset, pages with nothing to extract."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.sources.pages import ExtractionError, extract_page

PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "pages"
ARTICLE = (
    "<html><head><title>{title} | Example News</title>{head}</head><body>"
    "<nav><ul><li><a href='/'>Home</a></li><li><a href='/world'>World</a></li></ul></nav>"
    "<article><h1>{title}</h1>{body}</article>"
    "<footer>Copyright Example News. All rights reserved. Privacy policy.</footer></body></html>"
)
PARAGRAPHS = [
    "وصل وزير الخارجية الروسي سيرغي لافروف إلى مدينة وونسان في كوريا الشمالية في زيارة رسمية تستمر يومين.",
    "وقال لافروف إن بلاده تدعم بيونغ يانغ بشكل كامل، مؤكداً أن العلاقات بين البلدين تشهد تطوراً غير مسبوق.",
    "ومن المقرر أن يلتقي لافروف بالزعيم الكوري الشمالي كيم جونغ أون لبحث التعاون العسكري والاقتصادي.",
]


def article(*, title: str = "لافروف في وونسان", head: str = "", paragraphs: list[str] = PARAGRAPHS) -> str:
    """A small article page with navigation and a footer around the text."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return ARTICLE.format(title=title, head=head, body=body)


def test_cnn_arabic_page_gives_text_title_outlet_and_canonical_url() -> None:
    item = extract_page(
        (PAGES / "cnn-arabic.syria-2013.utf-8.html").read_bytes(), url="https://example.com/x"
    )

    assert item.title == "معارضون يسيطرون على مخازن للصواريخ بريف دمشق"
    assert item.url == item.guid == "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
    assert item.outlet == "CNNArabic"
    assert item.text.startswith("دمشق، سوريا (CNN) -- أكدت جهات سورية معارضة")
    assert "\r" not in item.text
    assert not item.needs_fetch


def test_assabah_page_leaves_out_comment_form_and_widgets() -> None:
    item = extract_page((PAGES / "assabah.com.tn.sudan-interview.utf-8.html").read_bytes(), url=None)

    assert item.title.startswith("الناشط الحقوقي السوداني خالد عبد الكريم ماسا")
    assert item.outlet == "Assabah News"
    assert "مالذي يحدث في السودان؟" in item.text
    for widget_text in ("إضافة تعليق جديد", "تعليقك", "الأحوال الجوية", "جريدة الصباح بتاريخ"):
        assert widget_text not in item.text
    assert item.published is not None and item.published.tzinfo is UTC


def test_text_is_plain_paragraphs_separated_by_blank_lines() -> None:
    item = extract_page(article(), url="https://news.example/a")

    assert item.text.split("\n\n")[-3:] == PARAGRAPHS
    assert "Privacy policy" not in item.text and "Home" not in item.text


def test_windows1256_bytes_without_any_charset_come_out_as_arabic() -> None:
    content = (PAGES / "arabic-news-snippet.windows-1256.no-charset.html").read_bytes()

    item = extract_page(content, url="https://news.example/snippet")

    assert "أعلنت كتائب الشهيد عز الدين القسام" in item.text
    assert item.url == "https://news.example/snippet"


def test_metadata_comes_from_meta_tags() -> None:
    head = (
        "<meta property='og:title' content='لافروف يلتقي كيم'>"
        "<meta property='og:site_name' content='الشرق'>"
        "<meta property='article:published_time' content='2025-07-12T08:30:00+03:00'>"
        "<link rel='canonical' href='https://news.example/world/lavrov-kim'>"
    )

    item = extract_page(article(head=head), url="https://news.example/world/lavrov-kim?utm_source=x")

    assert item.title == "لافروف يلتقي كيم"
    assert item.outlet == "الشرق"
    assert item.published == datetime(2025, 7, 12, 5, 30, tzinfo=UTC)
    assert item.url == "https://news.example/world/lavrov-kim"


def test_a_non_http_url_is_not_kept() -> None:
    assert extract_page(article(), url="file:///tmp/a.html").url is None


@pytest.mark.parametrize(
    "html",
    [
        "",
        b"",
        "<html><body></body></html>",
        "<html><body><nav><a href='/'>Home</a> <a href='/w'>World</a></nav></body></html>",
        b"\x00\x01\x02\x03" * 10,
    ],
)
def test_a_page_without_main_text_raises_extraction_error(html: str | bytes) -> None:
    with pytest.raises(ExtractionError):
        extract_page(html, url="https://news.example/empty")


def test_a_page_larger_than_the_limit_is_refused() -> None:
    page = article()
    assert len(page) > 500

    with pytest.raises(ExtractionError, match="more than the 500 allowed"):
        extract_page(page, url=None, max_bytes=500)


@pytest.mark.parametrize("tag", ["div", "p", "span"])
def test_deeply_nested_tags_neither_crash_nor_hang(tag: str) -> None:
    depth = 100_000
    html = f"<html><body>{f'<{tag}>' * depth}{' '.join(PARAGRAPHS)}{f'</{tag}>' * depth}</body></html>"

    try:
        item = extract_page(html, url=None)
    except ExtractionError:
        return
    assert PARAGRAPHS[0][:20] in item.text
