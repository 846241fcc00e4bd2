"""Index build and load: incremental re-embedding, manifest, stale and corrupt detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.corpus import load_corpus
from bot.index import FORMAT_VERSION, StaleIndexError, build_index, load_index
from bot.policy.model import PolicyModel
from support import FakeEmbedder, TINY_PASSAGES, TINY_QUESTIONS, write_corpus
from training_items import TRAIN_ITEMS


def _build(corpus_dir, index_dir, embedder):
    corpus = load_corpus(corpus_dir)
    return corpus, build_index(corpus, embedder, index_dir, progress=False, train_items=TRAIN_ITEMS)


def test_build_writes_everything_the_issue_lists(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, report = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == fake_embedder.name and manifest["dim"] == fake_embedder.dim
    assert manifest["passage_ids"] == [p.id for p in corpus.passages]
    assert set(manifest["passage_hashes"]) == {p.id for p in corpus.passages}
    assert manifest["corpus_hash"] == corpus.corpus_hash and manifest["built_at"]
    assert manifest["policy_hash"] == "custom" and "exemplar_hash" not in manifest  # custom training data
    assert manifest["n_training_messages"] == len(TRAIN_ITEMS)
    assert (tmp_path / "index" / "policy_model.npz").exists() and (tmp_path / "index" / "questions.npy").exists()
    index = load_index(tmp_path / "index", corpus, fake_embedder, policy_hash=None)
    assert index.dense.ntotal == len(corpus.passages) == report.passages
    assert not hasattr(index, "exemplar_vectors")
    n_questions = sum(len(qs) for qs in TINY_QUESTIONS.values())
    assert manifest["n_questions"] == n_questions and index.question_vectors.shape == (n_questions, fake_embedder.dim)
    # each stored question vector is the embedding of a question of the passage it belongs to
    for vector, row in zip(index.question_vectors, index.question_owner):
        passage = corpus.passages[row]
        assert list(passage.questions) == TINY_QUESTIONS[passage.id]
        assert max(float(vector @ fake_embedder.encode([q])[0]) for q in passage.questions) > 0.999
    assert isinstance(index.policy_model, PolicyModel)
    assert index.policy_model.label_coef.shape[0] == 4


def test_default_build_trains_on_the_bank_and_records_its_hash(fake_engine):
    from bot.policy.training import source_hash

    manifest = fake_engine.index.manifest
    assert manifest["policy_hash"] == source_hash() == fake_engine.index.policy_model.data_hash
    assert manifest["n_training_messages"] > len(TRAIN_ITEMS)


def test_rebuild_reembeds_only_the_changed_passage(tiny_corpus_dir, tmp_path):
    first = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", first)
    assert report.embedded > 0 and report.reused == 0
    again = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", again)
    assert report.embedded == 0 and again.texts_embedded == 0
    edited = dict(TINY_PASSAGES)
    # An edit made of words the corpus already has: the spelling vocabulary that question preparation
    # fixes training texts against keeps its words, so no training text changes.
    edited["about"] = edited["about"].replace("sold online and in shops", "sold online and in shops and online")
    write_corpus(tiny_corpus_dir, edited)
    third = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", third)
    # the edited passage (title + text) and its one changed sentence; nothing else (questions and
    # training messages are unchanged)
    assert report.embedded == 2 and third.texts_embedded == 2


def test_stale_index_is_detected_with_a_message_saying_what_to_run(tiny_corpus_dir, tmp_path, fake_embedder):
    _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    edited = dict(TINY_PASSAGES)
    edited["federal-law"] = edited["federal-law"].replace("after\n    public comment", "after public\n    comment and review")
    write_corpus(tiny_corpus_dir, edited)
    with pytest.raises(StaleIndexError, match=r"older than the corpus.*dea-withdrew-2016-notice.*kratom-qa build"):
        load_index(tmp_path / "index", load_corpus(tiny_corpus_dir), fake_embedder)


def test_other_model_or_policy_data_is_stale(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, _ = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    other = FakeEmbedder()
    other.name = "another-model"
    with pytest.raises(StaleIndexError, match="another model"):
        load_index(tmp_path / "index", corpus, other)
    with pytest.raises(StaleIndexError, match="policy data"):
        load_index(tmp_path / "index", corpus, fake_embedder, policy_hash="changed")
    load_index(tmp_path / "index", corpus, fake_embedder, policy_hash="custom")
    load_index(tmp_path / "index", corpus, fake_embedder, policy_hash=None)  # not checked


def test_a_change_to_the_code_that_reads_messages_makes_the_index_stale(tiny_corpus_dir, tmp_path, fake_embedder,
                                                                         monkeypatch):
    import bot.enginedata as enginedata

    corpus, _ = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    assert all((Path(enginedata.__file__).parent.parent / name).is_file() for name in enginedata.FEATURE_CODE)
    original = enginedata.feature_code_hash()
    monkeypatch.setattr(enginedata, "feature_code_hash", lambda: original + "-edited")
    with pytest.raises(StaleIndexError, match="code that reads messages"):
        load_index(tmp_path / "index", corpus, fake_embedder)


def test_missing_or_truncated_files_are_detected(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, _ = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    faiss_file = tmp_path / "index" / "passages.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:40])
    with pytest.raises(StaleIndexError, match="kratom-qa build"):
        load_index(tmp_path / "index", corpus, fake_embedder)
    with pytest.raises(StaleIndexError, match="missing"):
        load_index(tmp_path / "nowhere", corpus, fake_embedder)
