"""Place names in questions and passages, and the abstention they drive."""

from __future__ import annotations

import pytest

from bot.jurisdiction import Jurisdictions


def test_places_are_found_as_whole_words():
    places = Jurisdictions()
    assert places.named_in("Is kratom legal in Indiana?") == {"Indiana"}
    assert places.named_in("kratom in India and west virginia") == {"India", "West Virginia"}
    assert places.named_in("the deadline in Washington, D.C.") == {"Washington, D.C."}
    assert places.named_in("what is kratom") == set()


def test_remove_from_drops_every_place():
    assert Jurisdictions().remove_from("is kratom legal in texas and ohio?") == "is kratom legal in and ?"


@pytest.mark.integration
def test_a_place_the_corpus_never_mentions_gets_an_honest_no_answer(real_engine):
    mentioned = set().union(*(real_engine.jurisdictions.named_in(f"{p.title} {p.text}")
                              for p in real_engine.passages))
    never = sorted(set(Jurisdictions().names) - mentioned)
    assert never, "every known place is mentioned: the test needs a place the corpus lacks"
    for place in never[:3]:
        reply = real_engine.ask(f"is kratom legal in {place.lower()}")
        assert reply["kind"] == "no_answer" and place in reply["message"], place
    assert real_engine.ask("is kratom legal in alabama")["kind"] == "answer"


@pytest.mark.integration
def test_follow_up_names_a_new_place(real_engine):
    reply = real_engine.ask("what about ohio?", history=["is kratom legal in indiana?"])
    assert reply["kind"] == "answer"
    assert "Ohio" in reply["citations"][0]["text"]


@pytest.mark.integration
def test_a_state_with_its_own_passage_is_not_answered_with_another_states_law(real_engine):
    """For every state that a passage's title names, a plain question about that state cites, first,
    no passage that names only other places (the place step of retrieval)."""
    names = Jurisdictions().names
    states = names[: names.index("Australia")]  # the table lists the states (and D.C.) first, then countries
    titled = sorted({s for s in states for p in real_engine.passages if s.lower() in p.title.lower()})
    assert len(titled) >= 10
    for state in titled:
        reply = real_engine.ask(f"what is the law on kratom in {state}")
        assert reply["kind"] == "answer", state
        first = real_engine.jurisdictions.named_in(reply["citations"][0]["text"] + " " + reply["citations"][0]["title"])
        assert not first or state in first, (state, reply["citations"][0]["title"])
