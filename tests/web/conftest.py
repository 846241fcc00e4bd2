"""Fixtures for the web app: `app.py` launched once per session in a subprocess, and a browser.

The app listens on a free port (GRADIO_SERVER_PORT), writes ratings to a temporary file
(KRATOM_QA_FEEDBACK) and is stopped at the end of the session; it is started by `support.running_app`,
which tests/web/test_replicas.py uses for its two replicas too. Browser tests drive Debian's
/usr/bin/chromium (or KRATOM_QA_CHROMIUM) through Playwright (never `playwright install`); without
chromium they are skipped, except under CI (env CI set, e.g. CI=true), where they must run.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import PROJECT, free_port, running_app

CHROMIUM = Path(os.environ.get("KRATOM_QA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class AppServer:
    url: str
    port: int
    pid: int
    feedback: Path
    log: Path


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    """`python app.py` on a free port, started once for every API and browser test."""
    work = tmp_path_factory.mktemp("app")
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "KRATOM_QA_FEEDBACK": str(work / "feedback.jsonl"),
           "PYTHONUNBUFFERED": "1"}
    env.pop("GRADIO_SERVER_NAME", None)  # the default must be 127.0.0.1
    url = f"http://127.0.0.1:{port}/"
    with running_app([sys.executable, str(PROJECT / "app.py")], env, work / "app.log", url) as process:
        yield AppServer(url=url, port=port, pid=process.pid, feedback=work / "feedback.jsonl", log=work / "app.log")


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where browser tests save screenshots (KRATOM_QA_ARTIFACTS, else a pytest temporary folder)."""
    folder = Path(os.environ["KRATOM_QA_ARTIFACTS"]) if os.environ.get("KRATOM_QA_ARTIFACTS") \
        else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium; skipped when missing, except under CI where it must exist."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{CHROMIUM} is missing but CI is set: browser tests must run in CI")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
