"""Shared helpers for the benchmarks: questions, statistics, ports, processes, the results file."""

from __future__ import annotations

import csv
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = PROJECT / "BENCHMARKS.md"
XSTEST = PROJECT / "eval" / "external" / "xstest" / "xstest_prompts.csv"


def questions(with_history: bool = False, extra_xstest: bool = False) -> list:
    """Varied questions: the policy dev writer (eval/policy/dev/) and the retrieval tune set
    (eval/retrieval/tune/); never the test parts, which are only scored by the evaluation.

    With `with_history`, items are (question, history) pairs (history None when the item has none).
    """
    import json

    items = []
    for folder, field in (("policy/dev", "text"), ("retrieval/tune", "q")):
        for path in sorted((PROJECT / "eval" / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    items.append((item[field], item.get("history") or None))
    if extra_xstest and XSTEST.exists():
        with XSTEST.open(encoding="utf-8") as handle:
            items += [(row["prompt"], None) for row in csv.DictReader(handle)]
    return items if with_history else [q for q, _ in items]


def median_ms(values) -> float:
    return statistics.median(values) * 1000.0


def pct_ms(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100.0 * (len(ordered) - 1))))
    return ordered[index] * 1000.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except Exception:
        return False


def rss_mib(pid: int) -> float:
    """Resident set size of a process (MiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def app_env(port: int, temp_dir: str | None = None) -> dict:
    env = dict(os.environ)
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    if temp_dir:
        env["GRADIO_TEMP_DIR"] = temp_dir
    return env


def start_app(port: int, log_path: Path, temp_dir: str | None = None) -> tuple[subprocess.Popen, float]:
    """Start `python app.py` on 127.0.0.1:port; return the process and its start time."""
    log = open(log_path, "wb")
    started = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "app.py"], cwd=PROJECT, env=app_env(port, temp_dir),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, started


def wait_serving(proc: subprocess.Popen, port: int, timeout: float = 120.0) -> float:
    """Poll until the app answers HTTP 200 on `/`; return the time it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with status {proc.returncode}")
        if http_ok(url, timeout=0.5):
            return time.perf_counter()
        time.sleep(0.02)
    raise TimeoutError("app.py did not serve in time")


def stop(proc: subprocess.Popen) -> None:
    """Stop a process we started (by its own pid; its session only)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def app_has_ask_api() -> bool:
    path = PROJECT / "app.py"
    return path.exists() and re.search(r"api_name\s*=\s*[\"']/?ask[\"']", path.read_text(encoding="utf-8")) is not None


def machine_line() -> str:
    import platform
    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section `name` of BENCHMARKS.md, keeping the others."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


HEADER = """# kratom-qa benchmarks

Written by `.venv/bin/python -m bench.run` (all sections) or `.venv/bin/python -m bench.run SECTION...`
(sections: speed, coldstart, build, scale, api, soak, onnx). Each section is replaced when re-run and
says when and on what it ran. These are measurements, not tests: the machines are shared and noisy,
so every goal is checked with medians and with ratios measured in the same run.
"""
