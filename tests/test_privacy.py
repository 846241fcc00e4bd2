"""Privacy: questions are never written anywhere, and nothing connects outside the machine.

A session of distinctive questions (each carries a marker made up at run time, so it cannot be in
any file beforehand) goes through the engine and through `kratom-qa ask --jsonl` in a subprocess;
then the project folder (without .venv and .git), the temp folder and ~/.cache are searched for the
markers. Network: in process, `socket.socket.connect` is patched to fail for any non-loopback
address; in the subprocess, an audit hook (sys.addaudithook, installed through a sitecustomize
module) records every `socket.connect` and `socket.getaddrinfo` while the model loads and answers.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from bot.contract import validate_reply
from support import PROJECT, FakeEmbedder

SKIP_DIRS = {".venv", ".git", "node_modules"}
MAX_FILE_BYTES = 64 * 1024 * 1024


def _markers(n: int) -> list[str]:
    return [f"zq{uuid.uuid4().hex[:14]}" for _ in range(n)]


def _now() -> float:
    return time.time() - 2.0  # file systems may round timestamps


def _session(markers: list[str]) -> list[tuple[str, list[str]]]:
    """(question, history) pairs covering every kind of reply, each with its own marker."""
    a, b, c, d, e, f = markers
    return [
        (f"Is kratom legal in {a} county?", []),
        (f"and what about {b}?", [f"Is kratom legal in {a} county?"]),
        (f"how many grams of kratom should I take, my name is {c}", []),
        (f"I want to kill myself {d}", []),
        (f"what is the weather in {e} today", []),
        (f"Does kratom cause liver damage? {f}", []),
    ]


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _files_containing(markers: list[str], roots: list[Path], since: float) -> list[str]:
    """Paths of regular files under `roots` whose bytes contain a marker (utf-8 or utf-16).

    Only files written since `since` (mtime or ctime) are read: a marker is made up when the test
    starts, so an older file cannot hold it.
    """
    needles = [m.encode(enc) for m in markers for enc in ("utf-8", "utf-16-le")]
    found = []
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = [d for d in dirs if not (Path(folder) == PROJECT and d in SKIP_DIRS)]
            for name in files:
                path = Path(folder) / name
                try:
                    if path.is_symlink() or not path.is_file():
                        continue
                    info = path.stat()
                    if max(info.st_mtime, info.st_ctime) < since or info.st_size > MAX_FILE_BYTES:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(n in data for n in needles):
                    found.append(str(path))
    return found


def _search_roots() -> list[Path]:
    return [PROJECT, Path(tempfile.gettempdir()), Path.home() / ".cache"]


@pytest.fixture
def no_outbound_network(monkeypatch):
    """Patch socket connections so that any non-loopback address raises; record the attempts."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(address, tuple) and not _is_loopback(host):
            attempts.append(address)
            raise OSError(f"test: outbound connection to {address!r} blocked")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback(host if isinstance(host, str) else host.decode()):
            attempts.append(("getaddrinfo", host))
            raise OSError(f"test: DNS look-up of {host!r} blocked")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_the_search_finds_a_written_marker(tmp_path):
    markers, since = _markers(2), _now()
    (tmp_path / "log.txt").write_text(f"asked: {markers[1]}\n", encoding="utf-16")
    assert _files_containing(markers, [Path(tempfile.gettempdir())], since) == [str(tmp_path / "log.txt")]


def test_the_blocker_blocks(no_outbound_network):
    with socket.socket() as sock, pytest.raises(OSError, match="blocked"):
        sock.connect(("192.0.2.1", 443))
    assert no_outbound_network == [("192.0.2.1", 443)]


def test_engine_session_leaves_no_trace_and_makes_no_connection(fake_engine, tmp_path, no_outbound_network):
    from bot.answer import Engine

    markers, since = _markers(6), _now()
    engine = Engine.load(index_dir=tmp_path / "index", embedder=FakeEmbedder())  # a fresh load, offline
    kinds = set()
    for question, history in _session(markers):
        for current in (engine, fake_engine):
            reply = current.ask(question, history)
            validate_reply(reply)
            kinds.add(reply["kind"])
    assert {"answer", "refusal", "crisis", "off_topic"} <= kinds
    assert no_outbound_network == []
    assert _files_containing(markers, _search_roots(), since) == []


@pytest.mark.integration
def test_real_engine_answers_without_network(real_engine, no_outbound_network):
    markers, since = _markers(6), _now()
    for question, history in _session(markers):
        validate_reply(real_engine.ask(question, history))
    assert no_outbound_network == []
    assert _files_containing(markers, _search_roots(), since) == []


AUDIT_HOOK = textwrap.dedent("""
    import atexit, json, os, sys

    _events = []

    def _hook(event, args):
        if event == "socket.connect":
            address = args[1]
            _events.append(["connect", list(address) if isinstance(address, tuple) else address])
        elif event == "socket.getaddrinfo":
            _events.append(["getaddrinfo", args[0] if isinstance(args[0], str) else repr(args[0])])

    sys.addaudithook(_hook)

    @atexit.register
    def _dump():
        with open(os.environ["KQA_AUDIT_OUT"], "w") as handle:
            json.dump(_events, handle)
""")


@pytest.mark.integration
def test_cli_jsonl_session_loads_the_model_offline_and_leaves_no_trace(tmp_path):
    """`kratom-qa ask --jsonl`: real model load and answers; no outbound connection, no question stored."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(AUDIT_HOOK)
    audit_out = tmp_path / "audit.json"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(PYTHONPATH=str(hook_dir), KQA_AUDIT_OUT=str(audit_out), PYTHONUNBUFFERED="1")
    markers, since = _markers(6), _now()
    lines = [json.dumps({"question": q}) if i % 2 else q for i, (q, _) in enumerate(_session(markers))]
    script = Path(sys.executable).parent / "kratom-qa"
    result = subprocess.run([str(script), "ask", "--jsonl"], input="\n".join(lines) + "\n", cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    replies = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(replies) == len(lines)
    for reply in replies:
        validate_reply(reply)
    assert any(markers[0] in r["question"] for r in replies)  # the marker did go through
    events = json.loads(audit_out.read_text())
    outbound = [e for e in events if not _is_loopback(e[1][0] if isinstance(e[1], list) else e[1])
                and not (e[0] == "connect" and isinstance(e[1], str))]  # AF_UNIX paths are local
    assert outbound == [], outbound
    assert _files_containing(markers, _search_roots(), since) == []
