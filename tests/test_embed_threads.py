"""The onnxruntime encoder's two sessions (2 threads for a call alone, 1 under concurrency) give the same vectors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.embed import OnnxMiniLMEmbedder, onnx_file

TEXTS = ["what is kratom?", "Is kratom legal in Ohio?", "how much kratom should i take for pain",
         "i want to end my life", "¿es legal el kratom en España?", "x" * 2000,
         "what does the FDA say about 7-OH and mitragynine in gas station products " * 5]


@pytest.fixture(scope="module")
def encoder() -> OnnxMiniLMEmbedder:
    if not onnx_file().exists():
        pytest.skip("the onnx file is exported by `kratom-qa build`")
    return OnnxMiniLMEmbedder()


def _with_solo_session(encoder: OnnxMiniLMEmbedder):
    sessions = encoder._sessions
    if sessions.fixed:
        pytest.skip("one session only (KRATOM_QA_ONNX_THREADS set, or one core)")
    encoder.warm_up()
    assert sessions.solo is not None and sessions.solo is not sessions.single
    return sessions


def test_the_two_thread_session_is_made_by_warm_up_not_at_load():
    if not onnx_file().exists():
        pytest.skip("the onnx file is exported by `kratom-qa build`")
    fresh = OnnxMiniLMEmbedder()
    if fresh._sessions.fixed:
        pytest.skip("one session only (KRATOM_QA_ONNX_THREADS set, or one core)")
    assert fresh._sessions.solo is None
    fresh.encode(["before warm-up: one thread"])
    solo = _with_solo_session(fresh).solo
    fresh.warm_up()
    assert fresh._sessions.solo is solo  # made once


def test_both_sessions_give_the_same_vectors_bit_for_bit(encoder):
    sessions = _with_solo_session(encoder)
    for text in TEXTS:
        batch = encoder._tokenizer.encode_batch([text])
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        solo = sessions.solo.run(["last_hidden_state"], feed)[0]
        single = sessions.single.run(["last_hidden_state"], feed)[0]
        assert np.array_equal(solo, single), text[:40]


def test_a_call_alone_uses_two_threads_and_concurrent_calls_one(encoder, monkeypatch):
    sessions = _with_solo_session(encoder)
    used, inside, release = [], threading.Barrier(2), threading.Event()

    class Spy:
        def __init__(self, name, inner, wait):
            self.name, self.inner, self.wait = name, inner, wait

        def run(self, outputs, feed):
            used.append(self.name)
            if self.wait and len(used) == 1:  # the first call holds on until the second has run
                inside.wait(timeout=10)
                release.wait(timeout=10)
            return self.inner.run(outputs, feed)

    monkeypatch.setattr(sessions, "solo", Spy("solo", sessions.solo, wait=True))
    monkeypatch.setattr(sessions, "single", Spy("single", sessions.single, wait=False))
    first = threading.Thread(target=encoder.encode, args=(["what is kratom?"],))
    first.start()
    inside.wait(timeout=10)          # the first call is running (alone: the 2-thread session)
    encoder.encode(["is kratom legal?"])  # a second call meanwhile: the 1-thread session
    release.set()
    first.join(timeout=10)
    encoder.encode(["and now alone again"])
    assert used == ["solo", "single", "solo"]


def test_threads_fixed_by_configuration(monkeypatch):
    if not onnx_file().exists():
        pytest.skip("the onnx file is exported by `kratom-qa build`")
    monkeypatch.setenv("KRATOM_QA_ONNX_THREADS", "1")
    fixed = OnnxMiniLMEmbedder()
    assert fixed._sessions.fixed and fixed._sessions.solo is fixed._sessions.single
