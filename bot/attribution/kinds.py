"""The kind of a claim: an official statement, reporting, or analysis, from attribution cues.

A bullet is *official* when an official body or person is its speaker («قال لافروف», «أعلنت وزارة
الخارجية», "the Kremlin said in a statement", KCNA quoting Kim), *analysis* when it is an assessment
or opinion («يرى محللون», "analysts say", "experts believe"), and *reporting* otherwise: the outlet's
own account, or an "according to" / unnamed-source report («بحسب», «نقلت وكالة», "reportedly").

Every decision keeps its evidence (which cue, the words it matched), the way thread matches do, so a
reader or an admin can see why a bullet is marked as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.text.normalize import normalize

Kind = Literal["official", "reporting", "analysis"]
KINDS: tuple[Kind, ...] = ("official", "reporting", "analysis")
DEFAULT_KIND: Kind = "reporting"


@dataclass(frozen=True, slots=True)
class Cue:
    """One attribution cue found in a sentence."""

    kind: Kind
    name: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """The JSON-ready form."""
        return {"kind": self.kind, "cue": self.name, "text": self.text}


@dataclass(frozen=True, slots=True)
class KindDecision:
    """A sentence's kind, the cues that decided it, and whether no cue was found (the default)."""

    kind: Kind
    evidence: tuple[Cue, ...]

    @property
    def by_default(self) -> bool:
        """True when no cue spoke: the outlet's own account."""
        return not self.evidence

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready form (stored with each bullet)."""
        return {"kind": self.kind, "evidence": [c.to_dict() for c in self.evidence]}


# ---------------------------------------------------------------- English cues

_EN_SPEECH = (
    r"(?:said|says|say|stated|states|told|tells|announced|announces|declared|declares|added|noted|"
    r"stressed|stresses|emphasi[sz]ed|underlined|warned|warns|vowed|pledged|pledges|confirmed|"
    r"confirms|affirmed|reaffirmed|insisted|urged|urges|called for|called on|wrote|accused|denied|"
    r"condemned|praised|welcomed|expressed|hailed|thanked|agreed|ordered|promised|"
    r"reiterated|described|dismissed|rejected|quoted|cited|called|relayed|reported|replied|responded|"
    r"remarked|remarks|explained|claimed|announcing)"
)
_EN_OFFICIAL = (
    r"(?:minister|ministry|president|prime minister|premier|kremlin|white house|government|"
    r"spokes(?:man|woman|person)|press secretary|leader|chairman|general secretary|"
    r"ambassador|envoy|embassy|crown prince|king|emir|sheikh|chief of staff|secretary of state|"
    r"foreign office|state department|pentagon|military|army|armed forces|joint chiefs|command|"
    r"council|parliament|duma|senate|officials?|authorities|delegation|cabinet|committee|"
    r"diplomats?|he|she|kim|choe|putin|lavrov|ushakov|peskov|zakharova|shoigu|belousov|novak|dmitriev|kim jong[ -]un|kim yo[ -]jong|"
    r"choe son[ -]hui|mohammed bin salman|bin salman|faisal bin farhan|abdulaziz bin salman|"
    r"alkhorayef|yoon|lee jae[ -]myung|xi jinping|trump|biden|erdogan|zelensky|"
    r"kcna|rodong sinmun|saudi press agency|spa|wam|qna|kuna)"
)
_EN_ANONYMOUS = (
    r"(?:sources?|people familiar|person familiar|insiders?|on condition of anonymity|unnamed|"
    r"(?:an?|the|two|three|several|some) (?:[a-z]+ ){0,2}(?:officials?|delegates?|diplomats?) (?:said|say|told))"
)

_EN_CUES: list[tuple[Kind, str, str]] = [
    ("analysis", "analysts", r"\banalysts?\b"),
    ("analysis", "experts", r"\b(?:experts?|observers?|scholars?|researchers?|commentators?)\b"),
    ("analysis", "assessment", r"\b(?:believes?|believed|in (?:my|our|his|her|their) view|argues?|argued)\b"),
    (
        "analysis",
        "judgement",
        r"\b(?:is|are|was|were) (?:likely|unlikely|seen as|widely seen|expected to|poised to|an opportunity)\b"
        r"|\b(?:could|may|might) (?:be|signal|indicate|suggest|mean|reflect|prompt|lead|pave|help|undermine)\b"
        r"|\b(?:signals?|signall?ing|underscores?|highlights?|reflects?|suggests?|illustrates?) "
        r"(?:a|an|the|how|that|russia|moscow|north korea|pyongyang)\b"
        r"|\b(?:promises? to|galvani[sz]es?|watches closely|in a move that|a sign of|underscores?|mystery)\b"
        r"|\bnot (?:immediately )?clear\b|\b(?:is|are|was|were) (?:viewed|regarded|considered) as\b"
        r"|\ba surprise to\b|\b(?:is|are) seeking to\b|\bin the face of\b",
    ),
    (
        "official",
        "statement",
        r"\b(?:in a |joint |official )?statement\b|\breadout\b|\bcommuniqu[eé]\b|\bdecree\b",
    ),
    ("official", "press conference", r"\b(?:press conference|news conference|briefing|told reporters)\b"),
    ("reporting", "according to", r"\baccording to\b"),
    ("reporting", "reportedly", r"\breported(?:ly)?\b|\breports?\b|\bciting\b|\bquoted by\b"),
    ("reporting", "anonymous", r"\b" + _EN_ANONYMOUS + r"\b"),
]

# An official speaker next to a speech verb: "Lavrov said", "the ministry said", "said the Kremlin".
# "was welcomed", "didn't say": a passive or a denial is no statement by the official named.
_EN_NOT_SPOKEN = r"(?<!\bwas )(?<!\bwere )(?<!\bbeen )(?<!\bbe )(?<!n't )(?<!\bnot )(?<!\bis )"
_EN_OFFICIAL_SPEECH = re.compile(
    r"\b" + _EN_OFFICIAL + r"\b[^.;:]{0,60}?" + _EN_NOT_SPOKEN + r"\b" + _EN_SPEECH + r"\b"
    # "…, said the Kremlin": the speaker follows closely, and is not a possessive ("reported Putin's signing").
    r"|"
    + _EN_NOT_SPOKEN
    + r"\b"
    + _EN_SPEECH
    + r"\b(?:\s+[\w'’-]+){0,3}?\s+"
    + _EN_OFFICIAL
    + r"\b(?!['’]s\b)",
    re.IGNORECASE,
)
_EN_ANONYMOUS_SPEECH = re.compile(r"\b" + _EN_ANONYMOUS + r"\b", re.IGNORECASE)

# ---------------------------------------------------------------- Arabic cues (on normalized text)

# The text is normalized (bot.text.normalize) before matching: the patterns are folded the same way.
_FOLD = str.maketrans({"ئ": "ي", "ؤ": "و", "ى": "ي", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا"})

_AR_SPEECH = (
    r"(?:قال|قالت|يقول|تقول|اعلن|اعلنت|اكد|اكدت|يؤكد|تؤكد|صرح|صرحت|اوضح|اوضحت|اضاف|اضافت|"
    r"شدد|شددت|اشار|اشارت|دعا|دعت|حذر|حذرت|ذكر|ذكرت|وصف|وصفت|نفي|نفت|ادان|ادانت|رحب|رحبت|اعرب|اعربت|"
    r"تعهد|تعهدت|امر|جدد|جددت|كشف|كشفت|لفت|لفتت|نوه|نوهت|ابلغ|ابلغت|"
    r"تصريحات|تصريح|كلمه|خطاب|نقلت|قائلا|قائله|تابع|تابعت|اردف|اشاد|اشادت|خاطب|رد|ردت|عبر|عبرت|اعتبر|اعتبرت|طالب|طالبت)"
)
_AR_OFFICIAL = (
    r"(?:وزير|وزيره|وزاره|الرئيس|رئيس|الكرملين|الحكومه|حكومه|المتحدث|المتحدثه|الناطق|الناطقه|"
    r"السفير|سفير|السفاره|ولي العهد|الملك|خادم الحرمين|الامير|الزعيم|القائد|الامين العام|"
    r"مجلس|البرلمان|الدوما|الجيش|القوات المسلحه|هيئه الاركان|المسؤول|مسؤول|مسؤولون|الوفد|"
    r"بوتين|لافروف|بيسكوف|زاخاروفا|شويغو|بيلوسوف|نوفاك|دميترييف|كيم جونغ|كيم يو|تشوي سون|"
    r"محمد بن سلمان|فيصل بن فرحان|عبدالعزيز بن سلمان|عبد العزيز بن سلمان|الخريف|ترامب|بايدن|شي جين|"
    r"اردوغان|زيلينسكي|البيت الابيض|الخارجيه|الدفاع|كيم|اوشاكوف|ابن سلمان|فرحان|مصدر مسؤول)"
)
# An unnamed official («مسؤول سعودي», "a Saudi official") is a source, not a speaker on the record;
# «مصدر مسؤول» is the formula of Gulf official statements, so it is not.
_AR_ANONYMOUS = (
    r"(?:مصدر(?! مسؤول)|مصادر|مطلعون|مطلعه|طلب عدم الكشف|رفض الكشف|"
    r"مسؤول(?:ون|ين)? (?:سعودي|روسي|روس|سعوديون|امريكي|اميركي|كوري|غربي|كبير|رفيع|اجنبي))"
).translate(_FOLD)
_AR_PREFIX = r"(?<![\u0621-\u064a])(?:[وفبلك]?(?:ال)?)"
_AR_START = r"(?<![\u0621-\u064a])[وف]?"
_AR_END = r"(?![\u0621-\u064a])"

_AR_CUES: list[tuple[Kind, str, str]] = [
    ("analysis", "analysts", _AR_PREFIX + r"(?:محللون|محللين|المحللون|المحللين|محلل|المحلل|محلله)"),
    (
        "analysis",
        "experts",
        _AR_PREFIX + r"(?:خبراء|مراقبون|مراقبين|باحثون|باحثين|محللو|البعض)" + _AR_END,
    ),
    (
        "analysis",
        "assessment",
        _AR_START + r"(?:يري|تري|يرون|راي|رات|يعتقد|تعتقد|يعتقدون|في رايه|في رايها|من وجهه نظر|"
        r"من المرجح|من المحتمل|من المتوقع ان|يبدو ان|قد يشير|قد يعكس|يعكس|تعكس|مؤشر علي|دلاله علي|يرجح|ترجح|"
        r"يشير|تشير|تعد|يعد|تعتبر|يعتبر|تمثل|يمثل|خطوه في مسار|يخشي|تخشي|يخشون|لا تبشر|في اطار جهود|"
        r"تتيح|في اشاره|اشاره رمزيه|سعي الغرب)" + _AR_END,
    ),
    (
        "official",
        "statement",
        _AR_START + r"(?:(?:في|ب|وفق|بحسب|حسب|جاء في|اضاف|قال|افاد|اصدر|اصدرت)\s?(?:ال)?(?:بيان|بلاغ)|"
        r"(?:ال)?بيان (?:صادر|مشترك|رسمي|الختامي)|مرسوم)",
    ),
    ("official", "press conference", r"(?:مؤتمر صحفي|مؤتمر صحافي|تصريحات|تصريح)"),
    ("reporting", "according to", _AR_START + r"(?:بحسب|حسب|وفق|وفقا|طبقا)" + _AR_END),
    (
        "reporting",
        "news agency report",
        _AR_START + r"(?:نقلت|نقل|ذكرت|افادت|اوردت|اشارت تقارير|تقارير|تقرير|نشرت)" + _AR_END,
    ),
    ("reporting", "anonymous", _AR_PREFIX + _AR_ANONYMOUS),
]


_AR_OFFICIAL_SPEECH = re.compile(
    # VSO, the usual order: the speaker right after the verb («قال وزير…», «أعلنت الوزارة»), or SVO close by.
    f"{_AR_START}{_AR_SPEECH}{_AR_END}(?:\\s+\\S+)?\\s+{_AR_PREFIX}{_AR_OFFICIAL}"
    f"|{_AR_PREFIX}{_AR_OFFICIAL}[^.;:]{{0,30}}?{_AR_START}{_AR_SPEECH}{_AR_END}".translate(_FOLD)
)
_AR_ANONYMOUS_SPEECH = re.compile(_AR_PREFIX + _AR_ANONYMOUS)
# A sentence continuing an official's words with no subject: «وأضاف أن…», «وتابع قائلاً…».
_AR_CONTINUED = re.compile(
    r"^[وف](?:اضاف|اضافت|تابع|تابعت|اوضح|اوضحت|اكد|اكدت|شدد|شددت|اردف)\s+(?:ان|إن|قايلا|:)"
)

_COMPILED = {
    "en": [(kind, name, re.compile(pattern, re.IGNORECASE)) for kind, name, pattern in _EN_CUES],
    "ar": [(kind, name, re.compile(pattern.translate(_FOLD))) for kind, name, pattern in _AR_CUES],
}
_SPEECH = {
    "en": (_EN_OFFICIAL_SPEECH, _EN_ANONYMOUS_SPEECH),
    "ar": (_AR_OFFICIAL_SPEECH, _AR_ANONYMOUS_SPEECH),
}


def _prepared(sentence: str, lang: str) -> str:
    text = " ".join(sentence.split())
    return normalize(text) if lang == "ar" else text


# Quoted words are the speaker's, not the outlet's: an assessment inside a quotation does not make
# the sentence analysis («وأكد الزعيم أن "زيارتكم تمثل خطوة…"» is an official statement).
_QUOTED = re.compile(r"«[^»]*»|\"[^\"]*\"|“[^”]*”|‘[^’]*’")


def find_cues(sentence: str, lang: str) -> list[Cue]:
    """Every attribution cue in `sentence` (`lang` "ar" or "en"; anything else is read as English)."""
    lang = "ar" if lang == "ar" else "en"
    text = _prepared(sentence, lang)
    unquoted = _QUOTED.sub(" … ", text)
    cues = [
        Cue(kind, name, match.group(0).strip())
        for kind, name, pattern in _COMPILED[lang]
        for match in [pattern.search(unquoted)]
        if match
    ]
    official, anonymous = _SPEECH[lang]
    speech = official.search(unquoted) or (_AR_CONTINUED.search(unquoted) if lang == "ar" else None)
    if speech and not anonymous.search(speech.group(0)):
        cues.append(Cue("official", "official speaker", speech.group(0).strip()))
    return cues


def decide(sentence: str, lang: str) -> KindDecision:
    """The sentence's kind with its evidence: analysis cues first, then an official speaker, then reporting."""
    cues = find_cues(sentence, lang)
    by_kind = {kind: tuple(c for c in cues if c.kind == kind) for kind in KINDS}
    anonymous = any(c.name == "anonymous" for c in by_kind["reporting"])
    if by_kind["analysis"]:
        return KindDecision("analysis", by_kind["analysis"])
    speaker = [c for c in by_kind["official"] if c.name == "official speaker"]
    if speaker and not anonymous:
        return KindDecision("official", by_kind["official"])
    if by_kind["official"] and not by_kind["reporting"]:
        return KindDecision("official", by_kind["official"])
    if by_kind["reporting"]:
        return KindDecision("reporting", by_kind["reporting"])
    return KindDecision(DEFAULT_KIND, ())


def classify_kind(sentence: str, lang: str) -> str:
    """ "official" | "reporting" | "analysis" for one sentence (the name `newsbrief eval` imports)."""
    return decide(sentence, lang).kind


def reconcile(proposed: str | None, sentence: str, lang: str) -> KindDecision:
    """A kind the model proposed, checked against the cues: where the cues speak and disagree, they win.

    With no cue in the sentence the model's kind stands (it read the whole article), recorded as such.
    """
    decision = decide(sentence, lang)
    if proposed in KINDS and decision.by_default and proposed != decision.kind:
        return KindDecision(proposed, (Cue(proposed, "model", ""),))
    return decision
