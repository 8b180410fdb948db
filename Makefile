# One command for the demo, one for the tests. Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test container-test lint bench clean index

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,cloud,jwt,dagster,airflow]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/solidafy-cdk demo

test: $(STAMP)
	$(BIN)/python -m compileall -q source_solidafy  # bytecode once, as an install would (PYTHONDONTWRITEBYTECODE may be set)
	$(BIN)/python -m pytest -m "not container"

# The real image: installs podman/runc/mmdebstrap when missing (root, Debian), makes the local
# python:3.11-slim base (cached in /var/cache/solidafy-container), builds the Dockerfile and runs
# the container tests against it, Airbyte's standard tests, PyAirbyte and Meltano included. The
# virtualenvs of Airbyte's tools and of Meltano (container/airbyte-tools.txt, meltano-tools.txt, cached
# beside the base) are made while the image builds.
container-test: $(STAMP)
	$(BIN)/python -m integration_tests.container & tools=$$!; \
	bash container/build.sh; built=$$?; wait $$tools && exit $$built
	$(BIN)/python -m pytest -m container integration_tests/test_container.py integration_tests/test_container_airbyte.py \
		integration_tests/test_container_meltano.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy  # files and settings: [tool.mypy] in pyproject.toml

# connectors/index.json: what list/spec/streams answer for the built-ins without loading them
index: $(STAMP)
	$(BIN)/python -m source_solidafy.builtin_index

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist *.egg-info output
