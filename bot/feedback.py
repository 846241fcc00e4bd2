"""Thumbs up / down on answers, stored locally as JSON lines.

One line per rating: the time, the answer kind, the ids of the cited passages and the rating.
Never the question text, nothing about the user. The file is `var/feedback.jsonl` in the project,
or the path in the environment variable `KRATOM_QA_FEEDBACK`.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from bot.contract import KINDS
from bot.paths import PROJECT_ROOT

RATINGS = ("up", "down")
FIELDS = ("timestamp", "kind", "passage_ids", "rating")
_LOCK = threading.Lock()


def feedback_path() -> Path:
    """Return the feedback file (env `KRATOM_QA_FEEDBACK`, else `var/feedback.jsonl`)."""
    return Path(os.environ.get("KRATOM_QA_FEEDBACK") or PROJECT_ROOT / "var" / "feedback.jsonl")


def rating_from_like(liked: object) -> str | None:
    """Map a Gradio like value (True, False, "Like", "Dislike", "" when withdrawn) to a rating."""
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


def make_record(kind: str, passage_ids: Iterable[str], rating: str, now: datetime | None = None) -> dict:
    """Return the record for one rating; raise ValueError on an unknown kind or rating."""
    if kind not in KINDS:
        raise ValueError(f"unknown answer kind {kind!r}")
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
    ids = [str(pid) for pid in passage_ids]
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    return {"timestamp": stamp, "kind": kind, "passage_ids": ids, "rating": rating}


def record_feedback(kind: str, passage_ids: Iterable[str], rating: str, path: Path | None = None,
                    now: datetime | None = None) -> dict:
    """Append one rating to the feedback file (created with its folder if missing); return it."""
    record = make_record(kind, passage_ids, rating, now)
    target = Path(path) if path else feedback_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _LOCK, open(target, "a", encoding="utf-8") as handle:
        handle.write(line)
    return record


def read_feedback(path: Path | None = None) -> list[dict]:
    """Return every stored rating (empty when the file does not exist)."""
    target = Path(path) if path else feedback_path()
    if not target.exists():
        return []
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]
