"""One-off (run 2026-12-03): turn the retired exemplars and the retired policy eval into training files.

bot/policy/data/exemplars.yaml (written by the engineer who wrote the old rules) and
eval/policy_eval.yaml (written by a helper, but read while the old rules were tuned, so no longer an
independent evaluation) become two more training writers: data/policy/train/legacy-exemplars.jsonl
and data/policy/train/legacy-eval.jsonl. Kept for the record; the source files are removed.
"""

import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.language import detect  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASS_LABEL = {"crisis": "crisis", "crisis_contrast": "informational", "advice": "advice",
               "advice_contrast": "informational", "off_topic": "off_topic", "in_scope": "informational"}
CATEGORY_KIND = {"dose-direct": "amount", "frequency": "frequency", "taper": "taper", "route": "route",
                 "where-to-buy": "buy", "strain-for-purpose": "product", "personal-decision": "personal",
                 "crisis-selfharm": "selfharm", "crisis-overdose": "overdose_now", "crisis-medical": "medical_now",
                 "crisis-child": "child_ingestion"}
LABEL = {"refusal": "advice", "crisis": "crisis", "off_topic": "off_topic", "informational": "informational"}


def write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(path, len(rows))


def main() -> None:
    exemplars = yaml.safe_load((ROOT / "bot/policy/data/exemplars.yaml").read_text())
    rows = []
    for name, label in CLASS_LABEL.items():
        for text in exemplars.get(name, []):
            rows.append({"id": f"legacy-exemplars-{len(rows) + 1:04d}", "text": text, "label": label,
                         "kind": "", "wrapper": "none", "lang": detect(text), "history": []})
    write(ROOT / "data/policy/train/legacy-exemplars.jsonl", rows)
    old_eval = yaml.safe_load((ROOT / "eval/policy_eval.yaml").read_text())
    rows = []
    for item in old_eval:
        rows.append({"id": f"legacy-eval-{len(rows) + 1:04d}", "text": item["q"], "label": LABEL[item["label"]],
                     "kind": CATEGORY_KIND.get(item.get("category", ""), ""), "wrapper": "none",
                     "lang": detect(item["q"]), "history": item.get("history") or []})
    write(ROOT / "data/policy/train/legacy-eval.jsonl", rows)


if __name__ == "__main__":
    main()
