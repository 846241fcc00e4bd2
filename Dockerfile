# kratom-qa: the web chat and its /ask API in one container, the index built at image build time.
#
#   docker build -t kratom-qa .
#   docker run --rm -p 7860:7860 -v kratom-qa-ratings:/data kratom-qa
#
# The container serves on 0.0.0.0:7860 (inside the container; publish the port to choose who can reach
# it). Ratings go to /data/feedback.jsonl (a volume: one per replica, or one shared; see README,
# "Several replicas"). The index is built with torch (the reference); questions are embedded with
# onnxruntime by default (no torch at serving; `kratom-qa build` exports the ONNX file into var/onnx/).
# KRATOM_QA_ENCODER=torch (a build arg, or an env var at run time) serves with torch instead.
FROM python:3.11-slim

# Empty: the default serving encoder (bot/embed.py DEFAULT_ENCODER, onnx). The build step sees the ARG as an env var.
ARG KRATOM_QA_ENCODER=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    KRATOM_QA_FEEDBACK=/data/feedback.jsonl

WORKDIR /app

# The CPU build of torch 2.13.0 first (an unpinned torch pulls several GB of CUDA wheels), then the
# project's dependencies (cached as their own layer while only the code changes).
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot/__init__.py bot/__init__.py
RUN pip install -e . && rm -rf bot

# The project (editable install: the corpus, index and app.py are found next to the package).
COPY . .
RUN pip install --no-deps -e . \
    && kratom-qa validate \
    && kratom-qa build --quiet \
    && useradd --system --create-home --home-dir /home/kratom --shell /usr/sbin/nologin kratom \
    && mkdir -p /data var/gradio-tmp \
    && chown -R kratom /data var

ENV KRATOM_QA_ENCODER=${KRATOM_QA_ENCODER}
USER kratom
VOLUME ["/data"]
EXPOSE 7860
CMD ["kratom-qa", "serve", "--host", "0.0.0.0", "--port", "7860"]
