"""Build, save and load the search index (`index/`), incrementally and safely.

What is embedded: each passage (title + text), each question a passage answers (corpus/questions/),
each sentence of each passage (for highlights), and the policy's training messages, on which the
policy model is trained here (bot/policy/training.py) and stored. Vectors are cached by the sha256 of the exact text embedded, so a
rebuild re-embeds only what changed. A build writes to a temporary folder and swaps it in only when
complete: a failed build never overwrites the last good index. Loading checks the manifest against
the corpus, the policy data and the model: a stale or corrupt index is never served silently.

The build is the only place anything is derived from the corpus: the engine data (bot/enginedata.py:
the corpus itself, spelling vocabulary, places, coverage, refusal-safe passages) and the trained
models are stored here, and loading reads them (no YAML parsed, no scikit-learn imported: the
answerability trees are stored as arrays, bot/trees.py). A rebuild whose corpus content, policy data
and model are unchanged reuses the trained models instead of training them again.

Vectors: the manifest records the encoder that built the index (`model`) and the vector space it
belongs to (`vectors`: the weights). Any encoder of the same weights may serve it (the onnxruntime
export of the torch model: bot/embed.py); loading with another encoder than the build's checks
that it reproduces a stored passage vector (cosine >= `PROBE_COSINE`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import faiss  # imported before torch (see bot.embed)
import numpy as np

import bm25s

from bot.corpus import Corpus, CorpusError, Passage, content_hash, corpus_files_hash
from bot.embed import Embedder, encoder_kind, vector_space
from bot.enginedata import FILE as ENGINE_FILE
from bot.enginedata import VERSION as ENGINE_DATA_VERSION
from bot.enginedata import EngineData, inputs_hash
from bot.normalize import split_sentences, tokenize
from bot.answerability import FEATURE_NAMES, N_BASE, question_features
from bot.paths import PROJECT_ROOT
from bot.policy.model import PolicyModel
from bot.trees import FILE as TREES_FILE
from bot.trees import Answerability

ANSWERABILITY_DATA = PROJECT_ROOT / "data" / "answerability" / "train.jsonl"
# Share of answerable training questions the answerability threshold may abstain on (5-fold CV).
ANSWERABLE_LOST = 0.03

# 5: engine data (engine.pkl), answerability trees as arrays (no pickle of scikit-learn), corpus files hash,
# the vector space beside the build encoder.
FORMAT_VERSION = 5
HNSW_THRESHOLD = 50_000  # flat exact search below this many passages, HNSW above
PROBE_COSINE = 0.9999  # another encoder than the build's must reproduce a stored vector this closely
_FILES = ("manifest.json", "passages.faiss", "questions.npy", "sentences.npy", "sentences.json", "policy_model.npz",
          TREES_FILE, ENGINE_FILE, "cache.npz")


class StaleIndexError(Exception):
    """The index is missing, stale or corrupt; the message says what to run."""


@dataclass
class SearchIndex:
    """Everything retrieval and the policy need, loaded in memory."""

    passage_ids: list[str]
    dense: faiss.Index
    bm25: bm25s.BM25
    sentence_vectors: np.ndarray          # (n_sentences, dim)
    sentence_owner: np.ndarray            # passage row of each sentence
    sentences: list[str]
    question_vectors: np.ndarray          # (n_questions, dim): the questions each passage answers
    question_owner: np.ndarray            # passage row of each question
    policy_model: "PolicyModel"
    answerability: "Answerability | None"
    manifest: dict
    data: "EngineData | None" = None     # what the engine derives from the corpus (stored by the build)
    # sentence row -> (its tokens, whether it is a closing caveat): filled on first use (bot/retrieve.py)
    sentence_facts: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._passage_vectors = stored_vectors(self.dense)

    def passage_vector(self, row: int) -> np.ndarray:
        """Return the stored vector of passage `row` (a read-only view into the dense index)."""
        return self._passage_vectors[int(row)]


def stored_vectors(dense: faiss.Index) -> np.ndarray:
    """A read-only (ntotal, d) view of the vectors a flat or HNSW-flat index stores, without copying
    (`reconstruct` copied one row per call through SWIG: ~3 us, about 50 times per answered question).
    The view lives as long as the index and stays valid while nothing is added to it (serving adds nothing)."""
    flat = faiss.downcast_index(dense)
    if isinstance(flat, faiss.IndexHNSW):
        flat = faiss.downcast_index(flat.storage)
    if not isinstance(flat, faiss.IndexFlat):
        raise TypeError(f"expected a flat or HNSW-flat index, got {type(flat).__name__}")
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    view.setflags(write=False)
    return view


def check_source_ids(corpus: Corpus) -> None:
    """Raise `CorpusError` (file and passage named) when a passage cites an unknown source.

    `load_corpus` leaves this to `kratom-qa validate`, but the engine cannot cite such a passage
    (it would fail with a KeyError at question time), so no index is built from it.
    """
    for passage in corpus.passages:
        unknown = [sid for sid in passage.sources if sid not in corpus.sources]
        if unknown:
            raise CorpusError(f"{passage.file}: passage {passage.id}: unknown source id(s) {', '.join(unknown)} "
                              "(not in sources.yaml; run `kratom-qa validate`)")


def passage_document(passage: Passage) -> str:
    """The text embedded for a passage (its questions are embedded one by one)."""
    return f"{passage.title}. {passage.text}"


def lexical_document(passage: Passage) -> str:
    """The text BM25 indexes for a passage: title, text and the questions it answers."""
    return " ".join([passage.title, passage.text, *passage.questions])


def _embed_with_cache(texts: Sequence[str], embedder: Embedder, cache: dict[str, np.ndarray],
                      progress: bool) -> tuple[np.ndarray, int]:
    """Embed texts, reusing cached vectors; return (vectors, number newly embedded)."""
    keys = [content_hash(embedder.name, t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    if todo:
        fresh = embedder.encode([t for _, t in todo], progress=progress)
        for (key, _), vector in zip(todo, fresh):
            cache[key] = vector.astype(np.float32)
    vectors = np.stack([cache[k] for k in keys]) if keys else np.zeros((0, embedder.dim), np.float32)
    return vectors.astype(np.float32), len(todo)


def cached_embedder(embedder: Embedder, folder: Path) -> Callable[[Sequence[str]], np.ndarray]:
    """A function that embeds texts with `embedder`, reusing the vectors in the index's cache at
    `folder` (for cross-validation, which retrains the policy many times on the same texts)."""
    cache = _load_cache(folder, embedder.dim)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return _embed_with_cache(texts, embedder, cache, False)[0]
    return embed


def _load_cache(folder: Path, dim: int) -> dict[str, np.ndarray]:
    path = folder / "cache.npz"
    try:
        with np.load(path) as data:
            keys, vectors = list(data["keys"]), data["vectors"]
        if vectors.ndim == 2 and vectors.shape[1] == dim:
            return {str(k): v for k, v in zip(keys, vectors)}
    except Exception:  # noqa: BLE001  (an unreadable cache is no cache: BadZipFile, EOFError, ...)
        pass
    return {}


def _checksum(path: Path) -> str:
    """CRC-32 of a file (detects corruption of the index files; fast enough to check at every load)."""
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def _checksums(folder: Path) -> dict[str, str]:
    """Checksums of every index file in `folder` except the manifest and the embedding cache."""
    return {p.relative_to(folder).as_posix(): _checksum(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("manifest.json", "cache.npz")}


def _dense_index(vectors: np.ndarray) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) >= HNSW_THRESHOLD:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


@dataclass
class BuildReport:
    """What a build did."""

    passages: int
    embedded: int
    reused: int
    seconds: float
    folder: Path
    trained: bool = True  # False: the models of the previous build were reused (nothing they learn from changed)


def _sentences_of(passages: Sequence[Passage]) -> tuple[list[str], list[int]]:
    sentences, owners = [], []
    for row, passage in enumerate(passages):
        for sentence in split_sentences(passage.text):
            sentences.append(sentence)
            owners.append(row)
    return sentences, owners


def _questions_of(passages: Sequence[Passage]) -> tuple[list[str], list[int]]:
    questions, owners = [], []
    for row, passage in enumerate(passages):
        for question in passage.questions:
            questions.append(question)
            owners.append(row)
    return questions, owners


def _held_out_question_features(index: "SearchIndex", passages: Sequence[Passage], preparer, embed, featurize,
                                folds: int = 5) -> list[np.ndarray]:
    """Features of each per-passage question, computed against an index that does not hold it.

    The questions are split into `folds` by a hash of their text; for each fold the dense question
    vectors and the BM25 documents of that fold's questions are left out, so a question cannot find
    itself. These are answerable questions in users' words (short, slangy), which the answerability
    writer's fact-seeking questions under-represent.
    """
    import copy

    from bot.retrieve import Retriever

    owners = index.question_owner
    texts = [q for p in passages for q in p.questions]  # the order of index.question_vectors
    fold_of = np.array([int(content_hash(q)[:8], 16) % folds for q in texts])
    rows = []
    for fold in range(folds):
        keep = fold_of != fold
        view = copy.copy(index)
        view.question_vectors, view.question_owner = index.question_vectors[keep], owners[keep]
        kept: list[list[str]] = [[] for _ in passages]
        for text, owner, kept_here in zip(texts, owners, keep):
            if kept_here:
                kept[owner].append(text)
        bm25 = bm25s.BM25()
        bm25.index([tokenize(" ".join([p.title, p.text, *kept[row]])) for row, p in enumerate(passages)],
                   show_progress=False)
        view.bm25 = bm25
        retriever = Retriever(view)
        held = [q for q, k in zip(texts, keep) if not k]
        prepared = [preparer.prepare(q) for q in held]
        vectors = embed([p.search_text for p in prepared])
        rows += [featurize(retriever, p, v) for p, v in zip(prepared, vectors)]
    return rows


def train_answerability(index: "SearchIndex", data: EngineData, preparer, embed,
                        items: Sequence[dict] | None = None) -> Answerability:
    """Train the answerability model against `index`: on data/answerability/train.jsonl (or `items`)
    and on the per-passage questions, each held out of the index it is scored against. Returns its
    trees as arrays (what serving reads) and the cross-validated threshold."""
    from bot.answerability import train as train_answer_model
    from bot.retrieve import Retriever

    if items is None:
        path = ANSWERABILITY_DATA
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    passages = list(data.corpus.passages)

    def featurize(retriever, prepared, vector):  # base features, then the search vector
        return np.concatenate([question_features(retriever, data.coverage, data.passage_places, data.places,
                                                 prepared, vector)[0], vector])
    prepared = [preparer.prepare(item["q"]) for item in items]
    vectors = embed([p.search_text for p in prepared])
    retriever = Retriever(index)
    x = [featurize(retriever, p, v) for p, v in zip(prepared, vectors)]
    y = [bool(item.get("relevant")) for item in items]
    held = _held_out_question_features(index, passages, preparer, embed, featurize) if len(index.question_owner) else []
    rows = np.stack(x + held)
    model = train_answer_model(rows[:, :N_BASE], rows[:, N_BASE:], y + [True] * len(held), max_lost=ANSWERABLE_LOST)
    return Answerability.from_model(model)


def _reusable_models(folder: Path, corpus: Corpus, embedder: Embedder, policy_hash: str):
    """The policy and answerability models of the index in `folder` when they were trained on exactly
    what this build would train them on (same corpus content, policy data, engine inputs and build
    encoder) and their files are intact; None otherwise."""
    try:
        manifest = read_manifest(folder)
        if (manifest.get("model"), manifest.get("dim"), manifest.get("corpus_hash"), manifest.get("policy_hash"),
                manifest.get("engine_inputs")) != (embedder.name, embedder.dim, corpus.corpus_hash, policy_hash,
                                                    inputs_hash()):
            return None
        for name in ("policy_model.npz", TREES_FILE):
            if _checksum(folder / name) != manifest["checksums"][name]:
                return None
        policy_model = PolicyModel.load(folder)
        if policy_model.data_hash != policy_hash:
            return None
        return policy_model, Answerability.load(folder / TREES_FILE, float(manifest["answerability_threshold"]))
    except Exception:  # noqa: BLE001 (anything unreadable: train again)
        return None


def build_index(corpus: Corpus, embedder: Embedder, folder: Path, progress: bool = True,
                train_items: Sequence | None = None, answerable_items: Sequence[dict] | None = None) -> BuildReport:
    """Build the index for `corpus` into `folder`, re-embedding only changed text.

    Args:
        corpus: The validated corpus.
        embedder: The embedding model.
        folder: Where the index lives; replaced only when the new build is complete.
        progress: Show a progress bar while embedding.
        train_items: The policy's training messages (default: the bank's training writers).
        answerable_items: Answerability training questions (default: data/answerability/train.jsonl).

    Returns:
        A report of what was embedded and reused.
    """
    from bot.policy.bank import load_split
    from bot.policy.config import default_config
    from bot.policy.training import source_hash, train_policy

    started = time.perf_counter()
    check_source_ids(corpus)
    folder = Path(folder)
    cache = _load_cache(folder, embedder.dim)
    config = default_config()
    passages = list(corpus.passages)
    data = EngineData.derive(corpus)  # the one place the engine's corpus-derived data is computed
    documents = [passage_document(p) for p in passages]
    questions, question_owner = _questions_of(passages)
    sentences, owners = _sentences_of(passages)
    all_texts = documents + questions + sentences
    vectors, embedded = _embed_with_cache(all_texts, embedder, cache, progress)
    n_docs, n_q = len(documents), len(questions)
    doc_vectors, question_vectors = vectors[:n_docs], vectors[n_docs:n_docs + n_q]
    sent_vectors = vectors[n_docs + n_q:]
    used = {content_hash(embedder.name, text) for text in all_texts}

    def embed(texts: list[str]) -> np.ndarray:
        nonlocal embedded
        found, fresh = _embed_with_cache(texts, embedder, cache, progress)
        embedded += fresh
        used.update(content_hash(embedder.name, text) for text in texts)
        return found

    settings = config.settings
    preparer = data.preparer(settings.windows.size, settings.windows.overlap, settings.context_turns)
    custom = train_items is not None or answerable_items is not None
    reused = None if custom else _reusable_models(folder, corpus, embedder, source_hash())
    if reused:
        items = None
        policy_model, answerability = reused
        used.update(cache)  # keep the training messages' vectors (not looked up this time) for the next training
    else:
        items = list(train_items) if train_items is not None else load_split("train")
        policy_model = train_policy(items, preparer, embed, config, embedder.dim)
    dense = _dense_index(doc_vectors)
    bm25 = bm25s.BM25()
    bm25.index([tokenize(lexical_document(p)) for p in passages], show_progress=False)
    index = SearchIndex([p.id for p in passages], dense, bm25, sent_vectors, np.asarray(owners, dtype=np.int64),
                        sentences, question_vectors, np.asarray(question_owner, dtype=np.int64), policy_model,
                        None, {}, data)
    if not reused:
        answerability = train_answerability(index, data, preparer, embed, answerable_items)

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-build-", dir=folder.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it owner-only: another user (a container's) must read it
        faiss.write_index(dense, str(staging / "passages.faiss"))
        np.save(staging / "questions.npy", question_vectors)
        np.save(staging / "sentences.npy", sent_vectors)
        (staging / "sentences.json").write_text(json.dumps(
            {"owners": owners, "sentences": sentences, "question_owners": question_owner}))
        policy_model.save(staging)
        answerability.save(staging / TREES_FILE)
        data.save(staging)
        bm25.save(str(staging / "bm25"), show_progress=False)
        keys = sorted(used)
        np.savez(staging / "cache.npz", keys=np.array(keys), vectors=np.stack([cache[k] for k in keys]))
        from bot.embed import encoder_choice

        previous = read_manifest(folder) if reused else {}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": embedder.name,               # the encoder that built the index (and its cache keys)
            "vectors": vector_space(embedder),     # the weights: any encoder of them may serve the index
            "dim": embedder.dim,
            "build_encoder": encoder_kind(embedder),
            "serve_encoder": encoder_choice(),     # the configured serving encoder when this was built
            "built_at": now,
            "corpus_hash": corpus.corpus_hash,
            "corpus_files_hash": corpus.files_hash or None,
            "engine_inputs": inputs_hash(),
            "engine_data_version": ENGINE_DATA_VERSION,
            "policy_hash": policy_model.data_hash if not custom else "custom",
            "models_trained_at": previous.get("models_trained_at", now) if reused else now,
            "answerability_threshold": answerability.threshold,
            "passage_ids": [p.id for p in passages],
            "passage_hashes": {p.id: p.content_hash for p in passages},
            "n_sentences": len(sentences),
            "n_questions": n_q,
            "n_training_messages": previous.get("n_training_messages") if reused else len(items),
            "dense_index": "hnsw" if n_docs >= HNSW_THRESHOLD else "flat",
            "checksums": _checksums(staging),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildReport(len(passages), embedded, len(used) - embedded,
                       time.perf_counter() - started, folder, trained=not reused)


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace `folder` by `staging` with two renames; the old index is removed last."""
    previous = folder.with_name(f".{folder.name}-previous-{os.getpid()}")
    if folder.exists():
        os.replace(folder, previous)
    os.replace(staging, folder)
    shutil.rmtree(previous, ignore_errors=True)


