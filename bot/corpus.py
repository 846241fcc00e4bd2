"""Load the vetted corpus (`sources.yaml`, `passages/*.yaml`, `questions/*.yaml`) into typed records.

Loading is strict about structure (a malformed file raises `CorpusError` naming the file and the
passage); the content rules (lengths, dose check, as-of dates, questions per passage) live in
`bot.validate`. A passage's `questions` are what users ask that it answers, in their words: kept in
`questions/<topic>.yaml` (passage id -> list), indexed beside the passage, never shown or cited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

LEGAL_TOPICS = frozenset({"federal-law", "seven-oh-federal", "state-law", "international"})
PASSAGE_FIELDS = ("id", "topic", "title", "text", "sources", "evidence", "checked")
SOURCE_FIELDS = ("id", "publisher", "title", "url", "published", "kind")
# libyaml's safe loader when PyYAML has it: same result, ~10x faster (100k passages: minutes -> seconds).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CorpusError(Exception):
    """A corpus file cannot be read; the message names the file (and passage when known)."""


@dataclass(frozen=True)
class Source:
    """A publication a passage cites."""

    id: str
    publisher: str
    title: str
    url: str
    published: str | None
    kind: str


@dataclass(frozen=True)
class Passage:
    """One vetted, self-contained passage: the unit the bot answers with."""

    id: str
    topic: str
    title: str
    text: str
    sources: tuple[str, ...]
    evidence: str
    as_of: str | None
    reviewed: str
    allowed_figures: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    file: str = field(default="", compare=False)
    as_of_kind: str | None = None  # "evidence" (default) or "consulted" (a living page's consultation date)
    checked_against: tuple[str, ...] = ()  # source ids the passage was last checked against, on `reviewed`

    @property
    def is_legal(self) -> bool:
        """True for legal or regulatory passages, which must carry an as-of date."""
        return self.evidence == "regulatory" or self.topic in LEGAL_TOPICS

    @property
    def content_hash(self) -> str:
        """Hash of everything that is embedded or indexed: a change here means re-embedding."""
        return content_hash(self.title, self.text, *self.questions)


@dataclass(frozen=True)
class Corpus:
    """The whole corpus: passages in a stable order and sources by id."""

    passages: tuple[Passage, ...]
    sources: dict[str, Source]
    aliases: dict[str, str] = field(default_factory=dict)  # removed passage id -> kept id (aliases.yaml)
    files_hash: str = field(default="", compare=False)  # `corpus_files_hash` of the folder it was read from

    def by_id(self) -> dict[str, Passage]:
        """Return the passages keyed by id."""
        return {p.id: p for p in self.passages}

    @property
    def corpus_hash(self) -> str:
        """Hash of every passage's content hash and metadata, in order."""
        payload = [[p.id, p.content_hash, p.topic, p.evidence, p.as_of, list(p.sources)] for p in self.passages]
        payload.append(sorted([s.id, s.url, s.title, s.publisher, s.published or ""] for s in self.sources.values()))
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def content_hash(*parts: str) -> str:
    """Return a sha256 hex digest of the given text parts."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def corpus_files(folder: Path) -> list[Path]:
    """The files `load_corpus` reads from `folder`, in a stable order."""
    folder = Path(folder)
    files = [folder / "sources.yaml", folder / "aliases.yaml"]
    files += sorted((folder / "passages").glob("*.yaml")) + sorted((folder / "questions").glob("*.yaml"))
    return [f for f in files if f.is_file()]


def corpus_files_hash(folder: Path) -> str:
    """sha256 of the names and bytes of every corpus file: equal means the same corpus, without parsing
    any YAML (what `Engine.load` checks at start against the index's manifest)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in corpus_files(folder):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(folder).as_posix()}\x1f{len(data)}\x1f".encode())
        digest.update(data)
    return digest.hexdigest()


def _as_date(value) -> str | None:
    """YAML may parse `2026-11-25` as a date; keep every date as its ISO string."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _read_yaml_list(path: Path) -> list:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise CorpusError(f"{path}: expected a YAML list of entries, got {type(data).__name__}")
    return data


def _missing(entry, fields: tuple[str, ...]) -> list[str]:
    return [name for name in fields if name not in entry]


def load_sources(path: Path) -> dict[str, Source]:
    """Read `sources.yaml`; raise `CorpusError` on a malformed or duplicate entry."""
    sources: dict[str, Source] = {}
    for number, entry in enumerate(_read_yaml_list(path), start=1):
        if not isinstance(entry, dict):
            raise CorpusError(f"{path}: entry {number} is not a mapping")
        missing = _missing(entry, SOURCE_FIELDS)
        label = entry.get("id", f"entry {number}")
        if missing:
            raise CorpusError(f"{path}: source {label}: missing field(s) {', '.join(missing)}")
        if label in sources:
            raise CorpusError(f"{path}: source {label}: duplicate id")
        sources[label] = Source(
            id=str(entry["id"]), publisher=str(entry["publisher"]), title=str(entry["title"]),
            url=str(entry["url"]), published=_as_date(entry["published"]), kind=str(entry["kind"]),
        )
    return sources


def _passage_from(entry: dict, path: Path, number: int) -> Passage:
    label = entry.get("id", f"entry {number}")
    if "reviewed" in entry:
        raise CorpusError(f"{path}: passage {label}: `reviewed` is replaced by `checked: {{date: DATE, against: [source ids]}}`")
    missing = _missing(entry, PASSAGE_FIELDS)
    if missing:
        raise CorpusError(f"{path}: passage {label}: missing field(s) {', '.join(missing)}")
    sources = entry["sources"]
    if isinstance(sources, str) or not isinstance(sources, list):
        raise CorpusError(f"{path}: passage {label}: `sources` must be a list of source ids")
    if not isinstance(entry["text"], str) or not isinstance(entry["title"], str):
        raise CorpusError(f"{path}: passage {label}: `title` and `text` must be strings")
    checked = entry["checked"]
    if not isinstance(checked, dict) or "date" not in checked or "against" not in checked:
        raise CorpusError(f"{path}: passage {label}: `checked` must be a mapping with `date` and `against` (source ids)")
    against = checked["against"]
    if isinstance(against, str) or not isinstance(against, list):
        raise CorpusError(f"{path}: passage {label}: `checked.against` must be a list of source ids")
    allowed = entry.get("allowed_figures") or []
    return Passage(
        id=str(entry["id"]), topic=str(entry["topic"]), title=entry["title"].strip(),
        text=" ".join(entry["text"].split()), sources=tuple(str(s) for s in sources),
        evidence=str(entry["evidence"]), as_of=_as_date(entry.get("as_of")),
        reviewed=_as_date(checked["date"]) or "", allowed_figures=tuple(str(a) for a in allowed),
        file=str(path), as_of_kind=(str(entry["as_of_kind"]) if entry.get("as_of_kind") is not None else None),
        checked_against=tuple(str(s) for s in against),
    )


def load_passages(folder: Path) -> list[Passage]:
    """Read every `*.yaml` under `folder`, in file-name order."""
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CorpusError(f"{folder}: no passage files (*.yaml) found")
    passages: list[Passage] = []
    for path in files:
        for number, entry in enumerate(_read_yaml_list(path), start=1):
            if not isinstance(entry, dict):
                raise CorpusError(f"{path}: entry {number} is not a mapping")
            passages.append(_passage_from(entry, path, number))
    return passages


def load_questions(folder: Path) -> dict[str, tuple[str, ...]]:
    """Read `questions/*.yaml` (passage id -> list of questions); a missing folder means none."""
    questions: dict[str, tuple[str, ...]] = {}
    if not folder.is_dir():
        return questions
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        except (yaml.YAMLError, OSError) as exc:
            raise CorpusError(f"{path}: cannot be read as YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise CorpusError(f"{path}: expected a mapping of passage id to a list of questions")
        for pid, items in data.items():
            if not isinstance(items, list) or not all(isinstance(q, str) for q in items):
                raise CorpusError(f"{path}: passage {pid}: questions must be a list of strings")
            if pid in questions:
                raise CorpusError(f"{path}: passage {pid}: questions listed in two files")
            questions[str(pid)] = tuple(" ".join(q.split()) for q in items)
    return questions


def load_aliases(path: Path) -> dict[str, str]:
    """Read `aliases.yaml` (removed passage id -> kept id); a missing file means none."""
    if not path.is_file():
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except (yaml.YAMLError, OSError) as exc:
        raise CorpusError(f"{path}: cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CorpusError(f"{path}: expected a mapping of removed passage id to kept passage id")
    return {str(k): v for k, v in data.items()}


def load_corpus(folder: Path) -> Corpus:
    """Load a corpus folder (structure only; run `bot.validate` for the content rules).

    Args:
        folder: A folder holding `sources.yaml` and `passages/`.

    Returns:
        The corpus, passages in file-name then file order.

    Raises:
        CorpusError: a file is missing, not YAML, or an entry lacks a field.
    """
    folder = Path(folder)
    try:
        files_hash = corpus_files_hash(folder)  # before parsing: a file changed meanwhile makes the index stale
    except OSError:
        files_hash = ""  # the loaders below name the unreadable file
    sources = load_sources(folder / "sources.yaml")
    passages = load_passages(folder / "passages")
    questions = load_questions(folder / "questions")
    unknown = sorted(set(questions) - {p.id for p in passages})
    if unknown:
        raise CorpusError(f"{folder / 'questions'}: questions for unknown passage id(s) {', '.join(unknown[:5])}")
    passages = [replace(p, questions=questions.get(p.id, ())) for p in passages]
    return Corpus(passages=tuple(passages), sources=sources, aliases=load_aliases(folder / "aliases.yaml"),
                  files_hash=files_hash)
