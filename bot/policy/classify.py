"""The safety policy's decision: crisis, refusal, off_topic, non-English, or retrieve.

Decisions are made in that order. Each combines deterministic features (`features.py`) with
embedding margins against labelled exemplars (`data/exemplars.yaml`): the mean cosine of the
nearest exemplars of a class minus that of its contrast class. The question's embedding is the
one retrieval uses: the policy never calls the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from bot.corpus import SAFE_LOADER, content_hash
from bot.policy.features import Features, extract
from bot.policy.heads import LinearHead, train_head

DATA = Path(__file__).parent / "data"
EXEMPLAR_CLASSES = ("crisis", "crisis_contrast", "advice", "advice_contrast", "off_topic", "in_scope")
REASON_OF_RULE = {
    "amount_request": "amount", "frequency_request": "frequency", "taper_request": "taper",
    "route_request": "route", "product_request": "product", "buy_request": "buy",
    "personal_decision": "personal",
}
DOSE_REASONS = ("amount", "frequency")
HELP_EXEMPT = ("buy", "personal")  # reasons that do not apply to a help-seeking question


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one question, and why."""

    kind: str                     # crisis | refusal | off_topic | non_english | retrieve
    reason: str = ""              # e.g. "amount", "selfharm", "emergency"
    scores: dict = field(default_factory=dict)


def load_exemplars(folder: Path = DATA) -> dict[str, list[str]]:
    """Return the exemplar questions by class."""
    raw = yaml.load((folder / "exemplars.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    return {name: [str(q) for q in raw.get(name, [])] for name in EXEMPLAR_CLASSES}


class Policy:
    """Decides, for each question, which of the answer contract's kinds applies."""

    def __init__(self, folder: Path = DATA) -> None:
        self.exemplars = load_exemplars(folder)
        self.thresholds = yaml.safe_load((folder / "thresholds.yaml").read_text(encoding="utf-8"))
        self.exemplar_texts: list[str] = [q for name in EXEMPLAR_CLASSES for q in self.exemplars[name]]
        self._slices: dict[str, slice] = {}
        start = 0
        for name in EXEMPLAR_CLASSES:
            self._slices[name] = slice(start, start + len(self.exemplars[name]))
            start += len(self.exemplars[name])
        self._vectors: np.ndarray | None = None
        self._heads: dict[str, LinearHead] = {}

    @property
    def exemplar_hash(self) -> str:
        """Hash of the exemplars, in order (the index stores their vectors)."""
        return content_hash(*self.exemplar_texts)

    def attach(self, vectors: np.ndarray) -> None:
        """Give the policy the exemplar vectors (rows in `exemplar_texts` order)."""
        if vectors.shape[0] != len(self.exemplar_texts):
            raise ValueError("exemplar vectors do not match the exemplars")
        self._vectors = vectors
        labels = [name for name in EXEMPLAR_CLASSES for _ in self.exemplars[name]]
        everything_else = [c for c in EXEMPLAR_CLASSES if c != "crisis"]
        self._heads = {
            "crisis": train_head(vectors, labels, ["crisis"], everything_else, l2=0.1),
            "advice": train_head(vectors, labels, ["advice"],
                                 ["advice_contrast", "in_scope", "crisis_contrast", "off_topic"], l2=1.0),
        }

    def margins(self, query_vector: np.ndarray) -> dict[str, float]:
        """Return the crisis, advice and off-topic margins of a question vector."""
        if self._vectors is None:
            raise RuntimeError("Policy.attach() was not called")
        sims = self._vectors @ query_vector
        k = int(self.thresholds["top_k"])

        def top(name: str) -> float:
            part = sims[self._slices[name]]
            if part.size == 0:
                return 0.0
            kk = min(k, part.size)
            return float(np.mean(np.partition(part, -kk)[-kk:]))

        return {
            "crisis": top("crisis") - top("crisis_contrast"),
            "advice": top("advice") - top("advice_contrast"),
            "off_topic": top("off_topic") - top("in_scope"),
            "crisis_head": self._heads["crisis"].score(query_vector),
            "advice_head": self._heads["advice"].score(query_vector),
        }

    def decide(self, question: str, query_vector: np.ndarray, top_passage_cosine: float,
               previous: str = "") -> Decision:
        """Decide the kind of reply for a question.

        Args:
            question: The cleaned question.
            query_vector: Its embedding (the one retrieval uses).
            top_passage_cosine: Cosine of the closest corpus passage.
            previous: The previous user question, for follow-ups.

        Returns:
            The decision, with the scores that led to it.
        """
        f = extract(question, previous)
        m = self.margins(query_vector)
        scores = {**{f"margin_{k}": round(v, 4) for k, v in m.items()},
                  "top_passage_cosine": round(top_passage_cosine, 4)}
        for step in (self._crisis, self._refusal, self._language, self._off_topic):
            decision = step(f, m, top_passage_cosine)
            if decision is not None:
                return Decision(decision[0], decision[1], scores)
        return Decision("retrieve", "", scores)

    def _crisis(self, f: Features, m: dict, _top: float):
        t = self.thresholds
        if f.crisis_selfharm or f.foreign_crisis:
            return ("crisis", "selfharm" if f.crisis_selfharm else "emergency")
        if f.animal and not f.crisis_selfharm:
            return None  # an animal's emergency is for a vet: off-topic here
        if f.crisis_emergency and (not f.crisis_informational or m["crisis"] > t["crisis_margin_framed"]):
            return ("crisis", "emergency")
        if not f.foreign and m["crisis"] > t["crisis_margin"] and f.crisis_weak and not f.crisis_informational:
            return ("crisis", "emergency")
        if (not f.foreign and not f.crisis_informational and m["crisis_head"] > t["crisis_head"]
                and m["crisis"] > 0 and m["off_topic"] < t["off_topic_margin_crisis"]
                and (f.in_domain or f.crisis_weak)):
            return ("crisis", "emergency")
        return None

    def _refusal(self, f: Features, m: dict, _top: float):
        t = self.thresholds
        if f.foreign and f.foreign_dose:
            return ("refusal", "amount")
        kinds = [REASON_OF_RULE[k] for k in f.advice_kinds]
        if f.help_seeking:
            kinds = [k for k in kinds if k not in HELP_EXEMPT]
        if kinds and not (f.animal and not f.core):
            reason = kinds[0]
            about_domain = f.in_domain or (f.names_substance and reason in DOSE_REASONS)
            if about_domain and (f.unframed_advice or m["advice"] > t["refusal_margin_framed"]):
                return ("refusal", reason)
        if not f.foreign and not f.help_seeking and f.names_substance and f.in_domain and (
                m["advice"] > t["refusal_margin"] or m["advice_head"] > t["advice_head"]):
            return ("refusal", "advice")
        return None

    def _language(self, f: Features, _m: dict, _top: float):
        return ("non_english", "") if f.foreign else None

    def _off_topic(self, f: Features, m: dict, top: float):
        t = self.thresholds
        if f.animal:
            return ("off_topic", "animal")
        if f.core:
            return None
        if f.off_topic_term:
            return ("off_topic", "term")
        floor = t["off_topic_passage_cosine_scope"] if f.in_domain else t["off_topic_passage_cosine"]
        if top < floor or m["off_topic"] > t["off_topic_margin"]:
            return ("off_topic", "embedding")
        return None
