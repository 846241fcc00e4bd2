"""The `kratom-qa` command: validate, corpus-report, build, ask, eval, serve.

`ask --json` prints one answer-contract object; `ask --jsonl` reads one question per line from
standard input (plain text, a JSON string, or `{"question": ..., "history": [...]}`) and writes one
object per line, loading the model once. `serve` runs the web app (the same as `python app.py`).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

from bot import paths
from bot.render import NOT_ADVICE


def _load_valid_corpus():
    from bot.corpus import CorpusError, load_corpus
    from bot.validate import validate_corpus

    folder = paths.corpus_dir()
    try:
        corpus = load_corpus(folder)
    except CorpusError as error:
        print(f"corpus error: {error}", file=sys.stderr)
        return None, 2
    problems = validate_corpus(corpus, str(folder / "sources.yaml"))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return corpus, (1 if problems else 0)


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the corpus against every content rule."""
    corpus, status = _load_valid_corpus()
    if corpus is not None and status == 0:
        print(f"corpus OK: {len(corpus.passages)} passages, {len(corpus.sources)} sources")
        if args.report:
            from bot.validate import corpus_report
            print(corpus_report(corpus))
    return status


def cmd_report(_args: argparse.Namespace) -> int:
    """Print passages per topic, evidence grade and source kind."""
    from bot.corpus import CorpusError, load_corpus
    from bot.validate import corpus_report
    try:
        print(corpus_report(load_corpus(paths.corpus_dir())))
    except CorpusError as error:
        print(f"corpus error: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Validate the corpus, then (re)build the index incrementally."""
    corpus, status = _load_valid_corpus()
    if status:
        print("build stopped: fix the corpus first (the current index was left as it was).", file=sys.stderr)
        return status
    from bot.embed import build_embedder, default_embedder
    from bot.index import build_index, load_index
    from bot.policy.training import source_hash

    embedder = build_embedder()
    report = build_index(corpus, embedder, paths.index_dir(), progress=not args.quiet)
    models = "trained the policy and answerability models" if report.trained else \
        "reused the trained models (nothing they learn from changed)"
    print(f"built {report.folder}: {report.passages} passages; embedded {report.embedded} texts, "
          f"reused {report.reused} from cache; {models}; {report.seconds:.1f} s")
    server = default_embedder()  # the serving encoder: exported now if it is onnx, and checked on the index
    if server is not embedder:
        load_index(paths.index_dir(), corpus, server, source_hash())
        print(f"serving encoder {server.name} reproduces the index's vectors")
    return 0


def _engine():
    from bot.answer import Engine
    return Engine.load(progress=True)


def _read_history(args: argparse.Namespace) -> list[str]:
    return [h for h in (args.history or []) if h is not None]


def _render_text(reply: dict) -> str:
    lines = [f"[{reply['kind']}]"]
    if reply["message"]:
        lines.append(reply["message"])
    for number, citation in enumerate(reply["citations"], start=1):
        lines.append(f"\n{number}. {citation['title']} ({citation['evidence']}"
                     + (f", as of {citation['as_of']}" if citation["as_of"] else "") + ")")
        lines.append(f"   {citation['text']}")
        for source in citation["sources"]:
            published = source["published"] or "n.d."
            lines.append(f"   — {source['publisher']}, \"{source['title']}\" ({published}) {source['url']}")
    for resource in reply["resources"]:
        lines.append(f"* {resource['name']}: {resource['phone'] or ''} {resource['url'] or ''}".rstrip())
    if reply["kind"] in ("answer", "refusal"):
        lines.append(f"\n{NOT_ADVICE}")  # the web chat's footer, with its emergency numbers
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions (from the arguments, or standard input with --jsonl)."""
    engine = _engine()
    if args.jsonl:
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        for line in stdin:
            question, history = _jsonl_question(line.rstrip("\n"))
            reply = engine.ask(question, history)
            sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return 0
    question = " ".join(args.question)
    reply = engine.ask(question, _read_history(args))
    print(json.dumps(reply, ensure_ascii=False, indent=2) if args.json else _render_text(reply))
    return 0


def _jsonl_question(line: str) -> tuple[str, list[str]]:
    """A line is plain text, a JSON string, or a {"question": ..., "history": [...]} object.

    Returns the question and its history (earlier user questions, oldest first; empty if none).
    """
    stripped = line.strip()
    if stripped.startswith(("{", '"')):
        try:
            value = json.loads(stripped)
        except ValueError:
            return line, []
        if isinstance(value, str):
            return value, []
        if isinstance(value, dict) and isinstance(value.get("question"), str):
            history = value.get("history")
            if isinstance(history, str):
                history = [history]
            if not isinstance(history, list):
                history = []
            return value["question"], [str(h) for h in history if h is not None]
    return line, []


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app (the same as `python app.py`)."""
    import importlib.util

    path = paths.PROJECT_ROOT / "app.py"
    spec = importlib.util.spec_from_file_location("kratom_qa_app", path)
    if not path.exists() or spec is None or spec.loader is None:
        print(f"serve: {path} not found (install the project editable: pip install -e .)", file=sys.stderr)
        return 2
    from bot.preload import load_engine_in_background

    engine = load_engine_in_background()
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)  # imports gradio; the engine loads meanwhile (as `python app.py` does)
    app.main(host=args.host, port=args.port, engine=engine)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run the retrieval and policy evaluations; non-zero exit when a CI gate fails."""
    from bot.evaluate import run_evaluation
    started = time.perf_counter()
    if args.cv:
        from bot.evaluate import cross_validate_policy
        cross_validate_policy(_engine(), sys.stdout)
        return 0
    ok = run_evaluation(_engine(), gate=args.gate, out=sys.stdout, only=args.only, show_errors=args.errors)
    print(f"\n(eval took {time.perf_counter() - started:.1f} s)")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `kratom-qa`."""
    parser = argparse.ArgumentParser(prog="kratom-qa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check the corpus rules")
    p.add_argument("--report", action="store_true", help="also print the corpus report")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("corpus-report", help="passages per topic, evidence grade, source kind")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("build", help="build or update the index")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("ask", help="ask a question")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument("--json", action="store_true", help="print the answer contract as JSON")
    p.add_argument("--jsonl", action="store_true", help="read questions from stdin, one JSON object per line out")
    p.add_argument("--history", action="append", help="an earlier user question (repeatable, oldest first)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("eval", help="retrieval and policy evaluation")
    p.add_argument("--errors", action="store_true", help="list the tune/dev misses (never the test part's)")
    p.add_argument("--only", choices=["retrieval", "policy", "xstest"], default=None)
    p.add_argument("--gate", action="store_true", help="exit non-zero if a CI gate fails")
    p.add_argument("--cv", action="store_true", help="policy: leave-one-writer-out cross-validation (slow)")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("serve", help="serve the web chat and the /ask API (the same as `python app.py`)")
    p.add_argument("--host", default=None,
                   help="address to listen on (default: GRADIO_SERVER_NAME, else 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: GRADIO_SERVER_PORT, else 7860)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kratom-qa` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "ask" and not args.jsonl and not args.question:
        build_parser().error("ask needs a question (or --jsonl to read them from standard input)")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
