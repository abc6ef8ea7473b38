# Run, test and check the platform. Targets are documented in `make help`;
# processes, ports and env vars are in docs/architecture.md.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Passed through to the stack launcher (tools/stack.py) and the tests.
STACK_DIR ?= var
SERVICE_REPLICAS ?= 2
# Workers per gunicorn instance: WEB_CONCURRENCY for every service, or
# WEB_CONCURRENCY_BUY / _SELL / _USER_UTILITIES for one (defaults in tools/stack.py);
# make passes them on when set. Never export them empty: gunicorn reads WEB_CONCURRENCY
# as a number when it starts.
export SERVICE_REPLICAS

# Placeholders so `compose-check` works without secrets; real runs need real ones.
CHECK_SECRETS := JWT_SECRET="$${JWT_SECRET:-compose-check-jwt-secret}" \
	ADMIN_PASSWORD="$${ADMIN_PASSWORD:-compose-check}" \
	SERVICE_PASSWORD="$${SERVICE_PASSWORD:-compose-check}" \
	REDIS_PASSWORD="$${REDIS_PASSWORD:-compose-check}" \
	MONGO_PASSWORD="$${MONGO_PASSWORD:-compose-check}" \
	WALLET_ENCRYPTION_KEY="$${WALLET_ENCRYPTION_KEY:-compose-check}"

.PHONY: help deps system-deps venv ferretdb frontend up down status logs reset \
	test test-unit test-integration test-e2e test-frontend faults bench bench-mining lint audit \
	compose-check screenshots

help:
	@echo "make deps              install what is missing (Debian packages, venv, FerretDB)"
	@echo "make frontend          build the UI into frontend/dist (npm ci + vite, when stale)"
	@echo "make up                start the stack (NGINX on http://127.0.0.1:8080/)"
	@echo "make down | status | logs"
	@echo "make reset             stop and delete every account, login and log entry (asks)"
	@echo "make test              unit + integration + e2e + fault-injection tests"
	@echo "make test-unit | test-integration | test-e2e"
	@echo "make test-frontend     the UI's type and format checks and component tests (Vitest)"
	@echo "make screenshots       copy the browser walk's screenshots the README shows to docs/"
	@echo "make faults SEEDS=200  fault injection; writes docs/reliability.md"
	@echo "make bench             throughput benchmark; writes docs/benchmarks.md + docs/bench/"
	@echo "make bench-mining      1,000 machines in 5 pools, 100 blocks: block times, engine CPU"
	@echo "make lint              ruff check + ruff format --check"
	@echo "make audit             bandit (medium and up) and pip-audit"
	@echo "make compose-check     validate docker-compose.yml"
	@echo "Variables: STACK_DIR=$(STACK_DIR) SERVICE_REPLICAS=$(SERVICE_REPLICAS)" \
		"WEB_CONCURRENCY[_<SERVICE>] (workers; defaults in tools/stack.py)"

# ---------------------------------------------------------------- dependencies
# Each step checks for itself and does nothing when everything is there.

deps: system-deps venv ferretdb

system-deps:
	@bash tools/install_system_deps.sh

venv: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when a requirements file changed since the last install.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

ferretdb:
	@bash tools/install_ferretdb.sh

# The UI (frontend/, Node >= 20.19). npm ci runs when the lockfile changed, the Vite
# build when a source is newer than dist/. VITE_API_URL (default: same origin) is read
# at build time; after changing it, `touch frontend/index.html`.
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f \
	! -name '*.test.*' ! -path 'frontend/src/test/*' 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json
FRONTEND_MODULES := frontend/node_modules/.package-lock.json

frontend: frontend/dist/index.html

$(FRONTEND_MODULES): frontend/package-lock.json frontend/package.json
	@command -v npm >/dev/null || { echo "make frontend needs Node.js >= 20.19 and npm" >&2; exit 1; }
	cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: $(FRONTEND_SRC) $(FRONTEND_MODULES)
	cd frontend && npm run build
	@touch $@

# ------------------------------------------------------------------- the stack

up: deps frontend
	$(BIN)/python -m tools.stack up --dir $(STACK_DIR) --replicas $(SERVICE_REPLICAS)

down:
	$(BIN)/python -m tools.stack down --dir $(STACK_DIR)

status:
	$(BIN)/python -m tools.stack status --dir $(STACK_DIR)

logs:
	$(BIN)/python -m tools.stack logs --dir $(STACK_DIR)

# A fresh database: stops the stack and deletes its data after typing "reset".
reset:
	$(BIN)/python -m tools.stack reset --dir $(STACK_DIR)

# ----------------------------------------------------------------------- tests

test: deps frontend
	$(BIN)/pytest

test-unit: venv
	$(BIN)/pytest tests/unit

test-integration: deps
	$(BIN)/pytest tests/integration

test-e2e: deps frontend
	$(BIN)/pytest tests/e2e

# More seeds than CI runs (tests/faults runs 20, 1 of the wallet's, 3 of the coin
# checker's, 2 of the stock stop-losses'), with a report.
SEEDS ?= 200
WALLET_SEEDS ?= 10
COIN_SEEDS ?= 10
STOCK_STOP_SEEDS ?= 10
faults: deps
	$(BIN)/python -m tools.faults --mining --seeds $(SEEDS) --report docs/reliability.md
	$(BIN)/python -m tools.wallet_faults --seeds $(WALLET_SEEDS) --report docs/reliability.md
	$(BIN)/python -m tools.coin_faults --seeds $(COIN_SEEDS) --report docs/reliability.md
	$(BIN)/python -m tools.stock_stop_faults --seeds $(STOCK_STOP_SEEDS) --report docs/reliability.md

# Type check and format check (prettier), then the component tests.
test-frontend: $(FRONTEND_MODULES)
	cd frontend && npm run lint && npm test

# The README's pictures of the UI are the browser walk's own (tests/e2e/test_frontend.py
# writes test-artefacts/frontend-*.png): run it, then copy them.
SCREENSHOTS := 10-exchange:ui-exchange 23-wallet:ui-wallet 17-pools:ui-pools
screenshots:
	@for pair in $(SCREENSHOTS); do \
		src=test-artefacts/frontend-$${pair%%:*}.png; dst=docs/$${pair##*:}.png; \
		test -f $$src || { echo "no $$src: run make test-e2e (test_frontend.py) first" >&2; exit 1; }; \
		cp $$src $$dst && echo "$$src -> $$dst"; \
	done

# ---------------------------------------------------------------------- checks

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A benchmark, not a test: its own stack, realistic quote latency, a report with plots.
# BENCH_ARGS=--quick for a short run.
bench: deps
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-bench.txt
	$(BIN)/python -m tools.bench --scenario all $(BENCH_ARGS)

# The pool engine at scale on a real chain-node (docs/benchmarks.md, "Mining").
bench-mining: deps
	$(BIN)/python -m tools.bench_mining --machines 1000 --pools 5 --blocks 100 $(BENCH_ARGS)

# pip-audit needs a vulnerability database (PyPI's JSON API or OSV); where neither is
# reachable it lists every package as not audited, so its verdict is only as good as that.
audit: venv
	$(BIN)/bandit -q -c pyproject.toml -r . --severity-level medium
	$(BIN)/pip-audit -r requirements.txt --progress-spinner off

compose-check: system-deps
	$(CHECK_SECRETS) docker-compose -f docker-compose.yml config -q
