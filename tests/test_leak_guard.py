"""Building data and measuring data never mix (issue 9 item 8, issue 10 item 6).

No evaluation text (policy dev/test writers, the three fresh policy checks, retrieval tune/test, the fresh
retrieval check, the casual abstention tune set, XSTest) may
stand in the data the bot is built from (policy training writers, per-passage questions, answerability
training set, rule, slang and expansion literals): equal after normalising, or word-set Jaccard >= 0.8.
A writer belongs to one split only.
"""

from __future__ import annotations

import json

from bot import paths
from bot.leakguard import Leak, building_texts, evaluation_texts, find_leaks, normalise
from bot.policy.bank import SPLITS, split_dir


def test_no_evaluation_text_in_building_data():
    leaks = find_leaks(evaluation_texts(), building_texts())
    shown = "\n".join(f"{l.eval_source} ~ {l.build_source} ({l.jaccard}): {l.eval_text[:80]!r}" for l in leaks[:20])
    assert not leaks, f"{len(leaks)} evaluation texts stand in building data (run scripts/decontaminate.py):\n{shown}"


def test_every_evaluation_set_is_guarded():
    sources = {source.split(":")[0].rsplit("/", 1)[0] for _, source in evaluation_texts()}
    assert {"eval/policy/dev", "eval/policy/test", "eval/policy/fresh", "eval/policy/fresh_en",
            "eval/policy/fresh_wrap", "eval/policy/fresh_mp", "eval/policy/fresh_ml", "eval/policy/fresh_en2",
            "eval/policy/fresh_en3", "eval/policy/fresh_zv", "eval/policy/fresh_akt", "eval/policy/fresh_six",
            "eval/policy/fresh_zt",
            "eval/retrieval/tune",
            "eval/retrieval/test", "eval/answers/fresh",
            "eval/answers/casual_tune", "xstest"} <= sources, sources
    # Any folder of eval/ whose lines hold question text ("q" or "text") is guarded, so a new set cannot be missed.
    with_text = set()
    for path in paths.eval_dir().rglob("*.jsonl"):
        first = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()), "")
        if first and {"q", "text"} & set(json.loads(first)):
            with_text.add(str(path.parent.relative_to(paths.PROJECT_ROOT)))
    assert with_text and with_text <= sources, with_text - sources


def test_the_guard_catches_copies_and_near_copies():
    evaluation = [("How much kratom should I take for back pain?", "eval:1"), ("is kratom legal in ohio", "eval:2")]
    building = [("how much KRATOM should i take for back pain", "train:1"),      # exact after normalising
                ("is kratom legal in ohio now", "train:2"),                       # Jaccard 4/5 = 0.8
                ("is kratom legal in the state of ohio today", "train:3")]        # Jaccard 4/9: no leak
    leaks = find_leaks(evaluation, building)
    assert {(l.eval_source, l.build_source) for l in leaks} == {("eval:1", "train:1"), ("eval:2", "train:2")}
    assert all(isinstance(l, Leak) for l in leaks)
    assert normalise("  Is 7-OH   legal?! ") == "is 7 oh legal"


def test_every_split_has_writers_and_no_writer_is_in_two_splits():
    writers = {split: {p.stem for p in split_dir(split).glob("*.jsonl")} for split in SPLITS}
    assert all(writers.values()), writers
    assert not (writers["train"] & writers["dev"]) and not (writers["train"] & writers["test"])
    assert not (writers["dev"] & writers["test"])
    assert len(set().union(*writers.values())) >= 6


def test_earlier_turns_of_a_conversation_are_compared_with_the_line_of_their_conversation(tmp_path, monkeypatch):
    from bot import leakguard, paths

    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    line = {"text": "ok and then what", "history": ["tell me about the weather on mars", "and on venus"]}
    (tmp_path / "w.jsonl").write_text(json.dumps(line) + "\n\n" + json.dumps({"text": "alone"}) + "\n")
    texts = leakguard._jsonl_texts(tmp_path, "text")
    assert texts == [("ok and then what", "w.jsonl:1"), ("tell me about the weather on mars", "w.jsonl:1"),
                     ("and on venus", "w.jsonl:1"), ("alone", "w.jsonl:3")]
    leaks = find_leaks([("Tell me about the weather on Mars!", "eval:1")], texts)
    assert [leak.build_source for leak in leaks] == ["w.jsonl:1"]
