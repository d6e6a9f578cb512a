"""Index terms for search (BM25) and summarizer centrality: normalized, stopwords out, stemmed.

Arabic uses a light stemmer of our own, measured against snowballstemmer's "arabic" on seed words
(tests/test_text_stem.py keeps the measurement): snowball leaves روسيا/الروسية, التعاون/تعاون and
الوزير/وزير apart, turns بيونغ into يونغ, and does not know the folded ة→ه spelling our tokens have.
The light stemmer strips a conjunction و, the article forms (ال، بال، كال، فال، لل) and one
inflectional suffix, keeping at least three letters, so a country and its adjective meet
(روسيا, الروسية, الروسي → روس). It never strips the dual/plural ان: it would maim names
(وونسان, إيران, اليابان). Latin-script words use snowball's English stemmer (or the
snowball stemmer of `lang` when it has one); figures are kept as they are.
"""

from __future__ import annotations

import functools
import re

import snowballstemmer

from bot.text.errors import require_str
from bot.text.normalize import normalize, tokens

_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff]")
_LATIN_LETTER = re.compile("[a-zß-ÿĀ-ɏ]")
_MIN_STEM = 3

_ARABIC_STOPWORDS_RAW = """
في من إلى الى على عن مع بين حول حتى منذ خلال عبر ضد لدى عند نحو دون غير سوى عدا بعد قبل أمام خلف فوق تحت
و أو ثم بل لكن لكنه لكنها إذ إذا اذا إن أن ان إنه أنه انه إنها أنها انها لأن لان كي لكي حيث كما مثل إلا الا
هو هي هم هن هما أنا نحن أنت أنتم هذا هذه ذلك تلك هؤلاء أولئك هنا هناك الذي التي الذين اللذين اللتين اللواتي
ما ماذا متى أين كيف لماذا كم أي أيضا أيضاً قد لقد لم لن لا لما ليس ليست كان كانت كانوا يكون تكون يكن
كل بعض جميع أكثر أقل كذلك ذات ذو ذي به بها بهم بهما له لها لهم لهما منه منها منهم عنه عنها عليه عليها
عليهم فيه فيها فيهم إليه إليها إليهم وقد وكان وكانت ولم ولا وما وهو وهي وهذا وهذه وذلك وفي ومن وإلى وعلى
وعن ومع وبين وأن وإن وقال وقالت قال قالت يا تم ثمة أما إما سواء عليك لي لنا لك بي بنا بك عدة كلا حين بينما
اليوم أمس الآن جدا فقط مجرد حسب وفق وفقا بحسب إنما أصبح أصبحت صار مازال لازال يزال تزال
"""

_ENGLISH_STOPWORDS_RAW = """
a an the and or but if then else when while of at by for with about against between into through during
before after above below to from up down in out on off over under again further once here there all any both
each few more most other some such no nor not only own same so than too very can will just should now is are
was were be been being have has had having do does did doing i me my myself we our ours you your yours he him
his she her hers it its itself they them their theirs what which who whom this that these those am would could
also said says as s t don may might must shall its it's via per since until upon within without across
"""

# Two-letter stopwords with a clitic collide with content words (و + لي = ولي, "crown prince").
_NO_CLITIC_VARIANTS = frozenset({"لي", "ان"})

# Common words whose first letter و belongs to the stem, in stemmed form: a conjunction is never
# stripped from these, so وزير and الوزير meet, and so do وونسان and ووونسان.
_WAW_STEMS_TEXT = """
    وزير وزار وزرا وزراء وكال وكيل وكلا وسايل وسيل واشنطن وونسان وارسو وانغ وقت وقع وضع وفد وفود وطن ولاي
    وثيق وثاي وجود وصول وعود وقف وفا ورا ورق وادي واقع واضح وحيد وسط وصف وظيف وظايف ولي وليد ولد وجه
    واجه وفق وحد وحدات واحد وزن وعي ورد وقاي وكر ويلز وول وهاب وليام ولايات واجب واسع وثاق وتير
"""
_WAW_STEMS = frozenset(_WAW_STEMS_TEXT.split())

_ARTICLES = ("بال", "كال", "فال", "لل", "ال")
_SUFFIXES = ("تها", "تهم", "يات", "ات", "ون", "ين", "يه", "ها", "هم", "ته", "ه", "ا", "ي")


def _arabic_stopwords() -> frozenset[str]:
    words = {normalize(w) for w in _ARABIC_STOPWORDS_RAW.split()}
    variants = {clitic + w for w in words if w not in _NO_CLITIC_VARIANTS for clitic in ("و", "ف")}
    return frozenset(words | variants)


ARABIC_STOPWORDS = _arabic_stopwords()
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS_RAW.split())

_SNOWBALL_BY_LANG = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ru": "russian",
    "tr": "turkish",
}


def _strip_suffix(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    # Nisba and plural forms leave a final ي (الروسيين → روسي); one more step joins them to روس.
    if word.endswith("ي") and len(word) > _MIN_STEM:
        word = word[:-1]
    return word


def _strip_article(word: str) -> str:
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= _MIN_STEM:
            return word[len(article) :]
    return word


def _stem_without_waw(word: str) -> str:
    return _strip_suffix(_strip_article(word))


@functools.lru_cache(maxsize=200_000)
def stem_arabic(word: str) -> str:
    """Light-stem one normalized Arabic word (see the module docstring for the rules)."""
    if len(word) <= _MIN_STEM:
        return word
    if word.startswith("و") and len(word) > _MIN_STEM + 1:
        kept = _stem_without_waw(word)
        if kept in _WAW_STEMS:
            return kept
        return _stem_without_waw(word[1:])
    return _stem_without_waw(word)


@functools.cache
def _snowball(algorithm: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(algorithm)


@functools.lru_cache(maxsize=200_000)
def _stem_latin(word: str, algorithm: str) -> str:
    return str(_snowball(algorithm).stemWord(word))


def _is_arabic_stopword(word: str) -> bool:
    return word in ARABIC_STOPWORDS


def _term(token: str, algorithm: str | None) -> str | None:
    if _ARABIC_LETTER.search(token):
        if _is_arabic_stopword(token):
            return None
        return stem_arabic(token)
    if _LATIN_LETTER.search(token):
        if algorithm == "english" and token in ENGLISH_STOPWORDS:
            return None
        return _stem_latin(token, algorithm) if algorithm else token
    # Figures (3.28, 2025, 1,000) and other scripts pass unchanged.
    return token


def terms(text: str, lang: str | None = None) -> list[str]:
    """Index terms of `text`: normalized tokens, stopwords removed, stemmed; figures kept as they are.

    Arabic-script tokens always use the Arabic light stemmer; Latin-script tokens use the snowball
    stemmer of `lang` (English when `lang` is None or "ar"), unstemmed when snowball has none.
    """
    require_str(text)
    if lang is None or lang in {"ar", "und"}:
        algorithm: str | None = "english"
    else:
        algorithm = _SNOWBALL_BY_LANG.get(lang)
    result = []
    for token in tokens(text):
        term = _term(token, algorithm)
        if term:
            result.append(term)
    return result
