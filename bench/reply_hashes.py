"""Hashes of the whole reply of `engine.ask` for every evaluation question: a before/after check for speed work.

    PYTHONPATH=. .venv/bin/python -m bench.reply_hashes write var/replies-before.tsv
    PYTHONPATH=. .venv/bin/python -m bench.reply_hashes compare var/replies-before.tsv

`write` asks the engine as served (`Engine.load()`, the project's index) every question of
eval/policy/*/, eval/retrieval/*/ and eval/external/xstest/ with its history, and writes one line per
question: set, position, sha256 of the reply (canonical JSON). `compare` does the same and counts the
lines that differ from a file written before. Only hashes and counts are written or printed: never a
question or a reply (the test parts are scored only, and question text stays out of logs and files).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

from bench.common import PROJECT, XSTEST

EVAL = PROJECT / "eval"


def evaluation_items() -> list[tuple[str, str, list[str]]]:
    """(set name, question, history) for every evaluation question, in a fixed order."""
    items = []
    for pattern, field in (("policy/*/*.jsonl", "text"), ("retrieval/*/*.jsonl", "q")):
        for path in sorted(EVAL.glob(pattern)):
            name = str(path.relative_to(EVAL))
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    items.append((name, item[field], list(item.get("history") or [])))
    with XSTEST.open(newline="", encoding="utf-8") as handle:
        items += [(str(XSTEST.relative_to(EVAL)), row["prompt"], []) for row in csv.DictReader(handle)]
    return items


def reply_hash(reply: dict) -> str:
    """sha256 of the reply as canonical JSON (sorted keys, no whitespace choices left open)."""
    text = json.dumps(reply, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_lines() -> list[str]:
    """One `set<TAB>position<TAB>hash` line per evaluation question."""
    from bot.answer import Engine

    engine = Engine.load(auto_build=False)
    lines, positions = [], {}
    for name, question, history in evaluation_items():
        position = positions[name] = positions.get(name, -1) + 1
        lines.append(f"{name}\t{position}\t{reply_hash(engine.ask(question, history))}")
    return lines


def compare(before: list[str], after: list[str]) -> dict[str, tuple[int, int]]:
    """Per set: (questions, replies whose hash differs)."""
    if [line.rsplit("\t", 1)[0] for line in before] != [line.rsplit("\t", 1)[0] for line in after]:
        raise ValueError("the two files hold different questions")
    counts: dict[str, list[int]] = {}
    for old, new in zip(before, after):
        count = counts.setdefault(old.split("\t", 1)[0], [0, 0])
        count[0] += 1
        count[1] += old != new
    return {name: (total, differ) for name, (total, differ) in counts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("write", "compare"))
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    lines = hash_lines()
    if args.mode == "write":
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} reply hashes to {args.path}")
        return 0
    counts = compare(args.path.read_text(encoding="utf-8").splitlines(), lines)
    for name, (total, differ) in sorted(counts.items()):
        print(f"{name}: {total} replies, {differ} differ")
    differ = sum(d for _, d in counts.values())
    print(f"total: {sum(t for t, _ in counts.values())} replies, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
