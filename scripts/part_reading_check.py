"""Evidence for docs/decisions/2026-12-07-short-message-part-readings.txt: a short message that would get `no_answer`
read part by part (`Engine._part_reading`), on the tune and dev parts only.

    .venv/bin/python scripts/part_reading_check.py stage    # the tune writers' files -> eval/answers/multipart_tune/
    .venv/bin/python scripts/part_reading_check.py run      # served and each candidate; var/part_reading_check.json
    .venv/bin/python scripts/part_reading_check.py label-files DIR   # newly answered questions, in labellers' files
    .venv/bin/python scripts/part_reading_check.py report [LABELS]   # (T1), (T2), (R1) with the labels (default: the
                                                                      # stored eval/answers/part_reading_labels.jsonl)

The questions: the retrieval tune part (eval/retrieval/tune/), the casual tune set (eval/answers/casual_tune/), the
dev writer's English informational messages (eval/policy/dev/teen.jsonl, with their earlier turns) and the multi-part
tune set (eval/answers/multipart_tune/). Each goes through `Engine.ask` as served and with each candidate's
`part_answer_split` and `part_answer_threshold`. The run file holds the questions (evaluation data from the
repository) and, per setting, the reply kind and the cited passages.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import paths  # noqa: E402

WRITERS = Path("/work/writers")
TUNE_WRITERS = ("mtune-a", "mtune-b")
OUT = ROOT / "var" / "part_reading_check.json"
LABELS = ROOT / "eval" / "answers" / "part_reading_labels.jsonl"
CANDIDATES = {"S30": ("sentences", 0.30), "S50": ("sentences", 0.50), "C30": ("clauses", 0.30),
              "C50": ("clauses", 0.50)}


def stage() -> None:
    """Copy each tune writer's questions into eval/answers/multipart_tune/<writer>.jsonl with ids, without the lines
    the leak guard matches to a building or another evaluation text (normalised equal or Jaccard >= 0.8)."""
    from bot.leakguard import building_texts, evaluation_texts, find_leaks

    folder = paths.eval_dir() / "answers" / "multipart_tune"
    reference = building_texts() + [(t, w) for t, w in evaluation_texts() if "answers/multipart_tune/" not in w]
    folder.mkdir(parents=True, exist_ok=True)
    for writer in TUNE_WRITERS:
        lines = [json.loads(line) for line in (WRITERS / writer / "questions.jsonl").read_text().splitlines()
                 if line.strip()]
        dropped = {int(leak.eval_source) for leak in find_leaks([(r["q"], str(n)) for n, r in enumerate(lines)],
                                                                reference)}
        kept = [{"id": f"{writer}-{n + 1:04d}", "q": r["q"]} for n, r in enumerate(lines) if n not in dropped]
        (folder / f"{writer}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
        print(f"{writer}: kept {len(kept)} of {len(lines)} ({len(dropped)} dropped by the leak guard)")


def questions() -> list[dict]:
    """Every question of the rule's (T) sets: set, id, text, earlier turns and (retrieval tune) its labels."""
    root = paths.eval_dir()
    rows: list[dict] = []
    for name, folder in (("retrieval_tune", root / "retrieval" / "tune"), ("casual_tune", root / "answers" /
                         "casual_tune"), ("multipart_tune", root / "answers" / "multipart_tune")):
        for path in sorted(folder.glob("*.jsonl")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
                raw = json.loads(line)
                rows.append({"set": name, "id": raw.get("id") or f"{path.stem}-{n + 1:04d}", "q": raw["q"],
                             "history": [], "relevant": raw.get("relevant")})
    for line in (root / "policy" / "dev" / "teen.jsonl").read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        if raw["label"] == "informational" and raw["lang"] == "en":
            rows.append({"set": "dev", "id": raw["id"], "q": raw["text"], "history": raw.get("history", []),
                         "relevant": None})
    return rows


def run(out: Path) -> None:
    """Served and each candidate, through `Engine.ask`."""
    from bot.answer import Engine

    engine = Engine.load(auto_build=False)
    served = dict(engine.retrieval_settings)
    if served["part_answer_threshold"] is not None:
        raise SystemExit("the served engine already reads parts: this check compares against it being off")
    settings = {"served": served, **{name: {**served, "part_answer_split": split, "part_answer_threshold": value}
                                     for name, (split, value) in CANDIDATES.items()}}
    rows = questions()
    for row in rows:
        for name, values in settings.items():
            engine.retrieval_settings = values
            reply = engine.ask(row["q"], row["history"])
            row[name] = {"kind": reply["kind"], "cited": [c["passage_id"] for c in reply["citations"]],
                         "highlight": reply["citations"][0]["highlight"] if reply["citations"] else ""}
    engine.retrieval_settings = served
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, ensure_ascii=False))
    print(f"{len(rows)} questions: {dict(Counter(r['set'] for r in rows))}")
    for name in CANDIDATES:
        new = [r for r in rows if r["served"]["kind"] == "no_answer" and r[name]["kind"] == "answer"]
        other = sum(r["served"] != r[name] for r in rows) - len(new)
        print(f"  {name}: newly answered {len(new)} ({dict(Counter(r['set'] for r in new))}); other changes {other}")


