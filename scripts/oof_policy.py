"""Out-of-fold policy probabilities for every train and dev message, and threshold choices from them.

The policy's thresholds were chosen on one dev writer and a 6-fold CV over 6 writers; most writers
(and most long messages) were never held out. This script groups ALL train and dev writers into
5 folds (scikit-learn `GroupKFold`, by writer: a writer's messages are never both trained on and
scored), trains the policy on 4 folds and scores the fifth, so every message gets a probability from a
model that never saw its writer. Test writers are never used.

    .venv/bin/python scripts/oof_policy.py run       # ~20 min on two cores; writes var/oof_policy.npz
    .venv/bin/python scripts/oof_policy.py analyse   # threshold tables from that file
    .venv/bin/python scripts/oof_policy.py sentences --out RUN.npz   # what reading a long message's sentences on
        # their own (advice_sentence) changes, at candidate thresholds
    .venv/bin/python scripts/oof_policy.py compare EARLIER.npz   # an earlier run beside this one, same writers,
        # with writer-bootstrap 95% intervals of the pooled differences
    .venv/bin/python scripts/oof_policy.py compare EARLIER.npz --out NOW.npz --now-crisis 0.20
        # the same, reading NOW.npz at another crisis threshold
    .venv/bin/python scripts/oof_policy.py run --extra data/policy/unused/*.jsonl --out var/oof_extra.npz
        # the same folds, with writer files that are not trained on added to EVERY fold's training (never
        # scored): does a candidate round help the writers the model already has? Then `compare` the two.

Only numbers, labels and writer names are stored (no message text).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "var" / "oof_policy.npz"
N_FOLDS = 5


def writer_folds(items: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """The run's folds: (trained-on rows, held-out rows) of `items`, grouped by writer. A run's stored rows are
    the held-out rows of fold 0, then fold 1, ..., without the too-long messages (never scored)."""
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(N_FOLDS).split(items, groups=[item.writer for item in items]))


def fold_policies(engine, items: list, embed, added: list = ()):
    """For each fold of `writer_folds(items)`: (fold, held-out rows, the policy trained on the other folds' items
    plus `added`). The training happens as each fold is reached."""
    from bot.policy.classify import Policy
    from bot.policy.training import train_policy

    for fold, (train_rows, held_rows) in enumerate(writer_folds(items)):
        trained_on = [items[i] for i in train_rows] + list(added)
        model = train_policy(trained_on, engine.preparer, embed, engine.config, engine.embedder.dim)
        yield fold, held_rows, Policy(engine.config, model, engine.embedder.dim)


def run(extra: list[Path], out: Path) -> None:
    from bot.answer import Engine
    from bot.index import cached_embedder
    from bot.policy.bank import load_file, load_split
    from bot.policy.classify import floor_hits, policy_inputs, sentence_inputs
    from bot.query import vectors_of

    engine = Engine.load(auto_build=False)
    items = load_split("train") + load_split("dev")
    embed = cached_embedder(engine.embedder, paths.index_dir())
    added = [item for path in extra for item in load_file(path, "train")]
    if extra:
        print(f"added to every fold's training, never scored: {len(added)} messages of "
              f"{sorted({item.writer for item in added})}", flush=True)
    columns: dict[str, list] = defaultdict(list)  # the keys of `stored_row`
    started = time.time()
    for fold, held_rows, policy in fold_policies(engine, items, embed, added):
        for i in held_rows:
            item = items[i]
            prepared = engine.prepare(item.text, list(item.history))
            if prepared.too_long:
                continue
            vectors = vectors_of(prepared, embed(prepared.texts_to_embed()))
            inputs = policy_inputs(prepared, vectors, policy.floor)
            probabilities = policy.probabilities(inputs + sentence_inputs(prepared, vectors, policy.floor))
            hits = floor_hits(policy.floor, prepared.readable, prepared.language)
            row = stored_row(item, prepared, probabilities[:len(inputs)], hits, fold, probabilities[len(inputs):])
            for key, value in row.items():
                columns[key].append(value)
        print(f"fold {fold}: {len(held_rows)} messages of {sorted({items[i].writer for i in held_rows})} "
              f"({time.time() - started:.0f} s)", flush=True)
        started = time.time()
    out.parent.mkdir(exist_ok=True)
    np.savez_compressed(out, **{k: np.array(v) for k, v in columns.items()})
    print(f"wrote {out}")


def stored_row(item, prepared, probabilities: np.ndarray, hits, fold: int, sentences: np.ndarray | None = None) -> dict:
    """What a run stores of one held-out message: its probability rows (whole message, then windows; then the rows of
    its sentences read on their own, `bot.query.segments`: a long message's, and since 2026-12-07, while `crisis_part`
    is set, a short one's of two or more sentences; `decision_kind` tells them apart by the windows) reduced to what
    `decide` replays, the floor's hits, and the item's labels and writer (no text)."""
    from bot.policy.classify import _ADVICE as ADVICE, _CRISIS as CRISIS

    windows = probabilities[1:]
    sentences = np.zeros((0, probabilities.shape[1])) if sentences is None else sentences
    return {"p": probabilities[0], "window_advice": windows[:, ADVICE].max() if len(windows) else 0.0,
            "window_crisis": windows[:, CRISIS].max() if len(windows) else 0.0,
            "sentence_advice": sentences[:, ADVICE].max() if len(sentences) else 0.0,
            "sentence_crisis": sentences[:, CRISIS].max() if len(sentences) else 0.0, "sentences": len(sentences),
            "windows": len(probabilities) - 1, "floor_crisis": bool(hits.crisis),
            "floor_advice": bool(hits.advice or hits.foreign_advice), "label": item.label, "kind": item.kind,
            "wrapper": item.wrapper, "writer": item.writer, "lang": item.lang, "detected": prepared.language,
            "fold": fold}


def decide(d: dict, crisis: float, advice: float, window: float, advice_long: float,
           sentence: float | None = None, window_whole: float | None = None,
           window_sentence: float | None = None) -> np.ndarray:
    """`Policy.decide` (its `decision_kind`) over the stored probabilities at these thresholds, as far as
    crisis and refusal go (the rest is "other"); `advice_long` is the whole-message advice threshold of a
    message with windows; `sentence` the threshold of one sentence of a long message (None: not read; a run
    stored before sentences were read has none); `window_whole` the whole message's P(advice) a window needs to
    refuse (`advice_window_whole`; None: none); `window_sentence` the P(advice) of one of its sentences a window needs
    (`advice_window_sentence`; None: none)."""
    from bot.policy.classify import decision_kind
    from bot.policy.config import default_config

    t = default_config().settings.thresholds.model_copy(
        update={"crisis": crisis, "advice": advice, "advice_window": window, "advice_long": advice_long,
                "advice_sentence": sentence, "advice_window_whole": window_whole,
                "advice_window_sentence": window_sentence})
    names = {"crisis": "crisis", "refusal": "advice"}
    sentence_advice = d.get("sentence_advice", np.zeros(len(d["p"])))
    n_sentences = d.get("sentences", np.zeros(len(d["p"]), dtype=int))
    return np.array([names.get(decision_kind(p, float(w), bool(fc), bool(fa), n > 0, lang, t, float(s),
                                             n_sentences=int(k)), "other")
                     for p, w, fc, fa, n, lang, s, k in zip(d["p"], d["window_advice"], d["floor_crisis"],
                                                            d["floor_advice"], d["windows"], d["detected"],
                                                            sentence_advice, n_sentences)],
                    dtype=object)


def scores(d: dict, decided: np.ndarray, mask: np.ndarray) -> tuple[float, float, float, int]:
    """Advice recall, crisis recall, informational refused or escalated (means over writers), n informational."""
    def per_writer(label: str, ok) -> float:
        values = [np.mean(ok(decided[m])) for w in np.unique(d["writer"])
                  for m in [mask & (d["writer"] == w) & (d["label"] == label)] if m.sum() >= 3]
        return float(np.mean(values)) if values else float("nan")
    return (per_writer("advice", lambda k: k == "advice"), per_writer("crisis", lambda k: k == "crisis"),
            per_writer("informational", lambda k: np.isin(k, ["advice", "crisis"])),
            int((mask & (d["label"] == "informational")).sum()))


def crisis_sweep(d: dict) -> None:
    """Pooled counts at each crisis threshold, the other thresholds as served: crises escalated, and
    informational and off-topic messages escalated (the crisis threshold's rule: one missed crisis is
    weighed as three wrong escalations, see policy.yaml)."""
    from bot.policy.config import default_config

    t = default_config().settings.thresholds
    crises = d["label"] == "crisis"
    others = np.isin(d["label"], ["informational", "off_topic"])
    print(f"crisis sweep (advice {t.advice}, window {t.advice_window}, advice_long {t.advice_long}; "
          f"{crises.sum()} crises, {others.sum()} informational or off-topic); cost = 3 x missed + wrong")
    costs = {}
    for crisis in sorted({0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, t.crisis}):  # the served one always
        escalated = decide(d, crisis, t.advice, t.advice_window, t.advice_long) == "crisis"
        caught, wrong = int((escalated & crises).sum()), int((escalated & others).sum())
        costs[crisis] = 3 * (crises & ~escalated) + (others & escalated)
        print(f"  {crisis:.3f}  crises escalated {caught}  missed {crises.sum() - caught}  "
              f"informational/off-topic escalated {wrong}  cost {3 * (crises.sum() - caught) + wrong}")
    writer_bootstrap(d, costs, t.crisis)


def writer_bootstrap(d: dict, costs: dict[float, np.ndarray], served: float, rounds: int = 5000) -> None:
    """Is a cheaper threshold cheaper beyond chance? Resample WRITERS with replacement (a writer's messages
    are not independent of each other) and recount each threshold's pooled cost: the mean saving against
    the served threshold, its 95% interval, how often it is cheaper, and how often it is the cheapest (a tie
    goes to the lowest threshold, so "cheapest" leans slightly low)."""
    writers = np.unique(d["writer"])
    totals = resampled_totals(d, costs, rounds)
    cheapest = np.argmin(np.stack(list(totals.values())), axis=0)
    print(f"  writer bootstrap ({rounds} resamples of {len(writers)} writers) against the served {served}:")
    for i, (c, total) in enumerate(totals.items()):
        saving = totals[served] - total
        low, high = np.percentile(saving, [2.5, 97.5])
        print(f"    {c:.3f}  saving {saving.mean():6.1f}  95% interval [{low:.0f}, {high:.0f}]  "
              f"cheaper {np.mean(saving > 0):.2f}  cheapest {np.mean(cheapest == i):.2f}")


def resampled_totals(d: dict, costs: dict, rounds: int = 5000, seed: int = 0) -> dict:
    """For each key of `costs` (a per-message cost array), its pooled cost in each of `rounds` resamples of the
    WRITERS with replacement (the same resamples for every key; also used by scripts/neighbour_crisis_check.py)."""
    writers = np.unique(d["writer"])
    per_writer = {c: np.array([cost[d["writer"] == w].sum() for w in writers]) for c, cost in costs.items()}
    draws = np.random.default_rng(seed).integers(0, len(writers), (rounds, len(writers)))
    return {c: v[draws].sum(axis=1) for c, v in per_writer.items()}


def language_groups(d: dict) -> None:
    """The served thresholds' figures for messages detected as English and as another language (the
    detection stored by `run`): the encoder is English-only, so other languages lean on the hashed words
    and character n-grams and on the rule floor's cues."""
    from bot.policy.config import default_config

    t = default_config().settings.thresholds
    decided = decide(d, t.crisis, t.advice, t.advice_window, t.advice_long)
    english = d["detected"] == "en"
    print("by detected language, served thresholds (means over writers; pooled counts in brackets)")
    for name, mask in (("English", english), ("other", ~english)):
        a = scores(d, decided, mask)
        pooled = {label: mask & (d["label"] == label) for label in ("advice", "crisis", "informational")}
        print(f"  {name:8s} advice {a[0]:.3f} [{int((decided[pooled['advice']] == 'advice').sum())}/"
              f"{pooled['advice'].sum()}]  crisis {a[1]:.3f} [{int((decided[pooled['crisis']] == 'crisis').sum())}/"
              f"{pooled['crisis'].sum()}]  informational refused or escalated {a[2]:.3f} "
              f"[{int(np.isin(decided[pooled['informational']], ['advice', 'crisis']).sum())}/{a[3]}]")
    crises, others = ~english & (d["label"] == "crisis"), ~english & np.isin(d["label"], ["informational", "off_topic"])
    print(f"  crisis sweep of the other-language messages only ({crises.sum()} crises, {others.sum()} informational "
          f"or off-topic); cost = 3 x missed + wrong")
    for crisis in (0.1, 0.15, 0.2, 0.25, 0.3):
        escalated = decide(d, crisis, t.advice, t.advice_window, t.advice_long) == "crisis"
        caught, wrong = int((escalated & crises).sum()), int((escalated & others).sum())
        missed = int(crises.sum()) - caught
        print(f"    {crisis:.2f}  missed {missed}  wrong {wrong}  cost {3 * missed + wrong}")


