"""Recognise the US states and countries a text names (`data/jurisdictions.yaml`).

Used to abstain honestly: when a question asks about a place that no retrieved passage mentions,
the bot says the corpus does not cover it instead of showing another place's law.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "jurisdictions.yaml"


class Jurisdictions:
    """Finds jurisdiction names in text."""

    def __init__(self, path: Path = DATA) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        self._patterns = [
            (name, re.compile(r"(?<![\w-])(?:" + "|".join(spellings) + r")(?![\w-])", re.IGNORECASE),
             {_first_word(spelling) for spelling in spellings})
            for name, spellings in raw.items()
        ]

    @property
    def names(self) -> list[str]:
        """Every jurisdiction this table knows, in file order."""
        return [name for name, _, _ in self._patterns]

    def _candidates(self, text: str):
        words = set(_WORDS.findall(text.lower()))
        return [(name, pattern) for name, pattern, triggers in self._patterns if triggers & words]

    def named_in(self, text: str) -> set[str]:
        """Return the names of the jurisdictions `text` mentions."""
        return {name for name, pattern in self._candidates(text) if pattern.search(text)}

    def remove_from(self, text: str) -> str:
        """Return `text` without the jurisdiction names it mentions."""
        for _, pattern in self._candidates(text):
            text = pattern.sub(" ", text)
        return " ".join(text.split())


_WORDS = re.compile(r"[a-z]+")


def _first_word(spelling: str) -> str:
    """The first plain word of a spelling pattern: a cheap filter before the regular expression."""
    plain = re.sub(r"\(\?<!.*?\)", "", spelling)
    found = _WORDS.findall(plain.lower())
    return found[0] if found else ""
