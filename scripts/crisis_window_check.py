"""The rule of docs/decisions/2026-12-06-crisis-windows.txt over an out-of-fold run: should a window of a long message
whose P(crisis) is high escalate, and at which threshold?

    .venv/bin/python scripts/oof_policy.py run --out var/oof_s22.npz  # stores the top window P(crisis)
    .venv/bin/python scripts/crisis_window_check.py var/oof_s22.npz

For each candidate `crisis_window`, against the served decisions (no window crisis reading): informational and
off-topic messages newly escalated (rule (a): at most 6), advice requests newly sent to the crisis reply instead of
refused (rule (b): at most 6), and crises newly escalated; then the rule's choice (the lowest value meeting both).
Only numbers are read (the run stores no message text).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CANDIDATES = [round(0.50 + 0.05 * i, 2) for i in range(10)]
MAX_WRONG, MAX_ADVICE_LOST = 6, 6


def main(argv: list[str]) -> None:
    from bot.policy.config import default_config
    from oof_policy import decide

    d = dict(np.load(argv[0], allow_pickle=True))
    t = default_config().settings.thresholds
    served = decide(d, t.crisis, t.advice, t.advice_window, t.advice_long)  # reads no window P(crisis)
    label, long_ = d["label"], d["windows"] > 0
    non_crisis = np.isin(label, ["informational", "off_topic"])
    print(f"{len(label):,} messages of {len(set(d['writer']))} writers; {long_.sum():,} with windows "
          f"({(long_ & non_crisis).sum()} informational or off-topic, {(long_ & (label == 'crisis')).sum()} crises, "
          f"{(long_ & (label == 'advice')).sum()} advice)")
    crises, long_crises = label == "crisis", long_ & (label == "crisis")
    print(f"served: crises escalated {(served[crises] == 'crisis').sum()} of {crises.sum()}; "
          f"long crises {(served[long_crises] == 'crisis').sum()} of {long_crises.sum()}")
    chosen = None
    print(f"{'crisis_window':>13} {'wrong +':>8} {'advice lost':>12} {'crises +':>9}  (a) (b)")
    for value in CANDIDATES:
        newly = long_ & (served != "crisis") & (d["window_crisis"] >= value)
        wrong = int((newly & non_crisis).sum())
        lost = int((newly & (label == "advice") & (served == "advice")).sum())
        caught = int((newly & (label == "crisis")).sum())
        a, b = wrong <= MAX_WRONG, lost <= MAX_ADVICE_LOST
        print(f"{value:>13.2f} {wrong:>8} {lost:>12} {caught:>9}  {'met' if a else 'NOT':<3} {'met' if b else 'NOT'}")
        if a and b and chosen is None:
            chosen = value
    print("\nrule's choice: " + (f"crisis_window {chosen:.2f}" if chosen is not None else "none: NOT adopted"))


if __name__ == "__main__":
    main(sys.argv[1:])
