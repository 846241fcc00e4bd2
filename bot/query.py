"""Question preparation: the one stage that turns raw input into what the policy and retrieval read.

Runs once per question. It cleans the input, undoes disguises (bot/deobfuscate.py), detects the
language, decides whether the earlier turns are needed (a follow-up), splits a long message into
overlapping windows and into sentences (`segments`; a short message of two or more sentences too),
keeps the decoded payloads apart, and makes the search text (slang, spelling fixed against the corpus
vocabulary, query expansions from data/expansions.yaml). `texts_to_embed` lists every text the
question needs embedded, so the engine makes one model call for all of them (a second one for a long
message's sentences).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Sequence

import yaml

from bot.deobfuscate import readable_parts, readable_text
from bot.jurisdiction import Jurisdictions
from bot.language import detect
from bot.normalize import clean_question, expand_slang, tokenize
from bot.spelling import SpellFixer, english_words

_EXPANSIONS = Path(__file__).parent / "data" / "expansions.yaml"
_FOLLOW_UP_RE = re.compile(
    r"^\W*(and|what about|how about|also|same|ok so|so|but|then|what if|for|in|with|is that|does that|"
    r"how much of|how many of|how often|why|really|ok|okay|and what|what else|where)\b", re.IGNORECASE)
_CORE_RE = re.compile(r"\b(kratom|mitragyn\w*|7-oh|speciosa|ketum|opioids?|fentanyl|heroin|oxycodone|methadone|"
                      r"buprenorphine|suboxone|naloxone|narcan|lofexidine|withdraw\w*|overdos\w*|addict\w*)\b",
                      re.IGNORECASE)


@lru_cache(maxsize=1)
def _expansions() -> tuple[tuple[re.Pattern, str], ...]:
    entries = yaml.safe_load(_EXPANSIONS.read_text(encoding="utf-8"))
    return tuple((re.compile(rf"(?<![\w-])(?:{e['pattern']})(?![\w-])", re.IGNORECASE), e["add"]) for e in entries)


def expand_query(text: str) -> str:
    """Append the corpus words for the concepts `text` names (US -> federal, strain -> products...)."""
    added = [add for pattern, add in _expansions() if pattern.search(text)]
    return " ".join([text, *added])


def is_follow_up(message: str) -> bool:
    """True when a message leans on the earlier turns ("and in Indiana?", "how much of it?")."""
    return bool(_FOLLOW_UP_RE.search(message)) or not names_subject(message)


def names_subject(message: str) -> bool:
    """True when a message names a subject of the corpus itself (kratom, 7-OH, an opioid, withdrawal...):
    "ok so is kratom addictive" opens like a follow-up but can also be read on its own."""
    return bool(_CORE_RE.search(message))


def windows(text: str, size: int, overlap: int) -> tuple[str, ...]:
    """Overlapping windows of a long text, cut at spaces; () when the text fits in one."""
    if len(text) <= size:
        return ()
    out, start, step = [], 0, size - overlap
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + step, end)
            end = cut if cut > start else end
        out.append(text[start:end].strip())
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return tuple(w for w in out if w)


_LINE_RE = re.compile(r"[\n\r\u2028\u2029\x85\x0b\x0c]+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
MIN_SEGMENT_CHARS = 8


def segments(raw: str) -> tuple[str, ...]:
    """The sentences of a message, each line read on its own (cleaned and made readable as a whole
    message is), in order, without repeats and without pieces shorter than `MIN_SEGMENT_CHARS`: a request
    placed inside a long preamble (a jailbreak prompt) is read apart from the preamble's words. Lines are
    split before cleaning, which joins them."""
    out: dict[str, None] = {}
    for line in _LINE_RE.split(raw):
        readable = readable_text(clean_question(line).text)
        for sentence in _SENTENCE_END_RE.split(readable):
            sentence = sentence.strip()
            if len(sentence) >= MIN_SEGMENT_CHARS:
                out.setdefault(sentence, None)
    return tuple(out)


def message_sentences(raw: str, long: bool) -> tuple[str, ...]:
    """The sentences the policy may read on their own (`segments`): every sentence of a long message; of a short
    message only when it holds two or more (a message of one sentence is its whole reading), else ()."""
    found = segments(raw)
    return found if long or len(found) >= 2 else ()


# Where one sentence of a short message holds a second question or request: at ";", or at a comma or a joining word
# when the next word opens a question or a request ("..., and how much should i take"). English only; judged by
# docs/decisions/2026-12-07-short-message-clauses.txt.
_OPENER = (r"(?:how|what|whats|what's|where|which|when|who|why|can|could|should|would|will|is|are|am|do|does|did|"
           r"tell|give|list|recommend|suggest|pls|plz|please)\b")
_CLAUSE_RE = re.compile(
    rf";\s*|(?:,\s*|\s+)(?:(?:oh\s+)?and|also|plus|btw|but|or|&|\+)\s+(?=(?:also\s+|then\s+|so\s+)?{_OPENER})"
    rf"|,\s*(?=(?:also\s+|then\s+|so\s+)?{_OPENER})",
    re.IGNORECASE)


def clauses(sentence: str) -> tuple[str, ...]:
    """The clauses of one sentence (`_CLAUSE_RE`), stripped, pieces under `MIN_SEGMENT_CHARS` dropped."""
    parts = (part.strip(" ,") for part in _CLAUSE_RE.split(sentence))
    return tuple(part for part in parts if len(part) >= MIN_SEGMENT_CHARS)


def message_clauses(raw: str) -> tuple[str, ...]:
    """The parts of a short message read on their own when `short_message_parts` is "clauses": its sentences split
    into clauses, in order and without repeats, when there are two or more; else ()."""
    found = tuple(dict.fromkeys(part for sentence in segments(raw) for part in clauses(sentence)))
    return found if len(found) >= 2 else ()


@dataclass(frozen=True)
class PreparedQuestion:
    """Everything the policy and retrieval read of one question."""

    text: str                 # the cleaned message, as shown back
    readable: str             # disguises undone, payloads decoded
    language: str             # ISO code ("en" when unsure)
    context: str              # readable earlier user turns, oldest first ("" if none)
    follow_up: bool           # the earlier turns are part of the search
    message_text: str         # the message alone as embedded (slang, spelling, expansions)
    context_text: str         # earlier turns + message, as embedded ("" if no history)
    search_text: str          # what retrieval embeds and matches (message_text unless a follow-up)
    windows: tuple[str, ...]  # readable windows of a long message (() if short)
    too_long: bool
    segments: tuple[str, ...] = ()  # readable sentences: a long message's, or a short one's when it has two or more
    payloads: tuple[str, ...] = ()  # decoded payloads (base64, base32, hex, rot13, reversed), each made plain

    @cached_property
    def readable_tokens(self) -> frozenset[str]:
        """The content words of the readable message (`bot.normalize.tokenize`), computed once per
        question: answerability's coverage and every highlight read them."""
        return frozenset(tokenize(self.readable))

    def texts_to_embed(self) -> list[str]:
        """Every text this question needs embedded, in a fixed order (see `vectors_of`): the fixed texts, the
        windows, the decoded payloads, and last the sentences (embedded in a call of their own)."""
        return self.fixed_texts() + list(self.windows) + list(self.payloads) + list(self.segments)

    def fixed_texts(self) -> list[str]:
        """The message, its text with earlier turns, and its search text (without repeats): `texts_to_embed`
        without the windows, payloads and sentences."""
        texts = [self.message_text]
        if self.context_text:
            texts.append(self.context_text)
        if self.search_text not in texts:
            texts.append(self.search_text)
        return texts


