"""The engine: one question in, one answer-contract object out.

Pipeline per question: clean the input → embed it once → policy decision (crisis, refusal,
off-topic, language) → hybrid retrieval → abstain or cite up to three passages with highlights.

Loading does no build work: everything derived from the corpus (the corpus itself, spelling
vocabulary, places, coverage, refusal-safe passages, the trained models) is read from the index
(bot/index.py, bot/enginedata.py); only a missing or stale index is (re)built, by the same
`build_index` that `kratom-qa build` runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bot import paths
from bot.contract import make_reply
from bot.corpus import Corpus, Passage, load_corpus
from bot.embed import Embedder, build_embedder, default_embedder
from bot.index import SearchIndex, StaleIndexError, build_index, check_source_ids, load_index
from bot.normalize import MAX_QUESTION_CHARS
from bot.policy.classify import Decision, Policy
from bot.policy.config import PolicyConfig, default_config
from bot.policy.training import source_hash
from bot.query import (PreparedQuestion, QuestionVectors, message_clauses, message_sentences, names_subject,
                       vectors_of)
from bot.answerability import question_features
from bot.retrieve import Hit, Retriever, best_sentence

TOP_K = 3
RETRIEVAL_SETTINGS = Path(__file__).parent / "data" / "retrieval.yaml"


def load_retrieval_settings(path: Path = RETRIEVAL_SETTINGS) -> dict[str, Any]:
    """Read bot/data/retrieval.yaml and check it: the thresholds and the keep score are numbers in (0, 1);
    `part_answer_threshold` is null or a number in [answerability_threshold, 1); `part_answer_split` is "sentences"
    or "clauses"."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    numbers = {"answerability_threshold", "keep_score", "follow_up_alone_threshold"}
    expected = numbers | {"part_answer_threshold", "part_answer_split"}

    def probability(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1

    if not isinstance(data, dict) or set(data) != expected or not all(probability(data[k]) for k in numbers):
        raise ValueError(f"{path}: expected {sorted(expected)}; {sorted(numbers)} each a number in (0, 1)")
    part = data["part_answer_threshold"]
    if part is not None and not (probability(part) and part >= data["answerability_threshold"]):
        raise ValueError(f"{path}: part_answer_threshold must be null or in [answerability_threshold, 1)")
    if data["part_answer_split"] not in ("sentences", "clauses"):
        raise ValueError(f"{path}: part_answer_split must be 'sentences' or 'clauses'")
    settings: dict[str, Any] = {k: float(data[k]) for k in numbers}
    settings["part_answer_threshold"] = None if part is None else float(part)
    settings["part_answer_split"] = data["part_answer_split"]
    return settings


_check_source_ids = check_source_ids  # (moved to bot.index: the build refuses such a corpus too)


class Engine:
    """Answers questions from the vetted corpus; load once, call `ask` many times (thread-safe)."""

    def __init__(self, corpus: Corpus, index: SearchIndex, embedder: Embedder, config: PolicyConfig) -> None:
        self.corpus = corpus
        self.index = index
        self.embedder = embedder
        self.config = config
        self.policy = Policy(config, index.policy_model, embedder.dim)
        self.retriever = Retriever(index)
        if index.data is not None and corpus.passages is index.data.corpus.passages:
            self.passages: list[Passage] = list(corpus.passages)  # the index's own corpus: already in index order
        else:
            by_id = corpus.by_id()  # once: calling it per passage made loading quadratic in the corpus size
            self.passages = [by_id[pid] for pid in index.passage_ids]
        self.messages = config.messages
        self.resources = config.resources
        data = index.data  # derived from the corpus by the build (bot/enginedata.py), loaded, not recomputed
        if data is None or [p.id for p in data.corpus.passages] != index.passage_ids:
            raise StaleIndexError("The index holds no engine data for its passages. Run `kratom-qa build`.")
        self._refusal_rows = data.refusal_rows(self.messages.refusal.topics)
        s = config.settings
        self.preparer = data.preparer(s.windows.size, s.windows.overlap, s.context_turns)
        self.jurisdictions = data.places
        self.passage_places = data.passage_places
        self._coverage = data.coverage
        self.retrieval_settings = load_retrieval_settings()

    def prepare(self, question: object, history: Sequence[str] | None = None) -> PreparedQuestion:
        """Clean a question and make its search text (context, slang, spelling, expansions). Its decoded payloads
        are kept only when the policy reads them on their own (`crisis_payload` / `advice_payload`), and so are the
        parts of a short message (`crisis_part` / `advice_part`), so that nothing unread is embedded. A short
        message's parts are its sentences, or with `short_message_parts: clauses` its clauses."""
        prepared = self.preparer.prepare(question, history)
        s = self.config.settings
        t = s.thresholds
        if not prepared.windows and (t.crisis_part is None and t.advice_part is None):
            prepared = replace(prepared, segments=())  # a short message's parts are read only when set
        elif not prepared.windows and not prepared.too_long and s.short_message_parts == "clauses":
            raw = question if isinstance(question, str) else prepared.text
            prepared = replace(prepared, segments=message_clauses(raw))
        if prepared.payloads and t.crisis_payload is None and t.advice_payload is None:
            return replace(prepared, payloads=())
        return prepared

    def encode(self, prepared: PreparedQuestion) -> QuestionVectors:
        """Embed everything the question needs: one model call, and a second for a long message's sentences.

        A long message's sentences are embedded apart because the encoder pads each batch to its longest text: in
        the batch of the message and its windows (up to 256 word pieces) a 20-word sentence cost as much as a
        window. A short message's sentences are no longer than the message, so they share its call (`ask` embeds them
        only when they can change the decision: `encode_and_decide`).
        """
        texts = prepared.texts_to_embed()
        n_sentences = len(prepared.segments)
        if not n_sentences or not prepared.windows:
            return vectors_of(prepared, self.embedder.encode(texts))
        vectors = np.concatenate([self.embedder.encode(texts[:-n_sentences]),
                                  self.embedder.encode(texts[-n_sentences:])])
        return vectors_of(prepared, vectors)

    def encode_and_decide(self, prepared: PreparedQuestion) -> tuple[PreparedQuestion, QuestionVectors, Decision]:
        """Embed a question and decide it, embedding a short message's parts only when they can change the decision.

        A short message's parts are read for a crisis only when the whole message reads P(crisis) >=
        `crisis_part_whole` and is not escalated already, and for the reason of a refusal (the row most like a
        request names it); with `advice_part` null they decide nothing else. So the message is decided first
        without them, and they are embedded (in a call of their own) and the message decided again only when
        `Policy.parts_may_change` says they could. Returns the question as decided (without its parts when they
        were not read), its vectors and the decision.
        """
        if prepared.segments and not prepared.windows and self.config.settings.thresholds.advice_part is None:
            whole = replace(prepared, segments=())
            vectors = self.encode(whole)
            decision = self.policy.decide(whole, vectors)
            if not self.policy.parts_may_change(decision):
                return whole, vectors, decision
            vectors = replace(vectors, segments=tuple(self.embedder.encode(list(prepared.segments))))
            return prepared, vectors, self.policy.decide(prepared, vectors)
        vectors = self.encode(prepared)
        return prepared, vectors, self.policy.decide(prepared, vectors)

    @classmethod
    def load(cls, corpus_dir: Path | None = None, index_dir: Path | None = None,
             embedder: Embedder | None = None, auto_build: bool = True, progress: bool = False) -> "Engine":
        """Load the index (it holds the corpus it was built from) and the encoder; rebuild a missing or
        stale index if allowed.

        The corpus folder is checked by the hash of its files, not parsed, when unchanged.

        Args:
            corpus_dir: The corpus folder (default: the project's `corpus/`).
            index_dir: The index folder (default: the project's `index/`).
            embedder: The encoder for questions (default: the configured serving encoder,
                `bot.embed.default_embedder`); a rebuild uses it too when given, else the configured
                build encoder (`bot.embed.build_embedder`, torch).
            auto_build: Rebuild a missing or stale index instead of failing.
            progress: Show a progress bar if embedding is needed.

        Returns:
            A ready engine.

        Raises:
            StaleIndexError: the index is missing or stale and `auto_build` is False.
            CorpusError: the corpus changed and cannot be read, or a passage cites a source not in sources.yaml.
        """
        corpus_dir = Path(corpus_dir or paths.corpus_dir())
        folder = index_dir or paths.index_dir()
        builder = embedder
        embedder = embedder or default_embedder()
        config = default_config()
        try:
            index = load_index(folder, corpus_dir, embedder, source_hash())
        except StaleIndexError as problem:
            corpus = load_corpus(corpus_dir)  # a malformed corpus is reported as such, before any build
            check_source_ids(corpus)
            if not auto_build:
                raise
            print(f"kratom-qa: {problem} Rebuilding now.", file=sys.stderr)
            build_index(corpus, builder or build_embedder(), folder, progress=progress)
            index = load_index(folder, corpus_dir, embedder, source_hash())  # the data the build just read
        return cls(index.data.corpus, index, embedder, config)

    def _resources(self, ids: Sequence[str]) -> list[dict]:
        return [{"name": r.name, "phone": r.phone, "url": r.url} for r in (self.resources[i] for i in ids)]

    def _citation(self, hit: Hit, query_vector: np.ndarray, query: PreparedQuestion) -> dict:
        passage = self.passages[hit.row]
        highlight, _ = best_sentence(self.index, hit.row, query_vector, query.readable, query.readable_tokens)
        return {
            "passage_id": passage.id, "text": passage.text, "highlight": highlight or passage.text,
            "title": passage.title, "evidence": passage.evidence, "as_of": passage.as_of,
            "score": round(hit.dense, 4),
            "sources": [{"publisher": s.publisher, "title": s.title, "url": s.url, "published": s.published}
                        for s in (self.corpus.sources[sid] for sid in passage.sources)],
        }

    def _canned(self, prepared: PreparedQuestion, kind: str, key: str, **fields: str) -> dict:
        entry = getattr(self.messages, key)
        message = entry.message.format(**fields) if fields else entry.message
        return make_reply(prepared.text[:MAX_QUESTION_CHARS], kind, message.strip(),
                          resources=self._resources(entry.resources))

    def ask(self, question: object, history: Sequence[str] | None = None) -> dict:
        """Answer one question.

        Args:
            question: The user's question (any input is accepted; unusable input gets an
                explanatory reply).
            history: Earlier user questions of the conversation, oldest first.

        Returns:
            An answer-contract object (see `bot/schema/answer.schema.json`).
        """
        prepared = self.prepare(question, history)
        if not prepared.text or not any(ch.isalnum() for ch in prepared.text):
            return self._canned(prepared, "no_answer", "empty")
        if prepared.too_long:  # judged by the rule floor alone: no embedding of 20,000+ characters
            decision = self.policy.decide(prepared, None)
            if decision.kind == "crisis":
                return self._canned(prepared, "crisis", "crisis")
            return self._canned(prepared, "no_answer", "too_long", limit=f"{MAX_QUESTION_CHARS:,}")
        prepared, vectors, decision = self.encode_and_decide(prepared)
        if decision.kind == "crisis":
            return self._canned(prepared, "crisis", "crisis")
        if decision.kind == "refusal":
            return self._refusal(prepared, vectors.search, decision.reason)
        if decision.kind == "non_english":
            return self._canned(prepared, "no_answer", "non_english")
        if decision.kind == "off_topic":
            return self._canned(prepared, "off_topic", "off_topic")
        reading, vector, judged = self.best_reading(prepared, vectors)
        hits, place = self._kept(*judged)
        if place:
            return self._canned(prepared, "no_answer", "no_answer_place", place=place)
        if not hits:
            return self._canned(prepared, "no_answer", "no_answer")
        citations = [self._citation(h, vector, reading) for h in hits]
        one_part = not prepared.windows and reading.readable != prepared.readable  # `_part_reading` answered
        return make_reply(prepared.text, "answer", self.messages.part_answer if one_part else "", citations)

    def best_reading(self, prepared: PreparedQuestion,
                     vectors: QuestionVectors) -> tuple[PreparedQuestion, np.ndarray, tuple[float, list[Hit], str]]:
        """What retrieval reads of the question: the whole message, or for a long message the window
        (of the same overlapping windows the policy reads) that a passage most probably answers.

        The encoder reads only the first ~256 word pieces of a text, so a question after a long preamble
        is never seen in the whole message's vector. A window that names no place left uncovered by its
        passages is chosen over a reading that does (the whole message's passages, found from the preamble,
        may miss the place its question names); otherwise the higher P(answerable) wins. When some windows
        hold a question mark, only those are candidates: a story about back pain in the preamble can look
        more answerable than the question itself.

        A follow-up that names its own subject ("ok, can you at least tell me if kratom is addictive",
        after a refused dose request) is also read alone, without the earlier turns, unless they named a
        place it does not (`_may_read_alone`): the refused request read with it pulls the search towards
        dosing, which no passage answers. The alone reading wins on the same terms as a window (a higher
        P(answerable), no uncovered place), but unlike a window it drops the earlier turns. A follow-up
        naming no subject ("and in Ohio?", "is there a helpline then") is read alone only as a fallback
        (`_alone_wins`): when its reading with the earlier turns would abstain, and the message alone
        clears the stricter `follow_up_alone_threshold` of bot/data/retrieval.yaml.

        Returns the reading, its search vector and its `answerability` (computed once per reading).
        """
        best = (prepared, vectors.search, self.answerability(prepared, vectors.search))
        if self._may_read_alone(prepared):
            subject = names_subject(prepared.message_text)
            if subject or (not prepared.windows and self._abstains(best[2])):
                alone = replace(prepared, search_text=prepared.message_text, follow_up=False)
                judged = self.answerability(alone, vectors.message)
                if self._alone_wins(subject, best[2], judged):
                    best = (alone, vectors.message, judged)
        windows = list(zip(prepared.windows, vectors.windows))
        for window, vector in [w for w in windows if "?" in w[0]] or windows:
            reading = replace(prepared, readable=window, search_text=window, windows=())
            judged = self.answerability(reading, vector)
            if not judged[2] and (best[2][2] or judged[0] > best[2][0]):
                best = (reading, vector, judged)
        return self._part_reading(prepared, vectors, best)

    def _part_reading(self, prepared: PreparedQuestion, vectors: QuestionVectors,
                      best: tuple[PreparedQuestion, np.ndarray, tuple[float, list[Hit], str]]
                      ) -> tuple[PreparedQuestion, np.ndarray, tuple[float, list[Hit], str]]:
        """A short message asking several things ("is it legal in ohio? and does it hurt the liver") is one
        question to retrieval, which no single passage answers. When its reading would abstain by P(answerable)
        alone (not by an uncovered place), and it has no earlier turns, each of its parts (`_message_parts`) is
        read on its own, as a long message's windows are; a part that drops a place the message names is skipped.
        The most answerable part replaces the reading when its P(answerable) reaches `part_answer_threshold` of
        bot/data/retrieval.yaml (null: never) and it names no uncovered place."""
        threshold = self.retrieval_settings["part_answer_threshold"]
        if (threshold is None or prepared.windows or prepared.context or best[2][2]
                or not self._abstains(best[2])):
            return best
        named = self.jurisdictions.named_in(prepared.readable)
        for part, vector in self._message_parts(prepared, vectors):
            if named - self.jurisdictions.named_in(part):
                continue
            reading = replace(prepared, readable=part, search_text=part, windows=(), segments=(), payloads=())
            judged = self.answerability(reading, vector)
            if not judged[2] and judged[0] >= threshold and judged[0] > best[2][0]:  # the whole is under it
                best = (reading, vector, judged)
        return best

    def _message_parts(self, prepared: PreparedQuestion, vectors: QuestionVectors) -> list[tuple[str, np.ndarray]]:
        """The parts of a short message and their vectors: its sentences (`part_answer_split: sentences`; the
        vectors the policy's part reading embedded, when it did) or its clauses, () when fewer than two."""
        if self.retrieval_settings["part_answer_split"] == "sentences":
            if prepared.segments:
                return list(zip(prepared.segments, vectors.segments))
            parts = message_sentences(prepared.text, False)
        else:
            parts = message_clauses(prepared.text)
        return list(zip(parts, self.embedder.encode(list(parts)))) if parts else []

    def _may_read_alone(self, prepared: PreparedQuestion) -> bool:
        """A follow-up whose search includes its earlier turns and that drops no place they named ("i'm going
        to Japan" ... "ok so is kratom legal?" must still be read with Japan)."""
        if not prepared.follow_up or prepared.search_text == prepared.message_text:
            return False
        return not (self.jurisdictions.named_in(prepared.context) - self.jurisdictions.named_in(prepared.readable))

    def _abstains(self, judged: tuple[float, list[Hit], str]) -> bool:
        """Whether a reading's `answerability` leads to `no_answer` (an uncovered place, or P under the threshold)."""
        return bool(judged[2]) or judged[0] < self.retrieval_settings["answerability_threshold"]

    def _alone_wins(self, subject: bool, best: tuple[float, list[Hit], str],
                    alone: tuple[float, list[Hit], str]) -> bool:
        """Whether the follow-up read alone replaces its reading with the earlier turns.

        Naming a subject of the corpus (after slang and expansions, so "7oh" and "mit45 shots" count), it wins
        like a window: a higher P(answerable) and no uncovered place. Naming none (a fallback, tried only when
        the reading with the earlier turns abstains): after a refused request ("make me a schedule to quit" ...
        "ok, is there a helpline then?") the refused turn pulls the search towards what no passage answers, so
        the message alone is kept when it clears `follow_up_alone_threshold`, stricter than the abstention
        threshold: a bare "how long does it last" often needs its context, and read alone it finds some
        passage with a middling P(answerable)."""
        if alone[2]:
            return False
        if subject:
            return bool(best[2]) or alone[0] > best[0]
        settings = self.retrieval_settings
        return alone[0] >= max(settings["follow_up_alone_threshold"], settings["answerability_threshold"])

    def answerability(self, query: PreparedQuestion, vector: np.ndarray) -> tuple[float, list[Hit], str]:
        """P(a passage answers the question), the top passages, and a place no passage covers ("")."""
        x, hits, place = question_features(self.retriever, self._coverage, self.passage_places, self.jurisdictions,
                                           query, vector)
        return self.index.answerability.probability(x, vector), hits, place

    def cited_hits(self, query: PreparedQuestion, vector: np.ndarray) -> tuple[list[Hit], str]:
        """Return the passages to cite, and the place the corpus does not cover ("" if none).

        Empty hits mean abstain: the answerability model says no passage answers, or the question
        asks about a place no retrieved passage mentions.
        """
        return self._kept(*self.answerability(query, vector))

    def _kept(self, probability: float, hits: list[Hit], place: str) -> tuple[list[Hit], str]:
        """`cited_hits` from an `answerability` result."""
        if place or not hits or probability < self.retrieval_settings["answerability_threshold"]:
            return [], place
        return [hits[0]] + [h for h in hits[1:] if h.dense >= self.retrieval_settings["keep_score"]], ""

    def _refusal(self, query: PreparedQuestion, vector: np.ndarray, reason: str) -> dict:
        refusal = self.messages.refusal
        reply = self._canned(query, "refusal", "refusal", reason=refusal.reasons[reason])
        rows = self._refusal_rows[reason]
        hits = self.retriever.search(vector, query.search_text, k=TOP_K, allowed_rows=rows)
        reply["citations"] = [self._citation(h, vector, query) for h in hits if h.dense >= 0.2]
        return reply
