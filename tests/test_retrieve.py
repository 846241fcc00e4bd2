"""Hybrid retrieval and highlights over a tiny corpus with the fake embedder."""

from __future__ import annotations

import numpy as np
import pytest

from bot.corpus import load_corpus
from bot.index import build_index, lexical_document, load_index
from bot.normalize import tokenize
from bot.retrieve import (QUESTION_DISCOUNT, Hit, Retriever, best_sentence, place_aware_search, prefer_places,
                          reciprocal_rank_fusion)
from support import FakeEmbedder, TINY_QUESTIONS, write_corpus
from training_items import TRAIN_ITEMS, small_policy


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    """The tiny corpus indexed once (fake embedder, small policy training set)."""
    folder = tmp_path_factory.mktemp("retrieve")
    corpus = load_corpus(write_corpus(folder / "corpus"))
    embedder = FakeEmbedder()
    with small_policy():
        build_index(corpus, embedder, folder / "index", progress=False, train_items=TRAIN_ITEMS)
    return load_index(folder / "index", corpus, embedder, policy_hash=None)


def test_each_mode_ranks_the_matching_passage_first(tiny_index, fake_embedder):
    index = tiny_index
    retriever = Retriever(index)
    question = "did the DEA withdraw its notice to schedule kratom"
    vector = fake_embedder.encode([question])[0]
    for mode in ("dense", "lexical", "hybrid"):
        hits = retriever.search(vector, question, k=3, mode=mode)
        assert hits[0].passage_id == "dea-withdrew-2016-notice", mode
    hybrid = retriever.search(vector, question, k=3)
    assert [h.fused for h in hybrid] == sorted((h.fused for h in hybrid), reverse=True)


def test_allowed_rows_restrict_results(tiny_index, fake_embedder):
    index = tiny_index
    vector = fake_embedder.encode(["dea schedule"])[0]
    hits = Retriever(index).search(vector, "dea schedule", k=3, allowed_rows=[0])
    assert [h.row for h in hits] == [0]


def test_highlight_is_the_closest_sentence_of_the_passage(tiny_index, fake_embedder):
    index = tiny_index
    row = index.passage_ids.index("dea-withdrew-2016-notice")
    question = "check the current federal and state law"
    sentence, score = best_sentence(index, row, fake_embedder.encode([question])[0])
    assert sentence == "Laws change, so check the current federal and state law."
    assert score > 0.5


def test_a_passage_scores_as_high_as_the_best_of_its_questions_less_the_discount(tiny_index, fake_embedder):
    retriever = Retriever(tiny_index)
    row = tiny_index.passage_ids.index("kratom-not-fda-approved")
    question = "can doctors prescribe kratom"
    assert question in TINY_QUESTIONS["kratom-not-fda-approved"]
    vector = fake_embedder.encode([question])[0]
    own = float(tiny_index.passage_vector(row) @ vector)
    ranking = dict(retriever.dense_ranking(vector))
    # the question itself (less the discount), not the passage
    assert own < 0.9 and ranking[row] == pytest.approx(1.0 - QUESTION_DISCOUNT, abs=1e-5)
    assert dict(Retriever(tiny_index, question_discount=0.0).dense_ranking(vector))[row] == pytest.approx(1.0, abs=1e-5)
    rows, best = retriever.question_scores(vector)
    assert sorted(rows.tolist()) == list(range(len(tiny_index.passage_ids)))
    assert best[rows.tolist().index(row)] == pytest.approx(1.0, abs=1e-5)
    assert retriever.search(vector, question, k=1)[0].passage_id == "kratom-not-fda-approved"


