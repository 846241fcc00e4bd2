"""The onnxruntime encoder against the torch (sentence-transformers) encoder, on every evaluation question.

A slow check (several minutes on two cores: every evaluation text embedded by both encoders), run on
demand, not by `make test`: `PYTHONPATH=.:tests .venv/bin/python -m pytest -p no:cacheprovider --rootdir .
-c /dev/null -s bench/check_encoders.py`. Last run (2026-12-03, 7.6 min): cosine min 0.9999997; 0 differences
on 3,180 policy, 1,825 retrieval and 450 XSTest questions; sample replies identical.

The index is built, and the policy and answerability models trained, with torch (the reference, the
build encoder); the question is whether onnx may *serve* that index. The conditions for making onnx
the serving default (issue 12; `bot/embed.py` DEFAULT_ENCODER):

* cosine >= 0.9999 between the two encoders' vectors on every evaluation question (policy dev and
  test texts, retrieval questions, XSTest prompts), and on every text the engine embeds for them;
* over the project's (torch-built) index, the same outcome whichever encoder embeds the question, on
  every evaluation question: the policy decision (kind and reason), the top-3 passages, the passages
  cited and the uncovered place; and the same whole replies on sample questions.

(An index *built* with onnx vectors is not what is served: its retrained policy model decided 14 of
3,180 policy questions differently, measured 2026-12-03, so the build stays torch.)
Serving with onnx imports neither torch nor scikit-learn: tests/test_startup.py.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bot.embed import MiniLMEmbedder, OnnxMiniLMEmbedder
from support import PROJECT


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
    """The project's index (built with torch) served by each encoder."""
    from bot.answer import Engine

    engines = {kind: Engine.load(embedder=encoder, auto_build=False)
               for kind, encoder in (("torch", torch_encoder), ("onnx", onnx_encoder))}
    assert engines["torch"].index.manifest["build_encoder"] == "torch"
    return engines


def _prepared(engine, group: str):
    for text, history in QUESTIONS[group]:
        prepared = engine.prepare(text, history)
        if prepared.text and not prepared.too_long:
            yield text, history, prepared


@pytest.fixture(scope="module")
def embedded(engines, torch_encoder, onnx_encoder):
    """Per set: the prepared questions and every text they embed, with its vector from each encoder."""
    engine = engines["torch"]
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
    """The project's index; only the question's vectors change (what serving with onnx does)."""
    engine = engines["torch"]
    count, differences = _compare(engine, engine, *embedded[group])
    print(f"{group}: {count} questions, one index, {len(differences)} differences")
    assert not differences, differences[:10]


def test_replies_are_identical_for_sample_questions(engines):
    """The whole `ask` (vectors, decision, citations, messages) on a few questions of every kind."""
    questions = [("is kratom legal in indiana", []), ("and in Texas?", ["Is kratom legal in Indiana?"]),
                 ("how many grams of kratom should I take", []), ("my friend took kratom and is not breathing", []),
                 ("what is the capital of france", []), ("can kratom damage your liver", []),
                 ("¿Qué es el kratom?", []), ("is kratom legal in narnia", [])]
    for text, history in questions:
        replies = [engines[kind].ask(text, history) for kind in ("torch", "onnx")]
        for reply in replies:
            for citation in reply["citations"]:
                citation.pop("score")  # rounded cosines may differ in the 4th decimal
        assert replies[0] == replies[1], text