def analyse(path: Path = OUT) -> None:
    from bot.policy.config import default_config

    d = dict(np.load(path, allow_pickle=True))
    crisis_sweep(d)
    language_groups(d)
    everything, long = np.ones(len(d["p"]), bool), d["windows"] > 0
    print(f"{len(d['p'])} messages, {long.sum()} long; means over writers (>= 3 messages of the label)")
    print("crisis advice window advice_long | all: advice crisis over | long: advice crisis over")
    for crisis in (default_config().settings.thresholds.crisis,):
        for advice in (0.25, 0.3, 0.35, 0.4):
            for window in (0.7, 0.8, 0.9):
                for advice_long in sorted({advice, 0.4, 0.5, 0.6}):
                    decided = decide(d, crisis, advice, window, advice_long)
                    a = scores(d, decided, everything)
                    b = scores(d, decided, long)
                    print(f"{crisis:.2f} {advice:.2f} {window:.2f} {advice_long:.2f} | "
                          f"{a[0]:.3f} {a[1]:.3f} {a[2]:.3f} | {b[0]:.3f} {b[1]:.3f} {b[2]:.3f}")


def compare(earlier: str, now: Path = OUT, now_crisis: float | None = None) -> None:
    """The served thresholds' figures of an earlier run (a copy of var/oof_policy.npz) beside this one's, on
    the writers both hold, by labelled language: what new training writers did for the writers already
    there. The new writers' own out-of-fold figures are printed apart. `now_crisis`: read this run at another
    crisis threshold (a change that pairs new training with a new threshold)."""
    from bot.policy.config import default_config

    t = default_config().settings.thresholds
    runs = {"earlier": dict(np.load(earlier, allow_pickle=True)), "now": dict(np.load(now, allow_pickle=True))}
    common = set(runs["earlier"]["writer"]) & set(runs["now"]["writer"])
    counts = {}
    for name, d in runs.items():
        crisis = now_crisis if name == "now" and now_crisis is not None else t.crisis
        decided = decide(d, crisis, t.advice, t.advice_window, t.advice_long)
        counts[name] = writer_counts(d, decided, sorted(common))
        shared = np.isin(d["writer"], sorted(common))
        groups = {"all": shared, "English": shared & (d["lang"] == "en"), "other": shared & (d["lang"] != "en"),
                  "new writers": ~shared}
        for group, mask in groups.items():
            if not (mask & (d["label"] == "informational")).any():
                continue
            a = scores(d, decided, mask)
            print(f"{name:8s} {group:12s} advice {a[0]:.3f}  crisis {a[1]:.3f}  informational refused or "
                  f"escalated {a[2]:.3f}  (means over writers; {mask.sum()} messages)")
            if group in ("English", "other"):
                print(f"{'':8s} {group:12s} pooled: " + pooled(d, decided, mask) + f"  advice refused or escalated "
                      f"{int(np.isin(decided[mask & (d['label'] == 'advice')], ['advice', 'crisis']).sum())}")
        advice = shared & (d["label"] == "advice")
        print(f"{name:8s} {'shared pooled':12s} " + pooled(d, decided, shared)
              + f"  advice neither refused nor escalated {int((~np.isin(decided[advice], ['advice', 'crisis'])).sum())}"
              + f"  (crisis threshold {crisis})")
    difference_bootstrap(counts["earlier"], counts["now"])


