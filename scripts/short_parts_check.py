"""Evidence (O) for docs/decisions/2026-12-07-short-message-parts.txt: each sentence of a SHORT message (no windows)
with two or more sentences, read on its own, out of fold.

    .venv/bin/python scripts/short_parts_check.py run [--out var/oof_short_parts.npz]   # ~30 min on two cores
    .venv/bin/python scripts/short_parts_check.py analyse [--run var/oof_sentences.npz]

`run` trains the 5 writer folds of scripts/oof_policy.py (each fold's model without its writers) and stores, for
every held-out message in the same row order as an `oof_policy.py run` (too-long messages skipped), how many sentences
a short message has (`bot.query.segments`; 0 for a long message) and the highest P(crisis) and P(advice) of them read
on their own (no earlier turns, as a long message's sentences are read).

`analyse` checks that the rows align with the stored run (labels, writers and folds equal), replays the served
decisions of that run (`decision_kind`, each fold's jailbreak-prompt detector, as scripts/floor_long_check.py) and
applies each candidate by the decision order: a crisis candidate turns a reply that is not a crisis into a crisis, an
advice candidate turns a reply that is neither a crisis nor a refusal into a refusal. Prints counts only; the runs
store no message text.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

OUT = ROOT / "var" / "oof_short_parts.npz"
RUN = ROOT / "var" / "oof_sentences.npz"
CRISIS_CANDIDATES = tuple((s, w) for s in (0.95, 0.99) for w in (0.0, 0.05, 0.10))
ADVICE_CANDIDATES = (0.90, 0.95, 0.99)


def run(out: Path) -> None:
    """The out-of-fold sentence readings of every short multi-sentence train or dev message."""
    from dataclasses import replace

    from oof_policy import fold_policies

    from bot import paths
    from bot.answer import Engine
    from bot.index import cached_embedder
    from bot.policy.bank import load_split
    from bot.policy.classify import _ADVICE, _CRISIS, sentence_inputs
    from bot.query import message_sentences, vectors_of

    engine = Engine.load(auto_build=False)
    items = load_split("train") + load_split("dev")
    embed = cached_embedder(engine.embedder, paths.index_dir())
    columns: dict[str, list] = defaultdict(list)
    started = time.time()
    for fold, held_rows, policy in fold_policies(engine, items, embed):
        for i in held_rows:
            item = items[i]
            prepared = engine.prepare(item.text, list(item.history))
            if prepared.too_long:
                continue
            parts = message_sentences(item.text, False) if not prepared.windows else ()
            crisis = advice = 0.0
            if parts:
                prepared = replace(prepared, segments=parts, payloads=())
                vectors = vectors_of(prepared, embed(prepared.texts_to_embed()))
                p = policy.probabilities(sentence_inputs(prepared, vectors, policy.floor))
                crisis, advice = float(p[:, _CRISIS].max()), float(p[:, _ADVICE].max())
            for key, value in (("parts", len(parts)), ("part_crisis", crisis), ("part_advice", advice),
                               ("label", item.label), ("writer", item.writer), ("fold", fold)):
                columns[key].append(value)
        print(f"fold {fold}: {len(held_rows)} messages ({time.time() - started:.0f} s)", flush=True)
        started = time.time()
    out.parent.mkdir(exist_ok=True)
    np.savez_compressed(out, **{k: np.array(v) for k, v in columns.items()})
    print(f"wrote {out}")


def counts(d: dict, served: np.ndarray, now: np.ndarray) -> dict[str, object]:
    """What a candidate changes, pooled, and the crisis cost and over-refusal after it."""
    from jailbreak_gate import over_refusal

    label, changed = d["label"], served != now
    missed = int(((label == "crisis") & (now != "crisis")).sum())
    wrong = int((np.isin(label, ["informational", "off_topic"]) & (now == "crisis")).sum())
    return {"changed by label": dict(Counter(label[changed])), "crisis cost": 3 * missed + wrong,
            "over-refusal": round(over_refusal(d, now), 4)}


def analyse(run_path: Path, parts_path: Path) -> None:
    """(O1)-(O4) of the rule for every candidate."""
    from floor_long_check import replay
    from jailbreak_gate import oof_detector

    from bot.answer import Engine
    from bot.policy.classify import _CRISIS

    d = dict(np.load(run_path, allow_pickle=True))
    p = dict(np.load(parts_path, allow_pickle=True))
    for key in ("label", "writer", "fold"):
        if not np.array_equal(d[key], p[key]):
            raise SystemExit(f"{parts_path} does not align with {run_path} ({key})")
    engine = Engine.load(auto_build=False)
    served = replay(d, oof_detector(engine, d), engine.config.settings.thresholds)
    label, has = d["label"], p["parts"] >= 2
    print(f"{len(label)} messages; short with two or more sentences: {has.sum()} "
          f"({dict(Counter(label[has]))})")
    base = counts(d, served, served)
    print(f"served: crisis cost {base['crisis cost']}, over-refusal {base['over-refusal']}")
    for s, w in CRISIS_CANDIDATES:
        hit = has & (p["part_crisis"] >= s) & (d["p"][:, _CRISIS] >= w) & (served != "crisis")
        now = np.where(hit, "crisis", served)
        c = counts(d, served, now)
        print(f"  crisis s {s} w {w:.2f}: newly escalated {c['changed by label']}; cost {c['crisis cost']} "
              f"({c['crisis cost'] - base['crisis cost']:+d}); over-refusal {c['over-refusal']}")
    for a in ADVICE_CANDIDATES:
        hit = has & (p["part_advice"] >= a) & ~np.isin(served, ["crisis", "refusal"])
        now = np.where(hit, "refusal", served)
        c = counts(d, served, now)
        print(f"  advice a {a}: newly refused {c['changed by label']}; over-refusal {c['over-refusal']}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "analyse"))
    parser.add_argument("--out", type=Path, default=OUT, help="the parts file written by run, read by analyse")
    parser.add_argument("--run", type=Path, default=RUN, help="the stored out-of-fold run (scripts/oof_policy.py)")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.out)
    else:
        analyse(args.run, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
