"""The dose detector shared by the validator and the refusal path."""

from __future__ import annotations

import pytest

from bot.dosecheck import find_dose_content, has_dose_content, is_refusal_safe


@pytest.mark.parametrize("text", [
    "Most people use 2-4 grams.", "one teaspoon is enough", "Take it with food.", "about 5 mg",
    "users should take a break", "twice a day", "every 6 hours", "3 capsules", "1.5g", "two shots",
])
def test_flags_amounts_and_instructions(text):
    assert has_dose_content(text)


@pytest.mark.parametrize("text", [
    "No standard or FDA-approved dose of kratom exists.",
    "The 2019 CDC report covered 27 states.", "Mitragynine made up 0.7% to 4.9% of dry leaf weight.",
    "Marshals seized more than 25,000 pounds of raw kratom.", "People who take kratom reported pain relief.",
    "In 2016 the DEA announced its intent.", "Poison Help: 1-800-222-1222.",
])
def test_leaves_facts_alone(text):
    assert find_dose_content(text) == []


def test_whitelisted_figure_passes_validation_but_never_a_refusal():
    text = "As of July 2026 the notice covered more than 1.00 mg of 7-OH per article."
    assert has_dose_content(text)
    assert not has_dose_content(text, ["1.00 mg"])
    assert not is_refusal_safe(text, ["1.00 mg"])
    assert is_refusal_safe("No standard dose of kratom exists; it depends on the person.")
