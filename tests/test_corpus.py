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
    ("federal-law", "  as_of: 2016-10\n", "", "legal/regulatory passage without as_of"),
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
    passages["about"] = "- id: tiny\n  topic: about\n  title: t\n  text: Kratom is a tree.\n  sources: [fda-and-kratom]\n  evidence: reference\n  checked:\n    date: 2026-11-25\n    against: [fda-and-kratom]\n"
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
    allowed = text.replace("  as_of: 2016-10\n", "  as_of: 2016-10\n  allowed_figures: [\"1.00 mg\"]\n")
    folder = write_corpus(tmp_path / "threshold-ok", {"federal-law": allowed})
    assert validate_corpus(load_corpus(folder)) == []


# --- issue 11: source kinds back grades, dates follow evidence, checks name what was checked ---

def _problems_with(tmp_path: Path, passages: dict[str, str] | None = None, sources: str | None = None,
                   aliases: str | None = None) -> list[str]:
    from support import TINY_SOURCES
    folder = write_corpus(tmp_path / "fixture", passages or dict(TINY_PASSAGES), sources or TINY_SOURCES)
    if aliases is not None:
        (folder / "aliases.yaml").write_text(aliases)
    return [str(p) for p in validate_corpus(load_corpus(folder))]


LAW_FIRM_SOURCE = """\
- id: some-law-blog
  publisher: A Law Firm LLP (blog)
  title: FDA does a thing
  url: https://example-law.com/fda-does-a-thing
  published: 2016-10-20
  kind: law-firm
"""


def test_new_source_kinds_are_accepted_and_unknown_kinds_rejected(tmp_path):
    from support import TINY_SOURCES
    for kind in ("law-firm", "advocacy", "vendor", "news"):
        assert _problems_with(tmp_path / kind, sources=TINY_SOURCES + LAW_FIRM_SOURCE.replace("law-firm", kind)) == []
    problems = _problems_with(tmp_path / "bad", sources=TINY_SOURCES + LAW_FIRM_SOURCE.replace("law-firm", "blog"))
    assert any("some-law-blog" in p and "unknown kind 'blog'" in p for p in problems), problems


def test_regulatory_grade_needs_a_government_source(tmp_path):
    from support import TINY_SOURCES
    passages = dict(TINY_PASSAGES)
    passages["federal-law"] = passages["federal-law"].replace("[fr-81-fr-70652]", "[some-law-blog]")
    problems = _problems_with(tmp_path, passages, TINY_SOURCES + LAW_FIRM_SOURCE)
    assert any("federal-law.yaml" in p and "dea-withdrew-2016-notice" in p and "kind: regulator" in p
               for p in problems), problems


def test_second_hand_only_passage_must_say_reported(tmp_path):
    from support import TINY_SOURCES
    passages = dict(TINY_PASSAGES)
    passages["federal-law"] = (passages["federal-law"].replace("[fr-81-fr-70652]", "[some-law-blog]")
                               .replace("evidence: regulatory", "evidence: news report"))
    problems = _problems_with(tmp_path, passages, TINY_SOURCES + LAW_FIRM_SOURCE)
    assert any("dea-withdrew-2016-notice" in p and "'according to' or 'reported'" in p for p in problems), problems
    passages["federal-law"] = passages["federal-law"].replace("In August 2016 the DEA", "As reported, in August 2016 the DEA")
    problems = _problems_with(tmp_path / "hedged", passages, TINY_SOURCES + LAW_FIRM_SOURCE)
    assert not any("'according to' or 'reported'" in p for p in problems), problems


def test_journal_source_needs_a_publication_date(tmp_path):
    from support import TINY_SOURCES
    journal = LAW_FIRM_SOURCE.replace("kind: law-firm", "kind: journal").replace("published: 2016-10-20", "published: null")
    problems = _problems_with(tmp_path, sources=TINY_SOURCES + journal)
    assert any("sources.yaml" in p and "some-law-blog" in p and "publication date" in p for p in problems), problems


def test_as_of_later_than_newest_dated_source_is_rejected(tmp_path):
    passages = dict(TINY_PASSAGES)
    passages["federal-law"] = passages["federal-law"].replace("as_of: 2016-10", "as_of: 2026-11")
    problems = _problems_with(tmp_path, passages)
    assert any("dea-withdrew-2016-notice" in p and "later than its newest dated source (2016-10-13)" in p
               for p in problems), problems