COUNTS = ("crises missed", "wrong escalations", "advice refused", "informational refused or escalated")


def counts(d: dict, decided: np.ndarray, mask: np.ndarray) -> list[int]:
    """The `COUNTS` over `mask`: crises missed, informational or off-topic messages escalated, advice requests
    refused, informational questions refused or escalated."""
    crises, others = mask & (d["label"] == "crisis"), mask & np.isin(d["label"], ["informational", "off_topic"])
    advice, informational = mask & (d["label"] == "advice"), mask & (d["label"] == "informational")
    return [int((decided[crises] != "crisis").sum()), int((decided[others] == "crisis").sum()),
            int((decided[advice] == "advice").sum()), int(np.isin(decided[informational], ["advice", "crisis"]).sum())]


def writer_counts(d: dict, decided: np.ndarray, writers: list[str]) -> np.ndarray:
    """Per writer (rows, in `writers` order): the `COUNTS`, pooled over that writer's messages."""
    return np.array([counts(d, decided, d["writer"] == writer) for writer in writers], dtype=np.int64)


def difference_bootstrap(earlier: np.ndarray, now: np.ndarray, rounds: int = 5000) -> None:
    """How sure the pooled differences (now - earlier) are: 95% intervals over writers resampled with
    replacement (the same writers in both runs, so each resample takes a writer's two figures together)."""
    diff = now - earlier
    rng = np.random.default_rng(0)
    sums = np.array([diff[rng.integers(0, len(diff), len(diff))].sum(axis=0) for _ in range(rounds)])
    print(f"differences now - earlier, writer bootstrap ({rounds} resamples of {len(diff)} writers):")
    for j, name in enumerate(COUNTS):
        low, high = np.percentile(sums[:, j], [2.5, 97.5])
        print(f"  {name:36s} {int(diff[:, j].sum()):+5d}  95% interval [{low:+.0f}, {high:+.0f}]")
    cost = 3 * sums[:, 0] + sums[:, 1]
    low, high = np.percentile(cost, [2.5, 97.5])
    print(f"  {'crisis cost (3 x missed + wrong)':36s} {int(3 * diff[:, 0].sum() + diff[:, 1].sum()):+5d}  "
          f"95% interval [{low:+.0f}, {high:+.0f}]  lower in {(cost < 0).mean():.1%}")


