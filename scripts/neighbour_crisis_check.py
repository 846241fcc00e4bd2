"""Evidence (O) for docs/decisions/2026-12-07-neighbour-crisis-reading.txt: out of fold, what a crisis reading from
the nearest training messages (embedding neighbours) adds to the served decisions.

Every train and dev message of the run's writers (the writers and the 5 folds by writer of
`scripts/oof_policy.py`; a writer file taken in after the run is left out) gets its k nearest neighbours by the
cosine of the message vectors, taken only among the messages of the other four folds. The served decisions are
replayed from the run at the served thresholds (sentences not read, as `oof_policy.py analyse`). A message detected
as English that the served decision does not escalate is escalated when the share of crises among its k neighbours
is >= s and their mean cosine is >= c. Pooled counts per candidate, (O1)-(O3), and the rule's choice.

    .venv/bin/python scripts/neighbour_crisis_check.py                 # var/oof_r18.npz
    .venv/bin/python scripts/neighbour_crisis_check.py --vectors /tmp/v.npz   # keep the vectors for a rerun

Prints counts only (no message text is printed or stored).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from oof_policy import decide, resampled_totals, writer_folds  # noqa: E402

K = 10
CANDIDATES = [(s, c) for s in (0.7, 0.9) for c in (0.55, 0.65, 0.75)]
ROUNDS = 5000


def message_vectors(engine, items: list) -> tuple[np.ndarray, np.ndarray]:
    """Unit message vectors of every item, and which items are too long (never scored by the out-of-fold run)."""
    from bot import paths
    from bot.index import cached_embedder

    embed = cached_embedder(engine.embedder, paths.index_dir())
    prepared = [engine.prepare(item.text, list(item.history)) for item in items]
    vectors = np.asarray(embed([p.message_text for p in prepared]), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors, np.array([p.too_long for p in prepared])


def neighbour_votes(vectors: np.ndarray, is_crisis: np.ndarray, pool: np.ndarray, held: np.ndarray) -> np.ndarray:
    """(share of crises among the K nearest pool rows, their mean cosine) for each held row."""
    out = np.zeros((len(held), 2))
    for start in range(0, len(held), 512):
        rows = held[start:start + 512]
        cosines = vectors[rows] @ vectors[pool].T
        nearest = np.argpartition(-cosines, K, axis=1)[:, :K]
        top = np.take_along_axis(cosines, nearest, axis=1)
        out[start:start + len(rows), 0] = is_crisis[pool][nearest].mean(axis=1)
        out[start:start + len(rows), 1] = top.mean(axis=1)
    return out


def counts(label: np.ndarray, decided: np.ndarray) -> dict[str, int]:
    """Pooled counts the rule reads."""
    wrong_escalation = np.isin(label, ("informational", "off_topic")) & (decided == "crisis")
    missed = (label == "crisis") & (decided != "crisis")
    return {"crises escalated": int(((label == "crisis") & (decided == "crisis")).sum()),
            "crises missed": int(missed.sum()), "informational/off-topic escalated": int(wrong_escalation.sum()),
            "crisis cost": int(3 * missed.sum() + wrong_escalation.sum()),
            "advice refused": int(((label == "advice") & (decided == "advice")).sum()),
            "advice to crisis": int(((label == "advice") & (decided == "crisis")).sum()),
            "informational refused or escalated": int(((label == "informational")
                                                       & np.isin(decided, ("advice", "crisis"))).sum())}


def crisis_cost(label: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """Each message's crisis cost: 3 for a crisis not escalated, 1 for an informational or off-topic one escalated."""
    missed = (label == "crisis") & (decided != "crisis")
    wrong = np.isin(label, ("informational", "off_topic")) & (decided == "crisis")
    return 3 * missed.astype(int) + wrong.astype(int)


def main(argv: list[str]) -> None:
    from bot.answer import Engine
    from bot.policy.bank import load_split
    from bot.policy.config import default_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "var" / "oof_r18.npz")
    parser.add_argument("--vectors", type=Path, default=None, help="keep the message vectors here between runs")
    args = parser.parse_args(argv)
    d = dict(np.load(args.run, allow_pickle=True))
    engine = Engine.load(auto_build=False)
    in_run = set(d["writer"])  # the run's writers (a writer file taken in after the run is left out)
    items = [item for item in load_split("train") + load_split("dev") if item.writer in in_run]
    if args.vectors and args.vectors.exists():
        stored = np.load(args.vectors)
        vectors, too_long = stored["vectors"], stored["too_long"]
    else:
        vectors, too_long = message_vectors(engine, items)
        if args.vectors:
            np.savez(args.vectors, vectors=vectors, too_long=too_long)
    is_crisis = np.array([item.label == "crisis" for item in items], dtype=float)
    order, votes = [], []
    for train_rows, held_rows in writer_folds(items):
        held = np.array([i for i in held_rows if not too_long[i]])
        order.extend(held)
        votes.append(neighbour_votes(vectors, is_crisis, np.asarray(train_rows), held))
    order, votes = np.array(order), np.concatenate(votes)
    if len(order) != len(d["p"]) or any(items[i].writer != w or items[i].label != lab
                                        for i, w, lab in zip(order, d["writer"], d["label"])):
        raise SystemExit(f"{args.run} does not line up with the bank's train and dev writers")
    t = default_config().settings.thresholds
    served = decide(d, t.crisis, t.advice, t.advice_window, t.advice_long)
    label = d["label"]
    base = counts(label, served)
    print(f"{len(order)} messages; k={K}; served thresholds crisis {t.crisis}, advice {t.advice}")
    print("served  " + ", ".join(f"{k} {v}" for k, v in base.items()))
    english = d["detected"] == "en"
    best = None
    for s, c in CANDIDATES:
        flip = english & (served != "crisis") & (votes[:, 0] >= s) & (votes[:, 1] >= c)
        now = np.where(flip, "crisis", served)
        n = counts(label, now)
        fall = base["crisis cost"] - n["crisis cost"]
        totals = resampled_totals(d, {"served": crisis_cost(label, served), "now": crisis_cost(label, now)},
                                  ROUNDS, seed=20261207)
        saving = totals["served"] - totals["now"]
        low, high = np.percentile(saving, [2.5, 97.5])
        o1 = fall >= 30 and low > 0
        o2 = base["advice refused"] - n["advice refused"] <= 10
        o3 = n["informational refused or escalated"] - base["informational refused or escalated"] <= 10
        flipped = {lab: int((flip & (label == lab)).sum())
                   for lab in ("crisis", "advice", "informational", "off_topic")}
        print(f"s={s} c={c}: flipped {flipped}; " + ", ".join(f"{k} {v}" for k, v in n.items()))
        lost = base["advice refused"] - n["advice refused"]
        gained = n["informational refused or escalated"] - base["informational refused or escalated"]
        print(f"   (O1) cost fall {fall}, 95% [{low:.0f}, {high:.0f}]: {'met' if o1 else 'NOT met'}; "
              f"(O2) advice refused lost {lost}: {'met' if o2 else 'NOT met'}; "
              f"(O3) informational +{gained}: {'met' if o3 else 'NOT met'}")
        if o1 and o2 and o3 and (best is None or (fall, s, c) > best[0]):
            best = ((fall, s, c), (s, c))
    print(f"chosen: {best[1] if best else 'none (not adopted)'}")


if __name__ == "__main__":
    main(sys.argv[1:])
