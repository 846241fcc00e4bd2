"""Is there a passage that answers this question? A learned decision instead of a cosine threshold.

Features of a question and its retrieved passages (`AnswerabilityFeatures.of`): the best passage's
combined dense score, its own cosine and its best question's cosine, the margin to the second
passage, the best BM25 score, whether BM25 and the dense ranking agree on the top passage, and how
much of what the question names is covered by the top passages: its content words, its rare words
(by document frequency), its numbers and years, and its places; and how close the question is to the
training questions of each kind (`Neighbours`: the mean cosine of its 3 nearest answerable and 3
nearest unanswerable training questions; out of fold while training). The neighbour features were
chosen on the retrieval tune part (SYSTEM_CARD.md): they lifted abstention recall at 3% answerable lost
from 0.44 to 0.75 there, where extra sentence- and IDF-coverage features and a logistic regression on
the question vector did less. A gradient-boosted tree classifier
(scikit-learn's HistGradientBoostingClassifier; it beat a logistic regression on the tune part: see
SYSTEM_CARD.md) is trained at build time on data/answerability/train.jsonl (answerable and
unanswerable in-domain questions written by a writer who never saw the evaluation sets) and stored
in the index (pickled: the index is this machine's own build output, checked by its manifest).
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import AbstractSet, Sequence

import numpy as np

from bot.normalize import tokenize

FEATURE_NAMES = ("top_score", "top_passage_cosine", "top_question_cosine", "margin", "bm25_top",
                 "bm25_agrees", "content_covered", "rare_covered", "numbers_covered", "place_missing",
                 "n_content", "unanswerable_neighbours", "answerable_neighbours")
N_BASE = len(FEATURE_NAMES) - 2
NEIGHBOURS = 3
_NUMBER_RE = re.compile(r"\b\d[\d,.]*\b")
# Default probability below which the engine abstains; the index stores the one chosen at build.
DEFAULT_THRESHOLD = 0.5


class CoverageTable:
    """Token sets of each passage (title, text, questions) and document frequencies."""

    def __init__(self, passages: Sequence) -> None:
        self.tokens = [set(tokenize(" ".join([p.title, p.text, *getattr(p, "questions", ())]))) for p in passages]
        self.numbers = [set(_NUMBER_RE.findall(f"{p.title} {p.text}")) for p in passages]
        df: dict[str, int] = {}
        for tokens in self.tokens:
            for token in tokens:
                df[token] = df.get(token, 0) + 1
        self.df = df
        self.n = max(len(passages), 1)

    def rare(self, token: str) -> bool:
        """A token in at most 3% of passages, or in none."""
        return self.df.get(token, 0) <= max(1, 0.03 * self.n)


def features(question_text: str, hits: Sequence, dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]],
             passage_cosine: float, question_cosine: float, table: CoverageTable, place_missing: bool,
             content: AbstractSet[str] | None = None) -> np.ndarray:
    """The feature vector of one question (see `FEATURE_NAMES`); `content`: `tokenize(question_text)`
    as a set, when the caller has it."""
    top = hits[0].dense if hits else 0.0
    second = hits[1].dense if len(hits) > 1 else 0.0
    rows = [h.row for h in hits[:3]]
    covered = set().union(*(table.tokens[r] for r in rows)) if rows else set()
    numbers = set().union(*(table.numbers[r] for r in rows)) if rows else set()
    content = set(tokenize(question_text)) if content is None else content
    rare = {t for t in content if table.rare(t)}
    asked_numbers = set(_NUMBER_RE.findall(question_text))

    def share(asked: set, have: set) -> float:
        return len(asked & have) / len(asked) if asked else 1.0
    bm25_top = lexical[0][1] if lexical else 0.0
    agrees = float(bool(dense and lexical and dense[0][0] == lexical[0][0]))
    return np.array([top, passage_cosine, question_cosine, top - second, math.log1p(bm25_top), agrees,
                     share(content, covered), share(rare, covered), share(asked_numbers, numbers),
                     float(place_missing), math.log1p(len(content))], dtype=np.float64)


def neighbour_scores(vectors: np.ndarray, examples: np.ndarray, answerable: np.ndarray) -> np.ndarray:
    """For each row of `vectors`: the mean cosine of its `NEIGHBOURS` nearest unanswerable and nearest
    answerable `examples` (unit vectors), as two columns."""
    similarity = np.atleast_2d(vectors) @ examples.T
    out = np.zeros((similarity.shape[0], 2))
    for column, mask in enumerate((~answerable, answerable)):
        part = similarity[:, mask]
        k = min(NEIGHBOURS, part.shape[1])
        if k:
            out[:, column] = np.partition(part, part.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
    return out


class NeighbourTable:
    """`neighbour_scores` against fixed examples, for one question at a time (serving).

    The examples are stored grouped by class (unanswerable rows first, each class in its original
    order), so each class's cosines are a slice of one product instead of a boolean-mask copy: the
    same product, the same values in the same order, so the same scores bit for bit
    (tests/test_answerability.py), ~0.3 ms less per answered question.
    """

    def __init__(self, examples: np.ndarray, answerable: np.ndarray) -> None:
        answerable = np.asarray(answerable, dtype=bool)
        order = np.concatenate([np.flatnonzero(~answerable), np.flatnonzero(answerable)])
        self._grouped = np.ascontiguousarray(examples[order])
        self._n_unanswerable = int((~answerable).sum())

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """`neighbour_scores(vector, examples, answerable)`: shape (1, 2)."""
        similarity = np.atleast_2d(vector) @ self._grouped.T
        out = np.zeros((similarity.shape[0], 2))
        cut = self._n_unanswerable
        for column, part in enumerate((similarity[:, :cut], similarity[:, cut:])):
            k = min(NEIGHBOURS, part.shape[1])
            if k:
                out[:, column] = np.partition(part, part.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
        return out


def out_of_fold_neighbours(vectors: np.ndarray, answerable: np.ndarray, seed: int) -> np.ndarray:
    """`neighbour_scores` of each training question against the other four fifths of the training
    set (5 stratified folds), so that no question counts itself among its own neighbours."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros((len(answerable), 2))
    for keep, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(vectors, answerable):
        out[held] = neighbour_scores(vectors[held], vectors[keep], answerable[keep])
    return out


