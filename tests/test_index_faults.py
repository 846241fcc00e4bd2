"""Broken indexes and corpora: detected at load (or rebuilt), never served, never overwriting a good index.

Everything here uses the fake embedder and temporary folders; the project's own index is not touched.
The policy model is trained on a small set with small settings (`training_items.small_policy`), so that
the many rebuilds stay fast; the engine's load, staleness checks and rebuilds run unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Engine
from bot.contract import validate_reply
from bot.corpus import CorpusError, load_corpus
from bot.index import StaleIndexError, build_index, load_index
from bot.validate import validate_corpus
from support import PROJECT, TINY_PASSAGES, FakeEmbedder, write_corpus
from training_items import TRAIN_ITEMS, small_policy

INDEX_FILES = ["manifest.json", "passages.faiss", "questions.npy", "sentences.npy", "sentences.json", "policy_model.npz",
               "answerability_trees.npz", "engine.pkl",
               "bm25/params.index.json", "bm25/vocab.index.json", "bm25/data.csc.index.npy",
               "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy"]
RUN_BUILD = "Run `kratom-qa build` to rebuild it."


def _delete(path: Path) -> None:
    path.unlink()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(max(len(path.read_bytes()), 16)))


def _flip_bytes(path: Path) -> None:
    """Corrupt a few bytes in the middle: the file still parses, the data is wrong."""
    data = bytearray(path.read_bytes())
    middle = len(data) * 2 // 3
    for i in range(middle, min(middle + 8, len(data))):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


FAULTS = [_delete, _truncate, _empty, _garbage, _flip_bytes]


class ExplodingEmbedder(FakeEmbedder):
    """Embeds `fail_after` batches normally, then raises (a crash in the middle of a build)."""

    def __init__(self, fail_after: int = 0, error: type[BaseException] = RuntimeError) -> None:
        super().__init__()
        self.fail_after, self.error = fail_after, error

    def encode(self, texts, progress: bool = False):
        if self.calls >= self.fail_after:
            self.calls += 1
            raise self.error("embedder crashed in the middle of the build")
        return super().encode(texts, progress)


@pytest.fixture(scope="module", autouse=True)
def _small_policy():
    with small_policy():
        yield


@pytest.fixture(scope="module")
def template(tmp_path_factory, _small_policy):
    """A tiny corpus and its index (fake embedder, the small policy set), built once per module."""
    folder = tmp_path_factory.mktemp("faults-template")
    corpus_dir = write_corpus(folder / "corpus")
    Engine.load(corpus_dir, folder / "index", FakeEmbedder(), auto_build=True)
    return folder


@pytest.fixture
def built(template, tmp_path):
    """A private copy of the template corpus and index: (corpus folder, index folder)."""
    shutil.copytree(template / "corpus", tmp_path / "corpus")
    shutil.copytree(template / "index", tmp_path / "index")
    return tmp_path / "corpus", tmp_path / "index"


def _load(corpus_dir: Path, index_dir: Path, embedder=None, auto_build: bool = False) -> Engine:
    return Engine.load(corpus_dir, index_dir, embedder or FakeEmbedder(), auto_build=auto_build)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _edit_passage(corpus_dir: Path) -> None:
    path = corpus_dir / "passages" / "about.yaml"
    text = path.read_text()
    assert "across the country." in text
    path.write_text(text.replace("across the country.", "across the whole country."))


def test_every_listed_file_is_part_of_the_index(built):
    _, index_dir = built
    files = set(_snapshot(index_dir))
    assert set(INDEX_FILES) <= files
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert set(manifest["checksums"]) == files - {"manifest.json", "cache.npz"}


def test_missing_index_is_detected_at_load(tmp_path):
    corpus_dir = write_corpus(tmp_path / "corpus")
    with pytest.raises(StaleIndexError, match="is missing") as caught:
        _load(corpus_dir, tmp_path / "no-index")
    assert RUN_BUILD in str(caught.value)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("name", INDEX_FILES)
def test_broken_index_file_is_detected_then_rebuilt(built, name, fault):
    corpus_dir, index_dir = built
    fault(index_dir / name)
    with pytest.raises(StaleIndexError) as caught:
        _load(corpus_dir, index_dir)
    assert RUN_BUILD in str(caught.value)
    engine = _load(corpus_dir, index_dir, auto_build=True)
    validate_reply(engine.ask("Is kratom approved by the FDA?"))
    _load(corpus_dir, index_dir)  # the rebuilt index is current


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__.strip("_"))
def test_broken_embedding_cache_only_costs_re_embedding(built, fault):
    corpus_dir, index_dir = built
    fault(index_dir / "cache.npz") if (index_dir / "cache.npz").exists() else None
    _load(corpus_dir, index_dir)  # the cache is not needed to serve
    embedder = FakeEmbedder()
    report = build_index(load_corpus(corpus_dir), embedder, index_dir, progress=False, train_items=TRAIN_ITEMS)
    assert report.passages == 3
    _load(corpus_dir, index_dir)


def test_index_from_another_model_is_detected_then_rebuilt(built):
    corpus_dir, index_dir = built
    other = FakeEmbedder()
    other.name = "another-embedding-model"
    with pytest.raises(StaleIndexError, match="another model") as caught:
        _load(corpus_dir, index_dir, other)
    assert RUN_BUILD in str(caught.value)
    _load(corpus_dir, index_dir, other, auto_build=True)
    with pytest.raises(StaleIndexError, match="another model"):
        _load(corpus_dir, index_dir)  # now it is the fake model's turn to be "another"


def test_manifest_naming_another_model_is_detected(built):
    corpus_dir, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["model"] = manifest["vectors"] = "sentence-transformers/some-other-model"
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="some-other-model") as caught:
        _load(corpus_dir, index_dir)
    assert RUN_BUILD in str(caught.value)


class SameWeightsEmbedder(FakeEmbedder):
    """Another encoder of the fake's weights (as onnx is of torch's): it may serve the fake's index."""

    name = "fake-hash-embedder+other-runtime"
    vector_space = FakeEmbedder.name


