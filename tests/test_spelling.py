"""Spelling correction against the corpus vocabulary."""

from __future__ import annotations

from hypothesis import given, strategies as st

from bot.spelling import SpellFixer, _distance

VOCAB = ["kratom is legal in Thailand and Mississippi; withdrawal symptoms; addictive; federal law; clinical trial"]


def test_common_misspellings_are_fixed():
    fixer = SpellFixer(VOCAB)
    assert fixer.fix("is kratom adictive") == "is kratom addictive"
    assert fixer.fix("mississipi federaly") == "mississippi federal"
    assert fixer.fix("can you use it in thiland") == "can you use it in thailand"
    assert fixer.fix("witdrawal simptoms") == "withdrawal symptoms"


def test_short_unknown_and_far_words_are_left_alone():
    fixer = SpellFixer(VOCAB)
    assert fixer.fix("is k ok") == "is k ok"
    assert fixer.fix("breastfeeding and driving") == "breastfeeding and driving"


def test_distance_counts_transpositions_as_one():
    assert _distance("trail", "trial") == 1
    assert _distance("kratom", "kratom") == 0
    assert _distance("abc", "") == 3


@given(st.text(max_size=200))
def test_fix_never_fails_and_keeps_non_letters(text):
    fixed = SpellFixer(VOCAB).fix(text)
    assert [c for c in fixed if not c.isascii() or not c.isalpha()] == [c for c in text if not c.isascii() or not c.isalpha()]


def test_question_preparation_fixes_spelling_against_the_corpus_words():
    from types import SimpleNamespace

    from bot.query import preparer_for

    preparer = preparer_for([SimpleNamespace(title="Withdrawal", text=VOCAB[0])], 500, 150, 2)
    prepared = preparer.prepare("is kratom adictive in mississipi")
    assert "addictive" in prepared.search_text and "mississippi" in prepared.search_text.lower()
    assert "addictive" in prepared.message_text  # what is embedded for the policy and retrieval
    assert prepared.text == prepared.readable == "is kratom adictive in mississipi"  # shown back as typed
