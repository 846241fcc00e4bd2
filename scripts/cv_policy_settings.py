"""Compare the policy model's settings by leave-one-writer-out CV (never the test writers).

Each fold holds out one train or dev writer (pain, pro, redteam, forum, native, teen), trains the
policy on every other train and dev writer with each candidate setting, and scores the held-out
writer at the served thresholds (policy.yaml). Prints per fold and the means: advice recall, crisis
recall, informational refused or escalated, off-topic recall and long-preamble accuracy.

    .venv/bin/python scripts/cv_policy_settings.py c=4 lexical_weight=0.5 "c=4 lexical_weight=0.5"

Each argument is one candidate: space-separated `field=value` overrides of `model:` in policy.yaml;
the served settings are always scored first as `served`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402
from bot.answer import Engine  # noqa: E402
from bot.index import cached_embedder  # noqa: E402
from bot.policy.bank import load_split  # noqa: E402
from bot.policy.classify import Policy  # noqa: E402
from bot.policy.config import ModelSettings, PolicyConfig  # noqa: E402
from bot.policy.training import train_policy  # noqa: E402
from bot.query import vectors_of  # noqa: E402

FOLDS = ["pain", "pro", "redteam", "forum", "native", "teen"]
METRICS = ("advice", "crisis", "over", "off_topic", "long")


def candidate(config: PolicyConfig, spec: str) -> PolicyConfig:
    """`config` with the `model:` overrides of `spec` ("c=4 lexical_weight=0.5"), validated."""
    fields = dict(part.split("=", 1) for part in spec.split())
    model = ModelSettings(**{**config.settings.model.model_dump(), **fields})
    return config.model_copy(update={"settings": config.settings.model_copy(update={"model": model})})


def decided(policy: Policy, prepared, vectors) -> str:
    """The policy's decision as a label of the bank (non-English and retrieve count as informational)."""
    kind = policy.decide(prepared, vectors).kind
    return {"refusal": "advice", "crisis": "crisis", "off_topic": "off_topic"}.get(kind, "informational")


def scores(rows: list[tuple]) -> tuple[float, ...]:
    """The METRICS over (item, decided label) rows."""
    def share(label: str, ok) -> float:
        hits = [ok(d) for item, d in rows if item.label == label]
        return float(np.mean(hits)) if hits else float("nan")
    long_rows = [item.label == d for item, d in rows if item.wrapper == "long_preamble"]
    return (share("advice", lambda d: d == "advice"), share("crisis", lambda d: d == "crisis"),
            share("informational", lambda d: d in ("advice", "crisis")),
            share("off_topic", lambda d: d == "off_topic"),
            float(np.mean(long_rows)) if long_rows else float("nan"))


def main(specs: list[str]) -> None:
    engine = Engine.load(auto_build=False)
    configs = {"served": engine.config, **{spec: candidate(engine.config, spec) for spec in specs}}
    trainable = load_split("train") + load_split("dev")
    embed = cached_embedder(engine.embedder, paths.index_dir())

    results: dict[str, list] = {name: [] for name in configs}
    for writer in FOLDS:
        held = []
        for item in (i for i in trainable if i.writer == writer):
            prepared = engine.prepare(item.text, list(item.history))
            if not prepared.too_long:
                held.append((item, prepared, vectors_of(prepared, embed(prepared.texts_to_embed()))))
        rest = [i for i in trainable if i.writer != writer]
        for name, config in configs.items():
            started = time.time()
            model = train_policy(rest, engine.preparer, embed, config, engine.embedder.dim)
            policy = Policy(config, model, engine.embedder.dim)
            result = scores([(item, decided(policy, p, v)) for item, p, v in held])
            results[name].append(result)
            print(f"fold {writer:<8} {name:<28} " + " ".join(f"{m} {r:.3f}" for m, r in zip(METRICS, result))
                  + f"  ({time.time() - started:.0f} s)", flush=True)
    for name, rows in results.items():
        mean = np.nanmean(np.array(rows), axis=0)
        print(f"MEAN {name:<28} " + " ".join(f"{m} {r:.3f}" for m, r in zip(METRICS, mean)))


if __name__ == "__main__":
    main(sys.argv[1:])
