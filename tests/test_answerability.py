"""The answerability model's neighbour features and its save/load round trip (no embedding model)."""

import numpy as np
import pytest

from bot.answerability import (FEATURE_NAMES, N_BASE, NEIGHBOURS, AnswerabilityModel, NeighbourTable,
                               neighbour_scores, out_of_fold_neighbours, train)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_neighbour_scores_are_the_mean_of_the_nearest_of_each_kind():
    examples = _unit(np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8], [-1, 0]], dtype=float))
    answerable = np.array([True, True, False, False, False])
    query = np.array([1.0, 0.0])
    unanswerable_score, answerable_score = neighbour_scores(query, examples, answerable)[0]
    assert answerable_score == pytest.approx((1.0 + 0.8) / 2)  # only two answerable examples
    nearest_unanswerable = sorted(examples[~answerable] @ query)[-NEIGHBOURS:]
    assert unanswerable_score == pytest.approx(np.mean(nearest_unanswerable))


def test_the_serving_neighbour_table_gives_neighbour_scores_bit_for_bit():
    """Classes interleaved in the examples, float32 as served: the grouped table changes no bit."""
    rng = np.random.default_rng(3)
    examples = _unit(rng.standard_normal((997, 384))).astype(np.float32)
    answerable = rng.random(997) < 0.4
    table = NeighbourTable(examples, answerable)
    for query in _unit(rng.standard_normal((50, 384))).astype(np.float32):
        assert np.array_equal(table.scores(query), neighbour_scores(query, examples, answerable))


def test_training_neighbours_are_out_of_fold():
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(200, 8)))
    answerable = vectors[:, 0] > 0
    own = answerable.astype(int)  # column of each question's own kind
    rows = np.arange(len(vectors))
    in_fold = neighbour_scores(vectors, vectors, answerable)[rows, own]
    out = out_of_fold_neighbours(vectors, answerable, seed=1)[rows, own]
    # In fold a question finds itself (cosine 1.0) among its nearest; out of fold it never does.
    assert (in_fold > out).all()
    x = np.column_stack([vectors[:, :1], rng.normal(size=(200, N_BASE - 1))])
    model = train(x, vectors, answerable, max_lost=0.05, seed=1)
    assert model.estimator.n_features_in_ == len(FEATURE_NAMES)
    assert 0.0 <= model.probability(x[0], vectors[0]) <= 1.0


def test_questions_near_unanswerable_examples_score_lower(tmp_path):
    rng = np.random.default_rng(2)
    centres = _unit(rng.normal(size=(2, 16)))
    vectors = _unit(np.vstack([centres[i] + 0.15 * rng.normal(size=(150, 16)) for i in (0, 1)]))
    answerable = np.array([True] * 150 + [False] * 150)
    x = np.zeros((300, N_BASE))  # base features carry no signal: only the neighbours can tell
    model = train(x, vectors, answerable, max_lost=0.05, seed=3)
    model.save(tmp_path)
    loaded = AnswerabilityModel.load(tmp_path)
    near_answerable = loaded.probability(np.zeros(N_BASE), centres[0])
    near_unanswerable = loaded.probability(np.zeros(N_BASE), centres[1])
    assert near_answerable > 0.8 > 0.2 > near_unanswerable
