"""The learned safety decision: a logistic regression on the message embedding plus lexical features.

Features of one message (`featurize`):
- the MiniLM vector of the message (the one retrieval uses; no extra model call), scaled;
- the vector of the message read with its earlier turns (zeros when there are none), scaled;
- hashed word 1-2-grams and character n-grams of the message, hashed words of the earlier turns
  (prefixed, so "how much" in the context is not "how much" in the message) and a language token;
- the rule floor's hits (bot/policy/floor.py) as 0/1 features;
- with `other_language_vectors`, the message vector once more for a message not detected as English (zeros for
  English), so the weights of the English-only encoder for other languages are learnt apart from English's.

Two scikit-learn models are trained at build time (`train`) on the training writers of the bank only:
the label (informational, advice, crisis, off_topic) and, for advice, its reason (amount, frequency,
taper, route, product, buy, personal). Their coefficients are stored in the index as arrays
(`save`/`load`: no pickle) with the hash of the data they were trained on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import sparse

from bot.hashing import HashingVectorizer  # sklearn's, bit for bit, without importing sklearn when serving
from bot.policy.config import LABELS, REASONS, ModelSettings
from bot.policy.jailbreak import JailbreakDetector

_WORD_RE = re.compile(r"[^\W_]+|[0-9]+")
_SEPARATOR = "\x1e"
N_FLOOR = 5


@dataclass(frozen=True)
class PolicyInput:
    """What the classifier reads of one message (or of one window of a long message)."""

    text: str                  # readable text of the message (or window)
    context: str               # readable text of the earlier turns ("" if none)
    language: str              # ISO code
    floor: tuple[float, ...]   # the rule floor's hits (FloorHits.as_features)
    vector: np.ndarray         # MiniLM vector of the message
    context_vector: np.ndarray | None  # MiniLM vector of context + message, or None


def _analyzer(lo: int, hi: int):
    def analyze(document: str) -> list[str]:
        message, context, language = document.split(_SEPARATOR)
        words = _WORD_RE.findall(message)
        tokens = [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in zip(words, words[1:])]
        padded = f" {' '.join(words)} "
        tokens += [f"c:{padded[i:i + n]}" for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]
        tokens += [f"x:{w}" for w in _WORD_RE.findall(context)]
        tokens.append(f"lang:{language}")
        return tokens
    return analyze


class Featurizer:
    """Turns `PolicyInput`s into the classifier's sparse feature rows."""

    def __init__(self, settings: ModelSettings, dim: int) -> None:
        self.settings = settings
        self.dim = dim
        lo, hi = settings.char_ngrams
        self._hasher = HashingVectorizer(analyzer=_analyzer(lo, hi), n_features=2 ** settings.hash_bits,
                                         alternate_sign=False, norm="l2", lowercase=False)

    @property
    def width(self) -> int:
        """Number of features."""
        other = self.dim if self.settings.other_language_vectors else 0
        return 2 * self.dim + 1 + N_FLOOR + other + 2 ** self.settings.hash_bits

    @staticmethod
    def _documents(inputs: Sequence[PolicyInput]) -> list[str]:
        return [f"{i.text.lower()}{_SEPARATOR}{i.context.lower()}{_SEPARATOR}{i.language}" for i in inputs]

    def _dense(self, inputs: Sequence[PolicyInput]) -> np.ndarray:
        """The dense columns (vectors, context vector, has-context flag, floor hits and, with
        `other_language_vectors`, the vector again for a message not detected as English), float64."""
        s = self.settings
        vectors = np.stack([i.vector for i in inputs]) * s.embedding_weight
        zero = np.zeros(self.dim, dtype=np.float32)
        context = np.stack([i.context_vector if i.context_vector is not None else zero for i in inputs])
        has_context = np.array([[float(i.context_vector is not None)] for i in inputs])
        floor = np.array([list(i.floor) for i in inputs], dtype=np.float64)
        blocks = [vectors, context * s.context_weight, has_context, floor]
        if s.other_language_vectors:  # the English-only encoder's weights for other languages, learnt apart
            other = np.array([[float(i.language != "en")] for i in inputs])
            blocks.append(vectors * other)
        return np.hstack(blocks)

    def transform(self, inputs: Sequence[PolicyInput]) -> sparse.csr_matrix:
        """Return one feature row per input (a scipy CSR matrix: training, evaluation)."""
        lexical = self._hasher.transform(self._documents(inputs)) * self.settings.lexical_weight
        return sparse.hstack([sparse.csr_matrix(self._dense(inputs)), lexical], format="csr")

    def rows(self, inputs: Sequence[PolicyInput]) -> "FeatureRows":
        """The rows of `transform`, the same numbers in the same order, without building scipy matrices
        (serving: a question is one to a few rows, and the matrix construction cost more than the product)."""
        dense = self._dense(inputs)
        lexical = self._hasher.rows(self._documents(inputs))
        columns, values = [], []
        for row, (lexical_columns, lexical_values) in zip(dense, lexical):
            nonzero = np.flatnonzero(row)  # as scipy's CSR of the dense block: explicit zeros dropped
            columns.append(np.concatenate([nonzero, lexical_columns.astype(np.int64) + dense.shape[1]]))
            values.append(np.concatenate([row[nonzero], lexical_values * self.settings.lexical_weight]))
        return FeatureRows(columns, values, self.width)


