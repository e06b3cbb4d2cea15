# fluxwise — the two commands of the README are `make run` (the workbench) and `make test`;
# `make demo` is the command-line walk-through.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo run test lint bench loadtest clean i18n i18n-check

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

# the suite on TEST_WORKERS processes (pytest-xdist; each test file stays in one process, with its own
# throwaway PostgreSQL cluster and browser); TEST_WORKERS=0 runs it in this process
TEST_WORKERS ?= 2
test: install lint i18n-check
	bash scripts/test-services.sh
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Extract the strings marked for translation into the template and update every catalogue
# (then translate the new entries in src/fluxwise/locale/<lang>/LC_MESSAGES/fluxwise.po).
i18n: install
	$(BIN)/python scripts/i18n.py extract

# Fail when a catalogue has an untranslated or fuzzy message or is out of date with the source.
i18n-check: install
	$(BIN)/python scripts/i18n.py check

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
