"""Rank the fresh casual retrieval questions (eval/answers/fresh/: only scored, never used to choose a
setting) with and without the question discount and the lexical floor of bot/retrieve.py.

    .venv/bin/python scripts/fresh_retrieval_check.py

Prints Recall@1, Recall@3 and MRR@10 of the hybrid ranking (place-aware, as served) for each setting;
the served index and answerability model are used as they are (ranking only, no abstention).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402

FRESH = paths.eval_dir() / "answers" / "fresh"
SETTINGS = ((0.0, 0.0), (0.0, 0.5), (0.06, 0.0), (0.06, 0.5))  # (question discount, lexical floor)


def main() -> None:
    from bot.answer import Engine
    from bot.answerability import asked_places
    from bot.evaluate import rank_metrics
    from bot.retrieve import Retriever, place_aware_search

    engine = Engine.load(auto_build=False)
    items = [json.loads(line) for path in sorted(FRESH.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    prepared = [engine.prepare(item["q"]) for item in items]
    vectors = [engine.encode(query).search for query in prepared]
    for discount, floor in SETTINGS:
        checked = Retriever(engine.index, question_discount=discount, min_lexical_score=floor)
        ranked = [[h.passage_id for h in place_aware_search(checked, engine.passage_places,
                                                            asked_places(engine.jurisdictions, query), vector,
                                                            query.search_text, 10)]
                  for query, vector in zip(prepared, vectors)]
        metrics = rank_metrics(ranked, [set(item["relevant"]) for item in items])
        print(f"discount {discount:.2f}  lexical floor {floor:.1f}  ({len(items)} questions)  "
              + "  ".join(f"{name} {value:.3f}" for name, value in metrics.items()))


if __name__ == "__main__":
    main()
