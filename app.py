"""kratom-qa web chat: a Gradio app around `bot.answer.Engine`. Wiring only.

Run `python app.py [--host HOST] [--port PORT]` (or `kratom-qa serve`) and open http://127.0.0.1:7860.
Host and port come from the arguments, else GRADIO_SERVER_NAME (default 127.0.0.1) and
GRADIO_SERVER_PORT (default 7860). KRATOM_QA_FEEDBACK names the ratings file. The API endpoint
`/ask` returns the answer contract unchanged (see README, "Web API"). Rendering lives in
`bot/render.py`, rating storage in `bot/feedback.py`. No question text is stored or logged.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from concurrent.futures import Future
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no outbound calls
# Gradio's queue keeps a record of the last GRADIO_ANALYTICS_MAX_EVENTS events (default 10,000) for its monitoring
# page and, after every event (GRADIO_ANALYTICS_CACHE_FREQUENCY 1), rebuilds a pandas DataFrame of all of them in a
# worker thread, holding the GIL: a cost per request that grows with the requests served (7.5% of the worker
# threads' samples after 2,000 requests, py-spy). This app has no monitoring page: keep 1,000 records, summarised
# every 1,000 events.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ["GRADIO_TEMP_DIR"] = str(ROOT / "var" / "gradio-tmp")  # temp files stay in the project
Path(os.environ["GRADIO_TEMP_DIR"]).mkdir(parents=True, exist_ok=True)


# `python app.py`: the engine starts loading now, while gradio is imported (bot/preload.py).
if __name__ == "__main__":
    from bot.preload import load_engine_in_background
    _ENGINE_LOADING: Future | None = load_engine_in_background()
else:
    _ENGINE_LOADING = None

import gradio as gr  # noqa: E402

from bot.preload import skip_absent_matplotlib  # noqa: E402

skip_absent_matplotlib()

from bot import feedback, render  # noqa: E402
from bot.answer import Engine  # noqa: E402
from bot.policy import load_resources  # noqa: E402

CONCURRENCY = 16
MAX_HISTORY = 20
SESSION_TTL_S = 3600  # conversation state is dropped on page close, or an hour after the last turn
CSS_PATH = ROOT / "static" / "app.css"
PRIVATE = "private"  # UI-only events: hidden from the API docs and from gradio_client
# After a reply, scroll the chat (only the chat box) so the new question and the top of the reply
# show: a crisis block or refusal banner is read first, not the end of the last citation card.
SCROLL_TO_REPLY_JS = """() => { setTimeout(() => {
  const box = document.querySelector('#chat .bubble-wrap, #chat [role=log]');
  const turns = document.querySelectorAll('#chat [data-testid=user]');
  const turn = turns[turns.length - 1];
  if (!box || !turn) return;
  const row = turn.closest('.message-row') || turn;
  box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}, 120); }"""


def _as_history(history: object) -> list[str]:
    """Accept a list of earlier user questions, a JSON list as text, or nothing."""
    if isinstance(history, str):
        try:
            history = json.loads(history) if history.strip() else []
        except ValueError:
            history = [history]
    if not isinstance(history, (list, tuple)):
        return []
    return [str(h) for h in history if h is not None][-MAX_HISTORY:]


def build_app(engine: Engine) -> gr.Blocks:
    """Return the Blocks app answering with `engine`."""
    summary = render.corpus_summary(engine.corpus.passages, len(engine.corpus.sources))

    def ask(question: str, history: list[str] | None = None) -> dict:
        """Answer one question about kratom; `history` is the earlier user questions, oldest first.
        Returns the answer-contract object (kinds: answer, no_answer, refusal, crisis, off_topic)."""
        return engine.ask(question if isinstance(question, str) else "", _as_history(history))

    def respond(question: str, chat: list, questions: list, meta: dict):
        if not (question or "").strip():
            return "", chat, questions, meta, chat
        reply = ask(question, questions)
        chat = chat + [{"role": "user", "content": render.render_user_turn(question)},
                       {"role": "assistant", "content": render.render_reply(reply)}]
        meta = {**meta, str(len(chat) - 1): {"kind": reply["kind"],
                                             "passage_ids": [c["passage_id"] for c in reply["citations"]]}}
        questions = (questions + [question])[-MAX_HISTORY:]
        return "", chat, questions, meta, chat

    def rate(meta: dict, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        rating = feedback.rating_from_like(data.liked)
        entry = meta.get(str(index))
        if rating and entry:
            feedback.record_feedback(entry["kind"], entry["passage_ids"], rating)

    def clear():
        return "", [], [], {}, []

    def then_scroll(event, name: str) -> None:
        event.then(None, js=SCROLL_TO_REPLY_JS, api_name=f"scroll_after_{name}", api_visibility=PRIVATE)

    with gr.Blocks(title="kratom-qa: cited answers about kratom") as demo:
        chat_state = gr.State([], time_to_live=SESSION_TTL_S)
        questions_state = gr.State([], time_to_live=SESSION_TTL_S)
        meta_state = gr.State({}, time_to_live=SESSION_TTL_S)
        gr.Markdown("# kratom-qa\nCited answers about kratom, quoted from vetted public-health, "
                    "research and legal sources.", elem_id="masthead")
        gr.Markdown(render.render_notice(summary), elem_id="notice")
        with gr.Row(equal_height=False, elem_id="layout"):
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(
                    label="Conversation", show_label=False, elem_id="chat", height="66vh", min_height=380,
                    buttons=[], latex_delimiters=[], allow_tags=False, sanitize_html=True,
                    group_consecutive_messages=False, feedback_options=("Like", "Dislike"), autoscroll=False,
                    placeholder=render.render_welcome(),
                )
                with gr.Row(elem_id="ask-row"):
                    question = gr.Textbox(label="Your question", show_label=False, container=False,
                                          placeholder="Ask a question about kratom, then press Enter",
                                          lines=1, max_lines=4, scale=5, min_width=180,
                                          elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="send")
                gr.Markdown("**Example questions**", elem_id="examples-label")
                with gr.Row(elem_id="examples"):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary", min_width=150)
                                       for q in render.EXAMPLE_QUESTIONS]
                clear_button = gr.Button("Clear conversation", variant="secondary", size="sm", elem_id="clear")
            with gr.Column(scale=2, min_width=280, elem_id="side"):
                with gr.Accordion("Get help now (US)", open=True, elem_id="resources"):
                    gr.Markdown(render.render_resources_panel(load_resources().values()))
                gr.Markdown(
                    "**Privacy.** Your questions are not saved or logged. They are kept in memory for this "
                    "conversation only, so follow-up questions work, and dropped when you close the page. "
                    "If you rate an answer with thumbs up or down, only the rating, the kind of answer and "
                    "the ids of the quoted passages are saved on this server.", elem_id="privacy")

        outputs = [question, chat_state, questions_state, meta_state, chatbot]
        state_in = [chat_state, questions_state, meta_state]
        then_scroll(question.submit(respond, [question] + state_in, outputs, api_name="submit_question",
                                    api_visibility=PRIVATE), "submit_question")
        then_scroll(send.click(respond, [question] + state_in, outputs, api_name="send_question",
                               api_visibility=PRIVATE), "send_question")
        for number, (button, text) in enumerate(zip(example_buttons, render.EXAMPLE_QUESTIONS), start=1):
            def ask_example(chat, questions, meta, _text=text):
                return respond(_text, chat, questions, meta)
            then_scroll(button.click(ask_example, state_in, outputs, api_name=f"example_{number}",
                                     api_visibility=PRIVATE), f"example_{number}")
        clear_button.click(clear, None, outputs, api_name="clear_conversation", api_visibility=PRIVATE)
        chatbot.clear(clear, None, outputs, api_name="clear_chatbot", api_visibility=PRIVATE)
        chatbot.like(rate, [meta_state], None, api_name="rate_answer", api_visibility=PRIVATE)
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """The address to serve on: the arguments, else GRADIO_SERVER_NAME/PORT, else 127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or 7860)
    return host, port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """`python app.py [--host HOST] [--port PORT]`."""
    parser = argparse.ArgumentParser(description="Serve the kratom-qa web chat and its /ask API.")
    parser.add_argument("--host", default=None, help="address (default: GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: GRADIO_SERVER_PORT, else 7860)")
    return parser.parse_args(argv)