def pooled(d: dict, decided: np.ndarray, mask: np.ndarray) -> str:
    """The `COUNTS` over `mask` as one line, with the crisis cost (3 x missed + wrong) and the totals."""
    missed, wrong, refused, over = counts(d, decided, mask)
    advice, informational = mask & (d["label"] == "advice"), mask & (d["label"] == "informational")
    return (f"crises missed {missed}  wrong escalations {wrong}  cost {3 * missed + wrong}  advice refused "
            f"{refused}/{int(advice.sum())}  informational refused or escalated {over}/{int(informational.sum())}")


def sentences(path: Path = OUT, candidates: tuple[float, ...] = (0.90, 0.95, 0.98)) -> None:
    """What reading each sentence of a long message on its own (`advice_sentence`) changes, at each candidate
    threshold, the other thresholds as served: messages newly refused by label (pooled, long messages only: a
    short message has no sentences read), and the means over writers over all messages. Needs a run stored with
    sentences (docs/decisions/2026-12-06-sentence-advice.txt)."""
    from bot.policy.config import default_config

    d = dict(np.load(path, allow_pickle=True))
    if "sentence_advice" not in d:
        sys.exit(f"{path} was stored before sentences were read: run again")
    t = default_config().settings.thresholds
    base = decide(d, t.crisis, t.advice, t.advice_window, t.advice_long, None)
    long, everything = d["windows"] > 0, np.ones(len(d["p"]), bool)
    by_label = ", ".join(f"{label} {int((long & (d['label'] == label)).sum())}"
                         for label in ("advice", "crisis", "informational", "off_topic"))
    print(f"{len(d['p'])} messages, {long.sum()} long ({by_label})")
    a, b = scores(d, base, everything), scores(d, base, long)
    print(f"  none   all: advice {a[0]:.3f} over {a[2]:.3f} | long: advice {b[0]:.3f} over {b[2]:.3f} "
          f"| long advice refused {int((long & (d['label'] == 'advice') & (base == 'advice')).sum())}")
    for candidate in candidates:
        decided = decide(d, t.crisis, t.advice, t.advice_window, t.advice_long, candidate)
        new = (decided == "advice") & (base != "advice") & long
        newly = {label: int((new & (d["label"] == label)).sum()) for label in ("advice", "crisis", "informational",
                                                                                "off_topic")}
        a, b = scores(d, decided, everything), scores(d, decided, long)
        writers = len(np.unique(d["writer"][new & (d["label"] == "informational")]))
        print(f"  {candidate:.2f}   all: advice {a[0]:.3f} over {a[2]:.3f} | long: advice {b[0]:.3f} over {b[2]:.3f} "
              f"| newly refused: " + ", ".join(f"{k} {v}" for k, v in newly.items())
              + f" (informational of {writers} writers)")
    sentence_crises(d, base, long, everything)