class DriftingEmbedder(SameWeightsEmbedder):
    """Claims the fake's weights but does not reproduce its vectors (a broken export)."""

    def encode(self, texts, progress: bool = False):
        vectors = super().encode(texts, progress)
        vectors[:, :8] = 0.5
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_another_encoder_of_the_same_weights_serves_the_index_if_it_reproduces_its_vectors(built):
    corpus_dir, index_dir = built
    engine = _load(corpus_dir, index_dir, SameWeightsEmbedder())
    validate_reply(engine.ask("Is kratom approved by the FDA?"))
    with pytest.raises(StaleIndexError, match="does not reproduce its vectors") as caught:
        _load(corpus_dir, index_dir, DriftingEmbedder())
    assert RUN_BUILD in str(caught.value)


@pytest.mark.parametrize("field, value, expected", [
    ("format_version", 1, "another version of kratom-qa"),
    ("dim", 7, "another model"),
    ("policy_hash", "0" * 64, "older than the policy data"),
    ("n_questions", 2, "do not match"),
    ("n_sentences", 1, "do not match"),
    ("passage_ids", ["only-one"], "do not match"),
])
def test_manifest_inconsistencies_are_detected(built, field, value, expected):
    corpus_dir, index_dir = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest[field] = value
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match=expected):
        _load(corpus_dir, index_dir)


def test_index_trained_on_other_policy_data_is_detected_then_rebuilt(built):
    from bot.policy.training import source_hash

    corpus_dir, index_dir = built
    with pytest.raises(StaleIndexError, match="older than the policy data") as caught:
        load_index(index_dir, load_corpus(corpus_dir), FakeEmbedder(), source_hash())  # the project's bank
    assert RUN_BUILD in str(caught.value)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["policy_hash"] = "0" * 64
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="older than the policy data"):
        _load(corpus_dir, index_dir)
    embedder = FakeEmbedder()
    engine = _load(corpus_dir, index_dir, embedder, auto_build=True)
    validate_reply(engine.ask("Is kratom approved by the FDA?"))
    assert json.loads((index_dir / "manifest.json").read_text())["policy_hash"] == "custom"
    _load(corpus_dir, index_dir)  # the rebuilt index is current


def test_index_older_than_the_corpus_is_detected_then_rebuilt_incrementally(built):
    corpus_dir, index_dir = built
    _edit_passage(corpus_dir)
    with pytest.raises(StaleIndexError, match="older than the corpus") as caught:
        _load(corpus_dir, index_dir)
    assert "kratom-not-fda-approved" in str(caught.value)  # names the edited passage
    assert RUN_BUILD in str(caught.value)
    embedder = FakeEmbedder()
    engine = _load(corpus_dir, index_dir, embedder, auto_build=True)
    # Re-embedded: the edited passage and its changed sentence, and the training questions whose prepared
    # text changed because the corpus vocabulary (used by the spelling fixer) gained the word "whole";
    # nothing else.
    assert any("whole country" in text for text in embedder.embedded)
    assert all("whole" in text.lower() for text in embedder.embedded), embedder.embedded
    assert embedder.texts_embedded <= 20
    assert "whole country" in next(p.text for p in engine.passages if p.id == "kratom-not-fda-approved")
    _load(corpus_dir, index_dir)