@dataclass(frozen=True)
class QuestionVectors:
    """The embeddings of one prepared question."""

    message: object           # np.ndarray: the message alone
    context: object | None    # the message with its earlier turns, or None
    search: object            # what retrieval searches with
    windows: tuple            # one per window
    segments: tuple = ()      # one per sentence of `PreparedQuestion.segments`
    payloads: tuple = ()      # one per decoded payload


def vectors_of(prepared: PreparedQuestion, vectors: Sequence) -> QuestionVectors:
    """Map the rows embedded for `texts_to_embed` back to their roles."""
    texts = prepared.texts_to_embed()
    n_fixed = len(prepared.fixed_texts())
    by_text = {t: vectors[i] for i, t in enumerate(texts[:n_fixed])}  # a payload or sentence may repeat one
    n_windows = n_fixed + len(prepared.windows)
    n_payloads = n_windows + len(prepared.payloads)
    context = by_text.get(prepared.context_text) if prepared.context_text else None
    return QuestionVectors(message=vectors[0], context=context, search=by_text[prepared.search_text],
                           windows=tuple(vectors[n_fixed:n_windows]), segments=tuple(vectors[n_payloads:len(texts)]),
                           payloads=tuple(vectors[n_windows:n_payloads]))


class QuestionPreparer:
    """Prepares questions for one corpus (its spelling vocabulary) and one policy configuration."""

    def __init__(self, spell: SpellFixer | None, places: Jurisdictions | None, window_size: int,
                 window_overlap: int, context_turns: int) -> None:
        self.spell = spell
        self.places = places
        self.window_size = window_size
        self.window_overlap = window_overlap
        self.context_turns = context_turns

    def _normalised(self, text: str) -> str:
        text = expand_slang(text)
        text = self.spell.fix(text) if self.spell is not None else text
        return expand_query(text)

    def _earlier(self, history: object) -> list[str]:
        if history is None or self.context_turns == 0:
            return []
        if isinstance(history, (str, bytes)):
            history = [history]
        try:
            turns = list(history)[-self.context_turns:]
        except Exception:  # noqa: BLE001 (not iterable, or an iterator that fails: no usable history)
            return []
        return [readable_text(clean_question(turn).text) for turn in turns]

    def prepare(self, question: object, history: object = None) -> PreparedQuestion:
        """Prepare one question with its earlier user turns (oldest first)."""
        clean = clean_question(question)
        readable, payloads = readable_parts(clean.text)
        context = " ".join(t for t in self._earlier(history) if t)
        follow_up = bool(context) and is_follow_up(readable)
        message_text = self._normalised(readable)
        context_text = self._normalised(f"{context} {readable}") if context else ""
        search_context = context
        if follow_up and self.places is not None and self.places.named_in(readable):
            search_context = self.places.remove_from(context)  # "and in Ohio?" searches Ohio only
        search_base = self._normalised(f"{search_context} {readable}") if follow_up else message_text
        long_windows = windows(readable, self.window_size, self.window_overlap) if not clean.too_long else ()
        raw = question if isinstance(question, str) else clean.text
        return PreparedQuestion(
            text=clean.text, readable=readable, language=detect(readable), context=context,
            follow_up=follow_up, message_text=message_text, context_text=context_text,
            search_text=search_base,
            windows=long_windows, too_long=clean.too_long, segments=message_sentences(raw, bool(long_windows)),
            payloads=() if clean.too_long else payloads,
        )


def preparer_for(passages: Sequence, window_size: int, window_overlap: int, context_turns: int) -> QuestionPreparer:
    """The preparation stage for a corpus: spelling fixed against its passages' own words."""
    spell = SpellFixer([f"{p.title} {p.text}" for p in passages], keep_words=english_words())
    return QuestionPreparer(spell, Jurisdictions(), window_size, window_overlap, context_turns)
