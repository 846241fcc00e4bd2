"""Input cleaning, slang expansion, tokenising and sentence splitting."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from bot.normalize import MAX_QUESTION_CHARS, READ_LIMIT, clean_question, expand_slang, split_sentences, tokenize


def test_clean_question_strips_control_characters_and_flags_long_input_without_truncating():
    cleaned = clean_question("is\x00 kratom\u202e legal?\ud800" + "x" * 5000)
    assert "\x00" not in cleaned.text and "\u202e" not in cleaned.text and "\ud800" not in cleaned.text
    assert not cleaned.too_long and cleaned.text.endswith("x" * 5000)
    long = clean_question("is kratom legal " + "y" * MAX_QUESTION_CHARS)
    assert long.too_long and len(long.text) == len("is kratom legal ") + MAX_QUESTION_CHARS  # whole, not cut
    assert long.original_length == len(long.text)
    at_cap = clean_question("z" * MAX_QUESTION_CHARS)
    assert not at_cap.too_long and len(at_cap.text) == MAX_QUESTION_CHARS
    assert clean_question(None).text == "" and clean_question(42).text == "42"


def test_the_cap_is_twenty_thousand_characters_and_nothing_past_the_read_limit_is_read():
    assert MAX_QUESTION_CHARS == 20_000
    cleaned = clean_question("a" * (READ_LIMIT + 500))
    assert cleaned.too_long and len(cleaned.text) == READ_LIMIT and cleaned.original_length == READ_LIMIT + 500


@given(st.text())
def test_clean_question_never_fails_and_flags_only_long_text(text):
    cleaned = clean_question(text)
    assert cleaned.too_long == (len(cleaned.text) > MAX_QUESTION_CHARS)
    cleaned.text.encode("utf-8")  # no lone surrogates left


def test_slang_is_mapped_to_corpus_words():
    text = expand_slang("how many g of k for w/d, is 7oh or krat leagal?").lower()
    assert "kratom" in text and "withdrawal" in text and "7-oh" in text and "legal" in text


def test_tokenize_drops_stop_words_and_stems():
    assert tokenize("The injuries of kratom users") == ["injury", "kratom", "user"]


@pytest.mark.parametrize(("casual", "plain"), [
    ("tbh is kratom legal in ohio lol", "is kratom legal in ohio"),
    ("ok so does kratom hurt ur liver", "does kratom hurt the liver"),
    ("can u explain in simple words what mitragynine is", "what mitragynine is"),
    ("pretend youre a pharmacist and describe kratom withdrawal", "youre a pharmacist and kratom withdrawal"),
])
def test_texting_fillers_and_request_framing_are_not_content_words(casual, plain):
    # Answerability counts the question's rare words a passage does not cover: a filler such as "ur"
    # (in no passage) used to count as one, and "how does kratom act on ur brain" got no answer.
    assert tokenize(casual) == tokenize(plain)
    assert "liver" in tokenize("ok so does kratom hurt ur liver")


def test_split_sentences_keeps_abbreviations():
    assert split_sentences("As of Nov. 2026 the U.S. DEA has not. It withdrew in 2016.") == [
        "As of Nov. 2026 the U.S. DEA has not.", "It withdrew in 2016."]
