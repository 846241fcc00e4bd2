"""Out-of-fold experiment: windows of long training messages of some labels as extra training rows.

The served policy trains on whole messages only; at serving time a long message is also read window by window,
and a window that reads as an advice request refuses it. This runs `scripts/oof_policy.py run` (same writers,
same 5 folds by writer) with a training function that also gives each window of a long training message whose
label is listed as a row with that label. Compare the result with a run of the served training:

    .venv/bin/python scripts/oof_window_rows.py var/oof_windows_exp.npz informational,off_topic
    .venv/bin/python scripts/oof_policy.py compare var/oof_policy_s18_floor.npz --out var/oof_windows_exp.npz

Tried 2026-12-05 (SYSTEM_CARD, "Windows as training rows"): not adopted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bot.policy.training as training  # noqa: E402
from bot.policy.classify import policy_inputs  # noqa: E402
from bot.policy.floor import RuleFloor  # noqa: E402
from bot.policy.model import Featurizer, train  # noqa: E402
from bot.query import vectors_of  # noqa: E402


def train_with_window_rows(labels_with_windows: set[str]):
    """A `train_policy` that also trains on the windows of long messages of these labels."""

    def train_policy(items, preparer, embed, config, dim):
        settings = config.settings.model
        augmented = training.with_typo_copies(items, settings.typo_copies, settings.seed)
        floor = RuleFloor(config)
        prepared = [preparer.prepare(i.text, list(i.history)) for i in augmented]
        use = [bool(p.windows) and i.label in labels_with_windows for p, i in zip(prepared, augmented)]
        texts = [p.fixed_texts() + list(p.windows) if w else p.fixed_texts()
                 for p, w in zip(prepared, use)]
        vectors = embed([t for group in texts for t in group])
        inputs, labels, reasons, start = [], [], [], 0
        for p, group, w, item in zip(prepared, texts, use, augmented):
            rows = vectors[start:start + len(group)]
            start += len(group)
            whole = p.__class__(**{**p.__dict__, "windows": (), "segments": (), "payloads": ()})
            parts = [policy_inputs(whole, vectors_of(whole, rows), floor)[0]]
            if w:
                windowed = p.__class__(**{**p.__dict__, "segments": (), "payloads": ()})  # rows: fixed + windows
                parts += policy_inputs(windowed, vectors_of(windowed, rows), floor)[1:]
            inputs += parts
            labels += [item.label] * len(parts)
            reasons += [item.kind if item.label == "advice" else ""] * len(parts)
        print(f"training rows {len(inputs)} (messages {len(augmented)})", flush=True)
        features = Featurizer(settings, dim).transform(inputs)
        return train(features, labels, reasons, settings, training.source_hash())

    return train_policy


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit(__doc__)
    training.train_policy = train_with_window_rows(set(argv[1].split(",")))
    import oof_policy

    oof_policy.run([], Path(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
