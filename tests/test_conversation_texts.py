"""The interface's gettext catalogs: every message translated in Arabic and English, plurals by CLDR."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from bot.conversation.reader import ADMIN_HELP, READER_HELP
from bot.conversation.texts import LANGS, catalog, nt, t

BOT = Path(__file__).resolve().parents[1] / "bot"
# t(lang, "key", …) and nt(lang, "key", n, …) with a literal key, anywhere in bot/.
LITERAL = re.compile(r"\bn?t\(\s*[\w.\[\]'\"]+,\s*[\"']([\w.]+)[\"']")
DYNAMIC = {f"about.{name}" for name in (*READER_HELP, *ADMIN_HELP)} | {
    f"source_{verb}d" for verb in ("remove", "pause", "resume")
}


def messages(cat: Catalog) -> dict[str, object]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in cat if m.id}


def used_keys() -> set[str]:
    found = {key for path in BOT.rglob("*.py") for key in LITERAL.findall(path.read_text())}
    return {key for key in found if not key.endswith(".")} | DYNAMIC  # `"about." + name`: in DYNAMIC


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_the_code_uses_is_translated(lang: str) -> None:
    found = messages(catalog(lang))
    missing = sorted(key for key in used_keys() if not found.get(key))
    assert missing == [], f"no {lang} translation for {missing}"


def test_both_catalogs_hold_the_same_messages_with_the_same_placeholders() -> None:
    en, ar = messages(catalog("en")), messages(catalog("ar"))
    assert set(en) == set(ar)
    for key, english in en.items():
        forms_en = english if isinstance(english, tuple) else (english,)
        forms_ar = ar[key] if isinstance(ar[key], tuple) else (ar[key],)
        assert all(forms_ar), f"an empty Arabic form of {key}"
        wanted = set().union(*(fields(f) for f in forms_en))
        for form in forms_ar:
            assert fields(form) <= wanted | {"n"}, (key, form)


def test_plurals_follow_each_languages_cldr_rule() -> None:
    assert catalog("ar").num_plurals == 6 and catalog("en").num_plurals == 2
    arabic = [nt("ar", "unsubscribed", n) for n in (0, 1, 2, 3, 11, 100)]
    assert len(set(arabic)) == 6  # zero, one, two, few, many, other
    assert "اشتراكان" in arabic[2] and "3 اشتراكات" in arabic[3] and "11 اشتراكًا" in arabic[4]
    assert nt("en", "unsubscribed", 1).startswith("Ended 1 subscription:")
    assert nt("en", "unsubscribed", 2).startswith("Ended 2 subscriptions:")


def test_an_unknown_message_fails_loudly_and_an_unknown_language_falls_back_to_english() -> None:
    with pytest.raises(LookupError):
        t("en", "no-such-message")
    assert t("fr", "lang_set") == t("en", "lang_set")
