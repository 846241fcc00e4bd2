"""Index build and load: incremental re-embedding, manifest, stale and corrupt detection."""

from __future__ import annotations

import json

import pytest

from bot.corpus import load_corpus
from bot.index import FORMAT_VERSION, StaleIndexError, build_index, load_index
from support import FakeEmbedder, TINY_PASSAGES, write_corpus


def _build(corpus_dir, index_dir, embedder):
    corpus = load_corpus(corpus_dir)
    return corpus, build_index(corpus, embedder, index_dir, ["how much kratom"], "ex-hash", progress=False)


def test_build_writes_everything_the_issue_lists(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, report = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == fake_embedder.name and manifest["dim"] == fake_embedder.dim
    assert manifest["passage_ids"] == [p.id for p in corpus.passages]
    assert set(manifest["passage_hashes"]) == {p.id for p in corpus.passages}
    assert manifest["corpus_hash"] == corpus.corpus_hash and manifest["built_at"]
    index = load_index(tmp_path / "index", corpus, fake_embedder, "ex-hash")
    assert index.dense.ntotal == len(corpus.passages) == report.passages
    assert index.exemplar_vectors.shape == (1, fake_embedder.dim)


def test_rebuild_reembeds_only_the_changed_passage(tiny_corpus_dir, tmp_path):
    first = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", first)
    assert report.embedded > 0 and report.reused == 0
    again = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", again)
    assert report.embedded == 0 and again.texts_embedded == 0
    edited = dict(TINY_PASSAGES)
    edited["about"] = edited["about"].replace("sold online and in shops", "sold online, at gas stations and in shops")
    write_corpus(tiny_corpus_dir, edited)
    third = FakeEmbedder()
    _, report = _build(tiny_corpus_dir, tmp_path / "index", third)
    # the edited passage (title + text) and its one changed sentence; nothing else
    assert report.embedded == 2 and third.texts_embedded == 2


def test_stale_index_is_detected_with_a_message_saying_what_to_run(tiny_corpus_dir, tmp_path, fake_embedder):
    _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    edited = dict(TINY_PASSAGES)
    edited["federal-law"] = edited["federal-law"].replace("after\n    public comment", "after public\n    comment and review")
    write_corpus(tiny_corpus_dir, edited)
    with pytest.raises(StaleIndexError, match=r"older than the corpus.*dea-withdrew-2016-notice.*kratom-qa build"):
        load_index(tmp_path / "index", load_corpus(tiny_corpus_dir), fake_embedder, "ex-hash")


def test_other_model_or_policy_data_is_stale(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, _ = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    other = FakeEmbedder()
    other.name = "another-model"
    with pytest.raises(StaleIndexError, match="another model"):
        load_index(tmp_path / "index", corpus, other, "ex-hash")
    with pytest.raises(StaleIndexError, match="policy data"):
        load_index(tmp_path / "index", corpus, fake_embedder, "changed")


def test_missing_or_truncated_files_are_detected(tiny_corpus_dir, tmp_path, fake_embedder):
    corpus, _ = _build(tiny_corpus_dir, tmp_path / "index", fake_embedder)
    faiss_file = tmp_path / "index" / "passages.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:40])
    with pytest.raises(StaleIndexError, match="kratom-qa build"):
        load_index(tmp_path / "index", corpus, fake_embedder, "ex-hash")
    with pytest.raises(StaleIndexError, match="missing"):
        load_index(tmp_path / "nowhere", corpus, fake_embedder, "ex-hash")
