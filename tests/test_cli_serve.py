"""`kratom-qa ask --jsonl` with history, `kratom-qa serve` / `python app.py --host --port`, the README's schema path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from bot import cli
from support import PROJECT


@pytest.mark.parametrize("line, expected", [
    ("what is kratom", ("what is kratom", [])),
    ('"what is kratom"', ("what is kratom", [])),
    ('{"question": "what is kratom"}', ("what is kratom", [])),
    ('{"question": "and in Indiana?", "history": ["is kratom legal in texas?"]}',
     ("and in Indiana?", ["is kratom legal in texas?"])),
    ('{"question": "and in Indiana?", "history": "is kratom legal in texas?"}',
     ("and in Indiana?", ["is kratom legal in texas?"])),
    ('{"question": "q", "history": ["a", null, "b"]}', ("q", ["a", "b"])),
    ('{"question": "q", "history": 5}', ("q", [])),
    ('{"not json', ('{"not json', [])),
    ('{"text": "no question key"}', ('{"text": "no question key"}', [])),
])
def test_jsonl_lines_carry_question_and_history(line, expected):
    assert cli._jsonl_question(line) == expected


def test_text_replies_end_with_the_footer_and_its_emergency_numbers():
    from bot.cli import _render_text
    from bot.contract import make_reply

    answer = _render_text(make_reply("q", "answer", "", []))
    assert "not medical advice" in answer and "911" in answer and "988" in answer
    assert "not medical advice" not in _render_text(make_reply("q", "off_topic", "outside what I cover"))


def test_serve_takes_host_and_port():
    args = cli.build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert (args.host, args.port, args.func) == ("0.0.0.0", 8123, cli.cmd_serve)
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port) == (None, None)


def test_app_address_from_arguments_then_environment(monkeypatch):
    sys.path.insert(0, str(PROJECT))
    try:
        import app
    finally:
        sys.path.remove(str(PROJECT))
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert app.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9001")
    assert app.server_address() == ("0.0.0.0", 9001)
    assert app.server_address("127.0.0.2", 9002) == ("127.0.0.2", 9002)
    parsed = app.parse_args(["--host", "0.0.0.0", "--port", "8000"])
    assert (parsed.host, parsed.port) == ("0.0.0.0", 8000)


def test_readme_names_schema_paths_inside_the_repository():
    readme = (PROJECT / "README.md").read_text()
    section = readme[readme.index("## Web API"):]
    assert "bot/schema/answer.schema.json" in section
    outside = [p for p in re.findall(r"`(/[^`\s]+)`", section.split("\n## ")[0]) if p != "/ask"]
    assert not outside, f"the Web API section names absolute paths outside the repository: {outside}"
    assert "/work/" not in readme
    assert (PROJECT / "bot" / "schema" / "answer.schema.json").exists()


@pytest.mark.integration
def test_ask_jsonl_uses_history():
    lines = "\n".join([
        json.dumps({"question": "and in Texas?", "history": ["Is kratom legal in Indiana?"]}),
        "and in Texas?",
        json.dumps({"question": "and in Texas?"}),
    ]) + "\n"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--jsonl"], input=lines, cwd=PROJECT,
                          capture_output=True, text=True, timeout=300, check=True)
    with_history, plain, no_history = [json.loads(line) for line in done.stdout.splitlines()]
    assert plain == no_history
    assert with_history != plain
    assert with_history["kind"] == "answer"
    assert any("texas" in c["passage_id"] for c in with_history["citations"])
    flag = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", "--history",
                           "Is kratom legal in Indiana?", "and in Texas?"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(flag.stdout) == with_history


def test_hypothesis_is_derandomised_under_ci():
    code = ("import hypothesis_profile as p; from hypothesis import settings; "
            "print(p.chosen_profile(), settings.default.derandomize, settings.default.database)")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    ci = subprocess.run([sys.executable, "-c", code], cwd=PROJECT / "tests", env={**env, "CI": "true"},
                        capture_output=True, text=True, timeout=120, check=True).stdout.split()
    local = subprocess.run([sys.executable, "-c", code], cwd=PROJECT / "tests", env={**env, "CI": "false"},
                           capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert ci == ["kratom-qa-ci", "True", "None"]
    assert local[:2] == ["kratom-qa-dev", "False"]


def test_pytest_loads_the_hypothesis_profile_plugin():
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider",
                           "tests/test_normalize.py"], cwd=PROJECT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CI": "true"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hypothesis profile: kratom-qa-ci; seed: fixed" in done.stdout


def test_ci_script_sets_ci_lints_and_counts_executed_tests():
    script = (PROJECT / ".ci" / "run").read_text()
    assert "export CI=true" in script
    assert "--collect-only" in script and "--junitxml" in script
    makefile = (PROJECT / "Makefile").read_text()
    assert "test: install browser-deps lint" in makefile
    assert "ruff check bot app.py bench scripts tests" in makefile


def test_ruff_passes():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "bot", "app.py", "bench", "scripts", "tests"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_builds_the_index_and_serves_on_all_interfaces():
    docker = (PROJECT / "Dockerfile").read_text()
    assert docker.startswith("#") and "\nFROM python:3.11-slim\n" in docker
    assert '"torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in docker
    assert docker.index("torch==2.13.0") < docker.index("pip install -e .")
    assert "kratom-qa build" in docker.split("CMD")[0]
    assert docker.rstrip().splitlines()[-1] == 'CMD ["kratom-qa", "serve", "--host", "0.0.0.0", "--port", "7860"]'
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {"index", ".venv", "var"} <= set(ignored)  # the image builds its own index
