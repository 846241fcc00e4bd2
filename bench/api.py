"""API throughput and soak: concurrent gradio_client clients against a local `python app.py`.

The app is started on a free 127.0.0.1 port (GRADIO_SERVER_PORT) with analytics off and a private
GRADIO_TEMP_DIR. Each client thread asks varied questions (eval sets, each thread starting at its
own offset) through `/ask` until the time is up; a reply is an error unless it is a dict passing
`bot.contract.reply_errors`. Throughput = valid answers / wall time.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.common import (free_port, machine_line, median_ms, pct_ms, questions, rss_mib, start_app, stop,
                          wait_serving)

GOAL_RATE, GOAL_P95 = 30.0, 0.5


def _load(port: int, clients: int, seconds: float, on_tick=None) -> dict:
    from gradio_client import Client

    from bot.contract import reply_errors

    items = questions(extra_xstest=True)
    url = f"http://127.0.0.1:{port}/"
    made = [Client(url, verbose=False) for _ in range(clients)]
    for client in made[:2]:
        client.predict("warm up: what is kratom?", api_name="/ask")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(n: int) -> None:
        client, i = made[n], n * (len(items) // clients)
        start.wait()
        while time.perf_counter() < deadline[0]:
            question = items[i % len(items)]
            i += 1
            t = time.perf_counter()
            try:
                reply = client.predict(question, api_name="/ask")
                problems = reply_errors(reply) if isinstance(reply, dict) else [f"not a dict: {type(reply)}"]
            except Exception as exc:  # noqa: BLE001
                problems = [f"{type(exc).__name__}: {exc}"]
            elapsed = time.perf_counter() - t
            if problems:
                errors[n].append(problems[0][:200])
            else:
                latencies[n].append(elapsed)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    while any(t.is_alive() for t in threads):
        if on_tick:
            on_tick(time.perf_counter() - began)
        time.sleep(0.5)
    wall = time.perf_counter() - began
    ok = [x for per in latencies for x in per]
    errs = [x for per in errors for x in per]
    return {"wall": wall, "ok": ok, "errors": errs, "rate": len(ok) / wall, "questions": len(items)}


def _with_app(body):
    with tempfile.TemporaryDirectory(prefix="kqa-bench-api-") as temp_dir:
        port = free_port()
        proc, _ = start_app(port, Path(temp_dir) / "app.log", temp_dir)
        try:
            wait_serving(proc, port, timeout=300)
            return body(proc, port)
        finally:
            stop(proc)


def _summary(result: dict, clients: int) -> list[str]:
    ok, errs = result["ok"], result["errors"]
    return [
        f"| clients | {clients} (threads, one gradio_client `Client` each) |",
        f"| duration | {result['wall']:.1f} s |",
        f"| valid answers | {len(ok)} |",
        f"| **answers/s** | **{result['rate']:.1f}** (goal >= {GOAL_RATE:.0f}: {'met' if result['rate'] >= GOAL_RATE else 'NOT met'}) |",
        f"| latency median / p95 / max | {median_ms(ok):.0f} / {pct_ms(ok, 95):.0f} / {max(ok) * 1000 if ok else float('nan'):.0f} ms "
        f"(goal p95 <= {GOAL_P95 * 1000:.0f} ms: {'met' if ok and pct_ms(ok, 95) <= GOAL_P95 * 1000 else 'NOT met'}) |",
        f"| **errors** | **{len(errs)}**{' (first: ' + errs[0] + ')' if errs else ''} |",
    ]


def run_throughput(clients: int = 16, seconds: float = 30.0) -> str:
    def body(proc, port):
        before = rss_mib(proc.pid)
        result = _load(port, clients, seconds)
        return result, before, rss_mib(proc.pid)

    result, before, after = _with_app(body)
    return "\n".join([
        "## API throughput (`/ask` through gradio_client)",
        "",
        f"Ran {machine_line()}; `python app.py` on 127.0.0.1 (free port); clients in one benchmark process on the "
        f"same 2-CPU machine (they share its CPUs with the server); {result['questions']} varied questions "
        "(eval sets + XSTest prompts).",
        "",
        "| measure | value |",
        "|---|---|",
        *_summary(result, clients),
        f"| server RSS before / after | {before:.0f} / {after:.0f} MiB |",
    ])


def run_soak(clients: int = 16, seconds: float = 180.0) -> str:
    samples: list[tuple[float, float]] = []

    def body(proc, port):
        before = rss_mib(proc.pid)
        last = [-10.0]

        def tick(elapsed):
            if elapsed - last[0] >= 10.0:
                last[0] = elapsed
                samples.append((elapsed, rss_mib(proc.pid)))

        result = _load(port, clients, seconds, on_tick=tick)
        time.sleep(2.0)
        return result, before, rss_mib(proc.pid)

    result, before, after = _with_app(body)
    first_min = [r for t, r in samples if t >= 60.0]
    drift = (after - first_min[0]) if first_min else float("nan")
    return "\n".join([
        f"## Soak: {seconds / 60:.0f} minutes of load",
        "",
        f"Ran {machine_line()}; same set-up as the throughput run.",
        "",
        "| measure | value |",
        "|---|---|",
        *_summary(result, clients),
        f"| server RSS: idle after start → end of load | {before:.0f} → {after:.0f} MiB |",
        f"| server RSS after the first minute → end | {first_min[0] if first_min else float('nan'):.0f} → {after:.0f} MiB "
        f"(drift {drift:+.0f} MiB) |",
        "",
        "RSS every ~10 s (s: MiB): " + ", ".join(f"{t:.0f}: {r:.0f}" for t, r in samples),
    ])