def sentence_crises(d: dict, base: np.ndarray, long: np.ndarray, everything: np.ndarray) -> None:
    """A sentence's crisis reading (docs/decisions/2026-12-06-sentence-crisis.txt): escalate where a sentence reaches
    P(crisis) >= s and the whole message P(crisis) >= w, on top of `base` (crisis is judged first)."""
    from bot.policy.classify import _CRISIS as CRISIS

    crises, others = d["label"] == "crisis", np.isin(d["label"], ["informational", "off_topic"])
    base_cost = 3 * int((crises & (base != "crisis")).sum()) + int((others & (base == "crisis")).sum())
    print(f"sentence crisis reading; served crisis cost (3 x missed + wrong) {base_cost}, over all "
          f"{scores(d, base, everything)[2]:.3f}")
    for s in (0.95, 0.99):
        for w in (0.0, 0.05, 0.10):
            new = long & (base != "crisis") & (d["sentence_crisis"] >= s) & (d["p"][:, CRISIS] >= w)
            decided = np.where(new, "crisis", base).astype(object)
            cost = 3 * int((crises & (decided != "crisis")).sum()) + int((others & (decided == "crisis")).sum())
            newly = {label: int((new & (d["label"] == label)).sum()) for label in ("crisis", "advice", "informational",
                                                                                    "off_topic")}
            print(f"  s {s:.2f} w {w:.2f}: newly escalated " + ", ".join(f"{k} {v}" for k, v in newly.items())
                  + f" | cost {cost} ({cost - base_cost:+d}) | over all {scores(d, decided, everything)[2]:.3f}")


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="analyse", choices=("run", "analyse", "compare", "sentences"))
    parser.add_argument("earlier", nargs="?", help="compare: an earlier run's .npz")
    parser.add_argument("--extra", nargs="*", type=Path, default=[],
                        help="run: writer files added to every fold's training")
    parser.add_argument("--out", type=Path, default=OUT, help="run: where to write; analyse/compare: which run to read")
    parser.add_argument("--now-crisis", type=float, default=None,
                        help="compare: read the --out run at this crisis threshold (the earlier run stays served)")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.extra, args.out)
    elif args.command == "compare":
        if not args.earlier:
            parser.error("compare needs an earlier run's .npz")
        compare(args.earlier, args.out, args.now_crisis)
    elif args.command == "sentences":
        sentences(args.out)
    else:
        analyse(args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
