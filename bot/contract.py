"""The answer contract: the JSON object every interface returns, and its schema check.

The schema (`schema/answer.schema.json`) is the project's shared contract; `validate_reply`
raises when a reply does not conform, so every test can check every kind of reply.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

KINDS = ("answer", "no_answer", "refusal", "crisis", "off_topic")
SCHEMA_PATH = Path(__file__).parent / "schema" / "answer.schema.json"


@lru_cache(maxsize=1)
def _validator():
    import jsonschema  # only where replies are checked (tests, benchmarks): ~0.1 s less at every start

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_reply(reply: dict) -> None:
    """Raise `jsonschema.ValidationError` unless `reply` follows the answer contract."""
    _validator().validate(reply)


def reply_errors(reply: dict) -> list[str]:
    """Return the contract violations of `reply` as readable strings (empty when valid)."""
    return [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in _validator().iter_errors(reply)]


def make_reply(question: str, kind: str, message: str = "", citations: list | None = None,
               resources: list | None = None) -> dict:
    """Return a reply object with every field of the contract."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return {"question": question, "kind": kind, "message": message,
            "citations": list(citations or []), "resources": list(resources or [])}
