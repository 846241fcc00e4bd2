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

GOAL_RATE, GOAL_P95 = 60.0, 0.3


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    import os
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(port: int, clients: int, seconds: float, on_tick=None, server_pid: int | None = None,
          ssl_verify: bool = False) -> dict:
    from gradio_client import Client

    from bot.contract import reply_errors

    items = questions(extra_xstest=True)
    url = f"http://127.0.0.1:{port}/"
    # ssl_verify=False: the URL is plain http on 127.0.0.1, so nothing is verified either way, but with the
    # default (True) gradio_client builds a new httpx client, and so re-reads the CA bundle into a new SSL
    # context, for every request: ~45 ms of client CPU per call, which starves the server of the 2 CPUs.
    made = [Client(url, verbose=False, ssl_verify=ssl_verify) for _ in range(clients)]
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
    import os
    server_cpu = cpu_seconds(server_pid) if server_pid else 0.0
    own_cpu = sum(os.times()[:2])
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    while any(t.is_alive() for t in threads):
        if on_tick:
            on_tick(time.perf_counter() - began)
        time.sleep(0.5)
    wall = time.perf_counter() - began
    server_cpu = (cpu_seconds(server_pid) - server_cpu) if server_pid else float("nan")
    own_cpu = sum(os.times()[:2]) - own_cpu
    ok = [x for per in latencies for x in per]
    errs = [x for per in errors for x in per]
    return {"wall": wall, "ok": ok, "errors": errs, "rate": len(ok) / wall, "questions": len(items),
            "server_cpu": server_cpu / wall, "client_cpu": own_cpu / wall}


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
        f"| CPU used (cores, of 2): server / the 16 clients | {result['server_cpu']:.2f} / {result['client_cpu']:.2f} |",
    ]


def run_throughput(clients: int = 16, seconds: float = 30.0) -> str:
    def body(proc, port):
        before = rss_mib(proc.pid)
        lean = _load(port, clients, seconds, server_pid=proc.pid, ssl_verify=False)
        default = _load(port, clients, seconds, server_pid=proc.pid, ssl_verify=True)
        return lean, default, before, rss_mib(proc.pid)

    result, default, before, after = _with_app(body)
    return "\n".join([
        "## API throughput (`/ask` through gradio_client)",
        "",
        f"Ran {machine_line()}; `python app.py` on 127.0.0.1 (free port; the default encoder, onnx); clients in one "
        f"benchmark process on the same 2-CPU machine (they share its CPUs with the server); {result['questions']} "
        "varied questions (eval sets + XSTest prompts).",
        "",
        "```sh",
        ".venv/bin/python -m bench.run api --clients 16 --seconds 30",
        "```",
        "",
        "Clients made with `Client(url, ssl_verify=False)` (the URL is plain http on 127.0.0.1: nothing to "
        "verify; with the default, gradio_client re-reads the CA bundle into a new SSL context for every "
        "request, ~45 ms of client CPU per call, measured with py-spy):",
        "",
        "| measure | value |",
        "|---|---|",
        *_summary(result, clients),
        f"| server RSS before / after both runs | {before:.0f} / {after:.0f} MiB |",
        "",
        "Same, right after, with gradio_client's defaults (`ssl_verify=True`):",
        "",
        "| measure | value |",
        "|---|---|",
        *_summary(default, clients),
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

        result = _load(port, clients, seconds, on_tick=tick, server_pid=proc.pid)
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
