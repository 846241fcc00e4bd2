"""The corpus: the real one is valid and complete; broken fixtures are rejected with file and id."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.corpus import CorpusError, load_corpus
from bot.validate import corpus_report, validate_corpus
from support import PROJECT, TINY_PASSAGES, write_corpus

REQUIRED_TOPICS = {
    "about", "pharmacology", "chronic-pain", "opioid-withdrawal", "approved-treatments", "adverse-effects",
    "dependence", "liver", "seizures", "deaths", "poison-centers", "contamination", "interactions",
    "pregnancy", "seven-oh-products", "federal-law", "seven-oh-federal", "international", "state-law",
    "help", "myths",
}


@pytest.fixture(scope="module")
def project_corpus():
    return load_corpus(PROJECT / "corpus")


def test_project_corpus_is_valid(project_corpus):
    assert validate_corpus(project_corpus) == []


def test_project_corpus_size_and_topics(project_corpus):
    assert len(project_corpus.passages) >= 120
    assert REQUIRED_TOPICS <= {p.topic for p in project_corpus.passages}


def test_every_legal_passage_says_as_of_in_its_text(project_corpus):
    legal = [p for p in project_corpus.passages if p.is_legal]
    assert legal
    missing = [p.id for p in legal if "as of" not in p.text.lower()]
    assert missing == []


def test_seed_error_dea_is_answered_correctly(project_corpus):
    texts = " ".join(p.text for p in project_corpus.passages if p.topic in ("myths", "federal-law")).lower()
    assert "withdr" in texts and "2016" in texts
    assert "dea scheduled kratom" not in texts


def test_report_counts_topics(project_corpus):
    report = corpus_report(project_corpus)
    assert f"{len(project_corpus.passages)} passages" in report
    assert "per evidence grade" in report and "oldest reviewed date" in report


def test_tiny_corpus_is_valid(tiny_corpus_dir):
    assert validate_corpus(load_corpus(tiny_corpus_dir)) == []


def _problems(tmp_path: Path, topic: str, old: str, new: str) -> list[str]:
    passages = dict(TINY_PASSAGES)
    assert old in passages[topic]
    passages[topic] = passages[topic].replace(old, new)
    folder = write_corpus(tmp_path / "broken", passages)
    return [str(p) for p in validate_corpus(load_corpus(folder))]


@pytest.mark.parametrize("topic, old, new, expected", [
    ("about", "sources: [fda-and-kratom]\n  evidence: regulatory", "sources: [no-such-source]\n  evidence: regulatory",
     "unknown source id 'no-such-source'"),
    ("about", "id: kratom-uses-self-treatment", "id: kratom-not-fda-approved", "duplicate id"),
    ("federal-law", "  as_of: 2026-11\n", "", "legal/regulatory passage without as_of"),
    ("about", "evidence: expert body", "evidence: vibes", "unknown evidence grade"),
    ("about", "is approved for them.", "is approved for them. Take 4 grams per day.",
     "dose amount a reader could act on: '4 grams'"),
    ("about", "No kratom product is approved", "Start with a low dose. No kratom product is approved",
     "dose instruction"),
    ("about", "topic: about\n  title: Why", "topic: wrong\n  title: Why", "does not match its file"),
])
def test_broken_passages_are_rejected_naming_file_and_id(tmp_path, topic, old, new, expected):
    problems = _problems(tmp_path, topic, old, new)
    assert any(expected in p for p in problems), problems
    assert all(f"{topic}.yaml" in p for p in problems if expected in p)


def test_too_short_text_is_rejected(tmp_path):
    passages = {"about": TINY_PASSAGES["about"].split("- id: kratom-uses")[0].replace(
        "No kratom product is approved by the U.S. Food and Drug Administration for any medical use, and\n"
        "    no medicine containing mitragynine or 7-hydroxymitragynine is approved either. ", "")}
    passages["about"] = "- id: tiny\n  topic: about\n  title: t\n  text: Kratom is a tree.\n  sources: [fda-and-kratom]\n  evidence: reference\n  reviewed: 2026-11-25\n"
    folder = write_corpus(tmp_path / "short", passages)
    problems = [str(p) for p in validate_corpus(load_corpus(folder))]
    assert any("tiny" in p and "words" in p for p in problems)


def test_missing_field_and_bad_yaml_raise_with_file_and_id(tmp_path):
    folder = write_corpus(tmp_path / "missing", {"about": "- id: x1\n  topic: about\n  title: t\n"})
    with pytest.raises(CorpusError, match=r"about\.yaml: passage x1: missing field\(s\) text"):
        load_corpus(folder)
    folder = write_corpus(tmp_path / "badyaml", {"about": "- id: [unclosed\n"})
    with pytest.raises(CorpusError, match=r"about\.yaml: not valid YAML"):
        load_corpus(folder)


def test_regulatory_threshold_needs_explicit_whitelist(tmp_path):
    text = TINY_PASSAGES["federal-law"].replace(
        "public comment.", "public comment. A 2026 proposal covered products above 1.00 mg of 7-OH per article.")
    folder = write_corpus(tmp_path / "threshold", {"federal-law": text})
    assert any("1.00 mg" in str(p) for p in validate_corpus(load_corpus(folder)))
    allowed = text.replace("  as_of: 2026-11\n", "  as_of: 2026-11\n  allowed_figures: [\"1.00 mg\"]\n")
    folder = write_corpus(tmp_path / "threshold-ok", {"federal-law": allowed})
    assert validate_corpus(load_corpus(folder)) == []
