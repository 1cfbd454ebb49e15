# twinbench: the two commands a newcomer needs are `make bench` and `make test`.
# Every target bootstraps .venv first, so both work on a fresh machine.

PYTHON ?= python3
# bash with pipefail: a pip that fails behind a filter (or a failed pip freeze behind sed)
# fails its recipe instead of being hidden by the last command of the pipe.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP := $(PY) -m pip --disable-pip-version-check -q
# Quiet pip's noise about this machine's extra (empty) local indexes; pip's own exit status
# still decides (pipefail), and grep finding nothing left to print is not a failure.
PIP_FILTER := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: help install test test-fast fuzz bench bench-full bench-soak bench-batching bench-report examples serve-flask serve-fastapi milvus-up milvus-down \
        milvus-status demo-data lint lock clean \
        workshop workshop-check workshop-kit locust-ui

help:
	@echo "make bench        run the quick FastAPI-vs-Flask comparison and write the report"
	@echo "make bench-full | bench-soak | bench-batching   the longer profiles"
	@echo "make examples    regenerate the committed examples in docs/ (about an hour, quiet machine)"
	@echo "make test         run the test suite (starts and stops its own Milvus)"
	@echo "make test-fast    the inner loop: the tests that need no Milvus and no live server"
	@echo "make serve-flask  serve the Flask twin on 127.0.0.1:8001 (gunicorn)"
	@echo "make serve-fastapi serve the FastAPI twin on 127.0.0.1:8002 (uvicorn)"
	@echo "make milvus-up | milvus-down | milvus-status   the embedded Milvus server"
	@echo "make demo-data    load the demo corpus (stdlib docstrings) into Milvus"
	@echo "make fuzz         schemathesis --checks all against both live twins (FUZZ_EXAMPLES=100 per operation)"
	@echo "make lint         ruff (lint and format) + mypy"
	@echo "make lock         rewrite requirements.lock from the versions installed in .venv"
	@echo "make workshop     ready this machine for the workshop (docs/workshop), offline"
	@echo "make workshop-check [LAB=N]   run every lab and check its prediction (LAB=6c: one part)"
	@echo "make workshop-kit  wheels and caches for a room without network (docs/workshop/platforms.md)"
	@echo "make locust-ui TWIN=flask|fastapi   Locust's web UI on http://127.0.0.1:8089"

install: $(STAMP)

# torch first, pinned: that exact version is the CPU wheel on this machine's disk; any
# other spelling pulls a multi-GB CUDA build when sentence-transformers asks for torch
# (elsewhere, take it from PyTorch's CPU index first: see README). Then the project, with
# every other package held to the versions in requirements.lock (a pip constraints file).
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "torch==2.13.0" $(PIP_FILTER)
	$(PIP) install -c requirements.lock -e ".[bench,dev,lite]" $(PIP_FILTER)
	$(PY) -c "import torch, sentence_transformers, pymilvus, milvus, flask, fastapi"
	@# The default model runtime (ONNX) is exported from the packaged model once, here, offline.
	$(PY) -m shared.embed_runtime
	@# locust monkey-patches ssl with gevent: it must be imported first, in its own process.
	$(PY) -c "import locust"
	touch $(STAMP)

# The gates first (lint, format, types), as any of them failing fails the run; then the suite.
test: lint
	$(PY) -m pytest

# The tests marked `live` (tests/conftest.py) are left out: no Milvus, no twin server started.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not live" -q

# `schemathesis run --checks all` against both live twins, longer than the bounded run in
# `make test` (15 examples per operation); a new random seed each time.
fuzz: $(STAMP)
	TWINBENCH_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} $(PY) -m pytest tests/reliability/test_fuzz.py -q

# Write requirements.lock from what .venv holds now (after a deliberate upgrade, say). The
# local label of torch's CPU build (+cpu) is dropped: ==2.13.0 matches that build, and the
# same pin resolves on indexes that carry no such label.
lock: $(STAMP)
	{ echo "# Exact versions twinbench is tested and benchmarked with; used as pip constraints"; \
	  echo "# by make install. Rewrite with: make lock"; \
	  $(PY) -m pip freeze --exclude-editable --disable-pip-version-check \
	    | sed 's/^torch==\([0-9.]*\)+cpu$$/torch==\1/'; } > requirements.lock.tmp \
	  && mv requirements.lock.tmp requirements.lock

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) -m bench run --profile quick

