"""The fixed words of alerts, digests and notices, in both languages."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "alert": "Alert: {thread}",
        "held": "{thread}: alerts held during your quiet hours",
        "capped": "{thread}: alerts",
        "capped_message": "Today's limit of {n} alert(s) is reached. The rest will come in your next brief.",
        "weekly": "{thread}: the week to {date}",
        "update": "Update",
        "filtered": "Nothing on {thread} matched your filters since {since}.",
    },
    "ar": {
        "alert": "عاجل: {thread}",
        "held": "{thread}: تنبيهات أُجّلت خلال ساعات الهدوء",
        "capped": "{thread}: تنبيهات",
        "capped_message": "بلغت التنبيهات حدّها اليومي ({n}). ستصلك البقية في موجزك القادم.",
        "weekly": "{thread}: أسبوع حتى {date}",
        "update": "تحديث",
        "filtered": "لا شيء في ملف {thread} يطابق عوامل التصفية منذ {since}.",
    },
}


def words(lang: str) -> dict[str, str]:
    """The words in `lang` (English for anything else)."""
    return WORDS.get(lang, WORDS["en"])
