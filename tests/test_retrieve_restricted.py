"""`Retriever.search(allowed_rows=...)` (the refusal path): vectorised, same results as rank-then-filter.

The reference below is the original implementation (rank every row, drop the others, fuse in
Python); the vectorised one must match it exactly on a flat index, and stay within the allowed
rows on an HNSW index. Questions are prepared by the engine (`Engine.prepare`). Fake embedder,
project corpus, small policy training set: fast.
"""

from __future__ import annotations

import numpy as np
import pytest

import bot.index
from bot.answer import Engine
from bot.corpus import load_corpus
from bot.index import build_index, load_index
from bot.retrieve import Hit, Retriever
from support import PROJECT, FakeEmbedder
from training_items import TRAIN_ITEMS, small_policy

QUESTIONS = ["how much kratom should I take", "is kratom legal in Ohio", "kratom withdrawal taper",
             "where can I buy 7-OH", "can I snort kratom", "", "zzzz qqqq", "liver damage kratom"]


def reference_search(retriever: Retriever, vector, text: str, k: int, mode: str, allowed_rows) -> list[Hit]:
    depth = retriever.index.dense.ntotal
    dense = retriever.dense_ranking(vector, depth) if mode in ("hybrid", "dense") else []
    lexical = retriever.lexical_ranking(text, depth) if mode in ("hybrid", "lexical") else []
    allowed = set(allowed_rows)
    dense = [(r, s) for r, s in dense if r in allowed]
    lexical = [(r, s) for r, s in lexical if r in allowed]
    dense_rank = {row: rank for rank, (row, _) in enumerate(dense, start=1)}
    lexical_rank = {row: rank for rank, (row, _) in enumerate(lexical, start=1)}
    cosine = dict(dense)
    fused: dict[int, float] = {}
    for row, rank in dense_rank.items():
        fused[row] = fused.get(row, 0.0) + retriever.dense_weight / (retriever.rrf_k + rank)
    for row, rank in lexical_rank.items():
        fused[row] = fused.get(row, 0.0) + retriever.lexical_weight / (retriever.rrf_k + rank)
    order = sorted(fused, key=lambda r: (-fused[r], dense_rank.get(r, 10**9)))[:k]
    return [Hit(row, retriever.index.passage_ids[row], fused[row],
                cosine[row] if row in cosine else float(retriever.index.passage_vector(row) @ vector),
                dense_rank.get(row), lexical_rank.get(row)) for row in order]


def _engine(folder, embedder) -> Engine:
    """An engine over the project corpus with an index built on the small policy set."""
    corpus = load_corpus(PROJECT / "corpus")
    with small_policy() as config:
        build_index(corpus, embedder, folder, progress=False, train_items=TRAIN_ITEMS)
        return Engine(corpus, load_index(folder, corpus, embedder, policy_hash=None), embedder, config)


@pytest.fixture(scope="module")
def flat_engine(tmp_path_factory):
    return _engine(tmp_path_factory.mktemp("restricted") / "index", FakeEmbedder())


def _key(hits):
    return [(h.row, round(h.fused, 12), round(h.dense, 5), h.dense_rank, h.lexical_rank) for h in hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_restricted_search_matches_rank_then_filter(flat_engine, mode):
    retriever, embedder = flat_engine.retriever, flat_engine.embedder
    n = retriever.index.dense.ntotal
    rng = np.random.default_rng(3)
    allowed_sets = [list(range(0, n, 3)), sorted(rng.choice(n, 40, replace=False).tolist()), [5], [],
                    list(range(n)), [1, 1, 2, n + 10, -1]]
    for question in QUESTIONS:
        text = flat_engine.prepare(question, None).search_text
        vector = embedder.encode([text])[0]
        for allowed in allowed_sets:
            expected = reference_search(retriever, vector, text, 3, mode, [r for r in allowed if 0 <= r < n])
            assert _key(retriever.search(vector, text, 3, mode, allowed_rows=allowed)) == _key(expected)


def test_restricted_search_on_hnsw_stays_within_the_allowed_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(bot.index, "HNSW_THRESHOLD", 10)
    embedder = FakeEmbedder()
    engine = _engine(tmp_path / "index", embedder)
    index = engine.index
    assert hasattr(__import__("faiss").downcast_index(index.dense), "hnsw")
    retriever = Retriever(index)
    allowed = list(range(0, index.dense.ntotal, 4))
    for question in QUESTIONS:
        text = engine.prepare(question, None).search_text
        hits = retriever.search(embedder.encode([text])[0], text, 3, allowed_rows=allowed)
        assert {h.row for h in hits} <= set(allowed)
        assert [h.fused for h in hits] == sorted((h.fused for h in hits), reverse=True)
        if question:
            assert len(hits) == 3
