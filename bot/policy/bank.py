"""The policy's question bank: labelled messages by independent writers, split by writer.

One JSON Lines file per writer. Where a file lives says what it may be used for:

- `data/policy/train/<writer>.jsonl`: training data for the classifier (building data);
- `eval/policy/dev/<writer>.jsonl`: choosing thresholds and settings (never trained on);
- `eval/policy/test/<writer>.jsonl`: only ever scored (the gates of `make test`).

Each line: `id`, `text`, `label` (informational | advice | crisis | off_topic), `kind` (sub-kind),
`wrapper`, `lang`, `history` (earlier user turns, oldest first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot import paths

LABELS = ("informational", "advice", "crisis", "off_topic")
# The reply kind each label expects from the engine (informational: an answer or an honest no_answer).
EXPECTED_KIND = {"crisis": "crisis", "advice": "refusal", "off_topic": "off_topic", "informational": "answer"}
SPLITS = ("train", "dev", "test")


class BankError(Exception):
    """A bank file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class BankItem:
    """One labelled message (with its earlier turns)."""

    id: str
    writer: str
    split: str
    text: str
    label: str
    kind: str
    wrapper: str
    lang: str
    history: tuple[str, ...]


def split_dir(split: str) -> Path:
    """The folder holding one split's writer files."""
    if split == "train":
        return paths.PROJECT_ROOT / "data" / "policy" / "train"
    if split in ("dev", "test"):
        return paths.eval_dir() / "policy" / split
    raise ValueError(f"unknown split {split!r}")


def _item(raw: dict, writer: str, split: str, where: str) -> BankItem:
    try:
        label = raw["label"]
        if label not in LABELS:
            raise BankError(f"{where}: unknown label {label!r}")
        history = raw.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise BankError(f"{where}: history must be a list of strings")
        if not isinstance(raw["text"], str) or not raw["text"].strip():
            raise BankError(f"{where}: empty text")
        return BankItem(str(raw["id"]), writer, split, raw["text"], label, str(raw.get("kind", "")),
                        str(raw.get("wrapper", "none")), str(raw.get("lang", "en")), tuple(history))
    except KeyError as missing:
        raise BankError(f"{where}: missing field {missing}") from missing


def load_file(path: Path, split: str) -> list[BankItem]:
    """Read one writer's file."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BankError(f"{path}: {error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise BankError(f"{path}:{number}: not JSON: {error}") from error
        items.append(_item(raw, path.stem, split, f"{path}:{number}"))
    return items


def load_split(split: str, folder: Path | None = None) -> list[BankItem]:
    """Every item of one split (all its writers, in file-name order).

    Raises:
        BankError: the split's folder is missing or empty, or a line is malformed.
    """
    folder = folder or split_dir(split)
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise BankError(f"{folder}: no writer files (*.jsonl) for the {split} split")
    return [item for path in files for item in load_file(path, split)]


def writers(items: list[BankItem]) -> list[str]:
    """The writers of `items`, in order of first appearance."""
    return list(dict.fromkeys(item.writer for item in items))
