"""Hybrid retrieval and highlights over a tiny corpus with the fake embedder."""

from __future__ import annotations

from bot.corpus import load_corpus
from bot.index import build_index, load_index
from bot.retrieve import Retriever, best_sentence


def _index(tiny_corpus_dir, tmp_path, embedder):
    corpus = load_corpus(tiny_corpus_dir)
    build_index(corpus, embedder, tmp_path / "index", [], "", progress=False)
    return load_index(tmp_path / "index", corpus, embedder, "")


def test_each_mode_ranks_the_matching_passage_first(tiny_corpus_dir, tmp_path, fake_embedder):
    index = _index(tiny_corpus_dir, tmp_path, fake_embedder)
    retriever = Retriever(index)
    question = "did the DEA withdraw its notice to schedule kratom"
    vector = fake_embedder.encode([question])[0]
    for mode in ("dense", "lexical", "hybrid"):
        hits = retriever.search(vector, question, k=3, mode=mode)
        assert hits[0].passage_id == "dea-withdrew-2016-notice", mode
    hybrid = retriever.search(vector, question, k=3)
    assert [h.fused for h in hybrid] == sorted((h.fused for h in hybrid), reverse=True)


def test_allowed_rows_restrict_results(tiny_corpus_dir, tmp_path, fake_embedder):
    index = _index(tiny_corpus_dir, tmp_path, fake_embedder)
    vector = fake_embedder.encode(["dea schedule"])[0]
    hits = Retriever(index).search(vector, "dea schedule", k=3, allowed_rows=[0])
    assert [h.row for h in hits] == [0]


def test_highlight_is_the_closest_sentence_of_the_passage(tiny_corpus_dir, tmp_path, fake_embedder):
    index = _index(tiny_corpus_dir, tmp_path, fake_embedder)
    row = index.passage_ids.index("dea-withdrew-2016-notice")
    question = "check the current federal and state law"
    sentence, score = best_sentence(index, row, fake_embedder.encode([question])[0])
    assert sentence == "Laws change, so check the current federal and state law."
    assert score > 0.5
