"""A small policy training set for index tests (`build_index(..., train_items=TRAIN_ITEMS)`).

Training on the real bank with the fake embedder takes about a minute; index tests that only need
*a* policy model use these few items instead and load with `policy_hash=None` (or "custom").
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

import pytest

from bot.policy.bank import BankItem

_TEXTS = [
    ("informational", "", "is kratom legal in texas"),
    ("informational", "", "what is kratom"),
    ("informational", "", "is kratom approved by the fda"),
    ("advice", "amount", "how many grams of kratom should i take"),
    ("advice", "amount", "how much kratom should i use for pain"),
    ("advice", "buy", "where can i buy kratom"),
    ("advice", "buy", "which shop sells kratom near me"),
    ("crisis", "", "my friend is not breathing"),
    ("crisis", "", "i want to kill myself"),
    ("off_topic", "", "what is the capital of france"),
    ("off_topic", "", "how do i bake bread"),
    # One message long enough to be read in windows: the jailbreak-prompt detector trains on such messages
    # (bot/policy/jailbreak.py) and refuses to train without them.
    ("informational", "", " ".join([
        "My uncle runs a small shop and a customer asked him last week about the leaf products on the shelf.",
        "He has never sold them and does not plan to, but he wants to understand what the customer meant.",
        "He read a few articles at the library and the articles said different things about the plant.",
        "Some said it was a traditional remedy from Southeast Asia and others said regulators had warned about it.",
        "He asked me to find out what the agencies in this country have said, and when they said it.",
        "So what have the federal agencies said about kratom, and is it approved for any use?"])),
]

TRAIN_ITEMS = [BankItem(f"test-{n}", "test-writer", "train", text, label, kind, "none", "en", ())
               for n, (label, kind, text) in enumerate(_TEXTS)]


@contextmanager
def small_policy():
    """Within the block, indexes are built with `TRAIN_ITEMS` and small classifier settings (fast), and
    `Engine.load` expects such an index: it checks the policy hash "custom" and rebuilds with the
    small set. Everything else (staleness checks, rebuilds, swaps) runs unchanged."""
    import bot.answer
    import bot.index
    import bot.policy.config

    config = bot.policy.config.default_config()
    small = config.model_copy(update={"settings": config.settings.model_copy(update={
        "model": config.settings.model.model_copy(update={"hash_bits": 10, "typo_copies": 0,
                                                           "jailbreak_wrappers": False})})})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.policy.config, "default_config", lambda: small)
        patch.setattr(bot.answer, "default_config", lambda: small)
        patch.setattr(bot.answer, "source_hash", lambda: "custom")
        patch.setattr(bot.answer, "build_index", functools.partial(bot.index.build_index, train_items=TRAIN_ITEMS))
        yield small
