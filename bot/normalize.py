"""Text normalisation shared by retrieval and the safety policy.

- `clean_question`: make any input safe to process (strips control characters, NUL bytes and
  unpaired surrogates; reads at most `READ_LIMIT` characters), and says whether it is too long.
- `expand_slang`: map spelling variants and slang ("krat", "7oh", "w/d") to the corpus's words.
- `tokenize`: lowercase word tokens with a light stemmer and no stop words, for BM25.
- `split_sentences`: sentences of a passage, for the highlight.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

# Above this many characters a message is "too long": the reply says so (the rule floor still reads it).
MAX_QUESTION_CHARS = 20_000
# Nothing past this is read at all (a safety valve for the regular expressions; the web API caps earlier).
READ_LIMIT = 200_000
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_WORD_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Stop words: function words, then (from "ur" on) texting fillers and words that frame a request
# ("explain", "in simple words", "pretend"). Answerability counts the rare words of a question that no
# retrieved passage covers, so a filler such as "ur", in no passage, used to make a covered question
# look unanswerable ("how does kratom act on ur brain": P 0.23, "... on the brain": 0.86, before this list).
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves im ive id dont
doesnt isnt cant wont whats hey hi hello please thanks thank anyone someone really also get got tell know
ur u ok okay rn tbh lol lmao idk btw ngl fr bro dude yeah yea yo thx ty um uh like gonna wanna kinda sorta
actually exactly even basically literally gotcha cool alright explain describe summarize summarise briefly
brief simple simply terms words short quick question questions wondering curious asking ask want need info
anything something stuff thing things guys pretend imagine make write say said heard hear saw seen
""".split())


@dataclass(frozen=True)
class CleanQuestion:
    """A question made safe to process, with what cleaning changed."""

    text: str
    too_long: bool
    original_length: int


def clean_question(raw: object) -> CleanQuestion:
    """Return the question as safe text: str, NFC, no control characters, single spaces.

    Args:
        raw: Whatever arrived (None and non-strings included).

    Returns:
        The cleaned question (whole, up to `READ_LIMIT`); `text` is empty when nothing usable remains.
    """
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    original_length = len(text)
    text = text[:READ_LIMIT]
    text = _SURROGATE_RE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub(" ", text).replace("\t", " ").replace("\r", " ")
    text = " ".join(text.split())
    return CleanQuestion(text=text, too_long=len(text) > MAX_QUESTION_CHARS, original_length=original_length)


@lru_cache(maxsize=1)
def _slang_rules() -> tuple[tuple[re.Pattern, str], ...]:
    entries = yaml.safe_load((Path(__file__).parent / "data" / "slang.yaml").read_text(encoding="utf-8"))
    return tuple(
        (re.compile(rf"(?<![\w-])(?:{e['pattern']})(?![\w-])", re.IGNORECASE), e["replace"]) for e in entries
    )


def expand_slang(text: str) -> str:
    """Replace slang, abbreviations and common misspellings by the corpus's words."""
    text = unicodedata.normalize("NFKC", text)
    for pattern, replacement in _slang_rules():
        text = pattern.sub(replacement, text)
    return text


def _stem(token: str) -> str:
    if len(token) <= 3 or token[0].isdigit():
        return token
    for suffix, replacement, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("ed", "", 5)):
        if token.endswith(suffix) and len(token) >= min_len:
            return token[: -len(suffix)] + replacement
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Return BM25 tokens: lowercase words, stop words removed, lightly stemmed."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [_stem(t) for t in _WORD_RE.findall(folded) if t not in STOPWORDS]


_ABBREVIATIONS = ("U.S.", "e.g.", "i.e.", "Dr.", "No.", "al.", "vs.", "St.", "Jan.", "Feb.", "Aug.",
                  "Sept.", "Oct.", "Nov.", "Dec.", "Rep.", "Reps.", "Gov.", "Adm.", "Inc.", "Co.", "Ky.",
                  "O.S.", "Sen.", "U.K.", "J.", "Am.", "Med.", "Pharmacol.", "approx.", "D.C.", "ca.")
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[])")


def split_sentences(text: str) -> list[str]:
    """Split a passage into sentences, keeping common abbreviations whole."""
    protected = text
    for i, abbreviation in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbreviation, abbreviation.replace(".", f"\x00{i}\x00"))
    pieces = [p.strip() for p in _SPLIT_RE.split(protected) if p.strip()]
    restored = []
    for piece in pieces:
        for i, abbreviation in enumerate(_ABBREVIATIONS):
            piece = piece.replace(abbreviation.replace(".", f"\x00{i}\x00"), abbreviation)
        restored.append(piece)
    return restored or [text]
