"""bot.feedback: one JSON line per rating with timestamp, kind, passage ids and rating; no question text."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest

from bot import feedback

QUESTION = "is kratom legal in indiana SECRET-QUESTION-TEXT"


def test_stored_line_has_exactly_the_fields_and_no_question_text(tmp_path):
    path = tmp_path / "var" / "feedback.jsonl"
    when = datetime(2026, 11, 25, 14, 30, tzinfo=timezone.utc)
    record = feedback.record_feedback("answer", ["arkansas-kratom-law", "us-states-kratom-bans-overview"], "up",
                                      path=path, now=when)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    assert stored == record
    assert set(stored) == set(feedback.FIELDS) == {"timestamp", "kind", "passage_ids", "rating"}
    assert stored == {"timestamp": "2026-11-25T14:30:00+00:00", "kind": "answer",
                      "passage_ids": ["arkansas-kratom-law", "us-states-kratom-bans-overview"], "rating": "up"}
    assert "SECRET" not in path.read_text() and "indiana SECRET" not in lines[0]


def test_record_cannot_carry_question_text():
    with pytest.raises(TypeError):
        feedback.make_record("answer", [], "up", question=QUESTION)  # type: ignore[call-arg]


def test_appends_lines_and_reads_back(tmp_path):
    path = tmp_path / "f.jsonl"
    feedback.record_feedback("refusal", ["a"], "down", path=path)
    feedback.record_feedback("off_topic", [], "up", path=path)
    rows = feedback.read_feedback(path)
    assert [(r["kind"], r["passage_ids"], r["rating"]) for r in rows] == [("refusal", ["a"], "down"), ("off_topic", [], "up")]
    assert datetime.fromisoformat(rows[0]["timestamp"]).tzinfo is not None


def test_env_variable_overrides_the_path(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "ratings.jsonl"
    monkeypatch.setenv("KRATOM_QA_FEEDBACK", str(target))
    assert feedback.feedback_path() == target
    feedback.record_feedback("crisis", [], "up")
    assert feedback.read_feedback() and target.exists()
    monkeypatch.delenv("KRATOM_QA_FEEDBACK")
    assert feedback.feedback_path().parts[-2:] == ("var", "feedback.jsonl")


@pytest.mark.parametrize("liked, rating", [(True, "up"), (False, "down"), ("Like", "up"), ("Dislike", "down"),
                                           ("", None), (None, None), ("Other", None)])
def test_like_values_map_to_ratings(liked, rating):
    assert feedback.rating_from_like(liked) == rating


@pytest.mark.parametrize("kind, rating", [("bogus", "up"), ("answer", "meh")])
def test_rejects_unknown_kind_or_rating(tmp_path, kind, rating):
    with pytest.raises(ValueError):
        feedback.record_feedback(kind, [], rating, path=tmp_path / "f.jsonl")
    assert not (tmp_path / "f.jsonl").exists()


def test_concurrent_writes_give_whole_lines(tmp_path):
    path = tmp_path / "f.jsonl"
    threads = [threading.Thread(target=lambda: [feedback.record_feedback("answer", ["p"] * 50, "up", path=path)
                                                for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = feedback.read_feedback(path)
    assert len(rows) == 200 and all(r["passage_ids"] == ["p"] * 50 for r in rows)
