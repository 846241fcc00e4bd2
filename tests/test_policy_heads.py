"""The linear heads of the policy."""

from __future__ import annotations

import numpy as np

from bot.policy.heads import train_head


def test_head_separates_two_clusters_deterministically():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.1, (40, 8)) + np.eye(8)[0]
    b = rng.normal(0, 0.1, (40, 8)) + np.eye(8)[1]
    vectors = np.vstack([a, b]).astype(np.float32)
    labels = ["pos"] * 40 + ["neg"] * 40
    head = train_head(vectors, labels, ["pos"], ["neg"])
    again = train_head(vectors, labels, ["pos"], ["neg"])
    assert np.array_equal(head.weights, again.weights)
    assert head.score(np.eye(8, dtype=np.float32)[0]) > 1 > -1 > head.score(np.eye(8, dtype=np.float32)[1])


def test_head_without_positives_never_fires():
    head = train_head(np.ones((3, 4), np.float32), ["neg"] * 3, ["pos"], ["neg"])
    assert head.score(np.ones(4, np.float32)) < 0
