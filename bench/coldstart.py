"""Cold start: `python app.py` until it serves, against a bare Gradio Blocks app with one textbox.

Bare = `python -m bench.bare_app PORT` (gradio imported, a Blocks app with one Textbox launched on
127.0.0.1): what any Gradio app must pay. App = `python app.py` (the default encoder, onnx). Each is
launched on a free 127.0.0.1 port and `/` is polled every 20 ms until it answers HTTP 200; for the
app, also the time to its first `/ask` answer through gradio_client. Launches alternate bare/app
(order alternating) so that machine noise hits both alike; medians are quoted. The index must be
current (checked first; the app's log is checked for a rebuild). For reference: the app serving
with torch (`KRATOM_QA_ENCODER=torch`), and where a fresh `Engine.load` spends its time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import PROJECT, PYTHON, app_env, free_port, machine_line, stop, wait_serving

GOAL = 1.3

ENGINE_PARTS = """
import time, json, sys
T = {}
t = time.perf_counter(); from bot.answer import Engine; T["import bot.answer"] = time.perf_counter() - t
from bot import paths
from bot.embed import default_embedder
from bot.index import load_index
from bot.policy.config import default_config
from bot.policy.training import source_hash
t = time.perf_counter(); policy_hash = source_hash(); T["policy data hash (source_hash)"] = time.perf_counter() - t
t = time.perf_counter(); config = default_config(); T["policy configuration (YAML, pydantic)"] = time.perf_counter() - t
t = time.perf_counter(); embedder = default_embedder(); T["encoder (" + embedder.name + ")"] = time.perf_counter() - t
t = time.perf_counter(); index = load_index(paths.index_dir(), paths.corpus_dir(), embedder, policy_hash)
T["load_index (checks, files, engine data, probe encode)"] = time.perf_counter() - t
t = time.perf_counter(); engine = Engine(index.data.corpus, index, embedder, config); T["Engine(...)"] = time.perf_counter() - t
t = time.perf_counter(); engine.ask("Is kratom legal in Ohio?"); T["first ask"] = time.perf_counter() - t
t = time.perf_counter(); engine.ask("¿Qué es el kratom y es legal en México?")
T["first non-English ask (language models load)"] = time.perf_counter() - t
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sklearn", "sentence_transformers", "transformers"})
print(json.dumps({"parts": T, "heavy": heavy}), flush=True)
"""


def _launch(command: list[str], temp_dir: str, env_extra: dict | None = None, ask: bool = False) -> dict:
    from gradio_client import Client

    port = free_port()
    log = Path(temp_dir) / f"launch-{port}.log"
    env = {**app_env(port, temp_dir), **(env_extra or {})}
    with open(log, "wb") as handle:
        started = time.perf_counter()
        proc = subprocess.Popen([*command, str(port)] if command[-1] == "bench.bare_app" else command, cwd=PROJECT,
                                env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        served = wait_serving(proc, port, timeout=300)
        out = {"serve": served - started}
        if ask:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, ssl_verify=False)
            reply = client.predict("Is kratom legal in Ohio?", api_name="/ask")
            out["first_answer"] = time.perf_counter() - started
            out["kind"] = reply.get("kind") if isinstance(reply, dict) else type(reply).__name__
            out["rebuilt"] = "Rebuilding" in log.read_text(errors="replace")
        return out
    finally:
        stop(proc)


def _index_is_current() -> bool:
    code = ("from bot.answer import Engine\nfrom bot.index import StaleIndexError\n"
            "try:\n    Engine.load(auto_build=False)\n    print('current')\nexcept StaleIndexError as e:\n    print('stale', e)")
    out = subprocess.run([PYTHON, "-c", code], cwd=PROJECT, capture_output=True, text=True).stdout
    return out.startswith("current")


def _load_average() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run(repeats: int = 5, torch_repeats: int = 2) -> str:
    current = _index_is_current()
    bare_cmd, app_cmd = [PYTHON, "-m", "bench.bare_app"], [PYTHON, "app.py"]
    bare, app, torch_app = [], [], []
    load_before = _load_average()
    with tempfile.TemporaryDirectory(prefix="kqa-bench-cold-") as temp_dir:
        _launch(bare_cmd, temp_dir)  # warm the page cache once for both
        _launch(app_cmd, temp_dir, ask=True)
        for n in range(repeats):
            if n % 2 == 0:
                bare.append(_launch(bare_cmd, temp_dir))
                app.append(_launch(app_cmd, temp_dir, ask=True))
            else:
                app.append(_launch(app_cmd, temp_dir, ask=True))
                bare.append(_launch(bare_cmd, temp_dir))
        for _ in range(torch_repeats):
            torch_app.append(_launch(app_cmd, temp_dir, {"KRATOM_QA_ENCODER": "torch"}, ask=True))
    load_after = _load_average()
    done = subprocess.run([PYTHON, "-c", ENGINE_PARTS], cwd=PROJECT, capture_output=True, text=True,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    parts = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {"parts": {}, "heavy": ["?"]}
    bare_s = statistics.median(b["serve"] for b in bare)
    app_s = statistics.median(a["serve"] for a in app)
    first = statistics.median(a["first_answer"] for a in app)
    ratio = app_s / bare_s
    torch_s = statistics.median(a["serve"] for a in torch_app) if torch_app else float("nan")

    def runs(items, key="serve"):
        return ", ".join(f"{x[key]:.2f}" for x in items)
    lines = [
        "## Cold start of `python app.py` against a bare Gradio app",
        "",
        f"Ran {machine_line()}; load average before / after: {load_before} → {load_after}; {repeats} launches of "
        f"each, alternating; index current before: {'yes' if current else 'NO (stale: the app rebuilt it)'}; any "
        f"launch rebuilt the index: {'yes' if any(a.get('rebuilt') for a in app + torch_app) else 'no'}.",
        "",
        "```sh",
        ".venv/bin/python -m bench.run coldstart      # writes this section",
        ".venv/bin/python -m bench.bare_app 7861      # the bare app alone",
        "```",
        "",
        "| measure | median |",
        "|---|---|",
        f"| bare Gradio Blocks app, one Textbox (`bench/bare_app.py`), until `/` serves HTTP 200 | {bare_s:.2f} s "
        f"(runs: {runs(bare)}) |",
        f"| `python app.py` (onnx encoder, the default) until `/` serves HTTP 200 | {app_s:.2f} s (runs: {runs(app)}) |",
        f"| **app / bare** | **{ratio:.2f}** (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'}) |",
        f"| `python app.py` until its first `/ask` answer (gradio_client) | {first:.2f} s (runs: "
        f"{runs(app, 'first_answer')}) |",
        f"| for reference: `KRATOM_QA_ENCODER=torch python app.py` until `/` serves | {torch_s:.2f} s "
        f"(runs: {runs(torch_app)}; {torch_s / bare_s:.2f} x bare) |",
        "",
        "Where a fresh `Engine.load` spends its time (one process, in order, without the background thread "
        f"app.py uses; torch, scikit-learn or transformers imported: {parts['heavy'] or 'none'}):",
        "",
        "| step | seconds |",
        "|---|---|",
    ] + [f"| {k} | {v:.3f} |" for k, v in parts["parts"].items()]
    return "\n".join(lines)
