"""Detect dose amounts and dosing instructions in text.

One detector serves two jobs: the corpus validator rejects passages a reader could act on as a
dose, and the refusal path never shows such a passage next to a refusal. Regulatory thresholds
(for example a 7-OH concentration cap in a law) are let through only when a passage lists the exact
figure in `allowed_figures`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(?:\d+(?:[.,]\d+)*|\d*\.\d+|one|two|three|four|five|six|seven|eight|nine|ten|half a|a half|a few|a couple of)"
_RANGE = rf"{_NUMBER}(?:\s*(?:-|–|to|or)\s*{_NUMBER})?"
_DOSE_UNITS = (
    r"(?:mg|milligrams?|mcg|µg|micrograms?|g|gr|grams?|gms?|ml|millilit(?:er|re)s?|"
    r"capsules?|caps|tablets?|tabs|pills?|teaspoons?|tsps?|tablespoons?|tbsps?|spoons?|spoonfuls?|"
    r"scoops?|cups?|doses?|servings?|shots?|drops?|puffs?|packets?)"
)
AMOUNT_RE = re.compile(rf"(?<![\w.]){_RANGE}\s*{_DOSE_UNITS}\b", re.IGNORECASE)

_INSTRUCTION_PATTERNS = [
    r"\bper day\b",
    r"\b(?:once|twice|thrice|\w+ times) (?:a|per|each) (?:day|week|hour)\b",
    r"\bevery \d+(?:\s*(?:-|to)\s*\d+)? hours?\b",
    r"\b(?:you|users?|people|patients?) (?:should|can|could|may|might want to) (?:take|use|try|start|begin|dose|redose)\b",
    r"(?:^|[.!?]\s+)(?:take|try|start with|begin with|dose|redose|mix|combine)\b",
    r"\b(?:start|begin) (?:with|at) (?:a )?(?:low|small|lower|smaller)\b",
    r"\b(?:recommended|safe|effective|typical|starting|maximum|max) dose (?:is|of|would be)\b",
]
INSTRUCTION_RE = re.compile("|".join(_INSTRUCTION_PATTERNS), re.IGNORECASE)


@dataclass(frozen=True)
class DoseFinding:
    """One place in a text that reads as a dose amount or a dosing instruction."""

    kind: str  # "amount" or "instruction"
    text: str


def find_dose_content(text: str, allowed_figures: tuple[str, ...] | list[str] = ()) -> list[DoseFinding]:
    """Return every dose amount or dosing instruction in `text`.

    Args:
        text: The text to check.
        allowed_figures: Exact strings (regulatory thresholds) that are not findings.

    Returns:
        The findings, in order of appearance; empty when the text is clean.
    """
    findings: list[DoseFinding] = []
    allowed = [a.strip().lower() for a in allowed_figures if a.strip()]
    for match in AMOUNT_RE.finditer(text):
        found = match.group(0).strip()
        if any(found.lower() in a or a in found.lower() for a in allowed):
            continue
        findings.append(DoseFinding("amount", found))
    for match in INSTRUCTION_RE.finditer(text):
        findings.append(DoseFinding("instruction", match.group(0).strip(" .!?")))
    return findings


def has_dose_content(text: str, allowed_figures: tuple[str, ...] | list[str] = ()) -> bool:
    """Return True when `text` holds a dose amount or a dosing instruction."""
    return bool(find_dose_content(text, allowed_figures))


def is_refusal_safe(text: str, allowed_figures: tuple[str, ...] | list[str] = ()) -> bool:
    """Return True when a passage may be shown beside a refusal.

    Stricter than `has_dose_content`: no amount with a dose unit at all (whitelists ignored), no
    dosing instruction, and no whitelisted regulatory figure (a threshold could be misread as a dose).
    """
    return not (AMOUNT_RE.search(text) or INSTRUCTION_RE.search(text) or list(allowed_figures))
