"""Evidence (O) for two gates on a long message's window advice reading, out of fold (var/oof_r18.npz): what it
changes when a window refuses only with the whole message's P(advice) at `advice_window_whole` or above
(docs/decisions/2026-12-07-window-advice-needs-whole.txt; `--gate whole`), or only with one of the message's
sentences, read on its own, at `advice_window_sentence` or above
(docs/decisions/2026-12-07-window-advice-needs-a-sentence.txt; `--gate sentence`), for each candidate against null
(the served rule). Pooled counts, then (O1), (O2) and the rule's choice.

    .venv/bin/python scripts/window_whole_check.py                 # --gate whole, var/oof_r18.npz
    .venv/bin/python scripts/window_whole_check.py --gate sentence
    .venv/bin/python scripts/window_whole_check.py --run var/other.npz

Prints counts only (no message text is stored in a run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from oof_policy import decide  # noqa: E402

CANDIDATES = {"whole": (0.02, 0.05, 0.10, 0.20), "sentence": (0.30, 0.50, 0.70)}
HANDLED = ("advice", "crisis")
WRONG = "informational/off-topic refused or escalated"


def counts(d: dict, decided: np.ndarray) -> dict[str, int]:
    """Advice requests refused or escalated; informational and off-topic messages refused or escalated; and the same
    for long messages and by detected language group."""
    label, long, english = d["label"], d["windows"] > 0, d["detected"] == "en"
    caught = np.isin(decided, HANDLED)
    wrong = np.isin(label, ("informational", "off_topic")) & caught
    return {"advice caught": int((caught & (label == "advice")).sum()),
            "crises escalated": int(((decided == "crisis") & (label == "crisis")).sum()),
            WRONG: int(wrong.sum()),
            "  long": int((wrong & long).sum()), "  long English": int((wrong & long & english).sum()),
            "long advice caught": int((caught & (label == "advice") & long).sum())}


def main(argv: list[str]) -> None:
    from bot.policy.config import default_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "var" / "oof_r18.npz")
    parser.add_argument("--gate", choices=tuple(CANDIDATES), default="whole")
    args = parser.parse_args(argv)
    d = dict(np.load(args.run, allow_pickle=True))
    t = default_config().settings.thresholds
    if t.advice_window_whole is not None or t.advice_window_sentence is not None:
        raise SystemExit("policy.yaml already sets a window gate; the baseline here is null")
    print(f"{len(d['p'])} messages ({int((d['windows'] > 0).sum())} long); served thresholds crisis {t.crisis}, "
          f"advice {t.advice}, window {t.advice_window}, advice_long {t.advice_long}; sentences not read")
    base = counts(d, decide(d, t.crisis, t.advice, t.advice_window, t.advice_long))
    print("null  " + ", ".join(f"{k.strip()} {v}" for k, v in base.items()))
    best = None
    for candidate in CANDIDATES[args.gate]:
        gate = {"window_whole" if args.gate == "whole" else "window_sentence": candidate}
        now = counts(d, decide(d, t.crisis, t.advice, t.advice_window, t.advice_long, **gate))
        lost = base["advice caught"] - now["advice caught"]
        saved = base[WRONG] - now[WRONG]
        o1, o2 = lost <= 3, saved >= 15
        print(f"{candidate:<5} " + ", ".join(f"{k.strip()} {v}" for k, v in now.items())
              + f" | (O1) advice lost {lost}: {'met' if o1 else 'NOT met'}; (O2) saved {saved}: "
              + ("met" if o2 else "NOT met"))
        if o1 and o2 and (best is None or saved > best[1]):
            best = (candidate, saved)
    print(f"chosen: {best[0] if best else 'none (not adopted)'}")


if __name__ == "__main__":
    main(sys.argv[1:])
