"""Does a binary crisis model (crisis against every other label) escalate crises better than the served P(crisis),
one column of the four-label softmax? Out of fold, the folds of scripts/oof_policy.py; the rule it answers was
written first: docs/decisions/2026-12-06-binary-crisis-head.txt.

    .venv/bin/python scripts/crisis_head_check.py run --folds 0 1 2   # one process per core; var/crisis_head_<f>.npz
    .venv/bin/python scripts/crisis_head_check.py run --folds 3 4
    .venv/bin/python scripts/crisis_head_check.py decide              # merge the folds, apply the rule

In each fold both models are fitted on the same feature rows (`training_rows`: typo copies included, as served),
with the served C, tol and seed and balanced class weights, and score the held-out writers. Only numbers,
labels and writer names are stored (no message text). Test writers are never used.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import oof_policy as oof  # noqa: E402

from bot import paths  # noqa: E402

VAR = Path(__file__).resolve().parent.parent / "var"
GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
ALLOWANCE = {"advice": 44, "informational": 31, "other_language_crises": 5}  # the decision file's (b)-(d)


def binary_crisis_probability(coef: np.ndarray, intercept: np.ndarray, features) -> np.ndarray:
    """P(crisis) of `model._fit`'s two-class coefficients (rows: rest, crisis; it stores w and -w)."""
    logit = np.asarray(features @ coef[1]).ravel() + intercept[1]
    return 1.0 / (1.0 + np.exp(-(logit - (np.asarray(features @ coef[0]).ravel() + intercept[0])) / 2.0))


def run(folds: list[int]) -> None:
    from bot.answer import Engine
    from bot.index import cached_embedder
    from bot.policy.bank import load_split
    from bot.policy.classify import floor_hits, policy_inputs
    from bot.policy.config import LABELS
    from bot.policy.floor import RuleFloor
    from bot.policy.model import Featurizer, PolicyModel, _fit
    from bot.policy.training import training_rows
    from bot.query import vectors_of

    engine = Engine.load(auto_build=False)
    config, dim = engine.config, engine.embedder.dim
    settings = config.settings.model
    items = load_split("train") + load_split("dev")
    embed = cached_embedder(engine.embedder, paths.index_dir())
    floor, featurizer = RuleFloor(config), Featurizer(settings, dim)
    for fold, (train_rows, held_rows) in enumerate(oof.writer_folds(items)):
        if fold not in folds:
            continue
        started = time.time()
        x, labels, _, _ = training_rows([items[i] for i in train_rows], engine.preparer, embed, config, dim)
        y = np.asarray(labels)
        coef, intercept = _fit(x, y, LABELS, settings.c, settings.seed, settings.tol)
        binary = np.where(y == "crisis", "crisis", "rest")
        b_coef, b_intercept = _fit(x, binary, ("rest", "crisis"), settings.c, settings.seed, settings.tol)
        softmax = PolicyModel(coef, intercept, coef[:1], intercept[:1], "")
        columns: dict[str, list] = defaultdict(list)  # the keys of `oof.stored_row`, and p_binary
        for i in held_rows:
            item = items[i]
            prepared = engine.prepare(item.text, list(item.history))
            if prepared.too_long:
                continue
            vectors = vectors_of(prepared, embed(prepared.texts_to_embed()))
            rows = featurizer.transform(policy_inputs(prepared, vectors, floor))
            probabilities = softmax.label_probabilities(rows)
            hits = floor_hits(floor, prepared.readable, prepared.language)
            row = {**oof.stored_row(item, prepared, probabilities, hits, fold),
                   "p_binary": binary_crisis_probability(b_coef, b_intercept, rows[:1])[0]}
            for key, value in row.items():
                columns[key].append(value)
        VAR.mkdir(exist_ok=True)
        np.savez_compressed(VAR / f"crisis_head_{fold}.npz", **{k: np.array(v) for k, v in columns.items()})
        print(f"fold {fold}: {len(held_rows)} messages ({time.time() - started:.0f} s)", flush=True)


def merged() -> dict:
    """The five folds' rows, in fold order."""
    parts = [dict(np.load(VAR / f"crisis_head_{fold}.npz", allow_pickle=True)) for fold in range(oof.N_FOLDS)]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def with_crisis_column(d: dict, crisis: np.ndarray) -> dict:
    """`d` whose P(crisis) column is `crisis` (the other columns as they are; `decide` reads crisis, advice and
    off-topic columns only)."""
    from bot.policy.classify import _CRISIS as CRISIS

    p = d["p"].copy()
    p[:, CRISIS] = crisis
    return {**d, "p": p}


def cheapest(d: dict) -> tuple[float, np.ndarray, int]:
    """The grid's crisis threshold of lowest pooled cost (3 x missed + wrong), its decisions and cost."""
    from bot.policy.config import default_config

    t = default_config().settings.thresholds
    best = None
    for crisis in GRID:
        decided = oof.decide(d, float(crisis), t.advice, t.advice_window, t.advice_long)
        missed, wrong, _, _ = oof.counts(d, decided, np.ones(len(decided), bool))
        cost = 3 * missed + wrong
        if best is None or cost < best[2]:
            best = (float(crisis), decided, cost)
    return best


def decide_rule() -> None:
    d = merged()
    variants = {"A softmax (served)": d, "B binary": with_crisis_column(d, d["p_binary"])}
    everything = np.ones(len(d["label"]), bool)
    other_language = d["detected"] != "en"
    result, per_writer = {}, {}
    writers = sorted(set(d["writer"]))
    for name, data in variants.items():
        threshold, decided, cost = cheapest(data)
        missed, wrong, refused, over = oof.counts(data, decided, everything)
        other_missed = oof.counts(data, decided, other_language)[0]
        result[name] = (threshold, cost, missed, wrong, refused, over, other_missed)
        per_writer[name] = oof.writer_counts(data, decided, writers)
        print(f"{name:20s} threshold {threshold:.3f}  cost {cost}  crises missed {missed} (other languages "
              f"{other_missed})  wrong escalations {wrong}  advice refused {refused}  informational refused or "
              f"escalated {over}")
    a, b = result["A softmax (served)"], result["B binary"]
    diff = per_writer["B binary"] - per_writer["A softmax (served)"]
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(writers), (2000, len(writers)))
    cost = 3 * diff[draws, 0].sum(axis=1) + diff[draws, 1].sum(axis=1)
    low, high = np.percentile(cost, [2.5, 97.5])
    checks = {
        "(a) cost lower, interval below zero": b[1] < a[1] and high < 0,
        "(b) advice refused >= A - 44": b[4] >= a[4] - ALLOWANCE["advice"],
        "(c) informational refused or escalated <= A + 31": b[5] <= a[5] + ALLOWANCE["informational"],
        "(d) other-language crises missed <= A + 5": b[6] <= a[6] + ALLOWANCE["other_language_crises"],
    }
    print(f"cost B - A: {b[1] - a[1]:+d}, writer bootstrap 95% interval [{low:+.0f}, {high:+.0f}] (2,000 resamples)")
    for check, ok in checks.items():
        print(f"  {check:50s} {'met' if ok else 'NOT met'}")
    print("ADOPT" if all(checks.values()) else "NOT ADOPTED")


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "decide"))
    parser.add_argument("--folds", nargs="*", type=int, default=list(range(oof.N_FOLDS)))
    args = parser.parse_args(argv)
    run(args.folds) if args.command == "run" else decide_rule()


if __name__ == "__main__":
    main(sys.argv[1:])
