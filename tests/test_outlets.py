"""Outlets as data: the shipped catalogue, lookups, validation, and admins' corrections (audited)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.attribution.outlets import OutletError, catalogue, parse_outlets, seed_catalogue
from storage.db import Database
from storage.models import AuditLog

ENTRY = """
[[outlets]]
id = "{id}"
name_en = "{name}"
name_ar = "منفذ"
country = "{country}"
ownership = "{ownership}"
languages = ["en"]
domains = [{domains}]
source = "https://example.org/about"
"""


def _file(**fields: str) -> str:
    values = {
        "id": "example",
        "name": "Example",
        "country": "GB",
        "ownership": "private",
        "domains": '"example.org"',
    }
    values.update(fields)
    return ENTRY.format(**values)


def test_the_shipped_catalogue_covers_sixty_outlets_each_with_a_sourced_label() -> None:
    outlets = seed_catalogue().outlets
    assert len(outlets) >= 60
    assert all(o.source.startswith("https://") and o.domains for o in outlets)
    ids = {o.id for o in outlets}
    for needed in (
        "tass",
        "kcna",
        "rodong-sinmun",
        "yonhap",
        "spa",
        "al-arabiya",
        "xinhua",
        "reuters",
        "nk-news",
    ):
        assert needed in ids


def test_a_state_wire_is_both_state_media_and_a_wire() -> None:
    tass = catalogue().outlets["tass"]
    assert (tass.ownership, tass.wire, tass.state_media) == ("state", True, True)
    assert not catalogue().outlets["reuters"].state_media


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arabic.rt.com/world/1234-x/", "rt-arabic"),
        ("https://www.rt.com/russia/1234-x/", "rt"),
        ("https://www.bbc.com/arabic/articles/c1", "bbc-arabic"),
        ("https://www.bbc.com/news/world-asia-1", "bbc"),
        ("https://www.france24.com/ar/x", "france24-arabic"),
        ("https://ar.yna.co.kr/view/AAR2025", "yonhap"),
        ("https://www.nknews.org/pro/x", "nk-pro"),
        ("https://www.nknews.org/2025/07/x", "nk-news"),
        ("https://english.aawsat.com/x", "asharq-al-awsat"),
    ],
)
def test_lookup_by_domain_takes_the_most_specific_subdomain_and_path(url: str, expected: str) -> None:
    found = catalogue().lookup(url)
    assert found is not None and found.id == expected


def test_lookup_falls_back_to_the_outlet_name_in_either_script() -> None:
    known = catalogue()
    assert known.lookup(None, "واس").id == "spa"  # type: ignore[union-attr]
    assert known.lookup("", "وكالة الانباء المركزية الكورية").id == "kcna"  # type: ignore[union-attr]
    assert known.lookup("https://example.invalid/x", "Reuters").id == "reuters"  # type: ignore[union-attr]


def test_an_unknown_outlet_is_unknown_never_guessed() -> None:
    known = catalogue()
    assert known.lookup("https://rt.com.example.net/x", "Seed articles (demo corpus)") is None
    assert known.lookup("https://notrt.com/x") is None
    assert known.info("https://example.net/x", "Some Blog").known is False


def test_a_bad_entry_is_refused_naming_the_outlet_and_the_field() -> None:
    with pytest.raises(OutletError, match=r"outlet 'example' \(ownership\)"):
        parse_outlets(_file(ownership="government"))
    with pytest.raises(OutletError, match="ISO 3166"):
        parse_outlets(_file(country="XX"))


def test_a_domain_claimed_by_two_outlets_is_refused() -> None:
    text = _file() + _file(id="other", name="Other")
    with pytest.raises(OutletError, match=r"'domain example\.org' belongs to both 'example' and 'other'"):
        parse_outlets(text)


def test_admins_add_and_correct_outlets_without_a_release_and_it_is_audited(cli, tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    # A new outlet, and a correction of a shipped label (Interfax recorded as state media, for the test).
    interfax = seed_catalogue().outlets
    row = next(o for o in interfax if o.id == "interfax").model_dump()
    row["ownership"] = "state"
    extra.write_text(
        _file(domains='"example.org", "news.example.org"')
        + "\n[[outlets]]\n"
        + "\n".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in row.items())
        + "\n",
        encoding="utf-8",
    )
    added = cli("outlets", "add", str(extra))
    assert added.exit_code == 0, added.output
    assert "outlet example: added" in added.output and "outlet interfax: updated" in added.output
    moved = tmp_path / "moved.toml"
    moved.write_text(_file(id="tass-mirror", name="TASS mirror", domains='"tass.com"'), encoding="utf-8")
    assert "domains moved to it: tass.com (was tass)" in cli("outlets", "add", str(moved)).output
    listed = json.loads(cli("outlets", "list", "--json").output)
    by_id = {r["id"]: r for r in listed}
    assert by_id["example"]["domains"] == "example.org, news.example.org"
    assert (
        by_id["interfax"]["ownership"] == "state"
        and by_id["interfax"]["label"] == "Russia, state media, wire"
    )
    db = Database(f"sqlite:///{tmp_path / 'data' / 'newsbrief.db'}")
    with db.session() as session:
        actions = {(a.action, a.target) for a in session.scalars(select(AuditLog))}
        assert ("outlet.add", "example") in actions and ("outlet.update", "interfax") in actions
        assert catalogue(session).lookup("https://news.example.org/a").id == "example"  # type: ignore[union-attr]
    db.dispose()


def test_a_malformed_file_is_refused_with_the_reason_and_nothing_stored(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_file(ownership="government"), encoding="utf-8")
    result = cli("outlets", "add", str(bad))
    assert result.exit_code != 0
    assert "ownership" in result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "example" not in cli("outlets", "list").output
