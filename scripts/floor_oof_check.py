"""What the crisis rule floor decides on its own, read over stored out-of-fold probabilities.

The floor's crisis patterns (bot/policy/data/rules.yaml) escalate a message whatever the classifier says.
Over an out-of-fold run of `scripts/oof_policy.py` (every train and dev message scored by a model that never
saw its writer), this script shows, for each crisis pattern, how many crises it alone escalated (P(crisis)
under the threshold) and how many informational or off-topic messages it alone sent to the crisis reply; and
with `--rules OLD.yaml`, what replacing those rules by the current ones changes at the served thresholds.

    .venv/bin/python scripts/floor_oof_check.py patterns var/oof_policy_s18_floor.npz
    git show HEAD~1:bot/policy/data/rules.yaml > /tmp/rules_old.yaml
    .venv/bin/python scripts/floor_oof_check.py compare var/oof_policy_s18_floor.npz --rules /tmp/rules_old.yaml

The run's floor hits are recomputed from the message texts (the run stores none). The comparison is
approximate: floor hits are also classifier features, so a retrained model would move P a little; a new
`oof_policy.py run` gives the exact figures. Only counts and patterns are printed for `patterns`; `compare`
prints the messages whose decision changes (train and dev writers only: building data).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CRISIS_LISTS = ("crisis_selfharm", "crisis_emergency", "foreign_crisis")


def _held_out_items(n_rows: int):
    """The run's rows in order (`oof_policy.writer_folds`): each message and its readable, lowercased text."""
    from bot.answer import Engine
    from bot.policy.bank import load_split
    from oof_policy import writer_folds

    engine = Engine.load(auto_build=False)
    items = load_split("train") + load_split("dev")
    prepared = {}
    for _, held in writer_folds(items):
        for i in held:
            p = engine.prepare(items[i].text, list(items[i].history))
            if not p.too_long:
                prepared[len(prepared)] = (items[i], p.readable.lower())
    if len(prepared) != n_rows:
        raise SystemExit(f"the run has {n_rows} rows but the bank gives {len(prepared)}: not the same data")
    return [prepared[k] for k in range(n_rows)]


def patterns(run: Path) -> None:
    """Per crisis pattern: crises and non-crises it matched, below and above the crisis threshold."""
    from bot.policy.config import default_config

    config = default_config()
    d = dict(np.load(run, allow_pickle=True))
    rows = _held_out_items(len(d["p"]))
    compiled = []
    for name in CRISIS_LISTS:
        for language, pattern_list in config.rules[name].items():
            for pattern in pattern_list:
                bounded = language == "en" and name != "foreign_crisis"
                wrapped = rf"(?<![\w-])(?:{pattern})(?![\w-])" if bounded else pattern
                compiled.append(((name, language, pattern), re.compile(wrapped, re.IGNORECASE)))
    counts: dict[tuple, Counter] = defaultdict(Counter)
    threshold = config.settings.thresholds.crisis
    for k, (_, text) in enumerate(rows):
        for key, regex in compiled:
            if regex.search(text):
                label = "crisis" if d["label"][k] == "crisis" else "other"
                counts[key][(label, "alone" if d["p"][k][2] < threshold else "model")] += 1
    print(f"{len(rows)} messages; 'alone' = P(crisis) under {threshold}, so the pattern alone escalated it "
          f"(emergency patterns are further blocked by crisis_not_now, which this count ignores)")
    print("crises alone | non-crises alone | crises / non-crises the model also escalates | list, language, pattern")
    for key, c in sorted(counts.items(), key=lambda kv: -kv[1][("other", "alone")]):
        print(f"{c[('crisis', 'alone')]:5d} {c[('other', 'alone')]:5d}   {c[('crisis', 'model')]:4d} / "
              f"{c[('other', 'model')]:<4d} | {key[0]} {key[1]} {key[2][:90]}")


def compare(run: Path, old_rules: Path) -> None:
    """The served thresholds' pooled figures with OLD rules and with the current ones, and the changed messages."""
    from bot.policy.config import default_config
    from bot.policy.floor import RuleFloor
    from oof_policy import decide, pooled, scores

    config = default_config()
    t = config.settings.thresholds
    floors = {"old rules": RuleFloor(config.model_copy(update={"rules": yaml.safe_load(old_rules.read_text())})),
              "current rules": RuleFloor(config)}
    d = dict(np.load(run, allow_pickle=True))
    rows = _held_out_items(len(d["p"]))
    everything = np.ones(len(rows), bool)
    decided = {}
    for name, floor in floors.items():
        run_with = {**d, "floor_crisis": np.array([floor.hits(text).crisis for _, text in rows])}
        decided[name] = decide(run_with, t.crisis, t.advice, t.advice_window, t.advice_long)
        means = scores(run_with, decided[name], everything)
        print(f"{name:14s} means: advice {means[0]:.3f} crisis {means[1]:.3f} over-refusal {means[2]:.3f} | "
              + pooled(run_with, decided[name], everything))
    for k in np.where(decided["old rules"] != decided["current rules"])[0]:
        item = rows[k][0]
        print(f"  {item.label}: {decided['old rules'][k]} -> {decided['current rules'][k]} | "
              f"{item.text[:110]!r}")


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("patterns", "compare"))
    parser.add_argument("run", type=Path, help="an out-of-fold run of scripts/oof_policy.py (.npz)")
    parser.add_argument("--rules", type=Path, help="compare: the rules.yaml to compare the current one with")
    args = parser.parse_args(argv)
    if args.command == "patterns":
        patterns(args.run)
    else:
        if not args.rules:
            parser.error("compare needs --rules OLD.yaml")
        compare(args.run, args.rules)


if __name__ == "__main__":
    main(sys.argv[1:])
