"""What every renderer shows about sources: outlet tags, corroboration lines, bullet-kind markers.

Pure functions over the plain data stored in brief payloads and answers (see bot.qa.transparency), so
plain text, Markdown, Telegram and Slack show the same words. They return plain text; each renderer
escapes it for its markup. The words are in one table (WORDS) so they can move to message catalogs.
A payload stored before these fields existed renders as before: every helper returns "" for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.attribution.corroboration import summary_line

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "state": "state media",
        "state-funded": "state-funded media",
        "public": "public media",
        "wire": "wire",
        "unknown": "unknown outlet",
        "state_of": "{adjective} state media",
        "state_of_country": "state media of {country}",
        "according": "According to {outlets}:",
        "and": " and ",
        "sep": ", ",
        "official": "Official",
        "reporting": "Reported",
        "analysis": "Analysis",
        "colon": ": ",
    },
    "ar": {
        "state": "إعلام حكومي",
        "state-funded": "إعلام ممول من الدولة",
        "public": "إعلام عام",
        "wire": "وكالة أنباء",
        "unknown": "مصدر غير مصنف",
        "state_of": "إعلام حكومي {adjective}",
        "state_of_country": "إعلام حكومي في {country}",
        "according": "بحسب {outlets}:",
        "and": " و",
        "sep": "، ",
        "official": "رسمي",
        "reporting": "تقرير",
        "analysis": "تحليل",
        "colon": ": ",
    },
}


def words(lang: str) -> Mapping[str, str]:
    """The label words in `lang` (English for any other language)."""
    return WORDS.get(lang, WORDS["en"])


def outlet_tag(info: Mapping[str, Any] | None, lang: str) -> str:
    """ "Russia, state media, wire" / «روسيا، إعلام حكومي، وكالة أنباء»; "unknown outlet"; "" for no info."""
    if not info:
        return ""
    w = words(lang)
    if not info.get("known"):
        return w["unknown"]
    parts = [str(info.get("country_name") or info.get("country") or "")]
    ownership = str(info.get("ownership", ""))
    if ownership in ("state", "state-funded", "public"):
        parts.append(w[ownership])
    if info.get("wire"):
        parts.append(w["wire"])
    return w["sep"].join(p for p in parts if p)


def with_tag(outlet: str, info: Mapping[str, Any] | None, lang: str) -> str:
    """ "TASS (Russia, state media, wire)": an outlet's name followed by its tag, when there is one."""
    tag = outlet_tag(info, lang)
    return f"{outlet} ({tag})" if tag else outlet


def source_info(story: Mapping[str, Any], outlet: str) -> Mapping[str, Any] | None:
    """The outlet info of the first of a story's sources with this outlet name."""
    for source in story.get("sources", []):
        if source.get("outlet") == outlet:
            info = source.get("outlet_info")
            return info if isinstance(info, Mapping) else None
    return None


def state_media_of(info: Mapping[str, Any], lang: str) -> str:
    """ "North Korean state media" / «إعلام حكومي كوري شمالي» for a state outlet, else ""."""
    if not info.get("known") or not info.get("state_media"):
        return ""
    w = words(lang)
    adjective = str(info.get("adjective") or "")
    if adjective:
        return w["state_of"].format(adjective=adjective)
    return w["state_of_country"].format(country=info.get("country_name") or info.get("country"))


def according_to(infos: list[Mapping[str, Any]], lang: str) -> str:
    """ "According to KCNA (North Korean state media):" for the outlets an answer rests on."""
    w = words(lang)
    seen: dict[str, str] = {}
    for info in infos:
        seen.setdefault(str(info.get("name")), f"{info.get('name')} ({state_media_of(info, lang)})")
    return w["according"].format(outlets=w["and"].join(seen.values()))


def kind_marker(bullet: Mapping[str, Any], lang: str) -> str:
    """ "Official: " / «رسمي: » before a bullet: a word, readable in plain text and by screen readers."""
    kind = bullet.get("kind")
    w = words(lang)
    return f"{w[kind]}{w['colon']}" if kind in ("official", "reporting", "analysis") else ""


def corroboration_text(story: Mapping[str, Any], lang: str) -> str:
    """The story's corroboration line and flags, or "" for a payload without them."""
    data = story.get("corroboration")
    return summary_line(data, lang) if isinstance(data, Mapping) else ""
