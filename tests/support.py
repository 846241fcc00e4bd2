"""Test helpers shared by the test modules: a fake embedder, a tiny corpus writer, and running app processes.

(Kept out of `conftest.py` so that test modules can import them by a unique module name.)
"""

from __future__ import annotations

import re
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bot.embed import FakeEmbedder  # noqa: F401  (moved to bot/embed.py; imported from here by the tests)

PROJECT = Path(__file__).resolve().parent.parent


TINY_SOURCES = """\
- id: fda-and-kratom
  publisher: U.S. Food and Drug Administration
  title: FDA and Kratom
  url: https://www.fda.gov/news-events/public-health-focus/fda-and-kratom
  published: null
  kind: regulator
- id: fr-81-fr-70652
  publisher: Drug Enforcement Administration (Federal Register)
  title: Withdrawal of notice of intent to temporarily place mitragynine and 7-hydroxymitragynine in Schedule I
  url: https://www.federalregister.gov/d/2016-24659
  published: 2016-10-13
  kind: regulator
"""

TINY_PASSAGES = {
    "about": """\
- id: kratom-not-fda-approved
  topic: about
  title: Is kratom approved by the FDA?
  text: >-
    No kratom product is approved by the U.S. Food and Drug Administration for any medical use, and
    no medicine containing mitragynine or 7-hydroxymitragynine is approved either. As stated on FDA's
    undated page, consulted November 2026, the FDA says it will keep warning the public against using kratom as a medical treatment until the science has
    been evaluated. Kratom products are nonetheless sold online and in shops across the country.
  sources: [fda-and-kratom]
  evidence: regulatory
  as_of: 2026-11
  as_of_kind: consulted
  checked:
    date: 2026-11-25
    against: [fda-and-kratom]
- id: kratom-uses-self-treatment
  topic: about
  title: Why people in the US use kratom
  text: >-
    The FDA reports that people in the United States commonly use kratom products to self-treat
    pain, cough, diarrhoea, anxiety, depression, opioid use disorder and opioid withdrawal. These
    uses are the reasons people give; they are not evidence that kratom works for any of these
    conditions, and no kratom product is approved for them.
  sources: [fda-and-kratom]
  evidence: expert body
  checked:
    date: 2026-11-25
    against: [fda-and-kratom]
""",
    "federal-law": """\
- id: dea-withdrew-2016-notice
  topic: federal-law
  title: The DEA withdrew its 2016 plan to schedule kratom
  text: >-
    As of October 2016 the U.S. Drug Enforcement Administration had not scheduled the kratom leaf.
    In August 2016 the DEA announced its intent to place the kratom alkaloids mitragynine and
    7-hydroxymitragynine temporarily in Schedule I, and in October 2016 it withdrew that notice after
    public comment. Laws change, so check the current federal and state law.
  sources: [fr-81-fr-70652]
  evidence: regulatory
  as_of: 2016-10
  checked:
    date: 2026-11-25
    against: [fr-81-fr-70652]
""",
}

# Eight questions in users' words per tiny passage (the validator requires at least eight).
TINY_QUESTIONS = {
    "kratom-not-fda-approved": [
        "is kratom fda approved", "did the FDA approve kratom for anything", "kratom approved medicine?",
        "is there an fda approved kratom drug", "can doctors prescribe kratom", "is 7-OH an approved drug",
        "fda stance on kratom as treatment", "kratom legit medicine or not",
    ],
    "kratom-uses-self-treatment": [
        "why do people use kratom", "what do americans take kratom for", "kratom uses in the us",
        "do ppl use kratom for pain", "kratom for anxiety and depression why", "reasons people try kratom",
        "is kratom used for opioid withdrawal", "what is kratom used for",
    ],
    "dea-withdrew-2016-notice": [
        "did the dea ban kratom in 2016", "dea kratom 2016 schedule plan", "is kratom schedule I federally",
        "what happened to the dea kratom ban", "dea withdrew kratom notice", "is kratom a controlled substance",
        "kratom federal law status", "did dea schedule mitragynine",
    ],
}


def write_corpus(folder: Path, passages: dict[str, str] | None = None, sources: str = TINY_SOURCES) -> Path:
    """Write a corpus folder (sources.yaml, passages/<topic>.yaml, questions/<topic>.yaml) and return it.

    Each passage whose id is in `TINY_QUESTIONS` gets its eight questions in questions/<topic>.yaml.
    """
    (folder / "passages").mkdir(parents=True, exist_ok=True)
    (folder / "questions").mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(sources)
    for old in (folder / "questions").glob("*.yaml"):
        old.unlink()
    for topic, text in (passages or TINY_PASSAGES).items():
        (folder / "passages" / f"{topic}.yaml").write_text(textwrap.dedent(text))
        ids = [i for i in re.findall(r"(?m)^- id: ([a-z0-9-]+)\s*$", text) if i in TINY_QUESTIONS]
        if ids:
            lines = "".join(f"{i}:\n" + "".join(f"  - {q}\n" for q in TINY_QUESTIONS[i]) for i in dict.fromkeys(ids))
            (folder / "questions" / f"{topic}.yaml").write_text(lines)
    return folder



# --- app processes (tests/web) ------------------------------------------------------------------------

APP_START_TIMEOUT_S = 300


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_serving(url: str) -> bool:
    """True when the Gradio app at `url` answers its `config` route."""
    try:
        with urllib.request.urlopen(url + "config", timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextmanager
def running_app(command: list[str], env: dict, log_path: Path, url: str,
                timeout: float = APP_START_TIMEOUT_S) -> Iterator[subprocess.Popen]:
    """Start an app process (`python app.py ...` or `kratom-qa serve ...`), wait until `url` serves, and
    stop it at the end; fail the test with the end of its log if it exits or does not serve in time."""
    import pytest

    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not is_serving(url):
                if process.poll() is not None:
                    pytest.fail(f"{url}: {command[1:3]} exited with {process.returncode}:\n"
                                f"{log_path.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} not serving within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
