"""Correct misspelled words of a question against the corpus's own vocabulary.

"thiland", "mississipi", "adictive" and "federaly" are common in real questions; neither BM25 nor
the embedding model copes well with them. A word that is not in the vocabulary is replaced by the
most frequent vocabulary word within one edit (two for long words). Words the corpus never uses and
that are not near any corpus word are left alone, and so are common English words (`english_words`:
the frequency list that ships with pyspellchecker): without them "right" became "fight", because the
corpus was the only vocabulary.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from importlib import resources
from typing import Iterable

_WORD_RE = re.compile(r"[A-Za-z]+")


def _deletes(word: str, depth: int) -> set[str]:
    """All strings made by deleting up to `depth` characters of `word`."""
    found, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions)."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


ENGLISH_MIN_COUNT = 1000  # chosen on the retrieval tune part: 200 and 1000 tied, 50 lost more answerable questions


def english_words(min_count: int = ENGLISH_MIN_COUNT) -> set[str]:
    """Common English words: pyspellchecker's English frequency list (OpenSubtitles-based), lowercase,
    with a count of at least `min_count` (its rarest entries include misspellings of real words)."""
    path = resources.files("spellchecker") / "resources" / "en.json.gz"
    with path.open("rb") as handle:
        counts = json.loads(gzip.decompress(handle.read()))
    return {word for word, count in counts.items() if count >= min_count}


def max_edits(word: str) -> int:
    """Edits allowed for a word of this length: none below 5 letters, one up to 7, two from 8."""
    return 0 if len(word) < 5 else (1 if len(word) < 8 else 2)


class SpellFixer:
    """Fixes words of a question against a vocabulary (word -> frequency), SymSpell style."""

    def __init__(self, texts: Iterable[str], extra_words: Iterable[str] = (), keep_words: Iterable[str] = ()) -> None:
        """`texts`: the vocabulary's texts; `extra_words`: more vocabulary; `keep_words`: words that are
        never corrected although the vocabulary lacks them (only those a correction would reach are kept)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in _WORD_RE.findall(text))
        for word in extra_words:
            counts[word.lower()] += 1
        self.vocabulary = counts
        self._index: dict[str, list[str]] = {}
        for word in counts:
            for variant in _deletes(word, max_edits(word)):
                self._index.setdefault(variant, []).append(word)
        self._cache: dict[str, str] = {}
        self.keep: frozenset[str] = frozenset()
        self.keep = frozenset(w for w in (k.lower() for k in keep_words) if self.correct_word(w) != w)
        self._cache.clear()

    def __getstate__(self) -> dict:
        """Pickled into the index by the build without its cache of corrections (`__init__` is not run
        when the index is loaded: the vocabulary and its delete index are read as they are)."""
        return {"vocabulary": self.vocabulary, "_index": self._index, "keep": self.keep}

    def __setstate__(self, state: dict) -> None:
        self.vocabulary, self._index, self.keep, self._cache = state["vocabulary"], state["_index"], state["keep"], {}

    def correct_word(self, word: str) -> str:
        """Return the vocabulary word closest to `word` (lowercase), or `word` itself."""
        lower = word.lower()
        limit = max_edits(lower)
        if not limit or lower in self.vocabulary or lower in self.keep:
            return word
        fixed = self._cache.get(lower)  # one read: another thread may clear the cache at any time
        if fixed is None:
            candidates = {c for v in _deletes(lower, limit) for c in self._index.get(v, ())}
            scored = [(_distance(lower, c), -self.vocabulary[c], c) for c in candidates]
            scored = [s for s in scored if s[0] <= min(limit, max_edits(s[2]) or 1)]
            fixed = min(scored)[2] if scored else lower
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[lower] = fixed
        return word if fixed == lower else fixed

    def fix(self, text: str) -> str:
        """Return `text` with misspelled words corrected."""
        return _WORD_RE.sub(lambda m: self.correct_word(m.group(0)), text)
