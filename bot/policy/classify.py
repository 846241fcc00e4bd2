"""The safety policy's decision for one prepared question: crisis, refusal, non-English, off-topic,
too long, or retrieve.

Order: the rule floor (data/rules.yaml) and the learned model (bot/policy/model.py) are consulted
for a crisis first, then for an advice request, then the language, then off-topic. A long message is
judged as a whole and window by window: the rule floor reads all of it, and any window the model
reads as an advice request with high confidence (`advice_window`, above the whole message's threshold:
the whole of a long message has its own threshold, `advice_long`, as its vector reads only its start;
a window out of context can look like a request) decides (the model's crisis reading of a window alone, out of context,
escalated long stories on the dev writers, so a crisis is judged on the whole message and by the floor; on a long
message the floor's crisis hit counts only with the whole message's P(crisis) at `crisis_floor_long`, when that is
set, as a story can hold a floor phrase). So does
any sentence of a long message (`bot.query.segments`) read on its own as an advice request at `advice_sentence`
or above, when that threshold is set: a request inside a jailbreak preamble is read apart from the preamble. A
sentence read as a crisis at `crisis_sentence` or above escalates, when that threshold is set and the whole message's
P(crisis) reaches `crisis_sentence_whole`, after the whole message's crisis checks and before any advice check;
so does one read at `crisis_sentence_jailbreak` or above, whatever the whole message's P(crisis), in a message the
jailbreak-prompt detector flags. A short message (no windows) of two or more sentences has its sentences read on
their own too, at their own thresholds, when set: one at `crisis_part` or above escalates when the whole message's
P(crisis) reaches `crisis_part_whole` (right after the long-message sentence check), one at `advice_part` or above
refuses (right after the long-message sentence advice check). A decoded payload (base64, base32, hex, rot13,
reversed text), read on its own as a sentence is (no earlier turns, the whole message's detected language, no slang
or spelling changes), escalates at
`crisis_payload` (after every other crisis check) and refuses at `advice_payload` (after every other advice check),
when those are set. A message above the hard cap gets the "too long" reply, unless the floor
sees a crisis in it.
The policy never calls the embedding model: it reads the vectors the engine computed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.policy.config import LABELS, PolicyConfig, Thresholds
from bot.policy.floor import FloorHits, RuleFloor
from bot.policy.model import Featurizer, PolicyInput, PolicyModel
from bot.query import PreparedQuestion, QuestionVectors

_CRISIS, _ADVICE, _OFF = LABELS.index("crisis"), LABELS.index("advice"), LABELS.index("off_topic")


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one question, and why."""

    kind: str                     # crisis | refusal | non_english | off_topic | too_long | retrieve
    reason: str = ""              # refusal reason, or what decided ("floor", "model")
    scores: dict = field(default_factory=dict)


