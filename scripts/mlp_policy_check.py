"""Would a small neural network beside the policy's logistic regression help? An out-of-fold check.

The served policy is a logistic regression on the message vector, the context vector, hashed n-grams and
the rule floor's hits (bot/policy/model.py). This script trains scikit-learn's `MLPClassifier` on the dense
part only (message vector, context vector x 0.5, has-context flag, floor hits, detected-language one-hot),
class-balanced, in the same 5 folds by writer as `scripts/oof_policy.py` (whose stored out-of-fold
probabilities, var/oof_policy.npz, it needs), and compares the regression, the network and mixtures of
the two at the served thresholds and nearby ones. Windows of long messages keep the regression's reading.
Test writers are never used.

    .venv/bin/python scripts/mlp_policy_check.py features          # ~13 min on two cores: var/mlp_features.npz
    .venv/bin/python scripts/mlp_policy_check.py compare 256 0.001  # hidden sizes (comma-separated), alpha

Only numbers, labels and writer names are stored (no message text).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot import paths  # noqa: E402

FEATURES = Path(__file__).resolve().parent.parent / "var" / "mlp_features.npz"
OOF = Path(__file__).resolve().parent.parent / "var" / "oof_policy.npz"


def _items_in_fold_order() -> list:
    """Train and dev items in the row order of var/oof_policy.npz (fold by fold, as `oof_policy.run`)."""
    from sklearn.model_selection import GroupKFold

    from bot.policy.bank import load_split

    items = load_split("train") + load_split("dev")
    splits = GroupKFold(5).split(items, groups=[item.writer for item in items])
    return [items[i] for _, held in splits for i in held]


def features() -> None:
    from bot.answer import Engine
    from bot.index import cached_embedder
    from bot.policy.classify import policy_inputs
    from bot.query import vectors_of

    engine = Engine.load(auto_build=False)
    embed = cached_embedder(engine.embedder, paths.index_dir())
    columns: dict[str, list] = {k: [] for k in ("vec", "ctx", "hasctx", "floor", "lang", "label", "writer")}
    for item in _items_in_fold_order():
        prepared = engine.prepare(item.text, list(item.history))
        whole = policy_inputs(prepared, vectors_of(prepared, embed(prepared.texts_to_embed())), engine.policy.floor)[0]
        has_context = whole.context_vector is not None
        row = {"vec": whole.vector, "ctx": whole.context_vector if has_context else np.zeros_like(whole.vector),
               "hasctx": has_context, "floor": whole.floor, "lang": prepared.language, "label": item.label,
               "writer": item.writer}
        for key, value in row.items():
            columns[key].append(value)
    FEATURES.parent.mkdir(exist_ok=True)
    np.savez_compressed(FEATURES, **{k: np.array(v) for k, v in columns.items()})
    print(f"wrote {FEATURES}")


def _report(d: dict, name: str, p: np.ndarray, crisis: float, advice: float) -> None:
    from oof_policy import decide, scores

    from bot.policy.config import default_config

    served = default_config().settings.thresholds  # a long message's window and whole-message thresholds as served
    decided = decide({**d, "p": p}, crisis, advice, served.advice_window, served.advice_long)
    means = scores({**d, "p": p}, decided, np.ones(len(p), bool))
    label = d["label"]
    missed = int(((label == "crisis") & (decided != "crisis")).sum())
    wrong = int((np.isin(label, ["informational", "off_topic"]) & (decided == "crisis")).sum())
    print(f"{name:10s} crisis {crisis:.2f} advice {advice:.2f} | advice {means[0]:.3f} crisis {means[1]:.3f} "
          f"over-refusal {means[2]:.3f} (means over writers) | crises missed {missed}, informational or "
          f"off-topic escalated {wrong}, cost {3 * missed + wrong}")


def compare(hidden: tuple[int, ...], alpha: float) -> None:
    from sklearn.neural_network import MLPClassifier

    from bot.policy.config import LABELS, default_config

    d = dict(np.load(OOF, allow_pickle=True))
    f = dict(np.load(FEATURES, allow_pickle=True))
    if not ((d["writer"] == f["writer"]).all() and (d["label"] == f["label"]).all()):
        raise SystemExit("features and out-of-fold rows differ: re-run `features` after `oof_policy.py run`")
    languages = np.array(sorted(set(f["lang"])))
    x = np.hstack([f["vec"], f["ctx"] * 0.5, f["hasctx"][:, None], f["floor"],
                   (f["lang"][:, None] == languages[None, :])]).astype(np.float32)
    y = np.array([LABELS.index(label) for label in f["label"]])
    weight = len(y) / (len(LABELS) * np.bincount(y))
    network = np.zeros((len(y), len(LABELS)))
    for fold in range(5):
        train, held = d["fold"] != fold, d["fold"] == fold
        model = MLPClassifier(hidden_layer_sizes=hidden, alpha=alpha, max_iter=60, early_stopping=True,
                              n_iter_no_change=8, random_state=0)
        model.fit(x[train], y[train], sample_weight=weight[y[train]])
        network[held] = model.predict_proba(x[held])
    regression = np.stack(d["p"])
    served = default_config().settings.thresholds
    _report(d, "regression", regression, served.crisis, served.advice)
    _report(d, "network", network, served.crisis, served.advice)
    for share in (0.3, 0.5):
        mixed = (1 - share) * regression + share * network
        for crisis, advice in ((0.25, 0.30), (0.20, 0.30), (0.30, 0.30), (0.35, 0.30), (0.25, 0.25), (0.25, 0.35)):
            _report(d, f"mix {share}", mixed, crisis, advice)


if __name__ == "__main__":
    if sys.argv[1:2] == ["features"]:
        features()
    else:
        compare(tuple(int(h) for h in (sys.argv[2] if len(sys.argv) > 2 else "256").split(",")),
                float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3)
