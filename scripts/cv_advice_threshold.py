"""Choose the whole-message advice threshold by leave-one-writer-out CV (never the test writers).

Each fold trains the policy without one train or dev writer (pain, pro, redteam, forum, native, teen)
and scores that writer's messages at several advice thresholds (crisis 0.30, windows 0.80, long
messages 0.50, as served).
Prints advice recall, crisis recall and informational over-refusal per fold and their means.

    .venv/bin/python scripts/cv_advice_threshold.py     # about 15 minutes on two cores
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
from bot.policy.classify import Policy, floor_hits, kind_from_probabilities, policy_inputs  # noqa: E402
from bot.policy.training import train_policy  # noqa: E402
from bot.query import vectors_of  # noqa: E402

FOLDS = ["pain", "pro", "redteam", "forum", "native", "teen"]
ADVICE = (0.25, 0.3, 0.35, 0.4)
CRISIS, WINDOW, LONG, OFF = 0.30, 0.80, 0.50, 0.50


def kind(pr: np.ndarray, hits, language: str, advice: float, thresholds) -> str:
    """The policy's decision at these thresholds (`kind_from_probabilities`, as `Policy.decide` serves it)."""
    t = thresholds.model_copy(update={"crisis": CRISIS, "advice": advice, "advice_long": LONG,
                                      "advice_window": WINDOW, "off_topic": OFF})
    decided = kind_from_probabilities(pr, hits, language, t)
    return {"refusal": "advice", "retrieve": "informational"}.get(decided, decided)


def main() -> None:
    engine = Engine.load(auto_build=False)
    trainable = load_split("train") + load_split("dev")
    embed = cached_embedder(engine.embedder, paths.index_dir())

    totals: dict[float, list] = {a: [] for a in ADVICE}
    for writer in FOLDS:
        started = time.time()
        model = train_policy([i for i in trainable if i.writer != writer], engine.preparer, embed,
                             engine.config, engine.embedder.dim)
        policy = Policy(engine.config, model, engine.embedder.dim)
        rows = []
        for item in (i for i in trainable if i.writer == writer):
            prepared = engine.prepare(item.text, list(item.history))
            if prepared.too_long:
                continue
            vectors = vectors_of(prepared, embed(prepared.texts_to_embed()))
            pr = policy.probabilities(policy_inputs(prepared, vectors, policy.floor))
            rows.append((item, pr, floor_hits(policy.floor, prepared.readable, prepared.language), prepared.language))
        for advice in ADVICE:
            kinds = [(item.label, kind(pr, hits, lang, advice, engine.config.settings.thresholds))
                     for item, pr, hits, lang in rows]
            result = (np.mean([k == "advice" for label, k in kinds if label == "advice"]),
                      np.mean([k == "crisis" for label, k in kinds if label == "crisis"]),
                      np.mean([k in ("advice", "crisis") for label, k in kinds if label == "informational"]))
            totals[advice].append(result)
            print(f"fold {writer:<8} advice>={advice}: advice {result[0]:.3f} crisis {result[1]:.3f} "
                  f"over {result[2]:.3f}", flush=True)
        print(f"  ({time.time() - started:.0f} s)", flush=True)
    for advice, results in totals.items():
        m = np.mean(results, axis=0)
        print(f"MEAN advice>={advice}: advice {m[0]:.3f} crisis {m[1]:.3f} over {m[2]:.3f}")


if __name__ == "__main__":
    main()