bench-full: $(STAMP)
	$(PY) -m bench run --profile full

bench-soak: $(STAMP)
	$(PY) -m bench run --profile soak

# Text search with micro-batching off and on, at 1, 16 and 64 users, on one core per server.
bench-batching: $(STAMP)
	$(PY) -m bench run --profile batching

# Every committed example under docs/, one run after another on a quiet machine: three quick
# runs (the example and two stability runs), the batching profile, the soak. ONLY=quick (or
# batching, soak) runs those alone: the other examples keep their results.
examples: $(STAMP)
	$(PY) -m bench examples $(if $(ONLY),--only $(ONLY))

# Rewrite the report of a results folder: make bench-report DIR=results/<timestamp>
bench-report: $(STAMP)
	$(PY) -m bench report $(DIR)

milvus-up: $(STAMP)
	$(PY) -m shared.milvus_server start

milvus-down: $(STAMP)
	$(PY) -m shared.milvus_server stop

milvus-status: $(STAMP)
	$(PY) -m shared.milvus_server status

demo-data: $(STAMP)
	$(PY) -m shared.corpus load

serve-flask: $(STAMP)
	$(PY) -m shared.serve flask

serve-fastapi: $(STAMP)
	$(PY) -m shared.serve fastapi

clean:
	rm -rf .data results .pytest_cache .mypy_cache .ruff_cache

# The workshop (docs/workshop): prepare a laptop offline, then check every lab's prediction.
# KIT=<folder made by make workshop-kit>: install from its wheels and its caches, no network.
ifdef KIT
workshop: export PIP_NO_INDEX := 1
workshop: export PIP_FIND_LINKS := $(abspath $(KIT))/wheels
endif
workshop: $(STAMP)
	$(if $(KIT),mkdir -p .data && tar -xzf $(KIT)/cache.tar.gz -C .data)
	$(PY) -m workshop prepare

workshop-check: $(STAMP)
	$(PY) -m workshop check $(foreach lab,$(LAB),--lab $(lab))

# A room without a fast network: on one machine with it (the room's OS, CPU architecture and
# Python), every wheel of requirements.lock (torch from PyTorch's CPU index: from PyPI,
# torch==2.13.0 is a multi-GB CUDA build), setuptools to build the project, and the corpus's
# embeddings `make workshop` cached. Not the ONNX export: its cache key holds the installed
# model files' paths and times, so each laptop makes its own at install (about 10 s, offline).
# Copy the folder to each laptop and run `make workshop KIT=<folder>` there.
# TORCH_SOURCE: where torch comes from; a machine with its own wheel mirror (or the CPU
# wheel in pip's find-links already) may say so: make workshop-kit TORCH_SOURCE=--no-index
WORKSHOP_KIT := .data/workshop-kit
TORCH_SOURCE ?= --index-url https://download.pytorch.org/whl/cpu
workshop-kit: workshop
	rm -rf $(WORKSHOP_KIT) && mkdir -p $(WORKSHOP_KIT)/wheels
	$(PY) -m pip download -q -d $(WORKSHOP_KIT)/wheels --no-deps \
		$(TORCH_SOURCE) "torch==2.13.0" $(PIP_FILTER)
	grep -v '^torch==' requirements.lock > $(WORKSHOP_KIT)/requirements.txt
	$(PY) -m pip download -q -d $(WORKSHOP_KIT)/wheels --no-deps \
		-r $(WORKSHOP_KIT)/requirements.txt "setuptools>=68" wheel $(PIP_FILTER)
	tar -czf $(WORKSHOP_KIT)/cache.tar.gz -C .data --exclude=cache/onnx cache
	@du -sh $(WORKSHOP_KIT)

# Locust's own web UI against a running twin (make serve-flask / make serve-fastapi first),
# on the loopback address only; pick a user class in the page.
FLASK ?= http://127.0.0.1:8001
FASTAPI ?= http://127.0.0.1:8002
TWIN ?= fastapi
locust-ui: $(STAMP)
	$(VENV)/bin/locust -f bench/load/locustfile.py --web-host 127.0.0.1 --class-picker \
		--host $(if $(filter flask,$(TWIN)),$(FLASK),$(FASTAPI))
