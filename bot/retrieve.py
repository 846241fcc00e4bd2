"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank fusion.

A passage's dense score is the best of its own cosine and the cosines of the questions it answers
(corpus/questions/) less `QUESTION_DISCOUNT`; BM25 indexes its title, text and questions, and a BM25
ranking below `MIN_LEXICAL_SCORE` is dropped. The question is encoded once by the caller; the same
vector serves the dense search, the highlights and the policy.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import AbstractSet, Iterable, Sequence

import faiss
import numpy as np

from bot.index import SearchIndex
from bot.normalize import tokenize

RRF_K = 10  # small k: top ranks dominate (swept on eval/retrieval_eval.yaml, see SYSTEM_CARD.md)
LEXICAL_WEIGHT = 0.7
DEPTH = 50
PLACE_DEPTH = 10  # a question naming a place reorders this many fused passages (chosen on the tune part)
# A BM25 ranking whose best score is below this carries no information: only words found in nearly every
# passage matched ("what is kratom" -> "kratom", idf ~0.04), so its order is document-length noise, and
# fused by rank it put state-law passages first. On the tune part best scores are either < 0.1 or > 0.75
# (SYSTEM_CARD.md, Retrieval); 0.5 sits in that gap.
MIN_LEXICAL_SCORE = 0.5
# A per-passage question must beat the passage's own cosine by this much to set its dense score: short
# questions ("what did WHO say about kratom") sit close to every short, general question, and without
# it they outranked the passage that answers it ("what is kratom" -> a passage on how many studies
# exist). Swept on the tune part (SYSTEM_CARD.md, Retrieval).
QUESTION_DISCOUNT = 0.06