def newly_answered(rows: list[dict]) -> list[dict]:
    """Every (question, cited passage) a candidate newly answers, once per distinct first citation."""
    seen: dict[tuple[str, str], dict] = {}
    for row in rows:
        for name in CANDIDATES:
            if row["served"]["kind"] == "no_answer" and row[name]["kind"] == "answer":
                key = (row["id"], row[name]["cited"][0])
                seen.setdefault(key, {"id": f"{row['id']}|{row[name]['cited'][0]}", "question": row["q"],
                                      "earlier_turns": row["history"], "cited_passages": row[name]["cited"]})
    return list(seen.values())


def label_files(folder: Path) -> None:
    """Split the newly answered (question, citation) pairs into two labellers' input files."""
    items = newly_answered(json.loads(OUT.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    for n, part in enumerate((items[0::2], items[1::2])):
        (folder / f"input-{n + 1}.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in part))
    print(f"{len(items)} pairs -> {folder}/input-1.jsonl, input-2.jsonl")


def report(labels_path: Path) -> None:
    """(T1), (T2) and (R1) for each candidate, with the labels in `labels_path` (a file, or a folder of labellers'
    output-*.jsonl)."""
    files = sorted(labels_path.glob("output-*.jsonl")) if labels_path.is_dir() else [labels_path]
    labels = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            labels[raw["id"]] = raw["first_cited"]
    rows = json.loads(OUT.read_text())
    for name in CANDIDATES:
        new = [r for r in rows if r["served"]["kind"] == "no_answer" and r[name]["kind"] == "answer"]
        verdicts = Counter(labels.get(f"{r['id']}|{r[name]['cited'][0]}", "unlabelled") for r in new)
        good = verdicts["yes"] + verdicts["partly"]
        unanswerable = sum(1 for r in new if r["set"] == "retrieval_tune" and r["relevant"] == [])
        met = good >= 10 and verdicts["no"] <= len(new) / 4 and unanswerable <= 2 and not verdicts["unlabelled"]
        print(f"{name}: newly answered {len(new)} {dict(verdicts)}; by set {dict(Counter(r['set'] for r in new))}; "
              f"(T1) yes or partly {good} (>= 10); (T2) no {verdicts['no']} (<= {len(new) / 4:.1f}); (R1) "
              f"unanswerable retrieval-tune newly answered {unanswerable} (<= 2): {'met' if met else 'NOT met'}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("stage", "run", "label-files", "report"))
    parser.add_argument("path", nargs="?", type=Path, default=LABELS,
                        help="label-files: the folder to write; report: the labels (a file or a labellers' folder)")
    args = parser.parse_args(argv)
    if args.command == "stage":
        stage()
    elif args.command == "run":
        run(OUT)
    elif args.command == "label-files":
        label_files(args.path)
    else:
        report(args.path)


if __name__ == "__main__":
    main(sys.argv[1:])
