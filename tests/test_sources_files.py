"""Local files and folders: the seed corpus, JSON articles, HTML, legacy charsets, bad input."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.sources.files import SourceFileError, UnsupportedFile, read_file, read_path, scan_path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
PAGES = REPO.parent / "shared" / "fixtures" / "pages"


def test_the_seed_folder_gives_its_five_articles_in_order() -> None:
    items = read_path(SEEDS)

    names = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert len(items) == 5
    assert [item.guid for item in items] == [f"file:{(SEEDS / n).resolve().as_posix()}" for n in names]
    for item, name in zip(items, names, strict=True):
        assert item.text == (SEEDS / name).read_text(encoding="utf-8")
        assert item.title == ""
        # No modification time: it is not a publication date. The charset says how the bytes were read.
        assert item.extra == {"plain": "1", "charset": "utf-8: utf-8"}


def test_the_seed_manifest_gives_what_each_article_establishes() -> None:
    items = {Path(item.guid.removeprefix("file:")).name[:3]: item for item in read_path(SEEDS) if item.guid}

    assert items["003"].published == datetime(2025, 7, 12, 1, 52, tzinfo=UTC)
    assert items["000"].published == datetime(2025, 7, 12, tzinfo=UTC)
    assert items["002"].published == datetime(2024, 9, 14, tzinfo=UTC)
    assert items["002"].outlet == "الشرق الأوسط"
    assert items["004"].outlet == "Báo Thanh Hóa"
    assert items["004"].url is not None and items["004"].url.startswith("https://baothanhhoa.vn/")
    # Neither 001 nor 004 says when it was published: unknown, not the day it was read.
    assert items["001"].published is None and items["004"].published is None
    assert items["001"].outlet is None and items["001"].url is None


def test_a_manifest_fills_only_what_the_file_does_not_say(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("عنوان\n\nنص", encoding="utf-8")
    (tmp_path / "b.json").write_text(
        json.dumps({"text": "body", "outlet": "Own", "published": "2024-01-02"}), encoding="utf-8"
    )
    (tmp_path / "manifest.toml").write_text(
        '[[articles]]\nfile = "a.txt"\noutlet = "Outlet A"\nurl = "https://a.example/x"\n'
        'published = "2025-07-12T01:52:00"\n'
        '[[articles]]\nfile = "b.json"\noutlet = "Other"\npublished = "2025-01-01"\n',
        encoding="utf-8",
    )

    result = scan_path(tmp_path)

    from_json, from_text = sorted(result.items, key=lambda i: i.text)
    assert (from_text.outlet, from_text.url, from_text.published) == (
        "Outlet A",
        "https://a.example/x",
        datetime(2025, 7, 12, 1, 52, tzinfo=UTC),
    )
    assert (from_json.outlet, from_json.published) == ("Own", datetime(2024, 1, 2, tzinfo=UTC))
    assert result.skipped == []  # the manifest is read, not reported as an unsupported file


def test_a_broken_manifest_is_reported_and_the_articles_still_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("نص", encoding="utf-8")
    (tmp_path / "manifest.toml").write_text(
        '[[articles]]\nfile = "a.txt"\nurl = "ftp://x"\n', encoding="utf-8"
    )

    result = scan_path(tmp_path)

    assert [i.text for i in result.items] == ["نص"]
    assert [(p.name, "http(s) URL" in why) for p, why in result.skipped] == [("manifest.toml", True)]


def test_a_folder_skips_and_reports_unsupported_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("خبر ثان", encoding="utf-8")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "a.md").write_text("# عنوان\n\nنص", encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / ".hidden.txt").write_text("secret draft", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("ref", encoding="utf-8")

    result = scan_path(tmp_path)

    assert [item.text for item in result.items] == ["خبر ثان", "# عنوان\n\nنص"]
    assert [(path.name, "unsupported file type '.docx'" in reason) for path, reason in result.skipped] == [
        ("notes.docx", True)
    ]


def test_read_path_logs_what_it_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a.txt").write_text("نص", encoding="utf-8")
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4")

    with caplog.at_level(logging.INFO, logger="bot.ingest.sources.files"):
        items = read_path(tmp_path)

    assert len(items) == 1
    assert "b.pdf" in caplog.text


def test_a_single_unsupported_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4")

    with pytest.raises(UnsupportedFile, match=r"report\.pdf: unsupported file type '\.pdf'"):
        read_path(path)


def test_a_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match="does not exist"):
        read_path(tmp_path / "nowhere")


def test_text_in_a_legacy_charset_is_decoded(tmp_path: Path) -> None:
    text = (SEEDS / sorted(p.name for p in SEEDS.glob("*.txt"))[0]).read_text(encoding="utf-8")
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.replace("…", "...").replace("”", '"').replace("“", '"').encode("cp1256"))

    [item] = read_path(path)

    assert item.text.startswith("شهدت العلاقات الروسية الكورية الشمالية")


def test_a_json_article_is_read_with_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "article.json"
    article = {
        "title": "لافروف في بيونغ يانغ",
        "body": "وصل وزير الخارجية الروسي إلى بيونغ يانغ.",
        "link": "https://news.example/a/1",
        "date": "2025-07-12T10:00:00+03:00",
        "source": "وكالة",
    }
    path.write_text(json.dumps(article, ensure_ascii=False), encoding="utf-8")

    [item] = read_path(path)

    assert (item.title, item.text, item.url, item.outlet) == (
        "لافروف في بيونغ يانغ",
        "وصل وزير الخارجية الروسي إلى بيونغ يانغ.",
        "https://news.example/a/1",
        "وكالة",
    )
    assert item.published == datetime(2025, 7, 12, 7, 0, tzinfo=UTC)
    assert item.guid == "https://news.example/a/1"


def test_a_json_list_gives_one_item_per_article(tmp_path: Path) -> None:
    path = tmp_path / "articles.json"
    path.write_text(
        json.dumps([{"title": "a", "text": "one", "published": "2025-07-12"}, {"content": "two", "id": 7}]),
        encoding="utf-8",
    )

    items = read_path(path)

    assert [(i.title, i.text) for i in items] == [("a", "one"), ("", "two")]
    assert items[0].published == datetime(2025, 7, 12, tzinfo=UTC)
    assert items[0].guid == f"file:{path.resolve().as_posix()}#0"
    assert items[1].guid == "7"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('"just a string"', "expected an article object or a list"),
        ('[{"text": "ok"}, 3]', r"articles\.json\[1\]: expected an article object"),
        ('{"title": "no text"}', "needs a non-empty 'text'"),
        ('{"text": "x", "url": "javascript:alert(1)"}', "must be an http"),
        ('{"text": "x", "date": "12/07/2025"}', "is not ISO 8601"),
        ('{"text": ["x"]}', "'text' must be a string"),
    ],
)
def test_json_of_another_shape_raises_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "articles.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SourceFileError, match=message):
        read_path(path)


def test_an_html_file_is_extracted(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_bytes((PAGES / "cnn-arabic.syria-2013.utf-8.html").read_bytes())

    [item] = read_path(path)

    assert item.title == "معارضون يسيطرون على مخازن للصواريخ بريف دمشق"
    assert item.text.startswith("دمشق، سوريا (CNN)")
    assert item.guid == item.url == "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"


def test_an_html_file_without_text_is_skipped_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.html").write_text("<html><body></body></html>", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("نص", encoding="utf-8")

    result = scan_path(tmp_path)

    assert [i.text for i in result.items] == ["نص"]
    assert [p.name for p, _ in result.skipped] == ["empty.html"]
    with pytest.raises(SourceFileError, match="no article text"):
        read_path(tmp_path / "empty.html")


def test_a_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 2_000)

    with pytest.raises(SourceFileError, match="more than the 1,000 allowed"):
        read_file(path, max_bytes=1_000)
    assert read_file(path, max_bytes=2_000)[0].text == "a" * 2_000
