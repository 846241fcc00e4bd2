"""Index build: a full build with an empty cache, then a rebuild after editing one passage.

The corpus is copied to a temporary folder (KRATOM_QA_CORPUS / KRATOM_QA_INDEX point there, as a
user would do), so the project's own index is never touched. Both builds run in one process with
the model already loaded (model load is measured by `coldstart`); the CLI's wall time for the
rebuild (`kratom-qa build`, a fresh process) is reported as well.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PROJECT, machine_line

GOAL = 0.10


def edit_one_passage(corpus: Path) -> str:
    """Append a few words to the first passage's text (first file); return the file edited."""
    path = sorted((corpus / "passages").glob("*.yaml"))[0]
    raw = path.read_text(encoding="utf-8")
    match = re.search(r"\n  text: >-\n(    [^\n]*)", raw)
    line = match.group(1)
    raw = raw[:match.start(1)] + line + " (benchmark edit)" + raw[match.end(1):]
    path.write_text(raw, encoding="utf-8")
    return path.name


def _models(report) -> str:
    return "trained" if report.trained else "reused"


def run() -> str:
    from bot.corpus import load_corpus
    from bot.embed import build_embedder
    from bot.index import build_index, load_index
    from bot.policy.training import source_hash

    embedder = build_embedder()  # the build encoder (torch), as `kratom-qa build` uses
    policy_hash = source_hash()
    with tempfile.TemporaryDirectory(prefix="kqa-bench-build-") as tmp:
        corpus_dir, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(PROJECT / "corpus", corpus_dir)
        corpus = load_corpus(corpus_dir)
        embedder.encode(["warm up"])

        t = time.perf_counter()
        full = build_index(corpus, embedder, index_dir, progress=False)
        full_s = time.perf_counter() - t

        t = time.perf_counter()
        same = build_index(corpus, embedder, index_dir, progress=False)
        same_s = time.perf_counter() - t

        edited_file = edit_one_passage(corpus_dir)
        corpus = load_corpus(corpus_dir)
        t = time.perf_counter()
        one = build_index(corpus, embedder, index_dir, progress=False)
        one_s = time.perf_counter() - t
        load_index(index_dir, corpus, embedder, policy_hash)  # the rebuilt index is current

        edit_one_passage(corpus_dir)  # a second edit, rebuilt by the CLI in a fresh process
        env = dict(os.environ, KRATOM_QA_CORPUS=str(corpus_dir), KRATOM_QA_INDEX=str(index_dir))
        t = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "bot.cli", "build", "--quiet"], env=env, cwd=PROJECT,
                             capture_output=True, text=True)
        cli_s = time.perf_counter() - t
        cli_line = (cli.stdout.strip().splitlines() or ["?"])[-1] if cli.returncode == 0 else \
            f"failed ({cli.returncode}): {cli.stderr.strip()[-300:]}"

    ratio = one_s / full_s
    return "\n".join([
        "## Index build",
        "",
        f"Ran {machine_line()}; the project corpus ({full.passages} passages) copied to a temp folder; "
        "model loaded once beforehand.",
        "",
        "| build | time | embedded | reused | models |",
        "|---|---|---|---|---|",
        f"| full build, empty cache | {full_s:.2f} s | {full.embedded} | {full.reused} | {_models(full)} |",
        f"| rebuild, nothing changed | {same_s:.2f} s | {same.embedded} | {same.reused} | {_models(same)} |",
        f"| rebuild after editing one passage ({edited_file}) | {one_s:.2f} s | {one.embedded} | {one.reused} | "
        f"{_models(one)} |",
        f"| **rebuild / full** | **{ratio:.3f}** (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'}) | | | |",
        "",
        f"`kratom-qa build --quiet` after a second one-passage edit, fresh process (imports, model load, "
        f"validation, build): {cli_s:.2f} s wall; it printed: `{cli_line}`",
    ])
