"""What the answerability threshold does to casual questions: the casual tune set (eval/answers/casual_tune/).

Two helper writers who never saw the corpus wrote informational questions as people type them; the served
engine of `23a88a0` gave each its P(answerable) and the passages it would cite at any threshold, and three
helpers who read only the passages labelled whether the first (and any) of those passages answers
(brief docs/briefs/answer_labeller.md). This prints, for each threshold, how many questions would be answered
and whether their first passage answers (yes / partly / no), and how many of the rest have an answering
passage somewhere. By default it reads the stored numbers only (no engine). With `--engine` it recomputes
P(answerable) with the served engine and checks that its first passage is still the labelled one (a change of
the answerability model keeps the ranking; a change of retrieval makes the labels stale, and the script says so).

    .venv/bin/python scripts/casual_threshold_check.py            # the engine of 23a88a0, as stored
    .venv/bin/python scripts/casual_threshold_check.py --engine   # P(answerable) of the served engine
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402

FOLDER = paths.eval_dir() / "answers" / "casual_tune"
THRESHOLDS = (0.05, 0.08, 0.10, 0.12, 0.15, 0.16, 0.18, 0.20, 0.22, 0.23, 0.25, 0.30)
BANDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.23, 0.30, 0.50, 1.01)


def _with_served_probabilities(labelled: list[dict]) -> list[dict]:
    """The labelled lines with P(answerable) from the served engine (same reading as `Engine.ask`)."""
    from bot.answer import Engine

    engine = Engine.load(auto_build=False)
    out, moved = [], 0
    for line in labelled:
        prepared = engine.prepare(line["q"])
        _, _, (probability, hits, _) = engine.best_reading(prepared, engine.encode(prepared))
        moved += not hits or hits[0].passage_id != line["cited_at_any_threshold"][0]
        out.append({**line, "p_answerable": probability})
    if moved:
        print(f"warning: the first passage changed for {moved} questions; their labels describe another ranking")
    return out


def main() -> None:
    lines = [json.loads(line) for path in sorted(FOLDER.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    labelled = [line for line in lines if line["first_cited"] is not None]
    if "--engine" in sys.argv[1:]:
        labelled = _with_served_probabilities(labelled)
    print(f"{len(lines)} questions; {len(labelled)} reach retrieval with a citable passage and are labelled "
          f"(the others: {dict(Counter(line['served_kind'] for line in lines if line['first_cited'] is None))})")
    print("threshold  answered  first passage answers yes / partly / no  |  below: some passage answers / none")
    for threshold in THRESHOLDS:
        above = [line for line in labelled if line["p_answerable"] >= threshold]
        below = [line for line in labelled if line["p_answerable"] < threshold]
        first = Counter(line["first_cited"] for line in above)
        answerable = sum(1 for line in below if line["any_cited"] != "no" or line["other_passage"])
        print(f"  {threshold:.2f}     {len(above):4d}     {first['yes']:4d} / {first['partly']:4d} / {first['no']:4d}"
              f"                    |  {answerable:4d} / {len(below) - answerable:4d}")
    print("by band of P(answerable): first passage answers yes / partly / no")
    for low, high in zip(BANDS, BANDS[1:]):
        first = Counter(line["first_cited"] for line in labelled if low <= line["p_answerable"] < high)
        print(f"  [{low:.2f}, {min(high, 1.0):.2f})  {first['yes']:4d} / {first['partly']:4d} / {first['no']:4d}")


if __name__ == "__main__":
    main()
