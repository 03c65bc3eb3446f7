# The two commands: `make run` and `make test`. Each does all of its own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := backend/requirements.lock

.PHONY: run test lint lock clean bench

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
	$(BIN)/lint-imports --no-cache
	cd frontend && npm run lint

# Every benchmark in bench/, one after another, then one summary of their goals
# (bench/README.md: what each measures and the latest figures). BENCH_ARGS=--quick for short runs.
bench: $(VENV)/.test
	@scripts/system-packages.sh test
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# Re-pin after changing dependencies in backend/pyproject.toml.
lock: $(VENV)/.test
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# --- frontend (frontend/): `npm ci` when the lock changes, a build when sources change ---
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/tsconfig.app.json \
	frontend/package.json
FRONTEND_DEPS := frontend/node_modules/.ci-stamp
FRONTEND_BUILD := frontend/dist/index.html

$(FRONTEND_DEPS): frontend/package-lock.json
	@scripts/system-packages.sh frontend
	cd frontend && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND_BUILD): $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $@

.PHONY: frontend frontend-test
frontend: $(FRONTEND_BUILD)

frontend-test: $(FRONTEND_DEPS)
	cd frontend && npm run lint && npm run typecheck && npm test

# Extra prerequisites: the web app is built before serving, unit-tested and built before pytest
# (whose tests/e2e drive it in Chromium), and its dependencies installed before ESLint.
run: $(FRONTEND_BUILD)
test: frontend-test $(FRONTEND_BUILD)
lint: $(FRONTEND_DEPS)

# The web app's API types, generated from the backend's OpenAPI document (commit both files;
# tests/web/test_api_types.py fails while they are stale).
.PHONY: api-types
api-types: $(VENV)/.runtime $(FRONTEND_DEPS)
	$(BIN)/python scripts/dump_openapi.py frontend/openapi.json
	cd frontend && npx --no-install openapi-typescript openapi.json -o src/types/api.gen.ts --enum-values
