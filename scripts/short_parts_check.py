"""Evidence (O) for docs/decisions/2026-12-07-short-message-parts.txt: each sentence of a SHORT message (no windows)
with two or more sentences, read on its own, out of fold; and for docs/decisions/2026-12-07-short-message-clauses.txt:
each clause of one (`--parts clauses`, bot/query.py `message_clauses`).

    .venv/bin/python scripts/short_parts_check.py run [--out var/oof_short_parts.npz]   # ~30 min on two cores
    .venv/bin/python scripts/short_parts_check.py analyse [--run var/oof_sentences.npz]
    .venv/bin/python scripts/short_parts_check.py run --parts clauses          # writes var/oof_short_clauses.npz
    .venv/bin/python scripts/short_parts_check.py analyse --parts clauses      # the clause rule's (O1)-(O3)

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
OUT_CLAUSES = ROOT / "var" / "oof_short_clauses.npz"
CLAUSE_ADVICE_CANDIDATES = (None, 0.99, 0.95)  # K0, K1, K2 of the clause rule
RUN = ROOT / "var" / "oof_sentences.npz"
CRISIS_CANDIDATES = tuple((s, w) for s in (0.95, 0.99) for w in (0.0, 0.05, 0.10))
ADVICE_CANDIDATES = (0.90, 0.95, 0.99)


def run(out: Path, by_clause: bool = False) -> None:
    """The out-of-fold readings of the parts of every short train or dev message of two or more parts: its sentences,
    or with `by_clause` its clauses."""
    from dataclasses import replace

    from oof_policy import fold_policies

    from bot import paths
    from bot.answer import Engine
    from bot.index import cached_embedder
    from bot.policy.bank import load_split
    from bot.policy.classify import _ADVICE, _CRISIS, sentence_inputs
    from bot.query import message_clauses, message_sentences, vectors_of

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
            split = message_clauses if by_clause else (lambda text: message_sentences(text, False))
            parts = split(item.text) if not prepared.windows else ()
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


def served_and_clause_kinds(run_path: Path, sentences_path: Path, clauses_path: Path):
    """The stored run, its served decisions (the short-message sentence reading applied at the served values) and
    the clause file, checked to align."""
    from floor_long_check import replay
    from jailbreak_gate import oof_detector

    from bot.answer import Engine
    from bot.policy.classify import _CRISIS

    d = dict(np.load(run_path, allow_pickle=True))
    sentences = dict(np.load(sentences_path, allow_pickle=True))
    clauses = dict(np.load(clauses_path, allow_pickle=True))
    for other, path in ((sentences, sentences_path), (clauses, clauses_path)):
        for key in ("label", "writer", "fold"):
            if not np.array_equal(d[key], other[key]):
                raise SystemExit(f"{path} does not align with {run_path} ({key})")
    engine = Engine.load(auto_build=False)
    t = engine.config.settings.thresholds
    base = replay(d, oof_detector(engine, d), t)

    def with_parts(parts: dict, advice: float | None) -> np.ndarray:
        has = parts["parts"] >= 2
        crisis = (has & (parts["part_crisis"] >= t.crisis_part) & (d["p"][:, _CRISIS] >= t.crisis_part_whole)
                  & (base != "crisis"))
        kinds = np.where(crisis, "crisis", base)
        if advice is not None:
            kinds = np.where(has & (parts["part_advice"] >= advice) & ~np.isin(kinds, ["crisis", "refusal"]),
                             "refusal", kinds)
        return kinds

    return d, with_parts(sentences, t.advice_part), clauses, (lambda advice: with_parts(clauses, advice))


def analyse_clauses(run_path: Path, sentences_path: Path, clauses_path: Path) -> None:
    """(O1)-(O3) of docs/decisions/2026-12-07-short-message-clauses.txt for K0, K1 and K2."""
    d, served, clauses, candidate = served_and_clause_kinds(run_path, sentences_path, clauses_path)
    label = d["label"]
    has = clauses["parts"] >= 2
    print(f"{len(label)} messages; short with two or more clauses: {has.sum()} ({dict(Counter(label[has]))})")
    base = counts(d, served, served)
    print(f"served (sentences): crisis cost {base['crisis cost']}, over-refusal {base['over-refusal']}")
    for name, advice in zip(("K0", "K1", "K2"), CLAUSE_ADVICE_CANDIDATES):
        now = candidate(advice)
        c = counts(d, served, now)
        gained = int((np.isin(label, ["advice"]) & np.isin(now, ["refusal", "crisis"])
                      & ~np.isin(served, ["refusal", "crisis"])).sum())
        lost = int((np.isin(label, ["advice"]) & ~np.isin(now, ["refusal", "crisis"])
                    & np.isin(served, ["refusal", "crisis"])).sum())
        info_refused = int((np.isin(label, ["informational", "off_topic"]) & (now == "refusal")
                            & (served != "refusal")).sum())
        print(f"  {name} (advice_part {advice}): changed by label (served -> now) {c['changed by label']}; "
              f"crisis cost {c['crisis cost']} ({c['crisis cost'] - base['crisis cost']:+d}); over-refusal "
              f"{c['over-refusal']} ({c['over-refusal'] - base['over-refusal']:+.4f}); advice newly refused or "
              f"escalated {gained} (no longer: {lost}); informational or off-topic newly refused {info_refused}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "analyse"))
    parser.add_argument("--out", type=Path, default=OUT, help="the parts file written by run, read by analyse")
    parser.add_argument("--run", type=Path, default=RUN, help="the stored out-of-fold run (scripts/oof_policy.py)")
    parser.add_argument("--parts", choices=("sentences", "clauses"), default="sentences",
                        help=f"clauses: run writes, analyse reads {OUT_CLAUSES.relative_to(ROOT)} as well")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(OUT_CLAUSES if args.parts == "clauses" else args.out, args.parts == "clauses")
    elif args.parts == "clauses":
        analyse_clauses(args.run, args.out, OUT_CLAUSES)
    else:
        analyse(args.run, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