def test_a_lexical_ranking_of_corpus_wide_words_only_is_dropped(tiny_index, fake_embedder):
    """Words in every passage give every passage a near-zero BM25 score: their order is noise, so the
    lexical ranking is empty and the hybrid ranking is the dense one."""
    retriever = Retriever(tiny_index)
    everywhere = set.intersection(*(set(tokenize(lexical_document(p))) for p in tiny_index.data.corpus.passages))
    word = sorted(everywhere)[0]
    assert 0 < Retriever(tiny_index, min_lexical_score=0.0).bm25_scores(word)[1].max() < 0.5
    assert retriever.bm25_scores(word) == ([], None) and retriever.lexical_ranking(word) == []
    vector = fake_embedder.encode([word])[0]
    assert [h.row for h in retriever.search(vector, word, k=3)] == [r for r, _ in retriever.dense_ranking(vector, 3)]
    assert retriever.lexical_ranking("did the DEA withdraw its notice")  # a rare word keeps the ranking


def test_reciprocal_rank_fusion_weights_ranks_and_skips_unranked():
    fused = reciprocal_rank_fusion([np.array([1, 2, 0]), np.array([0, 1, 2])], [1.0, 0.5], 10)
    assert fused == pytest.approx([1 / 11, 1 / 12 + 0.5 / 11, 0.5 / 12])
    assert reciprocal_rank_fusion([], [], 10).shape == (0,)


@pytest.mark.integration
def test_the_highlight_is_the_answering_sentence_not_the_closing_caveat(real_engine):
    """Issue 10 item 4: a legal passage's closing "check the current law" line is never the highlight
    when another sentence holds what was asked."""
    import re
    caveat = re.compile(r"check (the|[a-z]+'s) current|laws? change", re.IGNORECASE)
    for question in ("is kratom legal in alabama", "when did alabama ban kratom", "is kratom legal in texas",
                     "what did the DEA do about kratom in 2016", "is kratom banned in the UK"):
        reply = real_engine.ask(question)
        assert reply["kind"] == "answer", question
        top = reply["citations"][0]
        assert not caveat.search(top["highlight"]), (question, top["highlight"])
        assert top["highlight"] in top["text"]


def test_highlight_with_the_question_words_given_is_the_same_and_sentences_are_read_once(tiny_index, fake_embedder):
    from bot.normalize import tokenize
    from bot.retrieve import sentence_facts

    index = tiny_index
    question = "did the DEA withdraw its notice? check the current law"
    vector = fake_embedder.encode([question])[0]
    for row in range(len(index.passage_ids)):
        assert best_sentence(index, row, vector, question) == \
            best_sentence(index, row, vector, question, frozenset(tokenize(question)))
    for i, sentence in enumerate(index.sentences):
        assert sentence_facts(index, i)[0] == frozenset(tokenize(sentence))
    assert len(index.sentence_facts) == len(index.sentences)


def _hit(row: int) -> Hit:
    return Hit(row, f"p{row}", 1.0 / (row + 1), 0.5, row + 1, None)


def test_passages_naming_only_other_places_go_after_the_rest_in_fused_order():
    places = [{"Arkansas", "Indiana"}, set(), {"Ohio"}, {"Ohio", "Arkansas"}, {"Virginia"}, set()]
    hits = [_hit(r) for r in range(6)]
    ordered = [h.row for h in prefer_places(hits, {"Ohio"}, places)]
    assert ordered == [1, 2, 3, 5, 0, 4]
    assert [h.row for h in prefer_places(hits, {"Texas"}, places)] == [1, 5, 0, 2, 3, 4]


def test_place_aware_search_is_plain_search_without_places_and_reorders_with_them(tiny_index, fake_embedder):
    retriever = Retriever(tiny_index)
    question = "did the DEA withdraw its notice to schedule kratom"
    vector = fake_embedder.encode([question])[0]
    plain = retriever.search(vector, question, k=3)
    no_places = [set() for _ in tiny_index.passage_ids]
    assert place_aware_search(retriever, no_places, set(), vector, question, 3) == plain
    top = plain[0].row
    elsewhere = [({"Elsewhere"} if row == top else set()) for row in range(len(tiny_index.passage_ids))]
    moved = place_aware_search(retriever, elsewhere, {"Here"}, vector, question, 3)
    assert moved[0].row != top and top not in [h.row for h in moved[:1]]