def decision_kind(p_whole: np.ndarray, window_advice: float, floor_crisis: bool, floor_advice: bool,
                  has_windows: bool, language: str, t: Thresholds, sentence_advice: float = 0.0,
                  sentence_crisis: float = 0.0, jailbreak: float = 1.0, payload_advice: float = 0.0,
                  payload_crisis: float = 0.0, n_sentences: int = 0) -> str:
    """The one decision rule, from the probabilities and the floor's hits: "crisis", "refusal",
    "non_english", "off_topic" or "retrieve". `Policy.decide` serves it; the threshold scripts
    (scripts/oof_policy.py, tune_policy.py, cv_advice_threshold.py) replay it over stored probabilities.

    Args:
        p_whole: P(label) of the whole message, in `LABELS` order.
        window_advice: The highest P(advice) of a window of a long message (0 without windows); it refuses at
            `t.advice_window`, and only when the whole message's P(advice) is at least `t.advice_window_whole` too
            (when that is set: docs/decisions/2026-12-07-window-advice-needs-whole.txt), and only when a sentence
            reaches `t.advice_window_sentence` (when that is set and the message has two or more sentences read:
            docs/decisions/2026-12-07-window-advice-needs-a-sentence.txt).
        floor_crisis / floor_advice: Whether the rule floor saw a crisis / an advice request. On a message with
            windows a floor crisis escalates only at P(crisis) >= `t.crisis_floor_long`, when that is set (a story
            can hold a floor phrase: docs/decisions/2026-12-07-floor-crisis-long-messages.txt).
        has_windows: Whether the message is long enough to be read window by window.
        language: The detected language.
        t: The thresholds.
        sentence_advice / sentence_crisis: The highest P(advice) / P(crisis) of a sentence read on its own (0
            without): of a long message, judged at `advice_sentence` / `crisis_sentence`; of a short message of two
            or more sentences, at `advice_part` / `crisis_part` (docs/decisions/2026-12-07-short-message-parts.txt).
        jailbreak: P(jailbreak prompt) of the whole message (bot/policy/jailbreak.py); a sentence's advice reading
            counts only at `t.jailbreak_prompt` or above (when that is set), and so does a sentence's crisis reading
            without the whole message's (`t.crisis_sentence_jailbreak`).
        payload_advice / payload_crisis: The highest P(advice) / P(crisis) of a decoded payload read on its own (0
            without); they count only when `t.advice_payload` / `t.crisis_payload` is set.
        n_sentences: How many sentences were read on their own (`sentence_advice` is their highest P(advice)).
    """
    floor_escalates = floor_crisis and not (has_windows and t.crisis_floor_long is not None
                                            and p_whole[_CRISIS] < t.crisis_floor_long)
    if floor_escalates or p_whole[_CRISIS] >= t.crisis:
        return "crisis"
    if (has_windows and t.crisis_sentence is not None and sentence_crisis >= t.crisis_sentence
            and p_whole[_CRISIS] >= t.crisis_sentence_whole):
        return "crisis"
    if (not has_windows and t.crisis_part is not None and sentence_crisis >= t.crisis_part
            and p_whole[_CRISIS] >= t.crisis_part_whole):
        return "crisis"
    if (has_windows and t.crisis_sentence_jailbreak is not None and t.jailbreak_prompt is not None  # never ungated
            and sentence_crisis >= t.crisis_sentence_jailbreak and jailbreak >= t.jailbreak_prompt):
        return "crisis"
    if t.crisis_payload is not None and payload_crisis >= t.crisis_payload:
        return "crisis"
    whole_threshold = t.advice_long if has_windows else t.advice
    window_refuses = (window_advice >= t.advice_window
                      and (t.advice_window_whole is None or p_whole[_ADVICE] >= t.advice_window_whole)
                      and (t.advice_window_sentence is None or n_sentences < 2
                           or sentence_advice >= t.advice_window_sentence))
    if floor_advice or p_whole[_ADVICE] >= whole_threshold or window_refuses:
        return "refusal"
    if (has_windows and t.advice_sentence is not None and sentence_advice >= t.advice_sentence
            and (t.jailbreak_prompt is None or jailbreak >= t.jailbreak_prompt)):
        return "refusal"
    if not has_windows and t.advice_part is not None and sentence_advice >= t.advice_part:
        return "refusal"
    if t.advice_payload is not None and payload_advice >= t.advice_payload:
        return "refusal"
    if language != "en":
        return "non_english"
    if p_whole[_OFF] >= t.off_topic:
        return "off_topic"
    return "retrieve"


