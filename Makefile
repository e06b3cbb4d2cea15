# fluxwise — the two commands of the README are `make run` (the workbench) and `make test`;
# `make demo` is the command-line walk-through.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo run test lint bench loadtest clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

demo: install
	$(BIN)/fluxwise demo

run: install
	$(BIN)/fluxwise serve --demo

# `make loadtest DB=postgres` runs it on a throwaway PostgreSQL cluster
DB ?= sqlite
loadtest: install
	$(BIN)/python scripts/loadtest.py --db $(DB)

lint: install
	$(BIN)/ruff check src tests benchmarks

test: install lint
	bash scripts/test-services.sh
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