def test_consulted_as_of_is_only_for_living_pages(tmp_path):
    passages = dict(TINY_PASSAGES)
    # a living (undated) page may carry the date it was consulted...
    assert _problems_with(tmp_path / "ok", passages) == []
    # ...but without the marker an undated-only passage has no evidence date,
    no_marker = passages["about"].replace("  as_of_kind: consulted\n", "", 1)
    problems = _problems_with(tmp_path / "nomark", {**passages, "about": no_marker})
    assert any("kratom-not-fda-approved" in p and "no cited source is dated" in p for p in problems), problems
    # ...and a dated-only passage cannot claim to be a living page.
    dated = passages["federal-law"].replace("  as_of: 2016-10\n", "  as_of: 2026-11\n  as_of_kind: consulted\n")
    problems = _problems_with(tmp_path / "dated", {**passages, "federal-law": dated})
    assert any("dea-withdrew-2016-notice" in p and "living pages" in p for p in problems), problems
    odd = passages["about"].replace("as_of_kind: consulted", "as_of_kind: guessed", 1)
    problems = _problems_with(tmp_path / "odd", {**passages, "about": odd})
    assert any("as_of_kind must be one of" in p for p in problems), problems


def test_consulted_passage_must_say_it_was_consulted(tmp_path):
    passages = dict(TINY_PASSAGES)
    wording = "As stated on FDA's\n    undated page, consulted November 2026, the FDA says"
    assert wording in passages["about"]
    # the fixture's consulted passage names the undated page and the month it was consulted: valid
    assert _problems_with(tmp_path / "ok", passages) == []
    # broken: the consultation statement is dropped
    silent = passages["about"].replace(wording, "The FDA says", 1)
    problems = _problems_with(tmp_path / "silent", {**passages, "about": silent})
    assert any("about.yaml" in p and "kratom-not-fda-approved" in p and "does not say so" in p
               and "undated" in p and "consulted" in p and "November 2026" in p for p in problems), problems
    # broken: says it was consulted, but in another month than its as_of
    wrong_month = passages["about"].replace("consulted November 2026", "consulted October 2026", 1)
    problems = _problems_with(tmp_path / "month", {**passages, "about": wrong_month})
    assert any("kratom-not-fda-approved" in p and "missing: 'November 2026'" in p for p in problems), problems
    # an evidence-dated passage needs no such wording
    assert not any("does not say so" in p for p in _problems_with(tmp_path / "evidence", passages))


def test_every_consulted_project_passage_says_undated_and_consulted(project_corpus):
    consulted = [p for p in project_corpus.passages if p.as_of_kind == "consulted"]
    assert consulted
    missing = [p.id for p in consulted if not ("undated" in p.text and "consulted" in p.text)]
    assert missing == []


def test_checked_record_names_cited_sources_and_a_date(tmp_path):
    passages = dict(TINY_PASSAGES)
    wrong = passages["about"].replace("    against: [fda-and-kratom]\n", "    against: [fr-81-fr-70652]\n", 1)
    problems = _problems_with(tmp_path / "wrong", {**passages, "about": wrong})
    assert any("kratom-not-fda-approved" in p and "does not cite" in p for p in problems), problems
    empty = passages["about"].replace("    against: [fda-and-kratom]\n", "    against: []\n", 1)
    problems = _problems_with(tmp_path / "empty", {**passages, "about": empty})
    assert any("kratom-not-fda-approved" in p and "names no source" in p for p in problems), problems
    early = passages["about"].replace("    date: 2026-11-25\n", "    date: 2026-10-01\n", 1)
    problems = _problems_with(tmp_path / "early", {**passages, "about": early})
    assert any("kratom-not-fda-approved" in p and "later than the check date" in p for p in problems), problems


def test_bulk_reviewed_stamp_is_refused(tmp_path):
    passages = dict(TINY_PASSAGES)
    old = passages["about"].replace("  checked:\n    date: 2026-11-25\n    against: [fda-and-kratom]\n",
                                    "  reviewed: 2026-11-25\n", 1)
    folder = write_corpus(tmp_path / "old", {**passages, "about": old})
    with pytest.raises(CorpusError, match=r"about\.yaml: passage kratom-not-fda-approved: `reviewed` is replaced by `checked"):
        load_corpus(folder)


def test_passage_needs_eight_questions(tmp_path):
    folder = write_corpus(tmp_path / "fewq")
    qfile = folder / "questions" / "about.yaml"
    qfile.write_text("\n".join(qfile.read_text().splitlines()[:5]) + "\n")
    problems = [str(p) for p in validate_corpus(load_corpus(folder))]
    assert any("kratom-not-fda-approved" in p and "at least 8" in p for p in problems), problems


def test_aliases_point_removed_ids_at_existing_passages(tmp_path):
    assert _problems_with(tmp_path / "ok", aliases="kratom-old-id: kratom-not-fda-approved\n") == []
    problems = _problems_with(tmp_path / "bad", aliases="kratom-uses-self-treatment: no-such-passage\n")
    assert any("aliases.yaml" in p and "still exists" in p for p in problems), problems
    assert any("unknown passage 'no-such-passage'" in p for p in problems), problems


def test_project_aliases_name_removed_ids(project_corpus):
    ids = {p.id for p in project_corpus.passages}
    assert project_corpus.aliases and not set(project_corpus.aliases) & ids
    assert set(project_corpus.aliases.values()) <= ids