def main(host: str | None = None, port: int | None = None, engine: "Engine | Future | None" = None) -> None:
    """Load the engine once and serve the app (local only unless a host or GRADIO_SERVER_NAME says otherwise).

    `engine`: a loaded engine, or the future of one (`bot.preload`); default: the one
    `python app.py` started loading at import, else `Engine.load()` now.
    """
    server_name, server_port = server_address(host, port)
    from bot.preload import limit_blas_threads

    engine = engine if engine is not None else _ENGINE_LOADING
    if isinstance(engine, Future):
        engine = engine.result()
    limit_blas_threads()
    served = engine if engine is not None else Engine.load()
    demo = build_app(served)
    demo.launch(
        server_name=server_name,
        server_port=server_port,
        share=False, show_error=False, footer_links=["api"], run_history=False,
        theme=gr.themes.Default(
            primary_hue="teal", secondary_hue="slate", neutral_hue="slate",
            # Gradio's bundled SemiBold (600) file is a 5 kB stub: declare Regular and Bold only.
            font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui",
                  "sans-serif"]),
        css_paths=[CSS_PATH],
        prevent_thread_lock=True,
    )
    # Serving now. The language detector's models (lingua: ~4 s, holding the GIL) load in the background, one
    # language at a time with pauses between (bot/language.py), instead of all at once on the first message
    # that needs them.
    from bot.language import warm_up

    def warm_up_models() -> None:
        warm_up(pause=0.05)
        encoder_warm_up = getattr(served.embedder, "warm_up", None)
        if encoder_warm_up is not None:  # onnx: the 2-thread session for questions that arrive alone
            encoder_warm_up()

    threading.Thread(target=warm_up_models, name="warm-up", daemon=True).start()
    demo.block_thread()


if __name__ == "__main__":
    _args = parse_args()
    main(_args.host, _args.port)
