"""The bilingual glossary: data shipped in seeds/, extended by admins, audited, used by the card."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from bot.text.glossary import GlossaryError, default_glossary, load_glossary


def test_the_shipped_glossary_finds_places_and_nouns_in_arabic_text() -> None:
    found = default_glossary().find("ارتفعت التجارة غير النفطية مع روسيا، وعقد لقاء بوونسان")
    assert [f.term.en for f in found] == ["non-oil trade", "Russia", "Wonsan"]


def test_a_malformed_glossary_file_is_refused_with_where_and_why(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[place]]\nen = "Tehran"\n', encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"place #1 .*'ar'"):
        load_glossary(path)
    path.write_text('[[planet]]\nen = "Mars"\nar = "المريخ"\n', encoding="utf-8")
    with pytest.raises(GlossaryError, match="unknown section"):
        load_glossary(path)


def test_an_admin_adds_glossary_entries_and_the_action_is_audited(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "extra.toml"
    path.write_text('[[place]]\nen = "Rason"\nar = ["راسون"]\ncountry = "North Korea"\n', encoding="utf-8")
    result = cli("glossary", "add", str(path))
    assert result.exit_code == 0, result.output
    listed = json.loads(cli("glossary", "list", "--json").stdout)
    assert {"kind": "place", "en": "Rason", "ar": "راسون"} in listed
    assert any(row["en"] == "Wonsan" for row in listed)  # the shipped entries stay

    from bot.cli import common
    from storage.models import AuditLog

    common.reset()
    with common.context().db.session() as session:
        actions = [row.action for row in session.query(AuditLog).all()]
    common.reset()
    assert "glossary.add" in actions


def test_a_bad_glossary_file_fails_the_command_with_a_message(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[noun]]\nen = ""\nar = "تجارة"\n', encoding="utf-8")
    result = cli("glossary", "add", str(path))
    assert result.exit_code != 0 and "'en'" in result.output
