# Two entry points for a fresh machine with Python 3.11: `make book` and `make test`.
# Both create .venv from requirements.txt once (again when requirements.txt or pyproject.toml change).

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint clean-book check-book lab

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	@touch $@

book: $(STAMP)
	NTKBOOK_PROGRESS=0 $(BIN)/jupyter-book build book/
	@echo "The book is in book/_build/html/index.html"

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
