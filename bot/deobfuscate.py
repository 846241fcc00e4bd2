"""Undo the disguises people put on a message, so the policy reads what it says.

`readable_text` returns the message with anything it hides made plain: lookalike letters from other
scripts mapped to Latin (inside otherwise Latin words only, so real Russian or Greek is kept),
zero-width characters dropped, spaced or dotted letters joined ("h o w  m u c h"), leetspeak undone,
and base64, base32, hex, rot13 and reversed payloads decoded and appended. Used once per message by the
question-preparation stage (`bot.query`); `readable_parts` also returns the decoded payloads apart.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

_ZERO_WIDTH_RE = re.compile(r"[\u00ad\u034f\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l"})
_LEET_WORD_RE = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9@$!|])[\w@$!|]{3,}\b", re.IGNORECASE)
_KEEP_DIGITS = re.compile(r"^(7-?oh|\d+[a-z]{0,3}|988|911|f\d+|[a-z]\d{1,3}|\d+(st|nd|rd|th))$", re.IGNORECASE)
_DOTTED_RE = re.compile(r"\b(?:[A-Za-z][.\-_*+]){2,}[A-Za-z]\b")
_SPACED_RE = re.compile(r"(?<![A-Za-z])(?:[A-Za-z0-9] {1,2}){2,}[A-Za-z0-9](?![A-Za-z])")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")
_BASE32_RE = re.compile(r"\b(?:[A-Z2-7]{16,}|[a-z2-7]{16,})={0,6}(?![A-Za-z0-9+/])")  # one case, whole token
_HEX_RE = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:]?){8,}\b")
_MIXED_WORD_RE = re.compile(r"\w+")
_ENGLISH_CUE_RE = re.compile(r"\b(the|and|how|much|what|should|take|kratom|dose|kill|myself|many|is|i|you|to)\b")
# A run of digits this long is no real number; rules must not backtrack on it.
_LONG_NUMBER_RE = re.compile(r"\d{21,}")


@lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str:
    """The Latin letter a non-Latin character imitates, or the character itself."""
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True)
    if found:
        for homoglyph in found[0]["homoglyphs"]:
            if homoglyph["c"].isascii() and homoglyph["c"].isalpha():
                return homoglyph["c"]
    return char


def _is_latin(char: str) -> bool:
    return char.isascii() or "LATIN" in unicodedata.name(char, "")


def undo_homoglyphs(text: str) -> str:
    """Map lookalike letters to Latin inside words that mix them with Latin letters."""
    def fix(match: re.Match) -> str:
        word = match.group(0)
        letters = [ch for ch in word if ch.isalpha()]
        latin = sum(_is_latin(ch) for ch in letters)
        if latin == len(letters) or latin == 0:  # all Latin, or a real word of another script
            return word
        return "".join(ch if _is_latin(ch) else _latin_lookalike(ch) for ch in word)
    return _MIXED_WORD_RE.sub(fix, text)


def _undo_leet(text: str) -> str:
    def fix(match: re.Match) -> str:
        word = match.group(0)
        return word if _KEEP_DIGITS.match(word) else word.translate(_LEET)
    return _LEET_WORD_RE.sub(fix, text)


def _join_spaced(text: str) -> str:
    """Join letters written apart: "h.o.w m.a.n.y" -> "how many"; "k r a t o m" -> "kratom"."""
    text = _DOTTED_RE.sub(lambda m: re.sub(r"[.\-_*+]", "", m.group(0)), text)

    def join(match: re.Match) -> str:
        # Two or more spaces separate words; one space separates letters of a word.
        return " ".join(part.replace(" ", "") for part in re.split(r" {2,}", match.group(0)))
    return _SPACED_RE.sub(join, text)


def _english_like(text: str) -> bool:
    return len(_ENGLISH_CUE_RE.findall(text.lower())) >= 2


def _looks_like_text(plain: str) -> bool:
    """Whether decoded bytes read as text: nearly all printable, with a run of three letters."""
    return bool(plain) and sum(ch.isprintable() for ch in plain) / len(plain) > 0.95 and bool(
        re.search(r"[a-zA-Z]{3,}", plain))


def _decoded_payloads(text: str) -> list[str]:
    """Plain-text payloads hidden in `text`: base64, base32, hex, rot13 or reversed English."""
    found = []
    for chunk in _BASE64_RE.findall(text):
        padded = chunk + "=" * (-len(chunk) % 4)
        try:
            plain = base64.b64decode(padded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _looks_like_text(plain):
            found.append(plain)
    for chunk in _BASE32_RE.findall(text):
        bare = chunk.rstrip("=")
        try:
            plain = base64.b32decode(bare + "=" * (-len(bare) % 8), casefold=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _looks_like_text(plain):
            found.append(plain)
    for chunk in _HEX_RE.findall(text):
        try:
            plain = bytes.fromhex(re.sub(r"[\s:]", "", chunk)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if plain.isprintable():
            found.append(plain)
    if not _english_like(text):
        rot = codecs.decode(text, "rot13")
        if _english_like(rot):
            found.append(rot)
        backwards = text[::-1]
        if _english_like(backwards):
            found.append(backwards)
    return found


def _plain(text: str) -> str:
    """Leetspeak and spaced letters undone, curly apostrophes made straight."""
    return _join_spaced(_undo_leet(text)).replace("\u2019", "'").replace("\u2018", "'")


def readable_parts(text: str) -> tuple[str, tuple[str, ...]]:
    """`readable_text` of `text`, and the hidden payloads it decoded, each made plain on its own (leetspeak and
    spaced letters undone, apostrophes straightened), repeats dropped (read on their own by the policy when
    `crisis_payload` / `advice_payload` are set)."""
    text = _ZERO_WIDTH_RE.sub("", unicodedata.normalize("NFKC", text))
    text = undo_homoglyphs(text)
    text = _LONG_NUMBER_RE.sub(lambda m: m.group(0)[:20], text)
    payloads = _decoded_payloads(text)
    plain_payloads = tuple(dict.fromkeys(p for p in (_plain(x).strip() for x in payloads) if p))
    return _plain(" ".join([text, *payloads]).strip()), plain_payloads


def readable_text(text: str) -> str:
    """Return `text` with its disguises undone and hidden payloads appended (original case kept).

    Args:
        text: A cleaned message (see `bot.normalize.clean_question`).

    Returns:
        The readable text; equal to `text` when nothing was disguised.
    """
    return readable_parts(text)[0]
