# rmbc: `make demo` runs the main job, `make test` runs the whole suite. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
MESH_VENV := .venv-mesh
AUDIT_VENV := .rmbc/venv-audit
BIN := $(VENV)/bin
KAFKA_LIBS_STAMP := deploy/kafka/target/kafka-libs/.pom-sha256
OIDC_STAMP := tests/support/oidc/node_modules/.installed
NHSUK_STAMP := services/worklist/frontend/node_modules/.installed
BROWSER_STAMP := tests/support/browser/node_modules/.installed

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(MESH_VENV)/.installed $(KAFKA_LIBS_STAMP) $(OIDC_STAMP) $(NHSUK_STAMP) $(BROWSER_STAMP) ## venvs with pinned deps + Kafka jars + the test authorisation server + the worklist's NHS styles + browser test support

$(VENV)/.installed: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

# the OAuth tests run a real authorisation server (npm oidc-provider) with the machine's Node
$(OIDC_STAMP): tests/support/oidc/package.json tests/support/oidc/package-lock.json
	@command -v npm >/dev/null || { echo "needs Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd tests/support/oidc && npm ci --no-audit --no-fund
	@touch $@

# the worklist serves the NHS design system's compiled CSS and images from this npm package
$(NHSUK_STAMP): services/worklist/frontend/package.json services/worklist/frontend/package-lock.json
	@command -v npm >/dev/null || { echo "needs Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd services/worklist/frontend && npm ci --no-audit --no-fund
	@touch $@

# the worklist's browser tests: Debian's chromium (never a downloaded browser) and axe-core
$(BROWSER_STAMP): tests/support/browser/package.json tests/support/browser/package-lock.json
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }
	@command -v npm >/dev/null || { echo "needs Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd tests/support/browser && npm ci --no-audit --no-fund
	@touch $@

# mesh-sandbox pins an older FastAPI, so it gets a tools venv of its own
$(MESH_VENV)/.installed: deploy/mesh-sandbox.requirements.txt
	$(PYTHON) -m venv $(MESH_VENV)
	$(MESH_VENV)/bin/pip install -q -r deploy/mesh-sandbox.requirements.txt
	@touch $@

$(KAFKA_LIBS_STAMP): deploy/kafka/pom.xml $(VENV)/.installed
	$(BIN)/python -c "from services.broker import kafka_libs; print('kafka jars:', kafka_libs())"

demo: setup ## the main job: the whole pipeline on a synthetic cohort
	$(BIN)/rmbc demo

test: setup ## unit, integration and e2e tests against a real broker (the chaos run: make chaos)
	@$(BIN)/pytest tests -m "not chaos"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; fi; exit $$rc

chaos: setup ## the fault runs: crashes and broker restarts, on one broker and on a three-node cluster, lose nothing and send nothing twice
	$(BIN)/pytest -q -s -m chaos tests/e2e/test_chaos.py

bench: setup ## benchmark against a real broker (BENCH_QUICK=1: a 2-3 minute smoke run)
	$(BIN)/python -m bench

unit: $(VENV)/.installed ## the unit tier only (seconds, no I/O)
	$(BIN)/pytest -q tests/unit

lint: $(VENV)/.installed ## ruff + mypy
	$(BIN)/ruff check services shared tests bench
	$(BIN)/ruff format --check services shared tests bench
	$(BIN)/mypy services shared

broker: setup ## start the local Kafka broker and print its address
	$(BIN)/rmbc broker start

broker-stop: $(VENV)/.installed ## stop the local Kafka broker
	$(BIN)/rmbc broker stop

clean: ## remove venvs, jars and local state
	-$(BIN)/rmbc broker stop
	rm -rf $(VENV) $(MESH_VENV) deploy/kafka/target .rmbc

# --strict: a pin the vulnerability service cannot look up fails the audit instead of passing unseen
audit: $(AUDIT_VENV)/.installed ## check the pinned dependencies for known vulnerabilities (pip-audit)
	$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
	  --requirement requirements.lock

$(AUDIT_VENV)/.installed: deploy/pip-audit.requirements.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install -q -r deploy/pip-audit.requirements.txt
	@touch $@

.PHONY: help setup demo test chaos bench unit lint broker broker-stop audit clean
