"""The engine: one question in, one answer-contract object out.

Pipeline per question: clean the input → embed it once → policy decision (crisis, refusal,
off-topic, language) → hybrid retrieval → abstain or cite up to three passages with highlights.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from bot import paths
from bot.contract import make_reply
from bot.corpus import Corpus, CorpusError, Passage, load_corpus
from bot.dosecheck import is_refusal_safe
from bot.embed import Embedder, default_embedder
from bot.index import SearchIndex, StaleIndexError, build_index, load_index
from bot.normalize import MAX_QUESTION_CHARS, clean_question, expand_slang
from bot.policy import Policy, load_messages, load_resources
from bot.policy.features import is_follow_up
from bot.retrieve import Hit, Retriever, best_sentence
from bot.spelling import SpellFixer
from bot.jurisdiction import Jurisdictions

TOP_K = 3
# How many earlier user turns a follow-up is read with.
CONTEXT_TURNS = 2
# Abstain when the best passage is less similar than this (calibrated: see `kratom-qa eval`).
ABSTAIN_COSINE = 0.42
# Show a second or third passage only when it is at least this similar.
KEEP_COSINE = 0.38


@dataclass(frozen=True)
class Query:
    """A question made ready for the policy and retrieval."""

    text: str          # cleaned question, as shown back to the user
    previous: str      # previous user question used as context ("" if none)
    search_text: str   # what is embedded and matched lexically
    truncated: bool


def _last_turns(history: object) -> list:
    """The last `CONTEXT_TURNS` entries of `history`, whatever it is (a lone string is one turn;
    None, a number or anything not iterable is no history)."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)):
        return [history]
    try:
        return list(history)[-CONTEXT_TURNS:]
    except Exception:  # not iterable, or an iterator that fails: no usable history
        return []


def prepare_query(question: object, history: Sequence[str] | None, spell: SpellFixer | None = None,
                  places: "Jurisdictions | None" = None) -> Query:
    """Clean the question and decide whether the previous turns are needed as context.

    Args:
        question: The raw question.
        history: Earlier user questions, oldest first.
        spell: Corrects misspelled words of the search text against the corpus vocabulary.
        places: When a follow-up names a place ("what about Ohio?"), the places of the earlier
            turns are dropped from the search text, so the new place is searched for.

    Returns:
        The prepared query.
    """
    clean = clean_question(question)
    earlier = [clean_question(turn).text for turn in _last_turns(history)]
    previous = " ".join(turn for turn in earlier if turn)
    use_context = bool(previous) and is_follow_up(clean.text)
    context = previous
    if use_context and places is not None and places.named_in(clean.text):
        context = places.remove_from(previous)
    text = f"{context} {clean.text}" if use_context else clean.text
    search_text = expand_slang(text)
    if spell is not None:
        search_text = spell.fix(search_text)
    return Query(clean.text, previous if use_context else "", search_text, clean.truncated)


def _check_source_ids(corpus: Corpus) -> None:
    """Raise `CorpusError` (file and passage named) when a passage cites an unknown source.

    `load_corpus` leaves this to `kratom-qa validate`, but the engine cannot cite such a passage
    (it would fail with a KeyError at question time), so it refuses to load it, before any build.
    """
    for passage in corpus.passages:
        unknown = [sid for sid in passage.sources if sid not in corpus.sources]
        if unknown:
            raise CorpusError(f"{passage.file}: passage {passage.id}: unknown source id(s) {', '.join(unknown)} "
                              "(not in sources.yaml; run `kratom-qa validate`)")


