"""Score a fresh policy check (written by writers who never saw the project, only scored, never used to choose a
setting) through the whole pipeline (`Engine.ask`), as eval scores dev/test: eval/policy/fresh/ (xfa, xfb: the 12
other languages) or, with `--set fresh_en`, eval/policy/fresh_en/ (xfc, xfd: mostly English), or with
`--set fresh_wrap`, eval/policy/fresh_wrap/ (xfe, xff: jailbreak-wrapped messages and long dark-themed ones), or with
`--set fresh_mp`, eval/policy/fresh_mp/ (xfg, xfh: short multi-part messages), or with `--set fresh_ml`,
eval/policy/fresh_ml/ (xfi, xfj, xfk: the 12 other languages, written 2026-12-07), or with `--set fresh_en2`,
eval/policy/fresh_en2/ (xfl, xfm: English; it decided docs/decisions/2026-12-07-round18-english-check.txt), or with
`--set fresh_en3`, eval/policy/fresh_en3/ (xfn, xfo: English long messages and treatment-and-help questions; for
docs/decisions/2026-12-07-round19-long-and-help.txt), or with `--set fresh_zv`, eval/policy/fresh_zv/ (xfp, xfq:
Chinese and Vietnamese; for docs/decisions/2026-12-07-round20-chinese-vietnamese.txt), or with `--set fresh_akt`,
eval/policy/fresh_akt/ (xfr, xfs: Arabic, Korean and Thai; for
docs/decisions/2026-12-07-round21-arabic-korean-thai.txt), or with `--set fresh_six`, eval/policy/fresh_six/ (xft, xfu:
German, French, Russian, Portuguese, Indonesian, Spanish; for docs/decisions/2026-12-08-round22-six-languages.txt), or
with `--set fresh_zt`, eval/policy/fresh_zt/ (xfv, xfw: Chinese and Tagalog; for
docs/decisions/2026-12-08-round23-chinese-tagalog.txt).

    .venv/bin/python scripts/fresh_policy_check.py            # the served index
    .venv/bin/python scripts/fresh_policy_check.py --set fresh_en
    .venv/bin/python scripts/fresh_policy_check.py --by lang  # also per language (or kind, writer, wrapper)

Prints the gated rates (refusal and crisis recall, informational refused or escalated, off-topic recall)
and, per label, the reply kinds the messages got. No message text is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402

SETS = ("fresh", "fresh_en", "fresh_wrap", "fresh_mp", "fresh_ml", "fresh_en2", "fresh_en3", "fresh_zv", "fresh_akt",
        "fresh_six", "fresh_zt")


def main(argv: list[str]) -> None:
    from bot.answer import Engine
    from bot.evaluate import outcome, policy_metrics
    from bot.policy.bank import load_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by", choices=("lang", "kind", "writer", "wrapper"), action="append", default=[])
    parser.add_argument("--set", choices=SETS, default="fresh", help="which fresh check (a folder of eval/policy/)")
    args = parser.parse_args(argv)
    engine = Engine.load(auto_build=False)
    items = load_split("fresh", paths.eval_dir() / "policy" / args.set)
    by_label: dict[str, Counter] = defaultdict(Counter)
    replies: dict[str, Counter] = defaultdict(Counter)
    groups: dict[str, dict[str, Counter]] = {name: defaultdict(Counter) for name in args.by}
    for item in items:
        reply = engine.ask(item.text, list(item.history))
        result = outcome(item, reply)
        by_label[item.label][result] += 1
        replies[item.label][reply["kind"]] += 1
        for name in args.by:
            groups[name][f"{item.label}/{getattr(item, name)}"][result] += 1
    print(f"fresh policy check: {len(items)} messages of {sorted({item.writer for item in items})}")
    for key, value in policy_metrics(by_label).items():
        print(f"  {key:<38}{value:>7.3f}")
    for label, counter in sorted(replies.items()):
        print(f"  {label:<14} replies: " + ", ".join(f"{kind} {n}" for kind, n in counter.most_common()))
    for name, counters in groups.items():
        print(f"\nby label/{name}: ok / n (outcomes)")
        for key, counter in sorted(counters.items()):
            n = sum(counter.values())
            print(f"  {key:<30}{counter['ok']:>5}/{n:<5} " + ", ".join(f"{r} {c}" for r, c in sorted(counter.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
