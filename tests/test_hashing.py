"""The numpy hashing trick (bot/hashing.py) against scikit-learn's: the same features, bit for bit."""

from __future__ import annotations

import random
import string

import numpy as np
from hypothesis import given, strategies as st

from bot.hashing import HashingVectorizer, murmurhash3_32
from bot.policy.model import _analyzer

ALPHABET = string.printable + "éüñß中文кириллицаاλ😀\u200b"


def _keys(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["", "a", "ab", "abc", "abcd", "x" * 4097] + [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_murmurhash_equals_scikit_learn_on_many_strings():
    from sklearn.utils import murmurhash3_32 as reference

    keys = _keys(5000)
    ours = murmurhash3_32([k.encode("utf-8") for k in keys])
    assert ours.dtype == np.int32
    assert ours.tolist() == [reference(k.encode("utf-8"), 0) for k in keys]


@given(st.lists(st.text(max_size=30), max_size=20))
def test_murmurhash_equals_scikit_learn_on_any_text(texts):
    from sklearn.utils import murmurhash3_32 as reference

    keys = [t.encode("utf-8") for t in texts]
    assert murmurhash3_32(keys).tolist() == [reference(k, 0) for k in keys]


def test_the_policy_features_equal_scikit_learns_hashing_vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer as Reference

    keys = _keys(800, seed=1)
    documents = [f"{a}\x1e{b}\x1een" for a, b in zip(keys, reversed(keys))] + ["\x1e\x1een", "k r a t o m\x1e\x1ees"]
    analyzer = _analyzer(2, 5)
    expected = Reference(analyzer=analyzer, n_features=2 ** 18, alternate_sign=False, norm="l2",
                         lowercase=False).transform(documents)
    found = HashingVectorizer(analyzer, n_features=2 ** 18).transform(documents)
    assert found.shape == expected.shape and found.dtype == expected.dtype
    assert np.array_equal(found.indptr, expected.indptr) and np.array_equal(found.indices, expected.indices)
    assert np.array_equal(found.data, expected.data)  # bit for bit, not approximately


def test_serving_the_policy_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = ("import sys\nfrom bot.policy.classify import Policy\nfrom bot.policy.model import Featurizer\n"
            "from bot.policy.config import default_config\n"
            "f = Featurizer(default_config().settings.model, 8)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