faiss.omp_set_num_threads(1)  # a small search is faster on one thread on these machines


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the scores that placed it."""

    row: int
    passage_id: str
    fused: float
    dense: float  # cosine similarity of question and passage
    dense_rank: int | None
    lexical_rank: int | None


class _LastQuestion(threading.local):
    """Per thread: the scores of the last question ranked. `ask` ranks one question two or three times
    (the search, then answerability's own top-2 rankings); the scores are pure functions of the vector
    and the text, so they are computed once and returned read-only."""

    def __init__(self) -> None:
        self.vector_key: tuple | None = None
        self.question_scores: tuple[np.ndarray, np.ndarray] | None = None
        self.text: str | None = None
        self.lexical: tuple[list[str], np.ndarray | None] | None = None


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.setflags(write=False)


class Retriever:
    """Ranks passages of one `SearchIndex` for a question."""

    def __init__(self, index: SearchIndex, rrf_k: int = RRF_K, depth: int = DEPTH,
                 dense_weight: float = 1.0, lexical_weight: float = LEXICAL_WEIGHT,
                 min_lexical_score: float = MIN_LEXICAL_SCORE, question_discount: float = QUESTION_DISCOUNT) -> None:
        self.index = index
        self.min_lexical_score = min_lexical_score
        self.question_discount = question_discount
        self.rrf_k = rrf_k
        self.depth = depth
        self.dense_weight = dense_weight
        self.lexical_weight = lexical_weight
        self._last = _LastQuestion()

    def question_scores(self, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, best question cosine) for every passage that has questions (read-only arrays)."""
        key = (query_vector.dtype.str, query_vector.shape, query_vector.tobytes())
        last = self._last
        if last.vector_key != key:
            last.question_scores, last.vector_key = self._question_scores(query_vector), key
        return last.question_scores

    def _question_scores(self, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        owners = self.index.question_owner
        if owners.size == 0:
            rows, best = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        else:
            sims = self.index.question_vectors @ query_vector
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            rows, best = owners[starts], np.maximum.reduceat(sims, starts)
        _read_only(rows, best)
        return rows, best

    def bm25_scores(self, query_text: str) -> tuple[list[str], np.ndarray | None]:
        """The text's tokens and every passage's BM25 score (read-only); ([], None) when the text has no
        tokens or no passage scores `min_lexical_score` (an uninformative ranking: no lexical ranks)."""
        last = self._last
        if last.text != query_text:
            tokens = tokenize(query_text)
            scores = self.index.bm25.get_scores(tokens) if tokens else None
            if scores is not None and (not scores.size or scores.max() < self.min_lexical_score):
                tokens, scores = [], None
            if scores is not None:
                _read_only(scores)
            last.lexical, last.text = (tokens, scores), query_text
        return last.lexical

    def dense_ranking(self, query_vector: np.ndarray, depth: int | None = None) -> list[tuple[int, float]]:
        """Return (row, score) pairs, best first: score = max(passage cosine, best question cosine -
        `question_discount`)."""
        depth = min(depth or self.depth, self.index.dense.ntotal)
        scores, rows = self.index.dense.search(query_vector.reshape(1, -1).astype(np.float32), depth)
        best = {int(r): float(s) for r, s in zip(rows[0], scores[0]) if r >= 0}
        q_rows, q_scores = self.question_scores(query_vector)
        if q_rows.size:
            top = np.argsort(-q_scores, kind="stable")[:depth]
            for row, score in zip(q_rows[top], q_scores[top]):
                row = int(row)
                best[row] = max(best.get(row, float(self.index.passage_vector(row) @ query_vector)),
                                float(score) - self.question_discount)
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:depth]

    def lexical_ranking(self, query_text: str, depth: int | None = None) -> list[tuple[int, float]]:
        """Return (row, BM25 score) pairs with a positive score, best first."""
        tokens, scores = self.bm25_scores(query_text)
        if not tokens:
            return []
        depth = min(depth or self.depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def search(self, query_vector: np.ndarray, query_text: str, k: int = 3, mode: str = "hybrid",
               allowed_rows: Iterable[int] | None = None) -> list[Hit]:
        """Return the top `k` passages.

        Args:
            query_vector: The question's unit-normalised embedding.
            query_text: The question text (slang expanded) for BM25.
            k: How many passages to return.
            mode: "hybrid" (RRF of both), "dense" or "lexical".
            allowed_rows: If given, only these passage rows may be returned.

        Returns:
            Hits, best first.
        """
        if allowed_rows is not None:
            return self._search_within(query_vector, query_text, k, mode, allowed_rows)
        dense = self.dense_ranking(query_vector, self.depth) if mode in ("hybrid", "dense") else []
        lexical = self.lexical_ranking(query_text, self.depth) if mode in ("hybrid", "lexical") else []
        dense_rank = {row: rank for rank, (row, _) in enumerate(dense, start=1)}
        lexical_rank = {row: rank for rank, (row, _) in enumerate(lexical, start=1)}
        cosine = dict(dense)
        candidates = sorted(set(dense_rank) | set(lexical_rank))
        fused_scores = reciprocal_rank_fusion(
            [np.array([dense_rank.get(r, 0) for r in candidates]), np.array([lexical_rank.get(r, 0) for r in candidates])],
            [self.dense_weight, self.lexical_weight], self.rrf_k)
        fused = dict(zip(candidates, fused_scores.tolist()))
        order = sorted(fused, key=lambda r: (-fused[r], dense_rank.get(r, 10**9)))[:k]
        hits = []
        for row in order:
            similarity = cosine.get(row)
            if similarity is None:
                similarity = float(self.index.passage_vector(row) @ query_vector)
            hits.append(Hit(row, self.index.passage_ids[row], fused[row], similarity,
                            dense_rank.get(row), lexical_rank.get(row)))
        return hits


    def _search_within(self, query_vector: np.ndarray, query_text: str, k: int, mode: str,
                       allowed_rows: Iterable[int]) -> list[Hit]:
        """`search` restricted to `allowed_rows`, in numpy (no Python step per passage).

        Flat index (below `HNSW_THRESHOLD`): every allowed row is ranked exactly, with the same
        scores, tie order and fusion as ranking all rows and dropping the others. HNSW index: like
        the unrestricted search at that size, the best `depth` allowed rows of each ranking are
        fused (a filtered HNSW search; asking HNSW for all 100k rows took ~90 ms).
        """
        n_total = self.index.dense.ntotal
        rows_in = allowed_rows if isinstance(allowed_rows, (list, tuple, np.ndarray)) else list(allowed_rows)
        allowed = np.unique(np.asarray(rows_in, dtype=np.int64))
        allowed = allowed[(allowed >= 0) & (allowed < n_total)]
        n = int(allowed.size)
        if n == 0:
            return []
        dense_index = faiss.downcast_index(self.index.dense)
        approximate = hasattr(dense_index, "hnsw")
        depth = min(n, max(self.depth, k)) if approximate else n
        member = np.zeros(n_total, dtype=bool)
        member[allowed] = True
        bitmap = np.packbits(member, bitorder="little")  # faiss reads bit i at byte i >> 3, bit i & 7
        dense_rank = np.zeros(n, dtype=np.int64)  # 0: not ranked
        cosine = np.zeros(n, dtype=np.float32)
        if mode in ("hybrid", "dense"):
            selector = faiss.IDSelectorBitmap(n_total, faiss.swig_ptr(bitmap))
            if approximate:
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(dense_index.hnsw.efSearch, depth))
            else:
                params = faiss.SearchParameters(sel=selector)
            scores, rows = dense_index.search(query_vector.reshape(1, -1).astype(np.float32), depth, params=params)
            found = rows[0] >= 0
            where = np.searchsorted(allowed, rows[0][found])
            cosine[where] = scores[0][found]
            has_score = np.zeros(n, dtype=bool)
            has_score[where] = True
            q_rows, q_scores = self.question_scores(query_vector)  # a passage scores as its best question too
            if q_rows.size:
                inside = member[q_rows]
                at = np.searchsorted(allowed, q_rows[inside])
                for i, score in zip(at, q_scores[inside] - np.float32(self.question_discount)):
                    if not has_score[i] or score > cosine[i]:
                        cosine[i] = score
                        has_score[i] = True
            ranked = np.flatnonzero(has_score)
            ranked = ranked[np.lexsort((ranked, -cosine[ranked]))][:depth]
            dense_rank[ranked] = np.arange(1, ranked.size + 1)
        lexical_rank = np.zeros(n, dtype=np.int64)
        tokens, scores = self.bm25_scores(query_text) if mode in ("hybrid", "lexical") else ([], None)
        if tokens:
            if approximate:
                top = allowed[np.argpartition(-scores[allowed], depth - 1)[:depth]]
            else:  # every row, as `lexical_ranking` ranks them (same tie order)
                top = np.argpartition(-scores, n_total - 1)
            top = top[np.argsort(-scores[top], kind="stable")]
            ranked = top[member[top] & (scores[top] > 0)]
            lexical_rank[np.searchsorted(allowed, ranked)] = np.arange(1, ranked.size + 1)
        has_dense, has_lexical = dense_rank > 0, lexical_rank > 0
        fused = reciprocal_rank_fusion([dense_rank, lexical_rank], [self.dense_weight, self.lexical_weight], self.rrf_k)
        candidates = np.flatnonzero(has_dense | has_lexical)
        tie_break = np.where(has_dense, dense_rank, 10**9)[candidates]
        order = candidates[np.lexsort((tie_break, -fused[candidates]))][:k]
        hits = []
        for i in order:
            row = int(allowed[i])
            similarity = float(cosine[i]) if has_dense[i] else float(self.index.passage_vector(row) @ query_vector)
            hits.append(Hit(row, self.index.passage_ids[row], float(fused[i]), similarity,
                            int(dense_rank[i]) if has_dense[i] else None,
                            int(lexical_rank[i]) if has_lexical[i] else None))
        return hits

def prefer_places(hits: list[Hit], asked: AbstractSet[str], passage_places: Sequence[AbstractSet[str]]) -> list[Hit]:
    """Reorder `hits` for a question that names places (`asked`): passages that name only other places
    go after the rest (fused order kept within each group).

    "Can I buy kratom in Ohio" must not show another state's law before Ohio's or a general passage.
    Passages naming an asked place are not promoted above passages naming no place: a passage about
    traditional use in "Southeast Asia" answers a question about Thailand better than Thailand's law
    (chosen on the tune part: promoting them cost more than it gained).
    """
    def elsewhere(hit: Hit) -> bool:
        named = passage_places[hit.row]
        return bool(named) and not named & asked
    return sorted(hits, key=elsewhere)  # stable: fused order kept within a group


def place_aware_search(retriever: "Retriever", passage_places: Sequence[AbstractSet[str]], asked: AbstractSet[str],
                       query_vector: np.ndarray, query_text: str, k: int = 3, mode: str = "hybrid") -> list[Hit]:
    """`retriever.search`, with `prefer_places` over the first `PLACE_DEPTH` passages when places are asked."""
    if not asked:
        return retriever.search(query_vector, query_text, k, mode)
    wide = retriever.search(query_vector, query_text, max(k, PLACE_DEPTH), mode)
    return prefer_places(wide, asked, passage_places)[:k]


def reciprocal_rank_fusion(ranks: list[np.ndarray], weights: list[float], k: float) -> np.ndarray:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings that rank an item.

    Args:
        ranks: One array per ranking, aligned on the same items; 1 = best, 0 = not ranked.
        weights: The weight of each ranking.
        k: The fusion constant (small k: top ranks dominate).

    Returns:
        The fused score of each item.
    """
    fused = np.zeros(len(ranks[0]) if ranks else 0, dtype=np.float64)
    for rank, weight in zip(ranks, weights):
        ranked = rank > 0
        fused[ranked] += weight / (k + rank[ranked])
    return fused


# Closing caveats ("check the current law", "laws change") are true but never the answer itself.
_CAVEAT_RE = re.compile(r"\b(check (the|your|its|[a-z]+'s) (current|latest)|laws? (change|are changing)|"
                        r"before relying|this is not medical advice|talk to (a|your) (doctor|pharmacist))\b",
                        re.IGNORECASE)
CAVEAT_PENALTY = 0.15     # subtracted from a caveat sentence's score
OVERLAP_WEIGHT = 0.10     # added per share of the question's content words the sentence holds


def sentence_facts(index: SearchIndex, sentence: int) -> tuple[frozenset[str], bool]:
    """The tokens of sentence row `sentence` and whether it is a closing caveat; computed on first use
    and kept on the index (corpus text only: a sentence is read once, not at every question)."""
    facts = index.sentence_facts.get(sentence)
    if facts is None:
        text = index.sentences[sentence]
        facts = index.sentence_facts[sentence] = (frozenset(tokenize(text)), bool(_CAVEAT_RE.search(text)))
    return facts


def best_sentence(index: SearchIndex, row: int, query_vector: np.ndarray, query_text: str = "",
                  asked: AbstractSet[str] | None = None) -> tuple[str, float]:
    """Return the sentence of passage `row` that answers the question best, and its score.

    The score is the sentence's cosine to the question, plus a little for each of the question's
    content words it contains (the asked fact: a number, a place, an agency), minus a penalty for a
    closing caveat, so a caveat is the highlight only when no sentence is closer to the question.
    `asked`: the question's content words (`tokenize(query_text)`), when the caller has them already.
    """
    owners = index.sentence_owner
    start = int(np.searchsorted(owners, row, side="left"))
    stop = int(np.searchsorted(owners, row, side="right"))
    if start == stop:
        return "", 0.0
    scores = index.sentence_vectors[start:stop] @ query_vector
    asked = set(tokenize(query_text)) if asked is None else asked
    adjusted = []
    for offset, score in enumerate(scores):
        tokens, caveat = sentence_facts(index, start + offset)
        overlap = len(asked & tokens) / len(asked) if asked else 0.0
        adjusted.append(float(score) + OVERLAP_WEIGHT * overlap - (CAVEAT_PENALTY if caveat else 0.0))
    best = int(np.argmax(adjusted))
    return index.sentences[start + best], adjusted[best]
