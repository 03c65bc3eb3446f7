# The two commands: `make run` and `make test`. Each does all of its own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := backend/requirements.lock

.PHONY: run test lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per extra, rebuilt when the project or the lock changes.
$(VENV)/.runtime: backend/pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -c $(LOCK) -e backend
	touch $@

$(VENV)/.test: backend/pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -c $(LOCK) -e 'backend[test]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	@scripts/system-packages.sh run
	@scripts/run.sh

test: $(VENV)/.test
	@scripts/system-packages.sh test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check backend tests bench
	$(BIN)/mypy

# Re-pin after changing dependencies in backend/pyproject.toml.
lock: $(VENV)/.test
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
