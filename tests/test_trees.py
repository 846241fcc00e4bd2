"""The answerability trees as arrays (bot/trees.py) give scikit-learn's probabilities, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from bot.trees import Answerability, TreeEnsemble


@pytest.fixture(scope="module")
def fitted():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 11))
    x[rng.random(x.shape) < 0.02] = np.nan  # missing values take the learned side
    y = ((np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 3]) ** 2 + rng.normal(0, 0.5, len(x))) > 0.4).astype(int)
    model = HistGradientBoostingClassifier(max_depth=3, max_iter=120, learning_rate=0.1, random_state=0).fit(x, y)
    return model, rng.normal(size=(2000, 11)) * 2


def test_probabilities_equal_scikit_learns(fitted):
    model, x = fitted
    x[::9, 2] = np.nan
    trees = TreeEnsemble.from_estimator(model)
    ours = np.array([trees.probability(row) for row in x])
    assert np.array_equal(ours, model.predict_proba(x)[:, 1])


def test_saved_and_loaded_trees_give_the_same_probabilities(fitted, tmp_path):
    model, x = fitted
    TreeEnsemble.from_estimator(model).save(tmp_path / "trees.npz")
    loaded = TreeEnsemble.load(tmp_path / "trees.npz")
    assert [loaded.probability(row) for row in x[:200]] == model.predict_proba(x[:200])[:, 1].tolist()


def test_the_stored_answerability_model_equals_the_trained_one(tmp_path):
    """Base features and neighbour features, through `save`/`load`: AnswerabilityModel's probability, bit for bit."""
    from bot.answerability import N_BASE, train

    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    answerable = vectors[:, 0] + 0.3 * rng.normal(size=400) > 0
    x = np.column_stack([vectors[:, :2], rng.normal(size=(400, N_BASE - 2))])
    model = train(x, vectors, answerable, max_lost=0.05, seed=1)
    Answerability.from_model(model).save(tmp_path / "answerability.npz")
    stored = Answerability.load(tmp_path / "answerability.npz", model.threshold)
    queries = rng.normal(size=(300, 16)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    features = rng.normal(size=(300, N_BASE))
    assert [stored.probability(f, q) for f, q in zip(features, queries)] == \
        [model.probability(f, q) for f, q in zip(features, queries)]


def test_only_binary_numeric_models_are_accepted(fitted):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model, x = fitted
    three = HistGradientBoostingClassifier(max_iter=5).fit(np.nan_to_num(x[:300]), np.arange(300) % 3)
    with pytest.raises(ValueError, match="binary"):
        TreeEnsemble.from_estimator(three)
