"""Take the README screenshot: start app.py on a free port, ask one example question in headless
chromium, save docs/screenshot.png, stop the app.

    .venv/bin/python scripts/screenshot.py [--question "..."] [--out docs/screenshot.png] [--width 1280]

Needs Debian's /usr/bin/chromium (apt-get install -y chromium); never runs `playwright install`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"app.py exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "config", timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"app.py did not serve {url} in {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default="Is kratom legal in Indiana?")
    parser.add_argument("--out", default=str(PROJECT / "docs" / "screenshot.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    scratch = Path(tempfile.mkdtemp(prefix="kratom-qa-shot-"))
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "KRATOM_QA_FEEDBACK": str(scratch / "feedback.jsonl")}
    env.pop("GRADIO_SERVER_NAME", None)
    with open(scratch / "app.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(PROJECT / "app.py")], cwd=PROJECT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(url, process)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(url, wait_until="load")
                box = page.locator("#question textarea")
                box.wait_for(timeout=60_000)
                box.fill(args.question)
                box.press("Enter")
                page.locator("#chat [data-testid=bot]").first.wait_for(timeout=60_000)
                page.wait_for_timeout(800)
                out = Path(args.out)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                browser.close()
            print(f"saved {out}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
