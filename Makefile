# One command for the demo, one for the tests. Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,cloud]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/solidafy-cdk demo

test: $(STAMP)
	$(BIN)/python -m compileall -q source_solidafy  # bytecode once, as an install would (PYTHONDONTWRITEBYTECODE may be set)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info output