@dataclass(frozen=True)
class FeatureRows:
    """Feature rows as (columns, values) per row, columns ascending: `Featurizer.transform`'s CSR rows."""

    columns: list[np.ndarray]
    values: list[np.ndarray]
    width: int

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, item: int | slice) -> "FeatureRows":
        """Row `item` (or a slice of rows), as rows."""
        picked = slice(item, item + 1) if isinstance(item, (int, np.integer)) else item
        return FeatureRows(self.columns[picked], self.values[picked], self.width)

    def dot(self, matrix: np.ndarray) -> np.ndarray:
        """`rows @ matrix` (matrix: width x k), bit for bit as scipy's CSR product: each output starts at
        zero and adds value x matrix row, one stored entry after another in column order (a cumulative
        sum, which numpy computes sequentially, not pairwise)."""
        out = np.zeros((len(self.columns), matrix.shape[1]), dtype=np.result_type(matrix.dtype, np.float64))
        for r, (columns, values) in enumerate(zip(self.columns, self.values)):
            if columns.size:
                out[r] = np.cumsum(values[:, None] * matrix[columns], axis=0)[-1]
        return out

    def to_csr(self) -> sparse.csr_matrix:
        """The same rows as a scipy CSR matrix."""
        indptr = np.zeros(len(self.columns) + 1, dtype=np.int64)
        np.cumsum([c.size for c in self.columns], out=indptr[1:])
        columns = np.concatenate(self.columns) if self.columns else np.zeros(0, dtype=np.int64)
        values = np.concatenate(self.values) if self.values else np.zeros(0)
        return sparse.csr_matrix((values, columns, indptr), shape=(len(self.columns), self.width))


def _product(features: "sparse.csr_matrix | FeatureRows", matrix: np.ndarray) -> np.ndarray:
    return features.dot(matrix) if isinstance(features, FeatureRows) else np.asarray(features @ matrix)