@dataclass
class AnswerabilityModel:
    """P(a passage answers the question), from the features above."""

    estimator: object   # a fitted scikit-learn classifier with predict_proba
    threshold: float    # 5-fold CV on the training set (for reference; the engine's is in retrieval.yaml)
    examples: np.ndarray     # (n, dim) unit vectors of the training questions (for the neighbour features)
    answerable: np.ndarray   # (n,) bool: which training questions a passage answers

    def probability(self, x: np.ndarray, vector: np.ndarray) -> float:
        """P(answerable) of one question: its base features `x` (the first `N_BASE` of `FEATURE_NAMES`)
        and its search vector."""
        row = np.concatenate([x[:N_BASE], neighbour_scores(vector, self.examples, self.answerable)[0]])
        return float(self.estimator.predict_proba(row.reshape(1, -1))[0, 1])

    def save(self, folder: Path) -> None:
        """Write `answerability.pkl` into an index folder."""
        with open(folder / "answerability.pkl", "wb") as handle:
            pickle.dump({"features": FEATURE_NAMES, "estimator": self.estimator, "threshold": self.threshold,
                         "examples": self.examples.astype(np.float32), "answerable": self.answerable}, handle)

    @classmethod
    def load(cls, folder: Path) -> "AnswerabilityModel":
        """Read the model written by `save`."""
        with open(folder / "answerability.pkl", "rb") as handle:
            data = pickle.load(handle)  # noqa: S301 (our own build output, checksummed in the manifest)
        if tuple(data["features"]) != FEATURE_NAMES:
            raise ValueError("answerability model has other features")
        return cls(data["estimator"], float(data["threshold"]), data["examples"], np.asarray(data["answerable"], bool))


def train(x: np.ndarray, vectors: np.ndarray, answerable: Sequence[bool], max_lost: float,
          seed: int = 0) -> AnswerabilityModel:
    """Fit the model; also report the threshold that 5-fold cross-validation on the training set gives
    for abstaining on at most `max_lost` of the answerable training questions.

    Args:
        x: Base features of the training questions (`N_BASE` columns).
        vectors: Their search vectors (unit length).
        answerable: Whether a passage answers each.
        max_lost: Share of answerable questions the reference threshold may abstain on.
        seed: Seed of the folds and the trees.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(answerable, dtype=int)
    mask = y.astype(bool)
    x = np.column_stack([x[:, :N_BASE], out_of_fold_neighbours(vectors, mask, seed)])

    def make():
        return HistGradientBoostingClassifier(max_depth=3, max_iter=200, learning_rate=0.05, random_state=seed)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    p = cross_val_predict(make(), x, y, cv=folds, method="predict_proba")[:, 1]
    threshold = 0.0
    for t in sorted(set(np.round(p[y == 1], 4))):
        if np.mean(p[y == 1] < t) <= max_lost:
            threshold = float(t)
    return AnswerabilityModel(make().fit(x, y), threshold, np.asarray(vectors, np.float32), mask)


def asked_places(places, prepared) -> set[str]:
    """The jurisdictions a prepared question names (its own words first, else its search text with context)."""
    return places.named_in(prepared.readable) or places.named_in(prepared.search_text)


def question_features(retriever, table: CoverageTable, passage_places: Sequence[set], places, prepared,
                      vector: np.ndarray) -> tuple[np.ndarray, list, str]:
    """Retrieve for a prepared question and return (features, top hits, uncovered place or "").

    Args:
        retriever: The `bot.retrieve.Retriever` of the index.
        table: Coverage of each passage.
        passage_places: The jurisdictions each passage names.
        places: The `bot.jurisdiction.Jurisdictions` finder.
        prepared: The `bot.query.PreparedQuestion`.
        vector: Its search vector.
    """
    from bot.retrieve import place_aware_search  # here: bot.retrieve imports bot.index, which imports this module

    asked = asked_places(places, prepared)
    hits = place_aware_search(retriever, passage_places, asked, vector, prepared.search_text, k=3)
    dense = retriever.dense_ranking(vector, 2)
    lexical = retriever.lexical_ranking(prepared.search_text, 2)
    covered = set().union(*(passage_places[h.row] for h in hits)) if hits else set()
    missing = sorted(p for p in asked if p not in covered)
    uncovered = " and ".join(missing) if asked and len(missing) == len(asked) else ""
    passage_cosine = question_cosine = 0.0
    if hits:
        row = hits[0].row
        passage_cosine = float(retriever.index.passage_vector(row) @ vector)
        owners = retriever.index.question_owner
        mine = owners == row
        if mine.any():
            question_cosine = float((retriever.index.question_vectors[mine] @ vector).max())
    x = features(prepared.readable, hits, dense, lexical, passage_cosine, question_cosine, table, bool(uncovered),
                 prepared.readable_tokens)
    return x, hits, uncovered
