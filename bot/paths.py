"""Where kratom-qa finds its corpus and its built index.

The defaults are the project's own `corpus/` and `index/` folders; the environment variables
`KRATOM_QA_CORPUS` and `KRATOM_QA_INDEX` point elsewhere (tests and benchmarks use them).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """Return the corpus folder (holds `sources.yaml` and `passages/`)."""
    return Path(os.environ.get("KRATOM_QA_CORPUS", PROJECT_ROOT / "corpus"))


def index_dir() -> Path:
    """Return the folder the built index lives in."""
    return Path(os.environ.get("KRATOM_QA_INDEX", PROJECT_ROOT / "index"))


def eval_dir() -> Path:
    """Return the folder holding the evaluation sets."""
    return Path(os.environ.get("KRATOM_QA_EVAL", PROJECT_ROOT / "eval"))
