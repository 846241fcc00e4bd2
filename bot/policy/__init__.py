"""The safety policy: crisis, refusal, off-topic, language and length decisions.

`config` loads and checks the policy's data (thresholds, messages, resources, rule floor); `floor`
matches the rule floor; `model` is the learned classifier, trained by `training` from the question
bank (`bank`) at index build time; `classify.Policy.decide` makes the decision.
"""

from __future__ import annotations

from bot.policy.config import default_config

__all__ = ["default_config", "load_resources"]


def load_resources() -> dict:
    """The help resources by id (name, phone, url, description) as plain dicts, for the web page."""
    return {rid: r.model_dump() for rid, r in default_config().resources.items()}
