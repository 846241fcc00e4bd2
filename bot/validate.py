"""Content rules for the corpus and the corpus report (`kratom-qa validate`, `corpus-report`).

Every error names the file and the passage (or source) id, so a writer can fix it at once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bot.corpus import Corpus
from bot.dosecheck import find_dose_content

EVIDENCE_GRADES = frozenset({
    "regulatory", "guideline", "systematic review", "trial", "observational", "survey",
    "animal/lab", "case report", "expert body", "news report", "reference",
})
SOURCE_KINDS = frozenset({"regulator", "journal", "guideline", "expert body", "news", "other"})
MIN_WORDS, MAX_WORDS = 40, 180
MIN_QUESTIONS = 8  # questions per passage (corpus/questions/), in users' words
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")
_URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s]+$")


@dataclass(frozen=True)
class Problem:
    """One rule a corpus entry breaks."""

    file: str
    entry_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry_id}: {self.message}"


def _check_sources(corpus: Corpus, sources_file: str) -> list[Problem]:
    problems = []
    for source in corpus.sources.values():
        def bad(message: str, source=source) -> None:
            problems.append(Problem(sources_file, source.id, message))
        if not _ID_RE.match(source.id):
            bad("id must be lowercase words joined by '-'")
        if not _URL_RE.match(source.url):
            bad(f"url is not an http(s) address: {source.url!r}")
        if source.kind not in SOURCE_KINDS:
            bad(f"unknown kind {source.kind!r} (one of: {', '.join(sorted(SOURCE_KINDS))})")
        if not source.publisher.strip() or not source.title.strip():
            bad("publisher and title must not be empty")
        if source.published is not None and not re.match(r"^\d{4}(-\d{2}){0,2}$", source.published):
            bad(f"published must be YYYY, YYYY-MM, YYYY-MM-DD or null, not {source.published!r}")
    return problems


def _check_passage(passage, corpus: Corpus) -> list[str]:
    messages = []
    if not _ID_RE.match(passage.id):
        messages.append("id must be lowercase words joined by '-'")
    expected_topic = passage.file.rsplit("/", 1)[-1].removesuffix(".yaml") if passage.file else passage.topic
    if passage.topic != expected_topic:
        messages.append(f"topic {passage.topic!r} does not match its file {expected_topic!r}")
    words = len(passage.text.split())
    if not MIN_WORDS <= words <= MAX_WORDS:
        messages.append(f"text has {words} words (allowed {MIN_WORDS}-{MAX_WORDS})")
    if not passage.title:
        messages.append("title is empty")
    if not passage.sources:
        messages.append("cites no source")
    for source_id in passage.sources:
        if source_id not in corpus.sources:
            messages.append(f"unknown source id {source_id!r}")
    if passage.evidence not in EVIDENCE_GRADES:
        messages.append(f"unknown evidence grade {passage.evidence!r}")
    if passage.is_legal and not passage.as_of:
        messages.append("legal/regulatory passage without as_of")
    for name, value in (("as_of", passage.as_of), ("reviewed", passage.reviewed)):
        if value and not _DATE_RE.match(value):
            messages.append(f"{name} must be YYYY-MM or YYYY-MM-DD, not {value!r}")
    if passage.allowed_figures and not passage.is_legal:
        messages.append("allowed_figures are only allowed in legal/regulatory passages")
    for figure in passage.allowed_figures:
        if figure not in passage.text:
            messages.append(f"allowed figure {figure!r} does not occur in the text")
    for finding in find_dose_content(passage.title + ". " + passage.text, passage.allowed_figures):
        messages.append(f"dose {finding.kind} a reader could act on: {finding.text!r}")
    messages.extend(_check_questions(passage))
    return messages


def _check_questions(passage) -> list[str]:
    """At least `MIN_QUESTIONS` distinct, non-empty questions, none a copy of the title."""
    messages = []
    if len(passage.questions) < MIN_QUESTIONS:
        messages.append(f"has {len(passage.questions)} questions in corpus/questions/ (at least {MIN_QUESTIONS})")
    folded = [" ".join(q.lower().split()) for q in passage.questions]
    if len(set(folded)) != len(folded):
        messages.append("has duplicate questions")
    if any(not q.strip() for q in passage.questions):
        messages.append("has an empty question")
    if " ".join(passage.title.lower().split()) in folded:
        messages.append("lists its own title as a question")
    return messages


def validate_corpus(corpus: Corpus, sources_file: str = "sources.yaml") -> list[Problem]:
    """Check every content rule of the corpus.

    Args:
        corpus: The loaded corpus.
        sources_file: The path shown in source errors.

    Returns:
        The problems found; empty when the corpus is valid.
    """
    problems = _check_sources(corpus, sources_file)
    seen: dict[str, str] = {}
    for passage in corpus.passages:
        if passage.id in seen:
            problems.append(Problem(passage.file, passage.id, f"duplicate id (also in {seen[passage.id]})"))
        seen.setdefault(passage.id, passage.file)
        problems.extend(Problem(passage.file, passage.id, m) for m in _check_passage(passage, corpus))
    return problems


def corpus_report(corpus: Corpus) -> str:
    """Return a plain-text summary: passages per topic, evidence grade and source kind, oldest review."""
    lines = [f"{len(corpus.passages)} passages, {len(corpus.sources)} sources"]
    sections = (
        ("per topic", Counter(p.topic for p in corpus.passages)),
        ("per evidence grade", Counter(p.evidence for p in corpus.passages)),
        ("per source kind (citations)", Counter(
            corpus.sources[s].kind for p in corpus.passages for s in p.sources if s in corpus.sources)),
    )
    for heading, counts in sections:
        lines.append(f"\n{heading}:")
        lines.extend(f"  {name:<28} {count:>4}" for name, count in sorted(counts.items()))
    legal = [p for p in corpus.passages if p.is_legal]
    reviewed = sorted(p.reviewed for p in corpus.passages if p.reviewed)
    lines.append(f"\nlegal/regulatory passages: {len(legal)}")
    if reviewed:
        lines.append(f"oldest reviewed date: {reviewed[0]}; newest: {reviewed[-1]}")
    return "\n".join(lines)