class Engine:
    """Answers questions from the vetted corpus; load once, call `ask` many times (thread-safe)."""

    def __init__(self, corpus: Corpus, index: SearchIndex, embedder: Embedder, policy: Policy) -> None:
        self.corpus = corpus
        self.index = index
        self.embedder = embedder
        self.policy = policy
        self.policy.attach(index.exemplar_vectors)
        self.retriever = Retriever(index)
        by_id = corpus.by_id()  # once: calling it per passage made loading quadratic in the corpus size
        self.passages: list[Passage] = [by_id[pid] for pid in index.passage_ids]
        self.messages = load_messages()
        self.resources = load_resources()
        self._refusal_rows = self._rows_by_refusal_reason()
        self.spell = SpellFixer([f"{p.title} {p.text}" for p in self.passages])
        self.jurisdictions = Jurisdictions()
        self._places = [self.jurisdictions.named_in(f"{p.title} {p.text}") for p in self.passages]

    def prepare(self, question: object, history: Sequence[str] | None = None) -> Query:
        """Clean a question and make its search text (context, slang, spelling)."""
        return prepare_query(question, history, self.spell, self.jurisdictions)

    @classmethod
    def load(cls, corpus_dir: Path | None = None, index_dir: Path | None = None,
             embedder: Embedder | None = None, auto_build: bool = True, progress: bool = False) -> "Engine":
        """Load the corpus, the model and the index; rebuild a missing or stale index if allowed.

        Args:
            corpus_dir: The corpus folder (default: the project's `corpus/`).
            index_dir: The index folder (default: the project's `index/`).
            embedder: The embedding model (default: the packaged all-MiniLM-L6-v2).
            auto_build: Rebuild a missing or stale index instead of failing.
            progress: Show a progress bar if embedding is needed.

        Returns:
            A ready engine.

        Raises:
            StaleIndexError: the index is missing or stale and `auto_build` is False.
            CorpusError: the corpus cannot be read, or a passage cites a source not in sources.yaml.
        """
        corpus = load_corpus(corpus_dir or paths.corpus_dir())
        _check_source_ids(corpus)
        folder = index_dir or paths.index_dir()
        embedder = embedder or default_embedder()
        policy = Policy()
        try:
            index = load_index(folder, corpus, embedder, policy.exemplar_hash)
        except StaleIndexError as problem:
            if not auto_build:
                raise
            print(f"kratom-qa: {problem} Rebuilding now.", file=sys.stderr)
            build_index(corpus, embedder, folder, policy.exemplar_texts, policy.exemplar_hash, progress=progress)
            index = load_index(folder, corpus, embedder, policy.exemplar_hash)
        return cls(corpus, index, embedder, policy)

    def _rows_by_refusal_reason(self) -> dict[str, list[int]]:
        topics = self.messages["refusal"]["topics"]
        safe = [row for row, p in enumerate(self.passages) if is_refusal_safe(p.text, p.allowed_figures)]
        return {reason: [row for row in safe if self.passages[row].topic in wanted]
                for reason, wanted in topics.items()}

    def _resources(self, ids: Sequence[str]) -> list[dict]:
        return [{"name": r["name"], "phone": r.get("phone"), "url": r.get("url")}
                for r in (self.resources[i] for i in ids if i in self.resources)]

    def _citation(self, hit: Hit, query_vector: np.ndarray) -> dict:
        passage = self.passages[hit.row]
        highlight, _ = best_sentence(self.index, hit.row, query_vector)
        return {
            "passage_id": passage.id, "text": passage.text, "highlight": highlight or passage.text,
            "title": passage.title, "evidence": passage.evidence, "as_of": passage.as_of,
            "score": round(hit.dense, 4),
            "sources": [{"publisher": s.publisher, "title": s.title, "url": s.url, "published": s.published}
                        for s in (self.corpus.sources[sid] for sid in passage.sources)],
        }

    def _canned(self, query: Query, kind: str, key: str, reason: str = "") -> dict:
        entry = self.messages[key]
        message = entry["message"].format(reason=reason) if reason else entry["message"]
        return make_reply(query.text, kind, self._with_notice(message.strip(), query),
                          resources=self._resources(entry.get("resources", [])))

    def _with_notice(self, message: str, query: Query) -> str:
        if query.truncated:
            notice = self.messages["truncated"].format(limit=MAX_QUESTION_CHARS).strip()
            return f"{notice}\n\n{message}".strip()
        return message

    def _select(self, hits: list[Hit]) -> list[Hit]:
        if not hits or hits[0].dense < ABSTAIN_COSINE:
            return []
        return [hits[0]] + [h for h in hits[1:] if h.dense >= KEEP_COSINE]

    def ask(self, question: object, history: Sequence[str] | None = None) -> dict:
        """Answer one question.

        Args:
            question: The user's question (any input is accepted; unusable input gets an
                explanatory reply).
            history: Earlier user questions of the conversation, oldest first.

        Returns:
            An answer-contract object (see `bot/schema/answer.schema.json`).
        """
        query = self.prepare(question, history)
        if not query.text or not any(ch.isalnum() for ch in query.text):
            return self._canned(query, "no_answer", "empty")
        vector = self.embedder.encode([query.search_text])[0]
        top = self.retriever.dense_ranking(vector, 1)
        decision = self.policy.decide(query.text, vector, top[0][1] if top else 0.0, query.previous)
        if decision.kind == "crisis":
            return self._canned(query, "crisis", "crisis")
        if decision.kind == "refusal":
            return self._refusal(query, vector, decision.reason)
        if decision.kind == "non_english":
            return self._canned(query, "no_answer", "non_english")
        if decision.kind == "off_topic":
            return self._canned(query, "off_topic", "off_topic")
        hits, place = self.cited_hits(query, vector)
        if place:
            reply = self._canned(query, "no_answer", "no_answer_place")
            reply["message"] = reply["message"].replace("{place}", place)
            return reply
        if not hits:
            return self._canned(query, "no_answer", "no_answer")
        message = self._with_notice("", query)
        return make_reply(query.text, "answer", message, [self._citation(h, vector) for h in hits])

    def cited_hits(self, query: Query, vector: np.ndarray) -> tuple[list[Hit], str]:
        """Return the passages to cite, and the place the corpus does not cover ("" if none).

        Empty hits mean abstain: nothing is similar enough, or the question asks about a place no
        retrieved passage mentions.
        """
        hits = self._select(self.retriever.search(vector, query.search_text, k=TOP_K))
        place = self._uncovered_places(query, hits) if hits else ""
        return ([] if place else hits), place

    def _uncovered_places(self, query: Query, hits: list[Hit]) -> str:
        """Name the places the question asks about that none of the passages mention ("" if none)."""
        asked = self.jurisdictions.named_in(query.text) or self.jurisdictions.named_in(query.search_text)
        if not asked:
            return ""
        covered = set().union(*(self._places[h.row] for h in hits))
        missing = [place for place in asked if place not in covered]
        return " and ".join(sorted(missing)) if len(missing) == len(asked) else ""

    def _refusal(self, query: Query, vector: np.ndarray, reason: str) -> dict:
        reasons = self.messages["refusal"]["reasons"]
        reply = self._canned(query, "refusal", "refusal", reasons.get(reason, reasons["advice"]))
        rows = self._refusal_rows.get(reason) or self._refusal_rows["advice"]
        hits = self.retriever.search(vector, query.search_text, k=TOP_K, allowed_rows=rows)
        reply["citations"] = [self._citation(h, vector) for h in hits if h.dense >= 0.2]
        return reply
