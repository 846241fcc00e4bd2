"""The onnxruntime query encoder (bot/embed.py `OnnxMiniLMEmbedder`) against the torch one, and an int8 variant.

Uses the project's own encoders (no copy of their code here): `MiniLMEmbedder` (sentence-transformers,
torch) and `OnnxMiniLMEmbedder` on the exported file (`bot.embed.onnx_file`, exported by
`kratom-qa build`), plus a dynamic int8 quantisation of that file (onnxruntime.quantization) loaded by
the same class. Per-query latency on the same questions, interleaved, and cosine to torch; the cold
start of a fresh process that embeds with onnxruntime without importing torch.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import PROJECT, PYTHON, machine_line, median_ms, questions

COLD = """
import time, json, sys
t0 = time.perf_counter()
from pathlib import Path
from bot.embed import OnnxMiniLMEmbedder
encoder = OnnxMiniLMEmbedder(Path({onnx!r}))
encoder.encode(["warm"])
print(json.dumps({{"seconds": time.perf_counter() - t0, "torch": "torch" in sys.modules}}), flush=True)
"""


def run() -> str:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from bot.embed import MiniLMEmbedder, OnnxMiniLMEmbedder, onnx_file

    items = questions()
    torch_encoder = MiniLMEmbedder()
    fp32_path = onnx_file()
    exported = fp32_path.exists()
    t = time.perf_counter()
    onnx_fp32 = OnnxMiniLMEmbedder(fp32_path)  # exports first if `kratom-qa build` has not
    setup_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory(prefix="kqa-bench-onnx-") as tmp:
        int8_path = Path(tmp) / "minilm-int8.onnx"
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
        onnx_int8 = OnnxMiniLMEmbedder(int8_path)
        encoders = {"torch": torch_encoder, "onnx fp32": onnx_fp32, "onnx int8": onnx_int8}
        for q in items[:20]:
            for encoder in encoders.values():
                encoder.encode([q])
        times: dict[str, list[float]] = {name: [] for name in encoders}
        cosines: dict[str, list[float]] = {"onnx fp32": [], "onnx int8": []}
        for i, q in enumerate(items):
            order = list(encoders.items())
            if i % 2:
                order.reverse()
            vectors = {}
            for name, encoder in order:
                t = time.perf_counter()
                vectors[name] = encoder.encode([q])[0]
                times[name].append(time.perf_counter() - t)
            for name in cosines:
                cosines[name].append(float(vectors["torch"] @ vectors[name]))
        out = subprocess.run([PYTHON, "-c", COLD.format(onnx=str(fp32_path))], capture_output=True, text=True,
                             cwd=PROJECT)
        cold = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {"seconds": float("nan")}
        size_fp32, size_int8 = fp32_path.stat().st_size / 2**20, int8_path.stat().st_size / 2**20
    torch_ms = median_ms(times["torch"])

    def row(name: str, size: float) -> str:
        ms = median_ms(times[name])
        return (f"| onnxruntime {name[5:]} | {ms:.2f} ms | {ms / torch_ms:.2f} | "
                f"{min(cosines[name]):.6f} / {np.mean(cosines[name]):.6f} | {size:.0f} MiB |")
    return "\n".join([
        "## onnxruntime query encoder (`bot/embed.py`, the serving default) against torch",
        "",
        f"Ran {machine_line()}; {len(items)} questions, one at a time, interleaved (order alternating); "
        f"the fp32 file {'was already exported by `kratom-qa build`' if exported else 'was exported here'} "
        f"(session set-up {setup_s:.2f} s).",
        "",
        "| encoder | median per query | vs torch | cosine to torch: min / mean | file |",
        "|---|---|---|---|---|",
        f"| torch (`MiniLMEmbedder.encode`) | {torch_ms:.2f} ms | 1.00 | - | - |",
        row("onnx fp32", size_fp32),
        row("onnx int8", size_int8),
        "",
        f"Cold start of a fresh process embedding with onnxruntime (import, session, first encode): "
        f"{cold['seconds']:.2f} s; torch imported: {cold.get('torch')}. int8 is not used: its vectors are "
        "too far from torch's (the default must give identical decisions; see bench/check_encoders.py).",
    ])
