"""The web API `/ask` through gradio_client: the answer contract unchanged, for every kind."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.contract import validate_reply
from support import PROJECT

pytestmark = pytest.mark.api


QUESTIONS = {
    "answer": "is kratom legal in indiana",
    "refusal": "how many grams of kratom should I take",
    "crisis": "my friend took kratom and is not breathing",
    "off_topic": "what is the capital of france",
    "no_answer": "",
}


@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client
    return Client(app_server.url, verbose=False)


@pytest.mark.parametrize("kind", sorted(QUESTIONS))
def test_ask_returns_the_contract_for_every_kind(client, kind):
    reply = client.predict(QUESTIONS[kind], api_name="/ask")
    validate_reply(reply)
    assert reply["kind"] == kind
    assert set(reply) == {"question", "kind", "message", "citations", "resources"}


def test_history_is_optional_and_a_keyword(client):
    by_position = client.predict("is kratom legal in indiana", [], api_name="/ask")
    by_keyword = client.predict(question="is kratom legal in indiana", api_name="/ask")
    assert by_position == by_keyword


def test_answer_is_what_the_cli_prints(client):
    question = "is kratom legal in indiana"
    reply = client.predict(question, api_name="/ask")
    printed = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", question], cwd=PROJECT,
                             capture_output=True, text=True, timeout=300, check=True).stdout
    assert reply == json.loads(printed)
    assert reply["citations"][0]["passage_id"] == "arkansas-kratom-law"  # indiana-kratom-law was merged into it
    assert reply["citations"][0]["sources"][0]["url"].startswith("https://")


def test_history_makes_follow_ups_work(client):
    history = ["Is kratom legal in Texas?"]
    follow_up = client.predict("and in Indiana?", history, api_name="/ask")
    validate_reply(follow_up)
    assert follow_up["kind"] == "answer"
    assert "arkansas-kratom-law" in [c["passage_id"] for c in follow_up["citations"]]
    # the earlier question really is used: a bare "and in Texas?" has nothing to lean on
    alone = client.predict("and in Texas?", api_name="/ask")
    with_context = client.predict("and in Texas?", ["Is kratom legal in Indiana?"], api_name="/ask")
    assert alone != with_context
    assert with_context["kind"] == "answer"
    assert any("texas" in c["passage_id"] for c in with_context["citations"])


def test_history_may_be_sent_as_a_json_list_string(client):
    as_list = client.predict("and in Indiana?", ["Is kratom legal in Texas?"], api_name="/ask")
    as_text = client.predict("and in Indiana?", json.dumps(["Is kratom legal in Texas?"]), api_name="/ask")
    assert as_list == as_text


def test_four_concurrent_clients(app_server):
    from gradio_client import Client

    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            client = Client(app_server.url, verbose=False)
            results[number] = [client.predict(q, api_name="/ask") for q in QUESTIONS.values()]
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    assert not errors, errors
    assert len(results) == 4
    for replies in results.values():
        assert [r["kind"] for r in replies] == list(QUESTIONS)
        for reply in replies:
            validate_reply(reply)
    assert results[0] == results[1] == results[2] == results[3]
    assert elapsed < 60


def test_only_the_ask_endpoint_is_public(client):
    info = client.view_api(return_format="dict", print_info=False)
    assert list(info["named_endpoints"]) == ["/ask"]
    assert not info["unnamed_endpoints"]
    with pytest.raises(Exception):
        client.predict("hello", api_name="/submit_question")


def _listeners(port: int) -> list[str]:
    """Local addresses listening on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel gives them)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, local_port = fields[1].rsplit(":", 1)
            if int(local_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found


def test_server_listens_on_127_0_0_1_only(app_server):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp")
    listeners = _listeners(app_server.port)
    assert listeners, f"nothing listens on port {app_server.port}"
    assert set(listeners) == {"0100007F"}, f"listening on {listeners}, expected 127.0.0.1 only"
