"""Two replicas behind a load balancer answer alike: two app processes on two ports give identical `/ask` replies.

One replica is started with `kratom-qa serve --host --port`, the other with `python app.py --port`
(the two ways to serve), each with its own ratings file, as in the README's "Several replicas" section.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack

import pytest

from bot.contract import validate_reply
from support import PROJECT, free_port, running_app

pytestmark = pytest.mark.api

QUESTIONS = [
    ("is kratom legal in indiana", []),
    ("and in Texas?", ["Is kratom legal in Indiana?"]),
    ("how many grams of kratom should I take", []),
    ("my friend took kratom and is not breathing", []),
    ("what is the capital of france", []),
    ("can kratom damage your liver", []),
    ("", []),
]


def _commands(port_a: int, port_b: int) -> list[list[str]]:
    return [
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port_a)],
        [sys.executable, str(PROJECT / "app.py"), "--port", str(port_b)],
    ]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """Two app processes on two free ports, each with its own ratings file; stopped at the end."""
    work = tmp_path_factory.mktemp("replicas")
    # Bring the index up to date once, first: replicas must load it, not race to rebuild it.
    subprocess.run([sys.executable, "-m", "bot.cli", "build", "--quiet"], cwd=PROJECT, check=True, timeout=1800,
                   capture_output=True)
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    urls = [f"http://127.0.0.1:{port}/" for port in ports]
    with ExitStack() as stack:
        for number, (url, command) in enumerate(zip(urls, _commands(*ports))):
            env = {**os.environ, "KRATOM_QA_FEEDBACK": str(work / f"feedback-{number}.jsonl"), "PYTHONUNBUFFERED": "1"}
            for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
                env.pop(name, None)  # the arguments alone choose the address
            stack.enter_context(running_app(command, env, work / f"replica-{number}.log", url))
        yield urls


def test_two_replicas_answer_ask_identically(replicas):
    from gradio_client import Client

    clients = [Client(url, verbose=False) for url in replicas]
    assert len(set(replicas)) == 2
    for question, history in QUESTIONS:
        first, second = (client.predict(question, history, api_name="/ask") for client in clients)
        validate_reply(first)
        assert first == second, question
    kinds = {clients[0].predict(q, h, api_name="/ask")["kind"] for q, h in QUESTIONS}
    assert kinds == {"answer", "refusal", "crisis", "off_topic", "no_answer"}


def test_a_conversation_may_hop_between_replicas(replicas):
    """/ask keeps no state: a follow-up sent to the other replica, with its history, is answered the same."""
    from gradio_client import Client

    first, second = (Client(url, verbose=False) for url in replicas)
    opener = first.predict("Is kratom legal in Texas?", api_name="/ask")
    hop = second.predict("and in Indiana?", ["Is kratom legal in Texas?"], api_name="/ask")
    stay = first.predict("and in Indiana?", ["Is kratom legal in Texas?"], api_name="/ask")
    assert opener["kind"] == hop["kind"] == "answer"
    assert hop == stay
