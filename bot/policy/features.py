"""Deterministic features of a question for the safety policy.

The question is first made readable for rules: slang expanded, leetspeak undone, spaced-out
letters joined, base64 payloads decoded. Then each named rule list of `data/rules.yaml` is matched.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.corpus import SAFE_LOADER
from bot.normalize import expand_slang

DATA = Path(__file__).parent / "data"
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "@": "a", "$": "s", "!": "i", "|": "l"})
_LEET_WORD_RE = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9@$!|])[\w@$!|]{3,}\b", re.IGNORECASE)
_DOTTED_RE = re.compile(r"\b(?:[A-Za-z][.\-_*]){2,}[A-Za-z]\b")
_SPACED_RE = re.compile(r"\b(?:[A-Za-z] ){3,}[A-Za-z]\b")
_CLAUSE_RE = re.compile(r"[?.!;\n]+|\b(?:also|and also|plus|oh and|btw|and then)\b")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")
_KEEP_DIGITS = re.compile(r"^(7-?oh|\d+[a-z]{0,3}|988|911|f\d+)$", re.IGNORECASE)
_FOREIGN_SCRIPT_RE = re.compile(r"[\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af\u0900-\u097f]")


# Word lists (not patterns): matched as whole words only ("dea" must not match "death").
TERM_LISTS = frozenset({"core_terms", "scope_terms", "substance_terms", "off_topic_terms", "animal_terms"})


@lru_cache(maxsize=1)
def rules() -> dict[str, tuple[re.Pattern, ...]]:
    """Return the compiled rule lists of `data/rules.yaml`, by name."""
    raw = yaml.load((DATA / "rules.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    return {name: tuple(re.compile(rf"(?<![\w-])(?:{p})(?![\w-])" if name in TERM_LISTS else p, re.IGNORECASE)
                        for p in patterns) for name, patterns in raw.items()}


def _undo_leet(text: str) -> str:
    def fix(match: re.Match) -> str:
        word = match.group(0)
        return word if _KEEP_DIGITS.match(word) else word.translate(_LEET)
    return _LEET_WORD_RE.sub(fix, text)


def _join_spaced(text: str) -> str:
    """Join letters written apart: "h.o.w m.a.n.y" -> "how many", "k r a t o m" -> "kratom"."""
    text = _DOTTED_RE.sub(lambda m: re.sub(r"[.\-_*]", "", m.group(0)), text)
    return _SPACED_RE.sub(lambda m: m.group(0).replace(" ", ""), text)


def _decode_base64(text: str) -> str:
    decoded = []
    for chunk in _BASE64_RE.findall(text):
        if len(chunk) % 4 and not chunk.endswith("="):
            chunk = chunk + "=" * (-len(chunk) % 4)
        try:
            raw = base64.b64decode(chunk, validate=True)
            plain = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        printable = sum(ch.isprintable() for ch in plain) / max(len(plain), 1)
        if printable > 0.95 and re.search(r"[a-zA-Z]{3,} [a-zA-Z]{2,}", plain):
            decoded.append(plain)
    return " ".join(decoded)


# Rules such as `\d+(\.\d+)?\s*(mg|...)` backtrack quadratically on a long run of digits (1000 digits:
# ~0.2-0.6 s per question); no real number is this long, so longer runs are cut for the rules.
_MAX_DIGITS = 20
_LONG_NUMBER_RE = re.compile(rf"\d{{{_MAX_DIGITS + 1},}}")


def readable_text(text: str) -> str:
    """Return the question as rules should read it: decoded, de-obfuscated, slang expanded.

    Args:
        text: The cleaned question.

    Returns:
        Lowercase text holding the question and anything decoded from it.
    """
    decoded = _decode_base64(text)
    combined = f"{text} {decoded}".strip()
    combined = _join_spaced(_undo_leet(combined))
    combined = combined.replace("’", "'").replace("‘", "'")
    combined = _LONG_NUMBER_RE.sub(lambda m: m.group(0)[:_MAX_DIGITS], combined)
    return expand_slang(combined).lower()


def matches(name: str, text: str) -> list[str]:
    """Return the snippets of `text` matched by the rule list `name`."""
    return [m.group(0) for pattern in rules()[name] if (m := pattern.search(text))]


def _is_foreign(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    if sum(bool(_FOREIGN_SCRIPT_RE.match(ch)) for ch in letters) / len(letters) > 0.3:
        return True
    return _foreign_word_share(text) > 0.25


@lru_cache(maxsize=1)
def _language_words() -> tuple[frozenset[str], frozenset[str]]:
    data = yaml.safe_load((DATA / "languages.yaml").read_text(encoding="utf-8"))
    foreign = frozenset(w for words in data["foreign"].values() for w in words.split())
    return frozenset(data["english"].split()), foreign


def _foreign_word_share(text: str) -> float:
    english, foreign = _language_words()
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 2:
        return 0.0
    n_foreign = sum(w in foreign and w not in english for w in words)
    n_english = sum(w in english for w in words)
    if n_foreign < 2 or n_foreign <= n_english:
        return 0.0
    return n_foreign / len(words)


@dataclass(frozen=True)
class Features:
    """What the rules see in one question (with its context)."""

    text: str                     # readable text of the current question
    context_text: str             # readable text of the previous user turn ("" if none)
    foreign: bool
    core: bool                    # a core term (kratom, opioids, withdrawal...) in the question
    in_domain: bool               # a core or scope term in the question (or, for a follow-up, its context)
    names_substance: bool
    off_topic_term: bool
    animal: bool
    crisis_selfharm: list[str]
    crisis_emergency: list[str]
    crisis_weak: bool
    crisis_informational: bool
    advice: dict[str, list[str]]  # rule list name -> snippets matched
    informational_frame: bool
    help_seeking: bool
    unframed_advice: bool         # some clause asks for advice with no informational frame
    foreign_dose: bool
    foreign_crisis: bool

    @property
    def advice_kinds(self) -> list[str]:
        """Names of the advice rule lists that matched."""
        return [name for name, found in self.advice.items() if found]


ADVICE_LISTS = ("amount_request", "frequency_request", "taper_request", "route_request",
                "product_request", "buy_request", "personal_decision")
FOLLOW_UP_RE = re.compile(r"^\W*(and|what about|how about|also|same|ok so|so|but|then|what if|for|in|with|is that|does that|how much of|how many of|how often)\b", re.IGNORECASE)


def is_follow_up(text: str, readable: str | None = None) -> bool:
    """True when a question leans on the previous turn ("and in Indiana?", "how much of it?").

    A question is a follow-up when it opens like one, or names no core term of its own.
    """
    if readable is None:
        readable = readable_text(text)
    return bool(FOLLOW_UP_RE.search(text)) or not matches("core_terms", readable)


def extract(question: str, previous: str = "") -> Features:
    """Compute the policy features of `question` with the previous user turn as context.

    Args:
        question: The cleaned question.
        previous: The previous user question, or "".

    Returns:
        The features.
    """
    text = readable_text(question)
    context = readable_text(previous) if previous else ""
    core = bool(matches("core_terms", text))
    own_domain = core or bool(matches("scope_terms", text))
    follow_up = bool(context) and is_follow_up(question, text)
    context_domain = bool(matches("core_terms", context) or matches("scope_terms", context))
    in_domain = own_domain or (follow_up and context_domain)
    advice = {name: matches(name, text) for name in ADVICE_LISTS}
    unframed = any(
        any(matches(name, clause) for name in ADVICE_LISTS) and not matches("informational_frames", clause)
        for clause in _CLAUSE_RE.split(text) if clause and clause.strip()
    )
    return Features(
        text=text, context_text=context, foreign=_is_foreign(question), core=core,
        in_domain=in_domain,
        names_substance=bool(matches("substance_terms", text)) or (follow_up and context_domain),
        off_topic_term=bool(matches("off_topic_terms", text)), animal=bool(matches("animal_terms", text)),
        crisis_selfharm=matches("crisis_selfharm", text), crisis_emergency=matches("crisis_emergency", text),
        crisis_weak=bool(matches("crisis_weak", text)),
        crisis_informational=bool(matches("crisis_informational", text)),
        advice=advice, informational_frame=bool(matches("informational_frames", text)),
        help_seeking=bool(matches("help_seeking", text)), unframed_advice=unframed,
        foreign_dose=bool(matches("foreign_dose_request", question.lower()))
        and not matches("foreign_informational", question.lower()),
        foreign_crisis=bool(matches("foreign_crisis", question.lower())),
    )