def kind_from_probabilities(p: np.ndarray, hits: FloorHits, language: str, t: Thresholds,
                            n_sentences: int = 0, jailbreak: float = 1.0, n_payloads: int = 0) -> str:
    """`decision_kind` from the probability rows of `policy_inputs` (whole message first, then its
    windows), then the rows of its `n_payloads` decoded payloads (`payload_inputs`), then the rows of its
    last `n_sentences` sentences (`sentence_inputs`), the floor's hits of the whole message and its
    P(jailbreak prompt)."""
    end_windows = len(p) - n_sentences - n_payloads
    windows, payloads, sentences = p[1:end_windows], p[end_windows:len(p) - n_sentences], p[len(p) - n_sentences:]
    window_advice = float(windows[:, _ADVICE].max()) if len(windows) else 0.0
    sentence_advice = float(sentences[:, _ADVICE].max()) if n_sentences else 0.0
    sentence_crisis = float(sentences[:, _CRISIS].max()) if n_sentences else 0.0
    payload_advice = float(payloads[:, _ADVICE].max()) if n_payloads else 0.0
    payload_crisis = float(payloads[:, _CRISIS].max()) if n_payloads else 0.0
    return decision_kind(p[0], window_advice, bool(hits.crisis), bool(hits.advice or hits.foreign_advice),
                         len(windows) > 0, language, t, sentence_advice, sentence_crisis, jailbreak,
                         payload_advice, payload_crisis, n_sentences)


def policy_inputs(prepared: PreparedQuestion, vectors: QuestionVectors, floor: RuleFloor,
                  hits: FloorHits | None = None) -> list[PolicyInput]:
    """The classifier's inputs: the whole message first, then each window of a long message.

    `hits`: the floor's hits of the whole message (`prepared.readable`), when the caller has them.
    """
    hits = hits if hits is not None else floor_hits(floor, prepared.readable, prepared.language)
    whole = PolicyInput(prepared.message_text, prepared.context, prepared.language,
                        tuple(hits.as_features()), vectors.message, vectors.context)
    parts = [PolicyInput(w, prepared.context, prepared.language,
                         tuple(floor_hits(floor, w, prepared.language).as_features()), v, None)
             for w, v in zip(prepared.windows, vectors.windows)]
    return [whole, *parts]


def sentence_inputs(prepared: PreparedQuestion, vectors: QuestionVectors, floor: RuleFloor) -> list[PolicyInput]:
    """The classifier's inputs for each sentence of the message (`prepared.segments`: a long message's, or a short
    one's of two or more sentences), read on its own (no earlier turns)."""
    return [PolicyInput(s, "", prepared.language, tuple(floor_hits(floor, s, prepared.language).as_features()), v,
                        None) for s, v in zip(prepared.segments, vectors.segments)]


def payload_inputs(prepared: PreparedQuestion, vectors: QuestionVectors, floor: RuleFloor) -> list[PolicyInput]:
    """The classifier's inputs for each decoded payload, read on its own as a sentence is: no earlier turns, the
    whole message's detected language, the readable text as decoded (no slang, spelling or expansions)."""
    return [PolicyInput(x, "", prepared.language, tuple(floor_hits(floor, x, prepared.language).as_features()), v,
                        None) for x, v in zip(prepared.payloads, vectors.payloads)]


def floor_hits(floor: RuleFloor, text: str, language: str) -> FloorHits:
    """The floor's hits. Other languages' cues count whatever language was detected (short messages
    are often detected as English); each is a multi-word first-person phrase or a word of another
    script, so English text does not match them. `language` is kept for callers' symmetry."""
    return floor.hits(text)


