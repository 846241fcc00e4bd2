"""The hashing trick without scikit-learn: the same features as sklearn's `HashingVectorizer`, bit for bit.

The policy classifier (bot/policy/model.py) hashes word and character n-grams into 2**18 columns.
scikit-learn does that with MurmurHash3 (x86, 32 bits, seed 0) of each token's UTF-8 bytes, column
`abs(hash) % n_features`, counts summed, rows L2-normalised. Importing scikit-learn costs ~0.7 s of
every start (scipy.stats and friends) for one hash function, so serving uses this numpy
implementation instead; `tests/test_hashing.py` checks it against scikit-learn on many strings.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def murmurhash3_32(keys: Sequence[bytes], seed: int = 0) -> np.ndarray:
    """Signed 32-bit MurmurHash3 (x86) of each byte string, vectorised over the keys.

    Equal to `sklearn.utils.murmurhash3_32(key, seed)` for every key.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    data = np.frombuffer(b"".join(keys) + b"\0\0\0\0", dtype=np.uint8)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    blocks = lengths // 4
    h = np.full(n, seed, dtype=np.uint32)
    with np.errstate(over="ignore"):
        order = np.argsort(-blocks, kind="stable")  # the keys with a j-th block are a prefix of `order`
        sorted_blocks = blocks[order]
        for j in range(int(sorted_blocks[0]) if n else 0):
            rows = order[: int(np.searchsorted(-sorted_blocks, -j, side="left"))]
            offset = starts[rows] + 4 * j
            k = (data[offset].astype(np.uint32) | (data[offset + 1].astype(np.uint32) << np.uint32(8))
                 | (data[offset + 2].astype(np.uint32) << np.uint32(16))
                 | (data[offset + 3].astype(np.uint32) << np.uint32(24)))
            k = _rotl(k * _C1, 15) * _C2
            mixed = _rotl(h[rows] ^ k, 13)
            h[rows] = mixed * np.uint32(5) + np.uint32(0xE6546B64)
        tail = lengths & 3
        offset = starts + 4 * blocks
        k1 = np.zeros(n, dtype=np.uint32)
        for position in (2, 1, 0):
            has = tail > position
            k1[has] ^= data[offset[has] + position].astype(np.uint32) << np.uint32(8 * position)
        k1 = _rotl(k1 * _C1, 15) * _C2
        h ^= np.where(tail > 0, k1, np.uint32(0))
        h ^= lengths.astype(np.uint32)
        h = _fmix(h)
    return h.view(np.int32)


def hashed_columns(tokens: Sequence[str], n_features: int) -> np.ndarray:
    """The column of each token: `abs(murmurhash3_32(utf-8)) % n_features`, as scikit-learn's FeatureHasher."""
    hashes = murmurhash3_32([t.encode("utf-8") for t in tokens]).astype(np.int64)
    return np.abs(hashes) % n_features


class HashingVectorizer:
    """The subset of `sklearn.feature_extraction.text.HashingVectorizer` the policy uses: a callable
    analyzer, no alternate sign, L2 norm (or none), float64; same output, without scikit-learn.

    Each token's column is remembered (most of a question's word and character n-grams were seen
    before), so a question costs dictionary look-ups rather than hashing.
    """

    MAX_REMEMBERED = 1_000_000

    def __init__(self, analyzer: Callable[[str], list[str]], n_features: int, alternate_sign: bool = False,
                 norm: str | None = "l2", lowercase: bool = False) -> None:
        if not callable(analyzer) or alternate_sign or lowercase or norm not in ("l2", None):
            raise ValueError("only a callable analyzer, alternate_sign=False, lowercase=False, norm 'l2'/None")
        self.analyzer, self.n_features, self.norm = analyzer, n_features, norm
        self._columns: dict[str, int] = {}

    def _columns_of(self, tokens: list[str]) -> np.ndarray:
        known = self._columns  # one read: another thread may replace it
        columns = [known.get(token, -1) for token in tokens]
        missing = [i for i, column in enumerate(columns) if column < 0]
        if missing:
            fresh = hashed_columns([tokens[i] for i in missing], self.n_features).tolist()
            if len(known) > self.MAX_REMEMBERED:
                known = self._columns = {}
            for i, column in zip(missing, fresh):
                columns[i] = known[tokens[i]] = column
        return np.asarray(columns, dtype=np.int64)

    def rows(self, documents: Iterable[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each document's (columns, values): the nonzero entries of its row of `transform`, columns
        ascending (int32), values normalised token counts (float64); no scipy matrix is built."""
        out = []
        for document in documents:
            columns, counts = np.unique(self._columns_of(self.analyzer(document)), return_counts=True)
            data = counts.astype(np.float64)
            if self.norm == "l2" and data.size:
                data /= np.sqrt(np.dot(data, data))  # exact: whole counts, as sklearn's row normalisation
            out.append((columns.astype(np.int32), data))
        return out

    def transform(self, documents: Iterable[str]):
        """A scipy CSR matrix (documents x n_features) of normalised token counts, indices sorted."""
        from scipy import sparse

        pairs = self.rows(documents)
        rows_indices = [columns for columns, _ in pairs]
        rows_data = [data for _, data in pairs]
        indptr = np.zeros(len(rows_data) + 1, dtype=np.int32)
        np.cumsum([row.size for row in rows_data], out=indptr[1:])
        indices = np.concatenate(rows_indices) if rows_indices else np.zeros(0, dtype=np.int32)
        data = np.concatenate(rows_data) if rows_data else np.zeros(0, dtype=np.float64)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows_data), self.n_features))
