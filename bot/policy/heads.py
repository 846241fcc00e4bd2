"""Linear heads on the question embedding, trained on the policy's exemplars.

A logistic regression per decision (crisis vs everything else; advice vs informational), trained
with full-batch gradient descent on the exemplar vectors the index already holds. Deterministic,
about a second on two cores, and it generalises better than the nearest-exemplar margin (measured
on the tuning part of eval/policy_eval.yaml: see SYSTEM_CARD.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """A trained linear scorer: `score(v) = v @ weights + bias` (a logit)."""

    weights: np.ndarray
    bias: float

    def score(self, vector: np.ndarray) -> float:
        """Return the logit of one unit-normalised question vector."""
        return float(vector @ self.weights + self.bias)


def train_head(vectors: np.ndarray, labels: Sequence[str], positive: Sequence[str], negative: Sequence[str],
               l2: float = 1.0, iterations: int = 1500, rate: float = 0.5) -> LinearHead:
    """Train a class-balanced, L2-regularised logistic regression.

    Args:
        vectors: Exemplar vectors, one row per exemplar.
        labels: The class of each row.
        positive: Classes that are the positive label.
        negative: Classes that are the negative label (other rows are ignored).
        l2: Regularisation strength.
        iterations: Gradient steps.
        rate: Step size.

    Returns:
        The trained head.
    """
    names = np.asarray(labels, dtype=object)
    used = np.isin(names, list(positive) + list(negative))
    x = vectors[used].astype(np.float64)
    y = np.isin(names[used], list(positive)).astype(np.float64)
    if not y.any() or y.all():
        return LinearHead(np.zeros(vectors.shape[1], dtype=np.float32), -10.0)
    sample_weight = np.where(y == 1, (1 - y.mean()) / y.mean(), 1.0)
    weights, bias = np.zeros(x.shape[1]), 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        gradient = (p - y) * sample_weight
        weights -= rate * (x.T @ gradient / len(y) + l2 * weights / len(y))
        bias -= rate * float(gradient.mean())
    return LinearHead(weights.astype(np.float32), bias)
