"""Shared fixtures: a fake embedder for fast unit tests, a tiny corpus, the real engine.

Unit tests use `FakeEmbedder` (hashed bag of words: deterministic, no model); integration tests
(marked `integration`) use the real packaged all-MiniLM-L6-v2 through `real_engine`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import PROJECT, FakeEmbedder, write_corpus



@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def tiny_corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def project_corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the project's real corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(PROJECT / "corpus", target)
    return target


@pytest.fixture(scope="session")
def real_engine():
    """The real engine: project corpus, packaged model, project index (built if missing or stale)."""
    from bot.answer import Engine
    return Engine.load()


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory) -> Path:
    """Where `fake_engine`'s index is built (the project's corpus and bank, the fake embedder)."""
    return tmp_path_factory.mktemp("fake-index") / "index"


@pytest.fixture(scope="session")
def fake_engine(fake_index_dir):
    """An engine over the project's corpus and policy with the fake embedder (fast, no model)."""
    from bot.answer import Engine
    return Engine.load(index_dir=fake_index_dir, embedder=FakeEmbedder())
