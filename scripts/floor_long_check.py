"""Evidence (O) for docs/decisions/2026-12-07-floor-crisis-long-messages.txt: on a long message, a floor crisis hit
escalates only when the whole message's P(crisis) reaches `crisis_floor_long`.

    .venv/bin/python scripts/oof_policy.py run --out var/oof_sentences.npz   # ~35 min on two cores
    .venv/bin/python scripts/floor_long_check.py [--run var/oof_sentences.npz]
    .venv/bin/python scripts/floor_long_check.py dev-wrappers   # (W) of the rule's addendum: garak's dev wrappers
        # around the dev writer's messages, each probe asked with crisis_floor_long null and 0.25

Each candidate is replayed with `decision_kind` over the run's stored out-of-fold probabilities, with each fold's
jailbreak-prompt detector (trained without the fold's writers, as scripts/jailbreak_gate.py), the other thresholds as
served. Prints, pooled over the run's messages: crises escalated, informational or off-topic messages escalated,
advice requests neither refused nor escalated, informational refused or escalated (mean over writers), and what the
changed messages became. Only counts are printed; the run stores no message text.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

CANDIDATES = (0.02, 0.05, 0.10, 0.25)


def replay(d: dict, jail: np.ndarray, t) -> np.ndarray:
    """The kind `decision_kind` gives each stored message under thresholds `t`."""
    from bot.policy.classify import decision_kind

    return np.array([decision_kind(d["p"][i], float(d["window_advice"][i]), bool(d["floor_crisis"][i]),
                                   bool(d["floor_advice"][i]), bool(d["windows"][i] > 0), str(d["detected"][i]), t,
                                   float(d["sentence_advice"][i]), float(d["sentence_crisis"][i]),
                                   float(jail[i]) if d["windows"][i] > 0 else 0.0)
                     for i in range(len(jail))])


def figures(d: dict, kinds: np.ndarray) -> dict[str, float]:
    """The rule's counts for one replay."""
    from jailbreak_gate import over_refusal

    label = d["label"]
    return {"crises escalated": int(((label == "crisis") & (kinds == "crisis")).sum()),
            "info/off escalated": int((np.isin(label, ["informational", "off_topic"]) & (kinds == "crisis")).sum()),
            "advice neither refused nor escalated": int(((label == "advice")
                                                         & ~np.isin(kinds, ["refusal", "crisis"])).sum()),
            "over-refusal (mean over writers)": round(over_refusal(d, kinds), 4)}


def dev_wrappers(engine) -> None:
    """(W): every dev-wrapper probe (in-the-wild and DAN, part dev, inner dev) asked with the floor's crisis hit
    alone (null) and with 0.25; counts per label of crisis replies, refusals and other replies."""
    import jailbreak_check as jc
    from fresh_wrap_check import with_thresholds

    configs = {str(value): with_thresholds(engine, crisis_floor_long=value) for value in (None, 0.25)}
    kinds: dict[str, Counter] = {name: Counter() for name in configs}
    changed = Counter()
    for probe in jc.probes(["inthewild", "dan"], None, "dev", "dev"):
        replies = {}
        for name, config in configs.items():
            engine.policy.config = config
            replies[name] = engine.ask(probe.text, [])["kind"]
            kinds[name][(probe.label, replies[name])] += 1
        if len(set(replies.values())) > 1:
            changed[(probe.label, *replies.values())] += 1
    for name, counter in kinds.items():
        print(f"crisis_floor_long {name}: crises escalated {counter[('crisis', 'crisis')]}, advice refused "
              f"{counter[('advice', 'refusal')]}, informational escalated {counter[('informational', 'crisis')]}, "
              f"wrappers alone escalated {counter[('none', 'crisis')]}; all {dict(counter)}")
    print(f"changed (label, null, 0.25): {dict(changed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="oof", choices=("oof", "dev-wrappers"))
    parser.add_argument("--run", type=Path, default=ROOT / "var" / "oof_sentences.npz")
    args = parser.parse_args()
    from bot.answer import Engine
    from jailbreak_gate import oof_detector

    engine = Engine.load(auto_build=False)
    if args.command == "dev-wrappers":
        dev_wrappers(engine)
        return
    d = dict(np.load(args.run, allow_pickle=True))
    jail = oof_detector(engine, d)
    t = engine.config.settings.thresholds.model_copy(update={"crisis_floor_long": None})
    long, floor = d["windows"] > 0, d["floor_crisis"].astype(bool)
    print(f"{len(jail)} messages, {long.sum()} long; floor crisis hits on long messages by label: "
          f"{dict(Counter(d['label'][long & floor]))}")
    served = replay(d, jail, t)
    print(f"served: {figures(d, served)}")
    for candidate in CANDIDATES:
        now = replay(d, jail, t.model_copy(update={"crisis_floor_long": candidate}))
        changed = Counter(zip(d["label"][now != served], now[now != served]))
        print(f"{candidate:.2f}: {figures(d, now)}; changed (label, now): {dict(changed)}")


if __name__ == "__main__":
    main()
