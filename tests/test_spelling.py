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


def test_common_english_words_are_not_corrected_into_corpus_words():
    """The corpus is the only vocabulary, so without the English word list "right" (not in it) was
    "corrected" to "fight" (in it); words of the list that no correction would reach are not stored."""
    corpus = VOCAB + ["a fight broke out; the peer review"]
    plain, kept = SpellFixer(corpus), SpellFixer(corpus, keep_words=["right", "beer", "wonderful"])
    assert plain.fix("thailand legalized it right") == "thailand legalized it fight"
    assert kept.fix("thailand legalized it right") == "thailand legalized it right"
    assert kept.fix("is kratom adictive in thiland") == "is kratom addictive in thailand"
    assert kept.keep == {"right"}  # "beer" is too short to be corrected, "wonderful" is near no corpus word


def test_the_english_word_list_holds_common_words_and_not_common_typos():
    from bot.spelling import english_words

    words = english_words()
    assert {"right", "dangerous", "talk", "seizure", "liver"} <= words
    assert not {"adictive", "thiland", "mississipi", "federaly", "witdrawal"} & words