def _fail(folder: Path, reason: str) -> StaleIndexError:
    return StaleIndexError(f"The index in {folder} {reason}. Run `kratom-qa build` to rebuild it.")


def read_manifest(folder: Path) -> dict:
    """Return the manifest of the index in `folder`; raise `StaleIndexError` if missing or corrupt."""
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise _fail(folder, "is missing (no manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(folder, f"has a corrupt manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise _fail(folder, "was written by another version of kratom-qa")
    return manifest


def check_manifest(manifest: dict, folder: Path, corpus: Corpus | None, embedder: Embedder,
                   policy_hash: str | None) -> None:
    """Raise `StaleIndexError` when the index does not match the corpus, the model or the policy data
    (`corpus` None: not checked here; `policy_hash` None: do not check the policy data, for indexes
    built on custom training data)."""
    built_vectors = manifest.get("vectors") or manifest.get("model")
    if built_vectors != vector_space(embedder) or manifest.get("dim") != embedder.dim:
        raise _fail(folder, f"was built with another model ({manifest.get('model')}, dim {manifest.get('dim')})")
    if corpus is not None and manifest.get("corpus_hash") != corpus.corpus_hash:
        changed = [p.id for p in corpus.passages if manifest.get("passage_hashes", {}).get(p.id) != p.content_hash]
        detail = f"; changed or new passages: {', '.join(changed[:5])}" if changed else ""
        raise _fail(folder, f"is older than the corpus{detail}")
    if policy_hash is not None and manifest.get("policy_hash") != policy_hash:
        raise _fail(folder, "is older than the policy data (data/policy/train/ or bot/policy/data/)")
    if manifest.get("engine_inputs") != inputs_hash():
        raise _fail(folder, "is older than bot/data/jurisdictions.yaml or the code that reads messages "
                            "(bot/enginedata.py FEATURE_CODE)")
    if manifest.get("engine_data_version") != ENGINE_DATA_VERSION:
        raise _fail(folder, "holds engine data of another version of kratom-qa (bot/enginedata.py)")


def _check_corpus_files(manifest: dict, folder: Path, corpus_dir: Path) -> None:
    """Check the corpus folder against the index without parsing it when its files are unchanged.

    Files unchanged (same names and bytes as the build read): current. Otherwise the corpus is parsed
    (a malformed one raises `CorpusError`) to say which passages changed; the index is stale either
    way, since it holds the corpus the engine serves (a rebuild whose passage content is unchanged
    only re-derives the engine data: nothing is embedded or trained again).
    """
    from bot.corpus import load_corpus

    if manifest.get("corpus_files_hash") and corpus_files_hash(corpus_dir) == manifest["corpus_files_hash"]:
        return
    corpus = load_corpus(corpus_dir)
    check_manifest(manifest, folder, corpus, _Vectors(manifest), None)
    raise _fail(folder, f"was built from other corpus files than those in {corpus_dir} (no passage text changed)")


class _Vectors:
    """Stands for the index's own encoder where only the corpus is being checked."""

    def __init__(self, manifest: dict) -> None:
        self.name, self.vector_space, self.dim = manifest.get("model"), manifest.get("vectors"), manifest.get("dim")


def load_index(folder: Path, corpus: Corpus | Path | str, embedder: Embedder, policy_hash: str | None = None) -> SearchIndex:
    """Load and verify the index in `folder`.

    Args:
        folder: The index folder.
        corpus: The corpus it must match: a loaded `Corpus`, or a corpus folder (checked by the hash of
            its files, without parsing them when they are unchanged: the index holds the corpus).
        embedder: The encoder that will embed questions: the one the index was built with, or another
            encoder of the same weights (checked against a stored vector).
        policy_hash: Hash of the policy data it must match (None: not checked).

    Returns:
        The loaded index, with the engine data (`index.data`) and the corpus it was built from.

    Raises:
        StaleIndexError: missing, stale (corpus, model or policy data changed) or corrupt files.
        CorpusError: `corpus` is a folder whose files changed and cannot be read.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    loaded_corpus = corpus if isinstance(corpus, Corpus) else None
    check_manifest(manifest, folder, loaded_corpus, embedder, policy_hash)
    if loaded_corpus is None:
        _check_corpus_files(manifest, folder, Path(corpus))
    _verify_checksums(folder, manifest)
    try:
        dense = faiss.read_index(str(folder / "passages.faiss"))
        # Memory-mapped: read on use (a few rows per question), not copied at start (400 MB at 100k passages).
        sentence_vectors = np.load(folder / "sentences.npy", mmap_mode="r")
        meta = _read_json(folder / "sentences.json")
        question_vectors = np.load(folder / "questions.npy")
        policy_model = _serving_layout(PolicyModel.load(folder))
        answerability = Answerability.load(folder / TREES_FILE, float(manifest["answerability_threshold"]))
        data = EngineData.load(folder)
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    except Exception as exc:  # any unreadable or truncated file
        raise _fail(folder, f"has a missing or corrupt file ({type(exc).__name__}: {exc})") from exc
    ids = manifest["passage_ids"]
    consistent = (
        dense.ntotal == len(ids) == len(data.corpus.passages) and dense.d == embedder.dim
        and [p.id for p in data.corpus.passages] == ids
        and sentence_vectors.shape == (manifest["n_sentences"], embedder.dim)
        and len(meta.get("sentences", [])) == len(meta.get("owners", [])) == manifest["n_sentences"]
        and question_vectors.shape == (manifest["n_questions"], embedder.dim)
        and len(meta.get("question_owners", [])) == manifest["n_questions"]
        and bm25.scores["num_docs"] == len(ids)
        and answerability.trees.n_features == len(FEATURE_NAMES) and answerability.examples.shape[1] == embedder.dim
    )
    if not consistent:
        raise _fail(folder, "has files that do not match each other or the manifest")
    if loaded_corpus is not None and (loaded_corpus.passages != data.corpus.passages
                                      or loaded_corpus.sources != data.corpus.sources):
        raise _fail(folder, "was built from another version of the corpus (passage or source details changed)")
    index = SearchIndex(
        passage_ids=ids, dense=dense, bm25=bm25,
        sentence_vectors=sentence_vectors.astype(np.float32, copy=False),
        sentence_owner=np.asarray(meta["owners"], dtype=np.int64), sentences=list(meta["sentences"]),
        question_vectors=question_vectors.astype(np.float32, copy=False),
        question_owner=np.asarray(meta["question_owners"], dtype=np.int64), policy_model=policy_model,
        answerability=answerability,
        manifest=manifest,
        data=data,
    )
    if embedder.name != manifest.get("model"):
        _check_probe(index, embedder, folder)
    return index


def _serving_layout(model: PolicyModel) -> PolicyModel:
    """Keep the policy coefficients as float64 in Fortran order, so that `features @ coef.T` (a CSR row times
    a C-contiguous float64 matrix) uses them as they are: stored as float32 (4 x 2**18), they were upcast
    and copied (8 MB) at every question. The same values, so the same probabilities, bit for bit."""
    model.label_coef = np.asfortranarray(model.label_coef, dtype=np.float64)
    model.reason_coef = np.asfortranarray(model.reason_coef, dtype=np.float64)
    return model


def _verify_checksums(folder: Path, manifest: dict) -> None:
    """Check every file against the manifest's CRC-32 before anything is read from it; two files at a time
    (reading and zlib.crc32 release the GIL: at 100k passages the index is ~1 GB)."""
    from concurrent.futures import ThreadPoolExecutor

    expected = manifest.get("checksums") or {}

    def check(name: str) -> str | None:
        try:
            actual = _checksum(folder / name)
        except OSError as exc:
            return f"has a missing or corrupt file ({name}: {exc.strerror or exc})"
        return None if actual == expected[name] else f"has a corrupt file ({name} does not match its checksum)"
    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [problem for problem in pool.map(check, sorted(expected)) if problem]
    if problems:
        raise _fail(folder, problems[0])


def _read_json(path: Path):
    """JSON from a file (orjson when installed: 3-4 times faster on the sentences of 100k passages)."""
    try:
        import orjson
    except ImportError:
        return json.loads(path.read_text())
    return orjson.loads(path.read_bytes())


def _check_probe(index: SearchIndex, embedder: Embedder, folder: Path) -> None:
    """Another encoder than the build's (same weights) must reproduce the first passage's stored vector."""
    if index.dense.ntotal == 0:
        return
    stored = index.passage_vector(0)
    fresh = embedder.encode([passage_document(index.data.corpus.passages[0])])[0]
    cosine = float(np.dot(stored, fresh) / max(float(np.linalg.norm(stored) * np.linalg.norm(fresh)), 1e-12))
    if cosine < PROBE_COSINE:
        raise _fail(folder, f"was built with {index.manifest.get('model')}, and {embedder.name} does not reproduce "
                            f"its vectors (cosine {cosine:.6f} < {PROBE_COSINE})")
