"""What the engine derives from the corpus: computed once, by the index build, and stored in the index.

`EngineData.derive(corpus)` is the one place these are computed; `build_index` calls it, uses it to
prepare the training messages and to train the answerability model, and writes it into the index
(`engine.pkl`); `Engine.load` reads it back and computes none of it:

* the corpus itself (passages in index order, sources, aliases): serving parses no YAML;
* the spelling vocabulary and its delete index (`bot.spelling.SpellFixer`);
* the jurisdictions finder (`bot.jurisdiction.Jurisdictions`) and the places each passage names;
* the token and number coverage of each passage (`bot.answerability.CoverageTable`);
* whether each passage may be shown beside a refusal (the dose regexes of `bot.dosecheck`).

Pickled: the index is this machine's own build output, checksummed in its manifest.
`inputs_hash()` covers the data files these depend on besides the corpus (bot/data/jurisdictions.yaml);
the manifest records it, so editing that file makes the index stale.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from bot.corpus import Corpus, content_hash
from bot.jurisdiction import DATA as JURISDICTIONS
from bot.jurisdiction import Jurisdictions

FILE = "engine.pkl"
VERSION = "engine-data-1"  # bump when what `derive` computes changes


@dataclass
class EngineData:
    """Everything the engine needs that depends on the corpus (see the module docstring)."""

    corpus: Corpus
    spell: object            # bot.spelling.SpellFixer
    places: Jurisdictions
    passage_places: list[set[str]]
    coverage: object         # bot.answerability.CoverageTable
    refusal_safe: list[bool]

    @classmethod
    def derive(cls, corpus: Corpus) -> "EngineData":
        """Compute everything from the corpus (build time only)."""
        from bot.answerability import CoverageTable
        from bot.dosecheck import is_refusal_safe
        from bot.spelling import SpellFixer

        passages = list(corpus.passages)
        places = Jurisdictions()
        return cls(
            corpus=corpus,
            spell=SpellFixer([f"{p.title} {p.text}" for p in passages]),
            places=places,
            passage_places=[places.named_in(f"{p.title} {p.text}") for p in passages],
            coverage=CoverageTable(passages),
            refusal_safe=[is_refusal_safe(p.text, p.allowed_figures) for p in passages],
        )

    def preparer(self, window_size: int, window_overlap: int, context_turns: int):
        """The question-preparation stage over this corpus (the same for training and serving)."""
        from bot.query import QuestionPreparer

        return QuestionPreparer(self.spell, self.places, window_size, window_overlap, context_turns)

    def refusal_rows(self, topics: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
        """Passage rows that may be cited beside a refusal, per reason (its topics from messages.yaml)."""
        passages = self.corpus.passages
        safe = [row for row, ok in enumerate(self.refusal_safe) if ok]
        return {reason: [row for row in safe if passages[row].topic in wanted] for reason, wanted in topics.items()}

    def save(self, folder: Path) -> None:
        """Write `engine.pkl` into an index folder."""
        with open(Path(folder) / FILE, "wb") as handle:
            pickle.dump({"version": VERSION, "data": self}, handle, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, folder: Path) -> "EngineData":
        """Read `engine.pkl` (raises on a missing, corrupt or other-version file)."""
        with open(Path(folder) / FILE, "rb") as handle:
            stored = pickle.load(handle)  # noqa: S301 (our own build output, checksummed in the manifest)
        if not isinstance(stored, dict) or stored.get("version") != VERSION or not isinstance(stored.get("data"), cls):
            raise ValueError(f"{FILE} was written by another version of kratom-qa")
        return stored["data"]


def inputs_hash() -> str:
    """Hash of the data files the engine data depends on besides the corpus."""
    return content_hash(VERSION, JURISDICTIONS.read_text(encoding="utf-8"))
