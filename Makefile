# Two entry points for a fresh machine with Python 3.12: `make book` and `make test`.
# Both create .venv from requirements.txt once (again when requirements.txt or pyproject.toml change).
# The interpreter: the first Python >= 3.12 among python3.12, pyenv's 3.12 builds, python3.13 and python3
# (current JAX needs 3.12); on a machine with several Pythons name it: `make PYTHON=/path/to/python3.12 test`.

_PY_CANDIDATES := python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.13 python3
_py_ok = $(shell $(1) -c 'import sys; print(sys.version_info >= (3, 12))' 2>/dev/null)
ifndef PYTHON
PYTHON := $(firstword $(foreach p,$(_PY_CANDIDATES),$(if $(filter True,$(call _py_ok,$(p))),$(p))))
endif
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint clean-book check-book lab

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" && $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null || { \
	  echo "error: no Python >= 3.12 found (tried: $(or $(PYTHON),$(_PY_CANDIDATES))); current JAX needs 3.12;" \
	       "install Python 3.12 or run 'make PYTHON=/path/to/python3.12 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	# neural-tangents (the reference, never the engine) without its declared TensorFlow/tf2jax requirements
	$(BIN)/python -m pip install --no-deps neural-tangents==0.6.5
	@touch $@

# The profile each chapter renders at is named in _config.yml (ntkbook: profile:); `make book PROFILE=quick` renders
# every chapter at one profile instead, for this build (the notebooks stay as they are). Executed chapters are cached
# per build folder, so a change of profile (or of _config.yml) re-executes every chapter.
PROFILE ?=
_STAMP_PROFILE = $(if $(PROFILE),$(PROFILE),config-$(firstword $(shell sha256sum _config.yml)))
# The executed-notebook cache keys on a notebook's own cells only, but every page's output also depends on the package
# and the result store (the claims page on what the chapters computed): a change to either re-executes every page.
_STAMP_INPUTS = inputs-$(firstword $(shell find src/ntkbook results book/_ext -type f \( -name '*.py' -o -name '*.json' \
  -o -name '*.xz' -o -name '*.js' \) 2>/dev/null | LC_ALL=C sort | xargs sha256sum 2>/dev/null | sha256sum))

book: $(STAMP)
	@mkdir -p book/_build && (git diff HEAD -- book/ 2>/dev/null | sha256sum) > book/_build/.tracked-before
	@if [ -f book/_build/.profile ] && [ "$$(cat book/_build/.profile)" != "$(_STAMP_PROFILE)" ]; then \
	  echo "profile changed from $$(cat book/_build/.profile) to $(_STAMP_PROFILE): re-executing every chapter"; \
	  rm -rf book/_build/.jupyter_cache book/_build/jupyter_execute book/_build/html; fi
	@if [ -f book/_build/.inputs ] && [ "$$(cat book/_build/.inputs)" != "$(_STAMP_INPUTS)" ]; then \
	  echo "the package code or the result store changed since the last build: re-executing every page"; \
	  rm -rf book/_build/.jupyter_cache book/_build/jupyter_execute book/_build/html; fi
	$(if $(PROFILE),NTKBOOK_PROFILE=$(PROFILE) )NTKBOOK_PROGRESS=0 $(BIN)/jupyter-book build book/
	@echo "$(_STAMP_PROFILE)" > book/_build/.profile
	@echo "$(_STAMP_INPUTS)" > book/_build/.inputs
	@# the build reads the tracked chapters and writes only under book/_build: their bytes are as before
	@(git diff HEAD -- book/ 2>/dev/null | sha256sum) | cmp -s - book/_build/.tracked-before || { \
	  echo "error: the build changed tracked files in book/ (git diff -- book/)"; exit 1; }
	@echo "The book ($(if $(PROFILE),profile $(PROFILE),profiles of _config.yml)) is in book/_build/html/index.html"

# The built book as a reader sees it: every page of book/_build/html opened from disk in headless Chromium
# (Debian's /usr/bin/chromium) with the network cut off, at 1280 and 390 px wide (tables fit or scroll in their
# own box, figure text >= 9 pt as shown); screenshots land in book/_build/screenshots/ (<page>.png, <page>-390.png).
# Then the claims page of the same build is compared with the values the chapters glued.
check-book: $(STAMP)
	NTKBOOK_CHECK_BOOK=1 $(BIN)/python -m pytest -m "browser and not slow" tests/test_browser.py
	NTKBOOK_CHECK_BOOK=1 $(BIN)/python -m pytest tests/test_claims_page.py

# JupyterLab on a working copy of the chapters in book/_lab/ (ignored by git; kept between sessions, refreshed when
# a chapter changes): opening, running and autosaving never modify the tracked notebooks (tools/lab.py).
lab: $(STAMP)
	$(BIN)/python tools/lab.py

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean-book:
	rm -rf book/_build