@dataclass
class PolicyModel:
    """Trained coefficients: the label model, the advice-reason model and the jailbreak-prompt detector."""

    label_coef: np.ndarray      # (len(LABELS), width)
    label_intercept: np.ndarray
    reason_coef: np.ndarray     # (len(REASONS), width)
    reason_intercept: np.ndarray
    data_hash: str
    jailbreak: JailbreakDetector | None = None  # bot/policy/jailbreak.py (None: not trained, e.g. a test's model)

    @staticmethod
    def _softmax(logits: np.ndarray) -> np.ndarray:
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def label_probabilities(self, features: "sparse.csr_matrix | FeatureRows") -> np.ndarray:
        """P(label) per row, columns in `LABELS` order."""
        return self._softmax(_product(features, self.label_coef.T) + self.label_intercept)

    def reason(self, features: "sparse.csr_matrix | FeatureRows") -> str:
        """The most likely advice reason of the first row."""
        logits = _product(features[:1], self.reason_coef.T)[0] + self.reason_intercept
        return REASONS[int(np.argmax(logits))]

    def save(self, folder: Path) -> None:
        """Write the coefficients (`policy_model.npz`) and their data hash into an index folder."""
        detector = {} if self.jailbreak is None else {
            "jailbreak_coef": self.jailbreak.coef, "jailbreak_intercept": np.array(self.jailbreak.intercept)}
        np.savez(folder / "policy_model.npz", label_coef=self.label_coef.astype(np.float32),
                 label_intercept=self.label_intercept, reason_coef=self.reason_coef.astype(np.float32),
                 reason_intercept=self.reason_intercept, **detector,
                 meta=np.array(json.dumps({"data_hash": self.data_hash, "labels": LABELS, "reasons": REASONS})))

    @classmethod
    def load(cls, folder: Path) -> "PolicyModel":
        """Read the coefficients written by `save`."""
        with np.load(folder / "policy_model.npz") as data:
            meta = json.loads(str(data["meta"]))
            if tuple(meta["labels"]) != LABELS or tuple(meta["reasons"]) != REASONS:
                raise ValueError("policy model was trained for other labels")
            detector = (JailbreakDetector(data["jailbreak_coef"], float(data["jailbreak_intercept"]))
                        if "jailbreak_coef" in data else None)
            return cls(data["label_coef"], data["label_intercept"], data["reason_coef"],
                       data["reason_intercept"], meta["data_hash"], detector)


def _fit(x: sparse.csr_matrix, y: np.ndarray, classes: Sequence[str], c: float, seed: int,
         tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Fit a class-balanced multinomial logistic regression; coefficients in `classes` order."""
    from sklearn.linear_model import LogisticRegression  # build time only

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, tol=tol, random_state=seed)
    model.fit(x, y)
    coef = np.zeros((len(classes), x.shape[1]))
    intercept = np.full(len(classes), -30.0)  # a class with no training rows is never predicted
    for row, name in enumerate(model.classes_):
        coef[classes.index(name)] = model.coef_[row] if len(model.classes_) > 2 else (
            model.coef_[0] if row == 1 else -model.coef_[0])
        intercept[classes.index(name)] = model.intercept_[row] if len(model.classes_) > 2 else (
            model.intercept_[0] if row == 1 else -model.intercept_[0])
    return coef, intercept


def train(features: sparse.csr_matrix, labels: Sequence[str], reasons: Sequence[str],
          settings: ModelSettings, data_hash: str, jailbreak: JailbreakDetector | None = None) -> PolicyModel:
    """Train the label and reason models.

    Args:
        features: One row per training message (`Featurizer.transform`).
        labels: The label of each row (one of `LABELS`).
        reasons: The advice reason of each row ("" when not advice or not known).
        settings: The model settings (regularisation, seed).
        data_hash: Hash of the training data, stored with the model.
        jailbreak: The jailbreak-prompt detector (trained apart: `bot.policy.jailbreak.train_detector`).
    """
    y = np.asarray(labels)
    label_coef, label_intercept = _fit(features, y, LABELS, settings.c, settings.seed, settings.tol)
    rows = np.array([r in REASONS for r in reasons])
    reason_coef, reason_intercept = _fit(features[rows], np.asarray(reasons)[rows], REASONS, settings.c,
                                         settings.seed, settings.tol)
    return PolicyModel(label_coef, label_intercept, reason_coef, reason_intercept, data_hash, jailbreak)
