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
SOURCE_KINDS = frozenset({
    "regulator", "journal", "guideline", "expert body", "news", "law-firm", "advocacy", "vendor", "other",
})
# `regulator`: a government body or legislature speaking for itself (agency page, release, Federal Register,
# bill text, statute). Only such a source can back a `regulatory` evidence grade.
GOVERNMENT_KINDS = frozenset({"regulator"})
# Reports about something rather than the thing itself: a passage resting only on these must hedge.
SECOND_HAND_KINDS = frozenset({"news", "law-firm", "advocacy", "vendor", "other"})
HEDGES = ("according to", "reported", "reportedly", "was said", "says", "said", "described", "claims")
AS_OF_KINDS = frozenset({"evidence", "consulted"})
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
        if source.kind == "journal" and not source.published:
            bad("a journal source needs its publication date (published)")
    return problems


def _later(a: str, b: str) -> bool:
    """True when date `a` is later than date `b`, compared at the coarser of their precisions."""
    n = min(len(a), len(b))
    return a[:n] > b[:n]


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def _month_year(as_of: str) -> str:
    """`2026-11` or `2026-11-25` -> `November 2026`."""
    return f"{_MONTHS[int(as_of[5:7]) - 1]} {as_of[:4]}"


def _consulted_wording_missing(text: str, as_of: str) -> list[str]:
    """What a `consulted` passage's text fails to say: that the page is undated, that it was consulted, and when."""
    lowered = " ".join(text.split()).lower()
    missing = [word for word in ("undated", "consulted") if word not in lowered]
    if _month_year(as_of).lower() not in lowered:
        missing.append(f"'{_month_year(as_of)}'")
    return missing


def _check_dates_and_grades(passage, corpus: Corpus) -> list[str]:
    """Source kinds back the grade; `as_of` follows the evidence; `checked` names what was checked."""
    messages = []
    cited = [corpus.sources[s] for s in passage.sources if s in corpus.sources]
    kinds = {s.kind for s in cited}
    if passage.evidence == "regulatory" and not kinds & GOVERNMENT_KINDS:
        messages.append("evidence 'regulatory' needs a government or legislature source (kind: regulator)")
    if cited and kinds <= SECOND_HAND_KINDS and not any(h in passage.text.lower() for h in HEDGES):
        messages.append("rests only on second-hand sources (news, law-firm, advocacy, vendor, other) "
                        "but its text never says 'according to' or 'reported'")
    if passage.as_of_kind is not None and passage.as_of_kind not in AS_OF_KINDS:
        messages.append(f"as_of_kind must be one of {', '.join(sorted(AS_OF_KINDS))}, not {passage.as_of_kind!r}")
    if passage.as_of_kind == "consulted":
        if not passage.as_of:
            messages.append("as_of_kind 'consulted' without as_of")
        if not any(s.published is None for s in cited):
            messages.append("as_of_kind 'consulted' is for living pages: cite at least one undated (published: null) page")
        if passage.as_of and passage.reviewed and _later(passage.as_of, passage.reviewed):
            messages.append(f"consulted as_of {passage.as_of} is later than the check date {passage.reviewed}")
        if passage.as_of and _DATE_RE.match(passage.as_of) and 1 <= int(passage.as_of[5:7]) <= 12:
            missing = _consulted_wording_missing(passage.text, passage.as_of)
            if missing:
                messages.append("as_of_kind 'consulted' but the text does not say so: it must call the page undated "
                                f"and say when it was consulted (missing: {', '.join(missing)}; e.g. \"as stated on "
                                f"FDA's undated page, consulted {_month_year(passage.as_of)}\")")
    elif passage.as_of:
        dated = [s.published for s in cited if s.published]
        if not dated:
            messages.append("as_of but no cited source is dated (mark as_of_kind: consulted for a living page)")
        else:
            newest = max(dated, key=lambda d: (d + "-99-99")[:10])
            if _later(passage.as_of, newest):
                messages.append(f"as_of {passage.as_of} is later than its newest dated source ({newest}); "
                                "date it by the evidence or mark as_of_kind: consulted for a living page")
    if not passage.reviewed or not re.match(r"^\d{4}-\d{2}-\d{2}$", passage.reviewed):
        messages.append(f"checked.date must be YYYY-MM-DD, not {passage.reviewed!r}")
    if not passage.checked_against:
        messages.append("checked.against names no source")
    for source_id in passage.checked_against:
        if source_id not in passage.sources:
            messages.append(f"checked against {source_id!r}, which the passage does not cite")
    if passage.evidence == "regulatory" and not any(
            s in corpus.sources and corpus.sources[s].kind in GOVERNMENT_KINDS for s in passage.checked_against):
        messages.append("a regulatory passage must be checked against its government or legislature source")
    if passage.as_of and passage.reviewed and _DATE_RE.match(passage.reviewed) and _later(passage.as_of, passage.reviewed):
        messages.append(f"as_of {passage.as_of} is later than the check date {passage.reviewed}")
    return messages


def _check_aliases(corpus: Corpus, aliases_file: str) -> list[Problem]:
    """Each removed id is no longer a passage, is well formed and points at a passage that exists."""
    problems = []
    ids = {p.id for p in corpus.passages}
    for removed, kept in corpus.aliases.items():
        if not _ID_RE.match(removed):
            problems.append(Problem(aliases_file, removed, "alias id must be lowercase words joined by '-'"))
        if removed in ids:
            problems.append(Problem(aliases_file, removed, "alias names a passage that still exists"))
        if kept not in ids:
            problems.append(Problem(aliases_file, removed, f"alias points at unknown passage {kept!r}"))
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
    if passage.as_of and not _DATE_RE.match(passage.as_of):
        messages.append(f"as_of must be YYYY-MM or YYYY-MM-DD, not {passage.as_of!r}")
    messages.extend(_check_dates_and_grades(passage, corpus))
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
    problems.extend(_check_aliases(corpus, sources_file.replace("sources.yaml", "aliases.yaml")))
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
