"""Scale: a synthetic corpus of 100,000 passages (generated here, in a temp folder, never kept).

    .venv/bin/python -m bench.run scale    # BENCH_SCALE_DIR=folder keeps the synthetic corpus and index

How the corpus is made: the 157 real passages plus synthetic ones. A synthetic passage is 2-4 real
corpus sentences (60% from one "base" passage, the rest from random passages), titled after its
base passage with a number; it takes the base's topic, sources and evidence. Its vector is not
embedded (100k passages at ~55/s would take half an hour): it is the normalised mean of the real
embeddings of its sentences plus Gaussian noise (norm 0.4, i.e. cosine ~0.93 to that mean), so
vectors cluster around real ones. Sentences and the real passages' questions keep their real
embeddings, and the policy's training messages their vectors from the project index's embedding cache
(so the build trains the policy model as usual without re-embedding the bank); questions asked are
embedded by the real model. The index is built by `bot.index.build_index` (so the HNSW switch at
>= 50,000 passages and BM25 are the real ones) through a look-up embedder that returns these vectors.

The synthetic corpus is written as a corpus folder (YAML, as `kratom-qa build` reads it) and loaded
with `load_corpus`, so the index records its files' hash and `Engine.load` serves it as it serves the
real one. Measured: build time, start-up (`Engine.load` in a fresh process, wall time, against the real
corpus's, alternating), answer median vs the real corpus (same questions, interleaved), recall@10 of
HNSW vs exact flat search on the same vectors, dense and BM25 query times, the cost of parsing 100k
passages of YAML (build time only now), and a cProfile of `ask` at 100k.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import faiss
import numpy as np
import yaml

from bench.common import machine_line, median_ms, pct_ms, questions, rss_mib


def _say(message: str) -> None:
    import sys
    print(f"  scale: {message}", file=sys.stderr, flush=True)

NOISE = 0.4


class LookupEmbedder:
    """Returns prepared vectors for known texts (by text, or by the index cache's content hash);
    anything else goes to the real model (counted)."""

    kind = "lookup"

    def __init__(self, real, table: dict[str, np.ndarray], cache: dict[str, np.ndarray] | None = None) -> None:
        from bot.embed import MODEL_NAME

        self.real, self.table, self.cache = real, table, cache or {}
        # Named as the build encoder (torch), whose vectors the cache holds; misses go to the served encoder
        # (onnx: the same vectors, checked by bench/check_encoders.py).
        self.name = self.vector_space = MODEL_NAME
        self.dim = real.dim
        self.misses = 0

    def _known(self, text: str) -> np.ndarray | None:
        from bot.corpus import content_hash

        found = self.table.get(text)
        return found if found is not None else self.cache.get(content_hash(self.name, text))

    def encode(self, texts, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = []
        for i, t in enumerate(texts):
            vector = self._known(t)
            if vector is None:
                missing.append(i)
            else:
                out[i] = vector
        if missing:
            self.misses += len(missing)
            out[missing] = self.real.encode([texts[i] for i in missing])
        return out


def synthetic_corpus(engine, n_total: int, seed: int = 7):
    """Return (corpus, vector table) of `n_total` passages: the real ones plus synthetic ones."""
    from bot.corpus import Corpus, Passage
    from bot.index import passage_document

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    index = engine.index
    real = list(engine.passages)
    sentences_of = defaultdict(list)
    for s, (text, owner) in enumerate(zip(index.sentences, index.sentence_owner)):
        sentences_of[int(owner)].append(s)
    table: dict[str, np.ndarray] = {}
    for row, passage in enumerate(real):
        table[passage_document(passage)] = index.passage_vector(row)
    for text, vector in zip(index.sentences, index.sentence_vectors):
        table[text] = vector
    questions = [q for passage in real for q in passage.questions]  # the order `build_index` stores them in
    for text, vector in zip(questions, index.question_vectors):
        table[text] = vector

    passages = list(real)
    for i in range(n_total - len(real)):
        base = rng.randrange(len(real))
        picked = []
        for _ in range(rng.randint(2, 4)):
            owner = base if rng.random() < 0.6 else rng.randrange(len(real))
            picked.append(rng.choice(sentences_of[owner]))
        picked = list(dict.fromkeys(picked))
        b = real[base]
        passage = Passage(
            id=f"synthetic-{i:06d}", topic=b.topic, title=f"{b.title} (synthetic {i})",
            text=" ".join(index.sentences[s] for s in picked), sources=b.sources, evidence=b.evidence,
            as_of=b.as_of, reviewed=b.reviewed, allowed_figures=b.allowed_figures, file=b.file,
        )
        mean = index.sentence_vectors[picked].mean(axis=0)
        mean /= np.linalg.norm(mean)
        noisy = mean + nrng.normal(0.0, NOISE / np.sqrt(len(mean)), len(mean)).astype(np.float32)
        table[passage_document(passage)] = (noisy / np.linalg.norm(noisy)).astype(np.float32)
        passages.append(passage)
    return Corpus(passages=tuple(passages), sources=dict(engine.corpus.sources)), table


def write_corpus_folder(corpus, folder: Path) -> None:
    """Write the corpus as a corpus folder: sources.yaml, passages/<topic>.yaml, questions/<topic>.yaml."""
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "passages").mkdir(parents=True)
    (folder / "questions").mkdir(parents=True)
    by_topic, questions_by_topic = defaultdict(list), defaultdict(dict)
    for p in corpus.passages:
        by_topic[p.topic].append({
            "id": p.id, "topic": p.topic, "title": p.title, "text": p.text, "sources": list(p.sources),
            "evidence": p.evidence, "as_of": p.as_of, "as_of_kind": p.as_of_kind,
            "allowed_figures": list(p.allowed_figures),
            "checked": {"date": p.reviewed, "against": list(p.checked_against or p.sources)}})
        if p.questions:
            questions_by_topic[p.topic][p.id] = list(p.questions)
    for topic, entries in by_topic.items():
        (folder / "passages" / f"{topic}.yaml").write_text(
            yaml.dump(entries, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=100))
    for topic, entries in questions_by_topic.items():
        (folder / "questions" / f"{topic}.yaml").write_text(
            yaml.dump(entries, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=100))
    sources = [{"id": s.id, "publisher": s.publisher, "title": s.title, "url": s.url,
                "published": s.published, "kind": s.kind} for s in corpus.sources.values()]
    (folder / "sources.yaml").write_text(yaml.dump(sources, Dumper=yaml.CSafeDumper, sort_keys=False))


STARTUP = """
import json, sys, time
t0 = time.perf_counter()
from bot.answer import Engine
engine = Engine.load(corpus_dir=sys.argv[1], index_dir=sys.argv[2], auto_build=False)
t1 = time.perf_counter()
engine.ask("Is kratom legal in Ohio?")
print(json.dumps({"load": t1 - t0, "first_ask": time.perf_counter() - t1, "passages": len(engine.passages)}))
"""


def startup_seconds(corpus_dir: Path, index_dir: Path) -> dict:
    """Wall time of a fresh process: spawn, imports, `Engine.load` (no build), one answer."""
    import subprocess
    import sys

    from bench.common import PROJECT
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", STARTUP, str(corpus_dir), str(index_dir)], cwd=PROJECT,
                          capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {**out, "wall": wall}


def run(n_passages: int = 100_000, n_questions: int = 300, seed: int = 7) -> str:
    from bot.answer import Engine
    from bot import paths
    from bot.corpus import load_corpus
    from bot.index import HNSW_THRESHOLD, _load_cache, build_index
    from bot.retrieve import Retriever

    from bot.preload import limit_blas_threads

    limit_blas_threads()  # as the web app serves (bot/preload.py)
    real_engine = Engine.load(auto_build=False)
    rss_start = rss_mib(os.getpid())
    t = time.perf_counter()
    corpus, table = synthetic_corpus(real_engine, n_passages, seed)
    gen_s = time.perf_counter() - t
    # The policy's training messages were embedded by the project's last build: reuse those vectors.
    lookup = LookupEmbedder(real_engine.embedder, table, _load_cache(paths.index_dir(), real_engine.embedder.dim))
    keep = os.environ.get("BENCH_SCALE_DIR")  # a folder to keep the synthetic index in between runs
    tmp = tempfile.TemporaryDirectory(prefix="kqa-bench-scale-") if not keep else None
    work = Path(keep) if keep else Path(tmp.name)
    try:
        _say('writing the corpus as YAML and loading it')
        corpus_dir = work / "corpus"
        write_corpus_folder(corpus, corpus_dir)
        t = time.perf_counter()
        corpus = load_corpus(corpus_dir)
        yaml_s = time.perf_counter() - t
        t = time.perf_counter()
        _ = corpus.corpus_hash
        hash_s = time.perf_counter() - t
        _say('building the index')
        folder = work / "index"
        t = time.perf_counter()
        report = build_index(corpus, lookup, folder, progress=False)  # derives the engine data, trains the models
        build_s = time.perf_counter() - t
        del table, lookup, corpus
        gc.collect()
        _say('start-up: fresh processes, real and big alternating')
        starts: dict[str, list[dict]] = {"real": [], "big": []}
        for n in range(3):
            for name in (("real", "big") if n % 2 == 0 else ("big", "real")):
                starts[name].append(startup_seconds(*((paths.corpus_dir(), paths.index_dir()) if name == "real"
                                                      else (corpus_dir, folder))))
        start_real = statistics.median(x["wall"] for x in starts["real"])
        start_big = statistics.median(x["wall"] for x in starts["big"])
        _say('loading the big engine here')
        t = time.perf_counter()
        big = Engine.load(corpus_dir, folder, embedder=real_engine.embedder, auto_build=False)
        load_s = time.perf_counter() - t
        index = big.index
        rss_big = rss_mib(os.getpid())

        _say('asking (real vs big, interleaved)')
        items = questions(with_history=True)
        random.Random(seed).shuffle(items)
        items = items[:n_questions]
        for q, h in items[:20]:
            real_engine.ask(q, h)
            big.ask(q, h)
        small_t, big_t = [], []
        by_kind = defaultdict(lambda: ([], []))
        for i, (q, h) in enumerate(items):
            order = (real_engine, big) if i % 2 == 0 else (big, real_engine)
            for engine in order:
                t0 = time.perf_counter()
                reply = engine.ask(q, h)
                elapsed = time.perf_counter() - t0
                (small_t if engine is real_engine else big_t).append(elapsed)
                by_kind[reply["kind"]][0 if engine is real_engine else 1].append(elapsed)
        ratio = statistics.median(big_t) / statistics.median(small_t)

        _say('profiling')
        profiler = cProfile.Profile()
        profiler.enable()
        for q, h in items[:150]:
            big.ask(q, h)
        profiler.disable()
        stats = pstats.Stats(profiler)
        prof_rows = sorted(((ct, tt, nc, f"{fn.split('/bot/')[-1]}:{ln}({func})")
                            for (fn, ln, func), (cc, nc, tt, ct, _) in stats.stats.items() if "/bot/" in fn),
                           reverse=True)[:10]

        _say('recall')
        # HNSW vs exact flat search on the same vectors, with the questions' real embeddings.
        qvecs = real_engine.embedder.encode([q for q, _ in items])
        hnsw = index.dense
        n = hnsw.ntotal
        vectors = hnsw.reconstruct_n(0, n)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        del vectors
        kind = type(faiss.downcast_index(hnsw)).__name__
        _, exact = flat.search(qvecs, 10)
        recall = {}
        ef_default = faiss.downcast_index(hnsw).hnsw.efSearch if hasattr(faiss.downcast_index(hnsw), "hnsw") else None
        ef_values = [16, 32, 64, 128, 256] if ef_default is not None else []
        ef_times = {}
        for ef in ef_values:
            faiss.downcast_index(hnsw).hnsw.efSearch = ef
            times = []
            found = []
            for v in qvecs:
                t0 = time.perf_counter()
                _, rows = hnsw.search(v.reshape(1, -1), 10)
                times.append(time.perf_counter() - t0)
                found.append(rows[0])
            recall[ef] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))
            ef_times[ef] = median_ms(times)
        if ef_default is not None:
            faiss.downcast_index(hnsw).hnsw.efSearch = ef_default
        flat_times = []
        for v in qvecs:
            t0 = time.perf_counter()
            flat.search(v.reshape(1, -1), 10)
            flat_times.append(time.perf_counter() - t0)
        del flat

        _say('bm25')
        # BM25 at this size.
        from bot.normalize import tokenize
        bm_times, lex_times = [], []
        retriever = Retriever(index)
        for q, h in items:
            text = big.prepare(q, h).search_text
            tokens = tokenize(text)
            if not tokens:
                continue
            t0 = time.perf_counter()
            index.bm25.get_scores(tokens)
            bm_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            retriever.lexical_ranking(text)
            lex_times.append(time.perf_counter() - t0)
        small_bm = []
        for q, h in items:
            tokens = tokenize(real_engine.prepare(q, h).search_text)
            if tokens:
                t0 = time.perf_counter()
                real_engine.index.bm25.get_scores(tokens)
                small_bm.append(time.perf_counter() - t0)

        # The refusal path's restricted search (allowed rows) vs the plain top-k search.
        v = qvecs[0]
        rows = big._refusal_rows["amount"]
        restricted, plain = [], []
        for q, vec in zip([q for q, _ in items[:60]], qvecs[:60]):
            text = big.prepare(q, None).search_text
            t0 = time.perf_counter()
            big.retriever.search(vec, text, k=3, allowed_rows=rows)
            restricted.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            big.retriever.search(vec, text, k=3)
            plain.append(time.perf_counter() - t0)

    finally:
        if tmp is not None:
            tmp.cleanup()

    runs = {name: ", ".join(f"{x['wall']:.2f}" for x in found) for name, found in starts.items()}
    kinds = ", ".join(f"{k}: {median_ms(s):.1f} → {median_ms(b):.1f} ms (n={len(s)})"
                      for k, (s, b) in sorted(by_kind.items()))
    lines = [
        "## Scale: synthetic corpus",
        "",
        f"Ran {machine_line()}. {n_passages:,} passages ({len(real_engine.passages)} real + synthetic; how they "
        "are made: see `bench/scale.py`'s docstring: real sentences recombined, vectors synthesised around "
        "the real embeddings, not embedded). Generated in a temp folder and deleted afterwards.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| generate corpus + vectors | {gen_s:.1f} s |",
        f"| `load_corpus` of the {n_passages:,} passages written as YAML (build time only: serving parses no YAML) | "
        f"{yaml_s:.1f} s (corpus_hash {hash_s:.2f} s) |",
        f"| `build_index` (HNSW since {n_passages:,} >= {HNSW_THRESHOLD:,}; BM25; engine data; both models trained; "
        f"{report.embedded:,} texts 'embedded' by look-up) | {build_s:.1f} s |",
        f"| start-up, real corpus: fresh process, imports + `Engine.load` (wall, median of 3) | {start_real:.2f} s "
        f"(runs: {runs['real']}) |",
        f"| start-up, {n_passages:,} passages: the same | {start_big:.2f} s "
        f"(runs: {runs['big']}) |",
        f"| **start-up ratio 100k / real** | **{start_big / start_real:.2f}** (goal <= 3: "
        f"{'met' if start_big / start_real <= 3 else 'NOT met'}) |",
        f"| `Engine.load` of the {n_passages:,}-passage index in this process (no imports) | {load_s:.2f} s |",
        f"| process RSS: real engine → with the {n_passages:,}-passage engine | {rss_start:.0f} → {rss_big:.0f} MiB |",
        f"| dense index | `{kind}`, efSearch {ef_default} |",
        f"| median `ask`, real corpus ({len(real_engine.passages)}) | {median_ms(small_t):.2f} ms (p95 {pct_ms(small_t, 95):.1f}) |",
        f"| median `ask`, {n_passages:,} passages | {median_ms(big_t):.2f} ms (p95 {pct_ms(big_t, 95):.1f}) |",
        f"| **answer median ratio 100k / real** | **{ratio:.2f}** (goal <= 2: {'met' if ratio <= 2 else 'NOT met'}) |",
        f"| exact flat search (`IndexFlatIP`, 1 OpenMP thread), top 10 | median {median_ms(flat_times):.2f} ms |",
        f"| BM25 `get_scores`, real corpus → {n_passages:,} | median {median_ms(small_bm):.3f} → {median_ms(bm_times):.2f} ms (p95 {pct_ms(bm_times, 95):.1f}) |",
        f"| `Retriever.lexical_ranking` (get_scores + top 50) at {n_passages:,} | median {median_ms(lex_times):.2f} ms |",
        f"| `Retriever.search`, plain top 3 at {n_passages:,} | median {median_ms(plain):.2f} ms |",
        f"| `Retriever.search` restricted to the refusal-safe rows ({len(rows):,} allowed) | median {median_ms(restricted):.2f} ms |",
        "",
        f"Median `ask` by kind, real → {n_passages:,}: {kinds}",
        "",
        f"HNSW recall@10 vs exact flat search ({len(qvecs)} real question embeddings as queries):",
        "",
        "| efSearch | recall@10 | median search |",
        "|---|---|---|",
    ]
    for ef in ef_values:
        mark = " (the index's setting)" if ef == ef_default else ""
        lines.append(f"| {ef}{mark} | {recall[ef]:.3f} | {ef_times[ef]:.3f} ms |")
    lines += ["", f"cProfile of 150 `ask` at {n_passages:,} passages (bot/ functions by cumulative time):", "",
              "| function | calls | cumulative s | own s |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {nc} | {ct:.3f} | {tt:.3f} |" for ct, tt, nc, name in prof_rows]
    return "\n".join(lines)
