"""Which language a message is written in (offline, `lingua-language-detector`).

kratom-qa answers in English only; a message in another language gets the English-only notice (or
the crisis reply, or a refusal, when the policy sees a crisis or an advice request in it). Detection
is restricted to English and the languages the policy has cues for, plus a few close neighbours
that would otherwise be confused with them. Short or mixed messages default to English unless they
are clearly another language: most English questions are short and full of brand names.
"""

from __future__ import annotations

import re
import threading
import time

from lingua import Language, LanguageDetectorBuilder

# ISO 639-1 code of each language the detector knows.
LANGUAGES = {
    Language.ENGLISH: "en", Language.SPANISH: "es", Language.CHINESE: "zh", Language.VIETNAMESE: "vi",
    Language.TAGALOG: "tl", Language.KOREAN: "ko", Language.ARABIC: "ar", Language.RUSSIAN: "ru",
    Language.FRENCH: "fr", Language.PORTUGUESE: "pt", Language.GERMAN: "de", Language.INDONESIAN: "id",
    Language.THAI: "th", Language.MALAY: "ms", Language.ITALIAN: "it", Language.DUTCH: "nl",
    Language.JAPANESE: "ja", Language.HINDI: "hi", Language.UKRAINIAN: "uk", Language.POLISH: "pl",
    Language.TURKISH: "tr", Language.PERSIAN: "fa",
}
_NON_LATIN_RE = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f]")
_WORD_RE = re.compile(r"[^\W\d_]+")
# Common English words that are not also common words of the policy's other languages ("no" and "me"
# are Spanish and Portuguese words too, so they are left out), with the apostrophe-less and texting forms
# people type ("whats", "dont", "ur").
_ENGLISH_WORDS = frozenset("""
a an the and or but if of to in on at for with from by is are was were be been am do does did have has had
i you he she it we they my your his her our their this that these those what which who how why when
where can could should would will not yes so just about much many more some any all
whats thats im dont doesnt didnt isnt cant wont ur u pls plz thx thanks idk ngl tbh hey bye yeah
""".split())
# Words that say nothing about the language: the topic's names, typed the same in every language the
# detector knows, and chat tokens. They are left out of the English share, so a short English question
# made mostly of names ("whats kratom kava") is not sent to the detector as if it were prose.
_NEUTRAL_WORDS = frozenset("""
kratom kratoms mitragynine pseudoindoxyl hydroxymitragynine oh mit45 kava naloxone narcan suboxone fentanyl
ok okay lol vs
""".split())
_lock = threading.Lock()
_detector = None


def _get_detector():
    global _detector
    with _lock:
        if _detector is None:
            # Models load on first need, per script (lingua caches them process-wide): a Spanish message loads
            # the Latin-script languages' models (~2.4 s), not all 22 (~4 s). Same detections as preloading
            # them (checked on every evaluation text).
            _detector = LanguageDetectorBuilder.from_languages(*LANGUAGES).build()
        return _detector


def warm_up(pause: float = 0.0) -> None:
    """Load every language's models now rather than at the first message that needs them.

    lingua holds the GIL while it loads a model (0.1-0.6 s per language, ~4 s in all), so the web app
    calls this in a background thread once it serves, with a `pause` between languages: a request that
    arrives meanwhile waits for one language's load at most, not for all of them.
    """
    for language in LANGUAGES:
        LanguageDetectorBuilder.from_languages(language).with_preloaded_language_models().build()  # fills the cache
        if pause:
            time.sleep(pause)
    _get_detector()


def detect(text: str) -> str:
    """Return the ISO code of the language of `text` ("en" when unsure).

    Args:
        text: The readable message.

    Returns:
        A two-letter code from `LANGUAGES`' values.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    non_latin = sum(bool(_NON_LATIN_RE.match(ch)) for ch in letters) / len(letters)
    every_word = [w.lower() for w in _WORD_RE.findall(text)]
    words = [w for w in every_word if w not in _NEUTRAL_WORDS]
    english_share = sum(w in _ENGLISH_WORDS for w in words) / max(len(words), 1)
    if non_latin < 0.3 and (len(every_word) < 3 or english_share >= 0.3):
        return "en"
    values = _get_detector().compute_language_confidence_values(text)
    if not values:
        return "en"
    best = values[0]
    code = LANGUAGES.get(best.language, "en")
    if code != "en" and non_latin < 0.3 and best.value < 0.5 and english_share >= 0.15:
        return "en"
    return code
