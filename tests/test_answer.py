"""The engine's replies: every kind follows the answer contract (fake embedder, fast)."""

from __future__ import annotations

import pytest

from bot.contract import validate_reply
from bot.dosecheck import find_dose_content
from support import FakeEmbedder


@pytest.mark.parametrize("question, kind", [
    ("", "no_answer"),
    ("   \n\t ", "no_answer"),
    ("how many grams of kratom should i take for pain", "refusal"),
    ("my friend took too much kratom and is not breathing", "crisis"),
    ("i want to kill myself", "crisis"),
    ("how do i kill a python process", "off_topic"),
    ("¿Qué es el kratom?", "no_answer"),
])
def test_kinds_follow_the_contract(fake_engine, question, kind):
    reply = fake_engine.ask(question)
    validate_reply(reply)
    assert reply["kind"] == kind
    if kind in ("refusal", "crisis"):
        assert reply["resources"]


def test_refusal_names_samhsa_and_shows_no_dose(fake_engine):
    reply = fake_engine.ask("how many grams of kratom should i take for pain")
    assert "1-800-662-4357" in reply["message"]
    for citation in reply["citations"]:
        assert find_dose_content(citation["text"]) == []


def test_crisis_message_leads_with_911_and_poison_help(fake_engine):
    reply = fake_engine.ask("my toddler swallowed some kratom capsules")
    assert reply["kind"] == "crisis" and reply["citations"] == []
    assert reply["message"].index("911") < reply["message"].index("1-800-222-1222")
    assert "988" in reply["message"]


def test_long_question_is_truncated_politely(fake_engine):
    reply = fake_engine.ask("is kratom legal " * 400)
    validate_reply(reply)
    assert len(reply["question"]) <= 1000 and "longer than 1000 characters" in reply["message"]


def test_question_is_encoded_once(fake_engine, monkeypatch):
    embedder = fake_engine.embedder
    before = embedder.calls
    fake_engine.ask("is kratom legal in indiana", history=["what is kratom"])
    assert embedder.calls == before + 1
    assert isinstance(embedder, FakeEmbedder)


@pytest.mark.parametrize("question, kind", [
    ("my mom is addicted to kratom how can i help her", "answer"),
    ("should i tell my doctor i use kratom", "answer"),
    ("what is naloxone and where can i get it", "answer"),
    ("my cat ate some kratom powder", "off_topic"),
    ("i'm scared i took too much kratom", "crisis"),
    ("where can i buy kratom near me", "refusal"),
    ("help me taper off kratom", "refusal"),
])
def test_help_seeking_is_answered_and_advice_refused(fake_engine, question, kind):
    reply = fake_engine.ask(question)
    validate_reply(reply)
    expected = {kind, "no_answer"} if kind == "answer" else {kind}
    assert reply["kind"] in expected
