"""Start-up does no build work: `Engine.load` reads what the build derived, and serving needs neither torch
nor scikit-learn when it embeds with onnxruntime."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.answer import Engine
from bot.contract import validate_reply
from bot.corpus import load_corpus
from bot.index import build_index
from support import PROJECT, FakeEmbedder, write_corpus
from training_items import small_policy


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    """A tiny corpus and its index (fake embedder, small policy set), built once."""
    folder = tmp_path_factory.mktemp("startup")
    corpus_dir = write_corpus(folder / "corpus")
    with small_policy():  # only while building: other tests' engines use the project's bank
        Engine.load(corpus_dir, folder / "index", FakeEmbedder(), auto_build=True)
    return corpus_dir, folder / "index"


def _forbid(*_args, **_kwargs):
    raise AssertionError("build work at start-up")


def test_engine_load_derives_nothing_from_the_corpus(tiny_index):
    import bot.answer
    import bot.answerability
    import bot.corpus
    import bot.dosecheck
    import bot.enginedata
    import bot.jurisdiction
    import bot.spelling

    corpus_dir, index_dir = tiny_index
    with small_policy(), pytest.MonkeyPatch.context() as patch:  # only while loading: questions use some of them
        for owner, name in [(bot.spelling.SpellFixer, "__init__"),            # spelling vocabulary
                            (bot.answerability.CoverageTable, "__init__"),    # coverage of each passage
                            (bot.jurisdiction.Jurisdictions, "__init__"),     # the places finder
                            (bot.jurisdiction.Jurisdictions, "named_in"),     # places of each passage
                            (bot.dosecheck, "is_refusal_safe"),               # refusal-safe passages
                            (bot.enginedata.EngineData, "derive"),
                            (bot.corpus, "load_corpus"),                      # no YAML: the index holds the corpus
                            (bot.corpus, "load_passages"),
                            (bot.answer, "load_corpus"),
                            (bot.answer, "build_index")]:
            patch.setattr(owner, name, _forbid)
        engine = Engine.load(corpus_dir, index_dir, FakeEmbedder(), auto_build=False)
    reply = engine.ask("Is kratom approved by the FDA?")
    validate_reply(reply)
    assert reply["kind"] == "answer" and reply["citations"][0]["passage_id"] == "kratom-not-fda-approved"
    assert engine.preparer.spell.vocabulary["kratom"] > 0  # the stored vocabulary is the one used


def test_the_engine_uses_what_the_build_stored(tiny_index):
    corpus_dir, index_dir = tiny_index
    with small_policy():
        engine = Engine.load(corpus_dir, index_dir, FakeEmbedder(), auto_build=False)
    data = engine.index.data
    assert engine.preparer.spell is data.spell and engine._coverage is data.coverage
    assert engine.passage_places is data.passage_places and engine.jurisdictions is data.places
    assert engine.corpus == load_corpus(corpus_dir)  # the stored corpus is the corpus
    assert engine._refusal_rows == data.refusal_rows(engine.messages.refusal.topics)


def test_an_unchanged_rebuild_reuses_the_trained_models(fake_engine, fake_index_dir, tmp_path):
    """`kratom-qa build` with nothing changed does not train again (the project's bank, fake embedder)."""
    import shutil

    from bot import paths

    folder = tmp_path / "index"
    shutil.copytree(fake_index_dir, folder)
    before = json.loads((folder / "manifest.json").read_text())
    report = build_index(load_corpus(paths.corpus_dir()), FakeEmbedder(), folder, progress=False)
    after = json.loads((folder / "manifest.json").read_text())
    assert not report.trained and report.embedded == 0
    assert after["models_trained_at"] == before["models_trained_at"] and after["built_at"] >= before["built_at"]
    for name in ("policy_model.npz", "answerability_trees.npz", "engine.pkl", "passages.faiss"):
        assert after["checksums"][name] == before["checksums"][name], name
    assert set(after) == set(before)


@pytest.mark.integration
def test_serving_with_onnx_imports_neither_torch_nor_scikit_learn():
    """The project's index (built with torch) served with the onnx encoder, in a fresh process."""
    from bot.embed import OnnxMiniLMEmbedder, onnx_file

    if not onnx_file().exists():
        OnnxMiniLMEmbedder()  # export once, here (the serving process must not)
    code = """
import sys
from bot.answer import Engine
engine = Engine.load(auto_build=False)
assert engine.embedder.name.endswith("+onnx"), engine.embedder.name
reply = engine.ask("is kratom legal in indiana")
assert reply["kind"] == "answer", reply["kind"]
loaded = {m.split(".")[0] for m in sys.modules}
heavy = sorted(loaded & {"torch", "sentence_transformers", "transformers", "sklearn", "nlpaug"})
print("imported:", heavy)
"""
    env = {**os.environ, "KRATOM_QA_ENCODER": "onnx"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported: []" in done.stdout, done.stdout


def test_onnx_serves_and_torch_builds_by_default(monkeypatch):
    from bot.embed import (MODEL_NAME, MiniLMEmbedder, OnnxMiniLMEmbedder, build_encoder_choice, encoder_choice,
                           vector_space)

    monkeypatch.delenv("KRATOM_QA_ENCODER", raising=False)
    monkeypatch.delenv("KRATOM_QA_BUILD_ENCODER", raising=False)
    assert (encoder_choice(), build_encoder_choice()) == ("onnx", "torch")
    assert vector_space(OnnxMiniLMEmbedder) == vector_space(MiniLMEmbedder) == MODEL_NAME  # may share an index
    assert OnnxMiniLMEmbedder.name != MiniLMEmbedder.name
    monkeypatch.setenv("KRATOM_QA_ENCODER", "torch")
    assert encoder_choice() == "torch"
    monkeypatch.setenv("KRATOM_QA_ENCODER", "fake")
    with pytest.raises(ValueError, match="KRATOM_QA_ENCODER"):
        encoder_choice()


def test_the_manifest_records_the_build_and_serving_encoders(tiny_index):
    _, index_dir = tiny_index
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["format_version"] == 5
    assert (manifest["model"], manifest["vectors"], manifest["build_encoder"]) == (
        "fake-hash-embedder", "fake-hash-embedder", "fake")
    assert manifest["serve_encoder"] in ("onnx", "torch") and manifest["corpus_files_hash"]