def test_new_and_removed_passages_make_the_index_stale(built, tmp_path):
    corpus_dir, index_dir = built
    passages = dict(TINY_PASSAGES)
    passages.pop("federal-law")
    (corpus_dir / "passages" / "federal-law.yaml").unlink()
    write_corpus(corpus_dir, passages)  # its questions go with it
    with pytest.raises(StaleIndexError, match="older than the corpus"):
        _load(corpus_dir, index_dir)
    added = dict(TINY_PASSAGES)
    added["federal-law"] = added["federal-law"].replace("dea-withdrew-2016-notice", "dea-withdrew-2016-notice-copy")
    added["federal-law"] = TINY_PASSAGES["federal-law"] + added["federal-law"].replace("- id:", "\n- id:", 1)
    write_corpus(corpus_dir, added)
    with pytest.raises(StaleIndexError, match="older than the corpus.*dea-withdrew-2016-notice-copy"):
        _load(corpus_dir, index_dir)


@pytest.mark.parametrize("content, expected", [
    ("- id: [unclosed\n", r"about\.yaml: not valid YAML"),
    ("- id: broken-one\n  topic: about\n  title: t\n", r"about\.yaml: passage broken-one: missing field\(s\) text"),
    ("- just a string\n", r"about\.yaml: entry 1 is not a mapping"),
    ("id: not-a-list\n", r"about\.yaml: expected a YAML list"),
    (TINY_PASSAGES["about"].replace("sources: [fda-and-kratom]", "sources: fda-and-kratom", 1),
     r"about\.yaml: passage kratom-not-fda-approved: `sources` must be a list"),
    (TINY_PASSAGES["about"].replace("sources: [fda-and-kratom]", "sources: [no-such-source]", 1),
     r"about\.yaml: passage kratom-not-fda-approved: unknown source id\(s\) no-such-source"),
])
def test_malformed_corpus_names_file_and_passage_and_keeps_the_last_good_index(built, content, expected):
    corpus_dir, index_dir = built
    before = _snapshot(index_dir)
    (corpus_dir / "passages" / "about.yaml").write_text(content)
    for auto_build in (False, True):
        with pytest.raises(CorpusError, match=expected):
            _load(corpus_dir, index_dir, auto_build=auto_build)
    assert _snapshot(index_dir) == before


def test_unknown_source_is_also_reported_by_validate(tmp_path):
    corpus_dir = write_corpus(tmp_path / "corpus", {
        "about": TINY_PASSAGES["about"].replace("sources: [fda-and-kratom]", "sources: [no-such-source]", 1)})
    problems = [str(p) for p in validate_corpus(load_corpus(corpus_dir))]
    assert any("about.yaml" in p and "kratom-not-fda-approved" in p and "no-such-source" in p for p in problems)


@pytest.mark.parametrize("error", [RuntimeError, MemoryError, KeyboardInterrupt])
def test_failed_build_never_overwrites_the_last_good_index(built, error):
    corpus_dir, index_dir = built
    before = _snapshot(index_dir)
    _edit_passage(corpus_dir)  # something must be embedded
    with pytest.raises(error):
        _load(corpus_dir, index_dir, ExplodingEmbedder(0, error), auto_build=True)
    assert _snapshot(index_dir) == before
    assert not [p.name for p in index_dir.parent.iterdir() if p.name.startswith(".index-")]  # no staging left
    # The old index still loads against the corpus it was built for.
    original = write_corpus(index_dir.parent / "original-corpus")
    validate_reply(_load(original, index_dir).ask("Is kratom approved by the FDA?"))


def test_build_failing_after_some_embedding_keeps_the_old_index(tmp_path):
    corpus_dir = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    build_index(load_corpus(corpus_dir), FakeEmbedder(), index_dir, progress=False, train_items=TRAIN_ITEMS)
    before = _snapshot(index_dir)

    class FailsWhileWriting(FakeEmbedder):
        dim = FakeEmbedder.dim

    _edit_passage(corpus_dir)
    corpus = load_corpus(corpus_dir)
    import bot.index as index_module
    original_write = index_module.faiss.write_index

    def crash(*args, **kwargs):
        original_write(*args, **kwargs)
        raise OSError(28, "No space left on device")

    index_module.faiss.write_index = crash
    try:
        with pytest.raises(OSError, match="No space left"):
            build_index(corpus, FailsWhileWriting(), index_dir, progress=False, train_items=TRAIN_ITEMS)
    finally:
        index_module.faiss.write_index = original_write
    assert _snapshot(index_dir) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".index-")]


def test_cli_build_stops_on_a_malformed_corpus_and_leaves_the_index(built):
    corpus_dir, index_dir = built
    before = _snapshot(index_dir)
    (corpus_dir / "passages" / "about.yaml").write_text(
        TINY_PASSAGES["about"].replace("sources: [fda-and-kratom]", "sources: [no-such-source]", 1))
    env = dict(os.environ, KRATOM_QA_CORPUS=str(corpus_dir), KRATOM_QA_INDEX=str(index_dir))
    result = subprocess.run([sys.executable, "-m", "bot.cli", "build", "--quiet"], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "about.yaml" in result.stderr and "kratom-not-fda-approved" in result.stderr
    assert "no-such-source" in result.stderr
    assert _snapshot(index_dir) == before
