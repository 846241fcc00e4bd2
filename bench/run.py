"""Run the benchmarks and write BENCHMARKS.md.

    .venv/bin/python -m bench.run                 # every section
    .venv/bin/python -m bench.run speed build     # some sections
    .venv/bin/python -m bench.run api --seconds 30
    .venv/bin/python -m bench.run soak --soak-seconds 180

Sections: speed, coldstart, build, scale, api, soak, onnx. Sections needing app.py are skipped (and
say so) when app.py has no api_name="ask" event.
"""

from __future__ import annotations

import argparse
import sys
import time

import faiss  # noqa: F401  (before torch, as bot.embed does)

from bench.common import RESULTS, app_has_ask_api, write_section

SECTIONS = ("speed", "coldstart", "build", "scale", "api", "soak", "onnx")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=[], help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--passes", type=int, default=1, help="speed: passes over the questions")
    parser.add_argument("--repeats", type=int, default=5, help="coldstart: launches of each kind")
    parser.add_argument("--passages", type=int, default=100_000, help="scale: synthetic corpus size")
    parser.add_argument("--clients", type=int, default=16, help="api: concurrent gradio_client clients")
    parser.add_argument("--seconds", type=float, default=30.0, help="api: load duration")
    parser.add_argument("--soak-seconds", type=float, default=180.0, help="soak: load duration")
    args = parser.parse_args(argv)
    chosen = args.sections or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    for name in chosen:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        if name in ("api", "soak", "coldstart") and not app_has_ask_api():
            write_section(name, f"## {name}\n\nNot run: app.py is missing or has no `api_name=\"ask\"` event yet.")
            continue
        if name == "speed":
            from bench import speed
            text = speed.run(passes=args.passes)
        elif name == "coldstart":
            from bench import coldstart
            text = coldstart.run(repeats=args.repeats)
        elif name == "build":
            from bench import build
            text = build.run()
        elif name == "scale":
            from bench import scale
            text = scale.run(n_passages=args.passages)
        elif name == "api":
            from bench import api
            text = api.run_throughput(clients=args.clients, seconds=args.seconds)
        elif name == "soak":
            from bench import api
            text = api.run_soak(clients=args.clients, seconds=args.soak_seconds)
        else:
            from bench import onnx_encoder
            text = onnx_encoder.run()
        write_section(name, text)
        print(text, flush=True)
        print(f"== {name} done in {time.perf_counter() - started:.0f} s -> {RESULTS}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
