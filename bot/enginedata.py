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
`inputs_hash()` covers what these depend on besides the corpus (bot/data/jurisdictions.yaml, and the
source of the modules that decide what the trained models read, `FEATURE_CODE`);
the manifest records it and `VERSION`, so editing that file, or changing what is derived, makes the
index stale (a new `VERSION` alone does not retrain the models).
"""

from __future__ import annotations

import gc
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from bot.corpus import Corpus, content_hash
from bot.jurisdiction import DATA as JURISDICTIONS
from bot.jurisdiction import Jurisdictions

FILE = "engine.pkl"
VERSION = "engine-data-3"  # bump when what `derive` computes changes


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
        from bot.spelling import SpellFixer, english_words

        passages = list(corpus.passages)
        places = Jurisdictions()
        coverage = CoverageTable(passages)
        shared: dict[str, str] = {}  # one string object per distinct token: stored once in the pickle, read 2.5x faster
        coverage.tokens = [{shared.setdefault(t, t) for t in tokens} for tokens in coverage.tokens]
        coverage.numbers = [{shared.setdefault(t, t) for t in numbers} for numbers in coverage.numbers]
        return cls(
            corpus=corpus,
            spell=SpellFixer([f"{p.title} {p.text}" for p in passages], keep_words=english_words()),
            places=places,
            passage_places=[places.named_in(f"{p.title} {p.text}") for p in passages],
            coverage=coverage,
            refusal_safe=[is_refusal_safe(p.text, p.allowed_figures) for p in passages],
        )

    def preparer(self, window_size: int, window_overlap: int, context_turns: int):
        """The question-preparation stage over this corpus (the same for training and serving)."""
        from bot.query import QuestionPreparer

        return QuestionPreparer(self.spell, self.places, window_size, window_overlap, context_turns)

    def refusal_rows(self, topics: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
        """Passage rows that may be cited beside a refusal, per reason (its topics from messages.yaml)."""
        import numpy as np

        names = sorted({p.topic for p in self.corpus.passages})
        code = {name: number for number, name in enumerate(names)}
        topic = np.fromiter((code[p.topic] for p in self.corpus.passages), dtype=np.int32, count=len(self.refusal_safe))
        safe = np.asarray(self.refusal_safe, dtype=bool)
        return {reason: np.flatnonzero(safe & np.isin(topic, [code[t] for t in wanted if t in code])).tolist()
                for reason, wanted in topics.items()}

    def save(self, folder: Path) -> None:
        """Write `engine.pkl` into an index folder."""
        with open(Path(folder) / FILE, "wb") as handle:
            pickle.dump({"version": VERSION, "data": self}, handle, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, folder: Path) -> "EngineData":
        """Read `engine.pkl` (raises on a missing, corrupt or other-version file)."""
        # Millions of small objects at 100k passages: with the cyclic GC on, it ran over them again and again
        # while they were read (3.5 s -> 1.0 s without it). They live as long as the engine, so they are then
        # frozen (gc.freeze: moved out of the collected generations, still freed by reference counting), or
        # the first collection after loading, and every full one while serving, would walk them all (~0.5 s).
        enabled = gc.isenabled()
        gc.disable()
        try:
            with open(Path(folder) / FILE, "rb") as handle:
                stored = pickle.load(handle)  # noqa: S301 (our own build output, checksummed in the manifest)
            gc.freeze()
        finally:
            if enabled:
                gc.enable()
        if not isinstance(stored, dict) or stored.get("version") != VERSION or not isinstance(stored.get("data"), cls):
            raise ValueError(f"{FILE} was written by another version of kratom-qa")
        return stored["data"]


# The modules that decide what the trained models read (how a message is cleaned, decoded, detected,
# split and turned into features). A change to any of them retrains the models and makes an index built
# before it stale: a model trained on one reading of the messages and served with another is wrong in
# ways no test of either alone shows.
FEATURE_CODE = ("bot/normalize.py", "bot/spelling.py", "bot/deobfuscate.py", "bot/language.py", "bot/query.py",
                "bot/answerability.py", "bot/jurisdiction.py", "bot/policy/model.py", "bot/policy/floor.py",
                "bot/policy/training.py", "bot/policy/bank.py")


def feature_code_hash() -> str:
    """Hash of the source of `FEATURE_CODE`."""
    root = Path(__file__).resolve().parent.parent
    return content_hash("\n".join((root / name).read_text(encoding="utf-8") for name in FEATURE_CODE))


def inputs_hash() -> str:
    """Hash of what the engine data and the trained models depend on besides the corpus and the policy
    data: bot/data/jurisdictions.yaml and the feature code (`FEATURE_CODE`)."""
    return content_hash(JURISDICTIONS.read_text(encoding="utf-8") + "\n" + feature_code_hash())
