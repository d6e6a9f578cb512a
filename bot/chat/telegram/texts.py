"""Interface strings in Arabic and English. Placeholders are filled with already-escaped HTML."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "welcome": "<b>newsbrief</b> sends a daily brief on the threads you follow (Russia–DPRK, Saudi–Russia…) "
        "in Arabic or English, and answers questions from its archive with sources.\nChoose your language:",
        "help": "<b>Commands</b>\n"
        "/subscribe [thread] [ar|en|both] [HH:MM] [time zone] — a daily brief\n"
        "/settings — your subscriptions and language\n"
        "/unsubscribe — stop a brief\n"
        "/brief [thread] — the latest brief now\n"
        "/ask QUESTION — a question (in a private chat, just write it; reply to an answer to follow up)\n"
        "/sources — the sources followed",
        "help_admin": "<b>Admin</b>\n/addsource URL [thread…] · /removesource ID · /pausesource ID · "
        "/resumesource ID · /stats",
        "lang_set": "Interface language: English.",
        "pick_thread": "Which thread?",
        "pick_lang": "Brief language?",
        "pick_time": "Delivery time (local)? Or send /subscribe {thread} {lang} HH:MM",
        "pick_zone": "Time zone? Or send any IANA name: /subscribe {thread} {lang} {time} Asia/Tokyo",
        "subscribed": "Subscribed: <b>{thread}</b> ({lang}) every day at {time} {zone}. Next: {next}.",
        "no_subscriptions": "No subscriptions in this chat. Use /subscribe.",
        "subscriptions": "<b>Subscriptions in this chat</b>",
        "pick_unsubscribe": "Which subscription should end?",
        "unsubscribed": "Ended {n} subscription(s).",
        "all": "All",
        "group_admins_only": "Only this group's administrators can change its subscriptions.",
        "admins_only": "This command is for the bot's administrators only. Nothing was changed.",
        "working": "Working on it…",
        "no_threads": "No threads are defined yet.",
        "ask_usage": "Write your question after /ask, e.g. /ask When did Lavrov visit Pyongyang?",
        "addsource_usage": "Usage: /addsource URL [thread …]",
        "id_usage": "Usage: {command} ID",
        "preview": "<b>Preview</b>\nKind: {kind}\nTitle: {title}\nLanguage: {lang}\nItems: {items}\n"
        "Threads matched: {threads}\nAdd it?",
        "confirm": "Add",
        "cancel": "Cancel",
        "cancelled": "Cancelled.",
        "added": "Added source #{id}: {location}",
        "removed": "Removed source #{id}.",
        "paused": "Paused source #{id}.",
        "resumed": "Resumed source #{id}.",
        "expired": "This request has expired; send the command again.",
        "sources": "<b>Sources followed</b>",
        "no_sources": "No sources yet.",
        "stats": "<b>Stats</b>\nSubscribers (chats): {chats}\nSubscriptions: {subs}\n"
        "Deliveries sent: {sent} · failed: {failed} · waiting: {waiting}\n"
        "LLM calls today: {calls} · tokens: {tokens}",
        "error": "Sorry, something went wrong. Please try again later.",
        "source_paused": "⚠️ Source #{id} ({name}) was paused after repeated failures: {reason}",
        "settings_lang": "Interface language:",
    },
    "ar": {
        "welcome": "يرسل <b>newsbrief</b> موجزًا يوميًا عن الملفات التي تتابعها (روسيا وكوريا الشمالية، "
        "السعودية وروسيا…) بالعربية أو الإنجليزية، ويجيب عن الأسئلة من أرشيفه مع المصادر.\nاختر لغتك:",
        "help": "<b>الأوامر</b>\n"
        "/subscribe [الملف] [ar|en|both] [HH:MM] [المنطقة الزمنية] — موجز يومي\n"
        "/settings — اشتراكاتك ولغتك\n"
        "/unsubscribe — إيقاف موجز\n"
        "/brief [الملف] — آخر موجز الآن\n"
        "/ask السؤال — سؤال (في المحادثة الخاصة اكتبه مباشرة، ورد على الإجابة لمتابعة السؤال)\n"
        "/sources — المصادر المتابعة",
        "help_admin": "<b>للمشرفين</b>\n/addsource URL [الملف…] · /removesource ID · /pausesource ID · "
        "/resumesource ID · /stats",
        "lang_set": "لغة الواجهة: العربية.",
        "pick_thread": "أي ملف؟",
        "pick_lang": "لغة الموجز؟",
        "pick_time": "وقت الإرسال (بالتوقيت المحلي)؟ أو أرسل ‎/subscribe {thread} {lang} HH:MM",
        "pick_zone": "المنطقة الزمنية؟ أو أرسل أي اسم IANA: ‎/subscribe {thread} {lang} {time} Asia/Tokyo",
        "subscribed": "تم الاشتراك: <b>{thread}</b> ({lang}) يوميًا الساعة {time} {zone}. الموجز التالي: {next}.",
        "no_subscriptions": "لا اشتراكات في هذه المحادثة. استخدم ‎/subscribe.",
        "subscriptions": "<b>الاشتراكات في هذه المحادثة</b>",
        "pick_unsubscribe": "أي اشتراك تريد إنهاءه؟",
        "unsubscribed": "أُنهي {n} اشتراك.",
        "all": "الكل",
        "group_admins_only": "لا يغيّر اشتراكات المجموعة إلا مشرفوها.",
        "admins_only": "هذا الأمر لمشرفي البوت فقط. لم يتغير شيء.",
        "working": "جارٍ العمل…",
        "no_threads": "لا توجد ملفات بعد.",
        "ask_usage": "اكتب سؤالك بعد ‎/ask، مثل: ‎/ask متى زار لافروف بيونغ يانغ؟",
        "addsource_usage": "الاستخدام: ‎/addsource URL [الملف …]",
        "id_usage": "الاستخدام: {command} ID",
        "preview": "<b>معاينة</b>\nالنوع: {kind}\nالعنوان: {title}\nاللغة: {lang}\nعدد المواد: {items}\n"
        "الملفات المطابقة: {threads}\nهل تضيفه؟",
        "confirm": "إضافة",
        "cancel": "إلغاء",
        "cancelled": "أُلغي.",
        "added": "أضيف المصدر رقم {id}: {location}",
        "removed": "حُذف المصدر رقم {id}.",
        "paused": "أوقف المصدر رقم {id} مؤقتًا.",
        "resumed": "استؤنف المصدر رقم {id}.",
        "expired": "انتهت صلاحية هذا الطلب؛ أرسل الأمر من جديد.",
        "sources": "<b>المصادر المتابعة</b>",
        "no_sources": "لا مصادر بعد.",
        "stats": "<b>إحصاءات</b>\nالمشتركون (محادثات): {chats}\nالاشتراكات: {subs}\n"
        "موجزات أرسلت: {sent} · فشلت: {failed} · تنتظر: {waiting}\n"
        "استدعاءات النموذج اليوم: {calls} · الرموز: {tokens}",
        "error": "عذرًا، حدث خطأ. حاول مرة أخرى لاحقًا.",
        "source_paused": "⚠️ أوقف المصدر رقم {id} ({name}) بعد إخفاقات متكررة: {reason}",
        "settings_lang": "لغة الواجهة:",
    },
}

LANG_NAMES = {
    "en": {"ar": "Arabic", "en": "English", "both": "both"},
    "ar": {"ar": "العربية", "en": "الإنجليزية", "both": "كلتاهما"},
}


def t(ui: str, key: str, /, **values: Any) -> str:
    """The interface string `key` in language `ui` (English when unknown), its placeholders filled."""
    table = TEXTS.get(ui, TEXTS["en"])
    return table[key].format(**values) if values else table[key]
