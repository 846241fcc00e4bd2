# kratom-qa: the two commands of the README.
#   make run   - set up everything on a fresh machine, build the index if missing or stale, serve on 127.0.0.1
#   make test  - set up everything, lint, then run the whole test suite (unit, integration, policy gates, API, browser)
VENV    ?= .venv
PY      := $(VENV)/bin/python
KQA     := $(VENV)/bin/kratom-qa
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export GRADIO_ANALYTICS_ENABLED=False

PYTEST_ARGS ?=

.PHONY: install index run test lint browser-deps eval bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build of 2.13.0 (an unpinned torch pulls several GB of CUDA wheels)
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

index: install
	$(KQA) build --quiet

run: index
	$(PY) app.py

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will be skipped outside CI"; \
	  else echo "note: run 'sudo apt-get install chromium chromium-driver' for the browser tests"; fi; \
	fi

# ruff: configuration in pyproject.toml ([tool.ruff]).
lint: install
	$(VENV)/bin/ruff check bot app.py bench scripts tests

test: install browser-deps lint
	$(KQA) validate
	$(KQA) build --quiet
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

eval: index
	$(KQA) eval

bench: index
	$(PY) -m bench.run

clean:
	rm -rf index var/gradio-tmp .pytest_cache
