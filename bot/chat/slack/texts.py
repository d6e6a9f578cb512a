"""The Slack interface's words in Arabic and English."""

from __future__ import annotations

from typing import Any

LANGS = ("ar", "en")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "help": (
            "*newsbrief* answers questions about the news threads it follows, with sources, and posts "
            "daily briefs.\n"
            "• Mention me with a question; follow up in the thread.\n"
            "• `/newsbrief brief [thread] [ar|en]` the latest brief now\n"
            "• `/newsbrief ask QUESTION`\n"
            "• `/newsbrief subscribe [thread] [ar|en] [HH:MM] [TIMEZONE]` this channel's daily brief\n"
            "• `/newsbrief unsubscribe [thread]`\n"
            "• `/newsbrief sources`\n"
            "• `/newsbrief lang ar|en` the language I speak to you in\n"
            "Admins: `source add URL [thread …]`, `source remove|pause|resume ID`, `stats`."
        ),
        "working": "Working on it…",
        "apology": "Sorry, I could not answer this one. Please try again in a moment.",
        "as_of": "As of {date}",
        "sources": "Sources",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "thanks": "Thanks for the feedback.",
        "not_admin": "Only newsbrief admins can do that. Nothing was changed.",
        "unknown": "I do not know `{word}`. Try `/newsbrief help`.",
        "usage": "Usage: `/newsbrief {usage}`",
        "subscribed": "This channel will get the {thread} brief in {lang} daily at {time} ({tz}).",
        "unsubscribed": "This channel's daily briefs are stopped ({n}).",
        "no_subscriptions": "This channel has no daily briefs.",
        "no_threads": "No threads are followed yet.",
        "unknown_thread": "Unknown thread `{thread}`. Known: {known}.",
        "sources_title": "Sources followed",
        "no_sources": "No sources are followed yet.",
        "paused": "paused",
        "preview": (
            "*Preview* of {location}\nKind: {kind} · Title: {title} · Language: {lang} · Items: {items}\n"
            "Matches: {threads}"
        ),
        "confirm": "Add it",
        "cancel": "Cancel",
        "added": "Source #{id} added: {location}",
        "cancelled": "Nothing was added.",
        "removed": "Source #{id} removed.",
        "paused_done": "Source #{id} paused.",
        "resumed": "Source #{id} resumed.",
        "failed": "That did not work: {reason}",
        "stats": (
            "*Stats*\nSubscriptions: {subscriptions} (Slack {slack}, Telegram {telegram})\n"
            "Deliveries sent: {sent} · failed: {failed} · pending: {pending}\n"
            "LLM today: {calls} calls, {tokens} tokens\nQuestions today: {questions}"
        ),
        "lang_set": "I will speak English with you.",
        "none": "none",
    },
    "ar": {
        "help": (
            "*newsbrief* يجيب عن الأسئلة حول الملفات الإخبارية التي يتابعها مع ذكر المصادر، "
            "وينشر موجزًا يوميًا.\n"
            "• اذكرني في سؤال، وتابع في السلسلة نفسها.\n"
            "• `/newsbrief brief [thread] [ar|en]` أحدث موجز الآن\n"
            "• `/newsbrief ask QUESTION` سؤال\n"
            "• `/newsbrief subscribe [thread] [ar|en] [HH:MM] [TIMEZONE]` موجز يومي لهذه القناة\n"
            "• `/newsbrief unsubscribe [thread]` إيقاف الموجز\n"
            "• `/newsbrief sources` المصادر\n"
            "• `/newsbrief lang ar|en` لغة الواجهة\n"
            "للمشرفين: `source add URL [thread …]` و`source remove|pause|resume ID` و`stats`."
        ),
        "working": "جارٍ العمل…",
        "apology": "عذرًا، تعذّرت الإجابة عن هذا السؤال. حاول مرة أخرى بعد قليل.",
        "as_of": "حتى تاريخ {date}",
        "sources": "المصادر",
        "helpful": "مفيد",
        "not_helpful": "غير مفيد",
        "thanks": "شكرًا على رأيك.",
        "not_admin": "هذا الأمر للمشرفين فقط. لم يتغير شيء.",
        "unknown": "لا أعرف `{word}`. جرّب `/newsbrief help`.",
        "usage": "الاستخدام: `/newsbrief {usage}`",
        "subscribed": "ستتلقى هذه القناة موجز {thread} بـ{lang} يوميًا في {time} ({tz}).",
        "unsubscribed": "أُوقف الموجز اليومي لهذه القناة ({n}).",
        "no_subscriptions": "لا موجز يوميًا لهذه القناة.",
        "no_threads": "لا ملفات متابعة بعد.",
        "unknown_thread": "ملف غير معروف `{thread}`. الملفات: {known}.",
        "sources_title": "المصادر المتابعة",
        "no_sources": "لا مصادر متابعة بعد.",
        "paused": "موقوف",
        "preview": (
            "*معاينة* {location}\nالنوع: {kind} · العنوان: {title} · اللغة: {lang} · المواد: {items}\n"
            "المطابقات: {threads}"
        ),
        "confirm": "أضفه",
        "cancel": "إلغاء",
        "added": "أضيف المصدر رقم {id}: {location}",
        "cancelled": "لم يُضف شيء.",
        "removed": "حُذف المصدر رقم {id}.",
        "paused_done": "أوقف المصدر رقم {id}.",
        "resumed": "استؤنف المصدر رقم {id}.",
        "failed": "لم ينجح ذلك: {reason}",
        "stats": (
            "*إحصاءات*\nالاشتراكات: {subscriptions} (سلاك {slack}، تيليجرام {telegram})\n"
            "الإرسال: نجح {sent} · فشل {failed} · ينتظر {pending}\n"
            "النموذج اليوم: {calls} استدعاء، {tokens} رمز\nأسئلة اليوم: {questions}"
        ),
        "lang_set": "سأخاطبك بالعربية.",
        "none": "لا شيء",
    },
}

LANG_NAMES = {"en": {"ar": "Arabic", "en": "English"}, "ar": {"ar": "العربية", "en": "الإنجليزية"}}


def t(lang: str, key: str, /, **values: Any) -> str:
    """The interface string `key` in `lang` (English when the language is unknown)."""
    table = TEXTS.get(lang, TEXTS["en"])
    return table[key].format(**values) if values else table[key]
