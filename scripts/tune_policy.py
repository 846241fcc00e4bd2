"""Choose the policy model's settings and thresholds on the DEV writers only (eval/policy/dev/).

Trains on data/policy/train/, scores eval/policy/dev/ through the same preparation, floor and
classifier as serving (windows included), and prints recall/over-refusal for a grid of settings and
thresholds. The test writers (eval/policy/test/) are never read here.

    .venv/bin/python scripts/tune_policy.py [--grid]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import paths  # noqa: E402
import yaml  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from bot.embed import default_embedder  # noqa: E402
from bot.index import _embed_with_cache, _load_cache  # noqa: E402
from bot.policy.bank import load_split  # noqa: E402
from bot.policy.classify import floor_hits, kind_from_probabilities, policy_inputs  # noqa: E402
from bot.policy.config import LABELS, default_config  # noqa: E402
from bot.policy.floor import RuleFloor  # noqa: E402
from bot.policy.model import Featurizer  # noqa: E402
from bot.policy.training import train_policy  # noqa: E402
from bot.query import preparer_for, vectors_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--without", nargs="*", default=[], metavar="WRITER",
                        help="train without these writers' files (to measure what a writer adds)")
    args = parser.parse_args()
    config = default_config()
    s = config.settings
    passages = [SimpleNamespace(title=e["title"], text=e["text"]) for f in sorted((paths.corpus_dir() / "passages").glob("*.yaml"))
                for e in yaml.safe_load(f.read_text())]
    preparer = preparer_for(passages, s.windows.size, s.windows.overlap, s.context_turns)
    embedder = default_embedder()
    cache = _load_cache(paths.index_dir(), embedder.dim)

    def embed(texts):
        return _embed_with_cache(texts, embedder, cache, False)[0]

    train = [item for item in load_split("train") if item.writer not in set(args.without)]
    dev = load_split("dev")
    floor = RuleFloor(config)
    prepared = [preparer.prepare(i.text, list(i.history)) for i in dev]
    dev_inputs = []
    for p in prepared:
        texts = p.texts_to_embed()
        dev_inputs.append(policy_inputs(p, vectors_of(p, embed(texts)), floor))
    grid = [s.model]
    if args.grid:
        grid = [s.model.model_copy(update={"c": c, "embedding_weight": ew, "lexical_weight": lw})
                for c, ew, lw in itertools.product((1.0, 4.0, 16.0), (1.0, 2.0), (0.5, 1.0))]
    for settings in grid:
        cfg = config.model_copy(update={"settings": s.model_copy(update={"model": settings})})
        model = train_policy(train, preparer, embed, cfg, embedder.dim)
        featurizer = Featurizer(settings, embedder.dim)
        probs = [model.label_probabilities(featurizer.transform(rows)) for rows in dev_inputs]
        hits = [floor_hits(floor, p.readable, p.language) for p in prepared]
        print(f"\n== C={settings.c} emb={settings.embedding_weight} lex={settings.lexical_weight}")
        for tc, ta, to in itertools.product((0.15, 0.2, 0.25, 0.3, 0.4), (0.2, 0.25, 0.3, 0.4), (0.5, 0.6)):
            t = s.thresholds.model_copy(update={"crisis": tc, "advice": ta, "off_topic": to})
            decided = [kind_from_probabilities(pr, h, p.language, t) for p, pr, h in zip(prepared, probs, hits)]
            kinds = [{"refusal": "advice", "retrieve": "informational"}.get(k, k) for k in decided]
            report(dev, kinds, f"crisis>={tc} advice>={ta} off>={to}")


def report(items, kinds, name) -> None:
    def rate(label, ok):
        rows = [k for i, k in zip(items, kinds) if i.label == label]
        return sum(k in ok for k in rows) / max(len(rows), 1)
    info = [(i, k) for i, k in zip(items, kinds) if i.label == "informational"]
    over = sum(k in ("crisis", "advice") for _, k in info) / len(info)
    declined = sum(k == "off_topic" or (k == "non_english" and i.lang == "en") for i, k in info) / len(info)
    print(f"{name:<38} crisis {rate('crisis', {'crisis'}):.3f} advice {rate('advice', {'advice'}):.3f} "
          f"over {over:.3f} info-declined {declined:.3f} off {rate('off_topic', {'off_topic', 'non_english'}):.3f}")


if __name__ == "__main__":
    main()
