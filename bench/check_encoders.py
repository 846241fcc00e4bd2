"""The onnxruntime encoder against the torch (sentence-transformers) encoder, on every evaluation question.

A slow check (about 20 minutes on two cores: it builds a second index with the onnx encoder), run on
demand, not by `make test`: `.venv/bin/python -m pytest -p no:cacheprovider --rootdir . -c /dev/null
-o pythonpath=tests bench/check_encoders.py`.

Checks the conditions for making onnx the default encoder (issue 12, item 1):

* cosine >= 0.9999 between the two encoders' vectors on every evaluation question (policy dev and
  test texts, retrieval questions, XSTest prompts), and on every text the engine embeds for them;
* identical decisions with vectors from either encoder on one index (policy kind and reason, top-3
  passages, the reply's kind and cited passages);
* identical decisions end to end, each encoder with the index built by itself (the policy and
  answerability models trained on its own vectors) -- required for onnx to be the default; with torch
  the default, differences are reported as an expected failure (xfail) with the count;
* serving with the onnx encoder never imports torch (a fresh process: `Engine.load`, one answer).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot import paths
from bot.embed import DEFAULT_ENCODER, MiniLMEmbedder, OnnxMiniLMEmbedder, onnx_file
from support import PROJECT

pytestmark = pytest.mark.integration

EVAL = PROJECT / "eval"
MIN_COSINE = 0.9999


def _jsonl(pattern: str) -> list[dict]:
    return [json.loads(line) for path in sorted(EVAL.glob(pattern)) for line in path.read_text().splitlines()
            if line.strip()]


def evaluation_questions() -> dict[str, list[tuple[str, list[str]]]]:
    """Every evaluation question with its history, by set."""
    xstest = EVAL / "external" / "xstest" / "xstest_prompts.csv"
    with open(xstest, newline="", encoding="utf-8") as handle:
        prompts = [(row["prompt"], []) for row in csv.DictReader(handle)]
    return {
        "policy": [(i["text"], list(i.get("history") or [])) for i in _jsonl("policy/*/*.jsonl")],
        "retrieval": [(i["q"], list(i.get("history") or [])) for i in _jsonl("retrieval/*/*.jsonl")],
        "xstest": prompts,
    }


QUESTIONS = evaluation_questions()


def test_every_evaluation_set_is_read():
    assert len(QUESTIONS["policy"]) > 3000
    assert len(QUESTIONS["retrieval"]) > 1300
    assert len(QUESTIONS["xstest"]) == 450


@pytest.fixture(scope="module")
def torch_encoder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def onnx_encoder() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder()  # exports to var/onnx/ first if the file is missing


def _min_cosine(texts: list[str], first, second) -> tuple[float, str]:
    a, b = first.encode(texts), second.encode(texts)
    cosines = np.einsum("ij,ij->i", a, b)
    worst = int(np.argmin(cosines))
    print(f"{len(texts)} texts: cosine min {cosines[worst]:.7f}, mean {cosines.mean():.7f}")
    return float(cosines[worst]), texts[worst]


def test_encoders_are_distinct_in_the_manifest(torch_encoder, onnx_encoder):
    assert torch_encoder.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert onnx_encoder.name != torch_encoder.name and onnx_encoder.dim == torch_encoder.dim == 384


@pytest.mark.parametrize("group", sorted(QUESTIONS))
def test_cosine_on_every_evaluation_question(torch_encoder, onnx_encoder, group):
    texts = sorted({text for text, _ in QUESTIONS[group]})
    cosine, worst = _min_cosine(texts, torch_encoder, onnx_encoder)
    assert cosine >= MIN_COSINE, f"{group}: cosine {cosine:.6f} on {worst!r}"


@pytest.fixture(scope="module")
def engines(torch_encoder, onnx_encoder):
    """One engine per encoder, each over the index built by that encoder (the default's is the project's)."""
    from bot.answer import Engine

    own = {"torch": torch_encoder, "onnx": onnx_encoder}
    # The other encoder's index is kept in var/ between runs: a rebuild re-embeds only changed text.
    folders = {kind: paths.index_dir() if kind == DEFAULT_ENCODER else PROJECT / "var" / f"test-index-{kind}"
               for kind in own}
    return {kind: Engine.load(index_dir=folders[kind], embedder=own[kind]) for kind in own}, folders


def _prepared(engine, group: str):
    for text, history in QUESTIONS[group]:
        prepared = engine.prepare(text, history)
        if prepared.text and not prepared.too_long:
            yield text, history, prepared


@pytest.fixture(scope="module")
def embedded(engines, torch_encoder, onnx_encoder):
    """Per set: the prepared questions and every text they embed, with its vector from each encoder."""
    engine = engines[0][DEFAULT_ENCODER]
    out = {}
    for group in QUESTIONS:
        prepared = list(_prepared(engine, group))
        texts = sorted({t for _, _, p in prepared for t in p.texts_to_embed()})
        out[group] = prepared, dict(zip(texts, zip(torch_encoder.encode(texts), onnx_encoder.encode(texts))))
    return out


@pytest.mark.parametrize("group", sorted(QUESTIONS))
def test_cosine_on_every_text_the_engine_embeds(embedded, group):
    vectors = embedded[group][1]
    cosines = {text: float(a @ b) for text, (a, b) in vectors.items()}
    worst = min(cosines, key=cosines.get)
    print(f"{group}: {len(cosines)} embedded texts, cosine min {cosines[worst]:.7f}")
    assert cosines[worst] >= MIN_COSINE, f"{group}: cosine {cosines[worst]:.6f} on {worst!r}"


def _outcome(engine, prepared, vectors) -> tuple:
    """What `Engine.ask` decides: policy kind and reason, top-3 passages, and the passages it would cite."""
    decision = engine.policy.decide(prepared, vectors)
    top3 = [engine.passages[hit.row].id for hit in engine.retriever.search(vectors.search, prepared.search_text, k=3)]
    cited: list[str] = []
    place = ""
    if decision.kind not in ("crisis", "refusal", "non_english", "off_topic"):
        hits, place = engine.cited_hits(prepared, vectors.search)
        cited = [engine.passages[hit.row].id for hit in hits]
    return decision.kind, decision.reason, top3, cited, place


def _compare(first_engine, second_engine, prepared_items, vectors) -> tuple[int, list]:
    from bot.query import vectors_of

    differences = []
    for text, _, prepared in prepared_items:
        texts = prepared.texts_to_embed()
        first = _outcome(first_engine, prepared, vectors_of(prepared, [vectors[t][0] for t in texts]))
        second = _outcome(second_engine, prepared, vectors_of(prepared, [vectors[t][1] for t in texts]))
        if first != second:
            differences.append((text, first, second))
    return len(prepared_items), differences


@pytest.mark.parametrize("group", sorted(QUESTIONS))
def test_same_decisions_with_vectors_from_either_encoder(engines, embedded, group):
    """One index (the default encoder's); only the question's vectors change."""
    engine = engines[0][DEFAULT_ENCODER]
    count, differences = _compare(engine, engine, *embedded[group])
    print(f"{group}: {count} questions, one index, {len(differences)} differences")
    assert not differences, differences[:10]


@pytest.mark.parametrize("group", sorted(QUESTIONS))
def test_same_decisions_end_to_end_each_encoder_with_its_own_index(engines, embedded, group):
    """Each encoder with the index (and the policy and answerability models) built from its own vectors."""
    count, differences = _compare(engines[0]["torch"], engines[0]["onnx"], *embedded[group])
    print(f"{group}: {count} questions, own indexes, {len(differences)} differences")
    if differences and DEFAULT_ENCODER == "torch":
        # Measured 2026-12-03: 14 of 3180 policy questions decided differently (the policy model trained on
        # onnx vectors moves borderline questions), so onnx is not the default; it may become so only when
        # this holds with no difference.
        pytest.xfail(f"{group}: {len(differences)} of {count} differ end to end: {differences[:3]}")
    assert not differences, differences[:10]


def test_replies_are_identical_for_sample_questions(engines):
    """The whole `ask` (vectors, decision, citations, messages) on a few questions of every kind."""
    questions = [("is kratom legal in indiana", []), ("and in Texas?", ["Is kratom legal in Indiana?"]),
                 ("how many grams of kratom should I take", []), ("my friend took kratom and is not breathing", []),
                 ("what is the capital of france", []), ("can kratom damage your liver", [])]
    for text, history in questions:
        replies = [engines[0][kind].ask(text, history) for kind in ("torch", "onnx")]
        for reply in replies:
            for citation in reply["citations"]:
                citation.pop("score")  # rounded cosines may differ in the 4th decimal
        assert replies[0] == replies[1], text


SERVE_WITHOUT_TORCH = """
import sys
from pathlib import Path
from bot.answer import Engine
from bot.embed import default_embedder
engine = Engine.load(index_dir=Path(sys.argv[1]))  # a stale index is rebuilt, still without torch
assert engine.embedder is default_embedder() and engine.embedder.name.endswith("+onnx"), engine.embedder.name
reply = engine.ask("is kratom legal in indiana")
assert reply["kind"] == "answer", reply["kind"]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sentence_transformers", "transformers"))
print("imported:", heavy)
assert "torch" not in sys.modules, heavy
"""


def test_serving_with_onnx_does_not_import_torch(engines):
    assert onnx_file().exists()  # exported by the onnx encoder fixture; the serving process must not export
    env = {**os.environ, "KRATOM_QA_ENCODER": "onnx"}
    env.pop("KRATOM_QA_INDEX", None)
    folder = Path(engines[1]["onnx"])
    done = subprocess.run([sys.executable, "-c", SERVE_WITHOUT_TORCH, str(folder)], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported: []" in done.stdout, done.stdout
