"""How stable is the policy model to a tiny change of its training inputs, at a given solver tolerance?

The policy's text preparation fixes spelling against the corpus's own words, so editing a passage can
change how a few training messages are prepared. This script prepares the training writers with two
corpus vocabularies (the current `corpus/passages/` and the passages of an older commit), trains the
policy on each at every tolerance given, and counts the DEV writer's decisions that differ between the
two trainings. Only the dev writer is scored (never the test writers); only counts are printed.

    .venv/bin/python scripts/policy_stability.py edd056f 1e-4 1e-6   # ~10 min on two cores

Measured on 2026-12-04 with a first version of this script (same steps, the solver patched in place;
edd056f against the round-8 passage fixes; 3 of 39,974 training inputs prepared
differently): 4 of 1,090 dev decisions differed at tol 1e-4 (lbfgs stopped after 117-125 iterations),
0 at 1e-6 (195-333 iterations; training 97 -> 199 s).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import corpus, paths  # noqa: E402
from bot.answer import Engine  # noqa: E402
from bot.index import cached_embedder  # noqa: E402
from bot.policy.bank import load_split  # noqa: E402
from bot.policy.classify import Policy  # noqa: E402
from bot.policy.training import train_policy  # noqa: E402
from bot.query import preparer_for, vectors_of  # noqa: E402


def old_passages(commit: str, folder: Path) -> list:
    """The passages of `commit`, extracted with `git archive` into `folder`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "corpus/passages"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return corpus.load_passages(folder / "corpus" / "passages")


def main(commit: str, tolerances: list[float]) -> None:
    engine = Engine.load(auto_build=False)
    config, settings = engine.config, engine.config.settings
    embed = cached_embedder(engine.embedder, paths.index_dir())
    with tempfile.TemporaryDirectory() as folder:
        older = preparer_for(old_passages(commit, Path(folder)), settings.windows.size,
                             settings.windows.overlap, settings.context_turns)
    train, dev = load_split("train"), load_split("dev")
    prepared = [engine.preparer.prepare(i.text, list(i.history)) for i in dev]
    vectors = [vectors_of(p, embed(p.texts_to_embed())) for p in prepared]
    for tol in tolerances:
        tuned = config.model_copy(update={"settings": settings.model_copy(
            update={"model": settings.model.model_copy(update={"tol": tol})})})
        decisions = []
        for preparer in (older, engine.preparer):
            started = time.time()
            policy = Policy(tuned, train_policy(train, preparer, embed, tuned, engine.embedder.dim),
                            engine.embedder.dim)
            decisions.append([policy.decide(p, v).kind for p, v in zip(prepared, vectors)])
            print(f"tol {tol:g}: trained in {time.time() - started:.0f} s", flush=True)
        flips = sum(a != b for a, b in zip(*decisions))
        print(f"== tol {tol:g}: {flips} of {len(dev)} dev decisions differ between the two trainings", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [float(t) for t in sys.argv[2:]] or [1e-4, 1e-6])
