"""Remove from the building data every text the leak guard matches to an evaluation text.

Building data is trimmed, never the evaluation sets: training lines (data/policy/train/*.jsonl,
data/answerability/*.jsonl) and per-passage questions (corpus/questions/*.yaml) that equal an
evaluation question when normalised, or share >= 80% of its words (Jaccard), are dropped. Independent
writers do write the same short questions ("can kratom cause seizures"); the evaluation keeps them.
Run after adding evaluation or building data: `.venv/bin/python scripts/decontaminate.py`.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot import paths  # noqa: E402
from bot.leakguard import building_texts, evaluation_texts, find_leaks  # noqa: E402


def main() -> None:
    leaks = find_leaks(evaluation_texts(), building_texts())
    drop_lines: dict[str, set[int]] = defaultdict(set)
    drop_questions: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for leak in leaks:
        where, _, key = leak.build_source.partition(":")
        if where.endswith(".jsonl"):
            drop_lines[where].add(int(key))
        elif where.startswith("corpus/questions/"):
            drop_questions[where][key].add(leak.build_text)
        else:
            print(f"rule literal matches an evaluation text, fix by hand: {leak}")
    root = paths.PROJECT_ROOT
    for where, numbers in sorted(drop_lines.items()):
        path = root / where
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for n, line in enumerate(lines, start=1) if n not in numbers]
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        print(f"{where}: dropped {len(lines) - len(kept)} of {len(lines)} lines")
    for where, by_passage in sorted(drop_questions.items()):
        path = root / where
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        dropped = 0
        for pid, texts in by_passage.items():
            before = len(data[pid])
            data[pid] = [q for q in data[pid] if q not in texts]
            dropped += before - len(data[pid])
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
        print(f"{where}: dropped {dropped} questions")


if __name__ == "__main__":
    main()
