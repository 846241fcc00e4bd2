"""Load the engine in a background thread while the web app imports gradio (`python app.py`, `kratom-qa serve`).

A light module on purpose (no bot.answer import here): the import itself runs in the thread. The
onnxruntime session and the index files load mostly outside the GIL, so on two cores the engine is
ready about when gradio has been imported. Nothing is built (see bot/answer.py: `Engine.load` reads
the index); a missing or stale index is rebuilt there as always.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future


def limit_blas_threads() -> None:
    """Serving: one BLAS thread. Every product the engine computes per question is small (a vector against a
    few thousand rows); OpenBLAS's hand-off to a second thread costs more than it saves, and with many
    requests at once its threads spin against each other and against onnxruntime's (measured: 6 ms instead
    of 20 us for a 1,557 x 384 product under load)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def load_engine_in_background() -> Future:
    """Start `Engine.load()` in a daemon thread; `future.result()` returns the engine or raises its error."""
    future: Future = Future()

    def load() -> None:
        try:
            from bot.answer import Engine
            limit_blas_threads()
            future.set_result(Engine.load())
        except BaseException as error:  # noqa: BLE001 (re-raised by `future.result()`)
            future.set_exception(error)

    threading.Thread(target=load, name="engine-load", daemon=True).start()
    return future


def skip_absent_matplotlib() -> None:
    """When matplotlib is not installed, make `import matplotlib` fail at once: Gradio tries it twice per
    event (to switch plotting backends around the function call), and each failed attempt searches every
    sys.path folder, on the server's event loop (6% of its samples under load, py-spy). An installed
    matplotlib is left alone."""
    import importlib.util
    import sys

    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # the import system's "known missing": ModuleNotFoundError at once

