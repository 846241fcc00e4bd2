"""The answerability classifier for serving: scikit-learn's gradient-boosted trees as numpy arrays.

`HistGradientBoostingClassifier` is trained at build time (bot/answerability.py); unpickling it at
every start imported scikit-learn (~0.7 s of a start of about two seconds). The build stores its
trees instead (`TreeEnsemble.from_estimator` -> `save`), and serving walks them in numpy: the same
comparisons (`x <= threshold` goes left, NaN follows `missing_go_to_left`), the leaf values added to
the baseline in the same order and the same logistic link (`1 / (1 + exp(-raw))`, libm's exp), so
the probability is scikit-learn's, bit for bit (tests/test_trees.py checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "answerability_trees.npz"


@dataclass
class TreeEnsemble:
    """Binary gradient-boosted trees, flattened: node arrays of all trees end to end."""

    roots: np.ndarray        # (n_trees,) index of each tree's root node
    feature: np.ndarray      # (n_nodes,) feature tested at the node
    threshold: np.ndarray    # (n_nodes,) go left when x[feature] <= threshold
    missing_left: np.ndarray  # (n_nodes,) NaN goes left
    left: np.ndarray         # (n_nodes,) global index of the left child (itself for a leaf)
    right: np.ndarray        # (n_nodes,) global index of the right child (itself for a leaf)
    leaf: np.ndarray         # (n_nodes,) bool
    value: np.ndarray        # (n_nodes,) leaf value
    baseline: float
    depth: int               # the deepest leaf (steps needed to reach every leaf)
    n_features: int

    @classmethod
    def from_estimator(cls, estimator) -> "TreeEnsemble":
        """Flatten a fitted binary `HistGradientBoostingClassifier` (numeric features only)."""
        if getattr(estimator, "n_trees_per_iteration_", None) != 1 or list(estimator.classes_) != [0, 1]:
            raise ValueError("expected a binary HistGradientBoostingClassifier with classes [0, 1]")
        if getattr(estimator, "is_categorical_", None) is not None and np.any(estimator.is_categorical_):
            raise ValueError("categorical features are not supported")
        parts, roots, offset = [], [], 0
        for (predictor,) in estimator._predictors:
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise ValueError("categorical splits are not supported")
            parts.append((nodes, offset))
            roots.append(offset)
            offset += len(nodes)
        leaf = np.concatenate([n["is_leaf"].astype(bool) for n, _ in parts])
        own = np.arange(offset)
        left = np.concatenate([n["left"].astype(np.int64) + o for n, o in parts])
        right = np.concatenate([n["right"].astype(np.int64) + o for n, o in parts])
        return cls(
            roots=np.asarray(roots, dtype=np.int64),
            feature=np.concatenate([n["feature_idx"].astype(np.int64) for n, _ in parts]),
            threshold=np.concatenate([n["num_threshold"].astype(np.float64) for n, _ in parts]),
            missing_left=np.concatenate([n["missing_go_to_left"].astype(bool) for n, _ in parts]),
            left=np.where(leaf, own, left), right=np.where(leaf, own, right), leaf=leaf,
            value=np.concatenate([n["value"].astype(np.float64) for n, _ in parts]),
            baseline=float(np.asarray(estimator._baseline_prediction).ravel()[0]),
            depth=int(max(n["depth"].max() for n, _ in parts)) if parts else 0,
            n_features=int(estimator.n_features_in_),
        )

    def raw(self, x: np.ndarray) -> float:
        """The raw score (log-odds) of one feature vector."""
        x = np.asarray(x, dtype=np.float64).ravel()
        node = self.roots.copy()
        for _ in range(self.depth):
            values = x[self.feature[node]]
            go_left = np.where(np.isnan(values), self.missing_left[node], values <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        total = 0.0 + self.baseline
        for value in self.value[node].tolist():  # tree by tree, as scikit-learn adds them
            total += value
        return total

    def probability(self, x: np.ndarray) -> float:
        """P(class 1) of one feature vector."""
        return 1.0 / (1.0 + math.exp(-self.raw(x)))

    def arrays(self) -> dict[str, np.ndarray]:
        """The ensemble as named arrays (`from_arrays` reads them back)."""
        return {"roots": self.roots, "feature": self.feature, "threshold": self.threshold,
                "missing_left": self.missing_left, "left": self.left, "right": self.right, "leaf": self.leaf,
                "value": self.value,
                "scalars": np.array([self.baseline, self.depth, self.n_features], dtype=np.float64)}

    @classmethod
    def from_arrays(cls, data) -> "TreeEnsemble":
        """Rebuild an ensemble from `arrays()` (or an open `.npz` holding them)."""
        baseline, depth, n_features = np.asarray(data["scalars"]).tolist()
        return cls(data["roots"], data["feature"], data["threshold"], data["missing_left"], data["left"],
                   data["right"], data["leaf"], data["value"], float(baseline), int(depth), int(n_features))

    def save(self, path: Path) -> None:
        """Write the arrays to an `.npz` file."""
        np.savez(path, **self.arrays())

    @classmethod
    def load(cls, path: Path) -> "TreeEnsemble":
        """Read a file written by `save`."""
        with np.load(path) as data:
            return cls.from_arrays(data)


@dataclass
class Answerability:
    """What the engine needs of the answerability model (bot/answerability.py): the trees, the training
    questions' vectors for the neighbour features, and the build's cross-validated threshold."""

    trees: TreeEnsemble
    threshold: float
    examples: np.ndarray     # (n, dim) float32 unit vectors of the training questions
    answerable: np.ndarray   # (n,) bool

    def __post_init__(self) -> None:
        from bot.answerability import NeighbourTable

        self.neighbours = NeighbourTable(self.examples, self.answerable)

    @classmethod
    def from_model(cls, model) -> "Answerability":
        """From a trained `bot.answerability.AnswerabilityModel` (build time)."""
        return cls(TreeEnsemble.from_estimator(model.estimator), float(model.threshold),
                   np.asarray(model.examples, dtype=np.float32), np.asarray(model.answerable, dtype=bool))

    def probability(self, x: np.ndarray, vector: np.ndarray) -> float:
        """P(answerable) of one question: its base features `x` and its search vector (as
        `AnswerabilityModel.probability`, without scikit-learn)."""
        from bot.answerability import N_BASE

        row = np.concatenate([x[:N_BASE], self.neighbours.scores(vector)[0]])
        return self.trees.probability(row)

    def save(self, path: Path) -> None:
        """Write the trees and the examples to one `.npz` file."""
        arrays = self.trees.arrays()
        np.savez(path, examples=self.examples, answerable=self.answerable, **arrays)

    @classmethod
    def load(cls, path: Path, threshold: float) -> "Answerability":
        """Read a file written by `save`."""
        with np.load(path) as data:
            return cls(TreeEnsemble.from_arrays(data), threshold, data["examples"].astype(np.float32),
                       data["answerable"].astype(bool))