class Policy:
    """Decides the kind of reply for prepared questions (thread-safe, no model calls)."""

    def __init__(self, config: PolicyConfig, model: PolicyModel, dim: int) -> None:
        """Raises:
            ValueError: `jailbreak_prompt` is set but the model holds no jailbreak-prompt detector."""
        if config.settings.thresholds.jailbreak_prompt is not None and model.jailbreak is None:
            raise ValueError("policy.yaml sets jailbreak_prompt, but the policy model has no jailbreak-prompt "
                             "detector: rebuild the index (`kratom-qa build`)")
        self.config = config
        self.model = model
        self.jailbreak = model.jailbreak
        self.floor = RuleFloor(config)
        self.featurizer = Featurizer(config.settings.model, dim)

    def probabilities(self, inputs: list[PolicyInput]) -> np.ndarray:
        """P(label) for each input, columns in `LABELS` order."""
        return self.model.label_probabilities(self.featurizer.transform(inputs))

    def parts_may_change(self, decision: Decision) -> bool:
        """Whether reading a short message's parts could change `decision`, made without them: a refusal (its reason
        comes from the row most like a request, which may be a part), or, below a crisis, a whole message at
        P(crisis) >= `crisis_part_whole` (a part at `crisis_part` escalates it); any reply while `advice_part` is
        set. The score is rounded to 4 places, which only errs towards reading the parts."""
        t = self.config.settings.thresholds
        if t.advice_part is not None or decision.kind == "refusal":
            return True
        if decision.kind == "crisis" or t.crisis_part is None:
            return False
        return decision.scores.get("p_crisis", 1.0) >= t.crisis_part_whole

    def decide(self, prepared: PreparedQuestion, vectors: QuestionVectors) -> Decision:
        """Decide the kind of reply for one prepared question."""
        t = self.config.settings.thresholds
        hits = floor_hits(self.floor, prepared.readable, prepared.language)
        if prepared.too_long:
            return Decision("crisis", "floor") if hits.crisis else Decision("too_long")
        inputs = policy_inputs(prepared, vectors, self.floor, hits)  # the whole message is matched once
        if prepared.windows:
            reads_sentences = (t.advice_sentence is not None or t.crisis_sentence is not None
                               or t.crisis_sentence_jailbreak is not None)
        else:
            reads_sentences = t.advice_part is not None or t.crisis_part is not None
        sentences = sentence_inputs(prepared, vectors, self.floor) if reads_sentences else []
        reads_payloads = t.crisis_payload is not None or t.advice_payload is not None
        payloads = payload_inputs(prepared, vectors, self.floor) if reads_payloads else []
        # transform's rows without scipy matrices (same products)
        features = self.featurizer.rows(inputs + payloads + sentences)
        p = self.model.label_probabilities(features)
        crisis, advice, off = float(p[0, _CRISIS]), float(p[0, _ADVICE]), float(p[0, _OFF])
        window_advice = float(p[1:len(inputs), _ADVICE].max()) if len(inputs) > 1 else 0.0
        first_sentence = len(inputs) + len(payloads)
        sentence_advice = float(p[first_sentence:, _ADVICE].max()) if sentences else 0.0
        sentence_crisis = float(p[first_sentence:, _CRISIS].max()) if sentences else 0.0
        scores = {"p_crisis": round(crisis, 4), "p_advice": round(advice, 4), "p_off_topic": round(off, 4),
                  "p_advice_window": round(window_advice, 4), "p_advice_sentence": round(sentence_advice, 4),
                  "p_crisis_sentence": round(sentence_crisis, 4),
                  "windows": len(inputs) - 1, "sentences": len(sentences), "language": prepared.language}
        if payloads:
            scores["payloads"] = len(payloads)
            scores["p_advice_payload"] = round(float(p[len(inputs):first_sentence, _ADVICE].max()), 4)
            scores["p_crisis_payload"] = round(float(p[len(inputs):first_sentence, _CRISIS].max()), 4)
        jailbreak = 1.0
        if t.jailbreak_prompt is not None and sentences and prepared.windows and (
                t.advice_sentence is not None or t.crisis_sentence_jailbreak is not None):
            jailbreak = self.jailbreak.probability(prepared.readable)
            scores["p_jailbreak"] = round(jailbreak, 4)
        kind = kind_from_probabilities(p, hits, prepared.language, t, len(sentences), jailbreak, len(payloads))
        if kind == "crisis":
            return Decision("crisis", "floor" if hits.crisis else "model", scores)
        if kind == "refusal":
            row = int(np.argmax(p[:, _ADVICE]))
            return Decision("refusal", self.model.reason(features[row]), scores)
        return Decision(kind, "model" if kind == "off_topic" else "", scores)
