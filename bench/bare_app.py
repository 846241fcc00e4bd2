"""The reference for the cold-start ratio: a bare Gradio Blocks app with one textbox.

`python -m bench.bare_app PORT` (or `python bench/bare_app.py PORT`) serves it on 127.0.0.1:PORT with
the same launch settings that matter for start-up as `app.py` (analytics off, no share link).
"""

import os
import sys

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr  # noqa: E402

with gr.Blocks() as demo:
    gr.Textbox(label="Your question")

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), share=False)
