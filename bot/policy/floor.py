"""The rule floor: a few unambiguous patterns (data/rules.yaml) that decide without the classifier.

Patterns are matched on the readable, lowercased text of the message, sentence by sentence where a
blocking frame applies. English patterns match whole words; the other languages' cues match
anywhere (Chinese and Thai have no spaces between words). Each list is matched as one alternation
of its patterns (one regex search instead of one per pattern: "some pattern matches" either way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.policy.config import PolicyConfig

_SENTENCE_RE = re.compile(r"(?<=[.?!\n])\s+|\s*\n\s*")


@dataclass(frozen=True)
class FloorHits:
    """Which floor lists fired for one message."""

    selfharm: bool
    emergency: bool
    advice: bool
    foreign_crisis: bool
    foreign_advice: bool

    @property
    def crisis(self) -> bool:
        """A crisis by the floor alone."""
        return self.selfharm or self.emergency or self.foreign_crisis

    def as_features(self) -> list[float]:
        """The hits as 0/1 features for the classifier."""
        return [float(x) for x in (self.selfharm, self.emergency, self.advice, self.foreign_crisis,
                                   self.foreign_advice)]


def _alternation(patterns: list[re.Pattern]) -> re.Pattern:
    """One pattern that matches where any of `patterns` matches (each compiled with IGNORECASE).

    Each pattern is wrapped in a non-capturing group; a pattern using numbered back-references would
    change meaning inside a larger pattern, so such a list is refused (the rules use none).
    """
    if any(p.groups and re.search(r"\\[1-9]|\(\?P=", p.pattern) for p in patterns):
        raise ValueError("rule patterns with back-references cannot be combined")
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)


class RuleFloor:
    """Compiled rule lists of one policy configuration."""

    def __init__(self, config: PolicyConfig) -> None:
        def compile_list(name: str, bounded: bool) -> list[re.Pattern]:
            out = []
            for language, patterns in config.rules[name].items():
                for pattern in patterns:
                    wrapped = rf"(?<![\w-])(?:{pattern})(?![\w-])" if bounded and language == "en" else pattern
                    out.append(re.compile(wrapped, re.IGNORECASE))
            return [_alternation(out)] if out else []
        self.selfharm = compile_list("crisis_selfharm", True)
        self.emergency = compile_list("crisis_emergency", True)
        self.not_now = compile_list("crisis_not_now", False)
        self.advice = compile_list("advice_request", True)
        self.not_advice = compile_list("advice_not_request", False)
        self.foreign_crisis = compile_list("foreign_crisis", False)
        self.foreign_advice = compile_list("foreign_advice", False)

    @staticmethod
    def _any(patterns: list[re.Pattern], text: str) -> bool:
        return any(p.search(text) for p in patterns)

    def _sentence_hit(self, patterns: list[re.Pattern], blockers: list[re.Pattern], text: str) -> bool:
        """True when some sentence matches a pattern and no blocker of that sentence."""
        return any(self._any(patterns, s) and not self._any(blockers, s)
                   for s in _SENTENCE_RE.split(text) if s.strip())

    def hits(self, readable: str) -> FloorHits:
        """Match every list against the readable text of a message."""
        text = readable.lower()
        return FloorHits(
            selfharm=self._any(self.selfharm, text),
            emergency=self._sentence_hit(self.emergency, self.not_now, text),
            advice=self._sentence_hit(self.advice, self.not_advice, text),
            foreign_crisis=self._any(self.foreign_crisis, text),
            foreign_advice=self._any(self.foreign_advice, text),
        )
