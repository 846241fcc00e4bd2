"""The safety policy: crisis, refusal, off-topic and language decisions, as data plus rules.

`Policy.decide` makes the decision; `load_messages` and `load_resources` read what the bot says
and the help resources it shows.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.policy.classify import Decision, Policy

DATA = Path(__file__).parent / "data"

__all__ = ["Decision", "Policy", "load_messages", "load_resources"]


def load_messages(folder: Path = DATA) -> dict:
    """Return the policy's messages (`data/messages.yaml`)."""
    return yaml.safe_load((folder / "messages.yaml").read_text(encoding="utf-8"))


def load_resources(folder: Path = DATA) -> dict[str, dict]:
    """Return the help resources by id (`data/resources.yaml`)."""
    entries = yaml.safe_load((folder / "resources.yaml").read_text(encoding="utf-8"))
    return {e["id"]: e for e in entries}
