# Thin aliases. Every target installs what it needs itself: a fresh machine needs only python3, java, npm.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DDB_DIR := .local/dynamodb
DDB_VERSION := 2.9.30
DDB_JAR := $(DDB_DIR)/node_modules/amplify-dynamodb-simulator/emulator/DynamoDBLocal.jar
PORT ?= 3000

.PHONY: run test unit lint typecheck build bench check deploy clean openapi lock

# The virtualenv holds exactly requirements.lock (hashes required), reinstalled whenever the lock changes: uv (itself
# pinned and hashed in the lock) is bootstrapped with pip, then `uv pip sync` adds, upgrades and removes to match.
LOCK := requirements.lock
UV := $(BIN)/uv
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	awk '/^uv==/{p=1} p{print} p && !/\\$$/{exit}' $(LOCK) > $(VENV)/uv-requirement.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv-requirement.txt
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

## lock: upgrade every pin of requirements.lock and the layer's requirements.txt (newest pyproject.toml allows)
lock: $(STAMP)
	$(BIN)/python -m infra.checks lock --write --upgrade

$(DDB_JAR):
	mkdir -p $(DDB_DIR)
	npm install --prefix $(DDB_DIR) --no-audit --no-fund --loglevel=error amplify-dynamodb-simulator@$(DDB_VERSION)
	test -f $(DDB_JAR)

## run: start the local runner on http://127.0.0.1:$(PORT) (Ctrl-C stops it and everything it started)
run: $(STAMP) $(DDB_JAR)
	exec $(BIN)/python -m infra.local --port $(PORT) $(RUN_ARGS)

## test: lint, then the whole suite (unit, integration on DynamoDB Local, e2e through the runner)
test: $(STAMP) $(DDB_JAR)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## openapi: regenerate the OpenAPI document the deployed API serves
openapi: $(STAMP)
	$(BIN)/python -m infra.openapi --write

## build: sam build (aws-sam-cli in its own virtualenv; no Docker needed)
# sam build's python3.12 workflow needs a working `python3.12` on PATH: the first one that runs (a pyenv shim
# for another version does not), linked into .local/py312 so nothing else on PATH changes.
SAM_VENV := .local/sam
SAM := $(SAM_VENV)/bin/sam
SAM_VERSION := 1.170.0
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}
PY312_DIR := .local/py312
PY312 ?= $(shell for p in $$(command -v python3.12) $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do "$$p" -c "import sys; assert sys.version_info[:2] == (3, 12)" 2>/dev/null && { echo "$$p"; break; }; done)
$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_VERSION)
$(PY312_DIR)/python3.12:
	@test -n "$(PY312)" || { echo "sam build needs Python 3.12 (the Lambda runtime): install it (e.g. pyenv install 3.12)"; exit 1; }
	mkdir -p $(PY312_DIR)
	ln -sf "$(PY312)" $(PY312_DIR)/python3.12
build: $(STAMP) $(SAM) $(PY312_DIR)/python3.12
	$(BIN)/python -m infra.openapi --check
	PATH="$(abspath $(PY312_DIR)):$$PATH" $(SAM_ENV) $(SAM) build --template-file template.yaml
	@# Ship bytecode: /var/task and /opt are read-only, so without .pyc every cold start compiles our modules again
	@# (StaffApi: ~20% of its import time, docs/performance.md). unchecked-hash: zip mtimes cannot invalidate them.
	$(PY312_DIR)/python3.12 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build > /dev/null

## check: static checks (not part of make test): bandit, cfn-lint + checkov on the transformed template,
## sam validate + sam build, the dependency lock, pip-audit where a vulnerability database is reachable, and the
## bounded load test of the runner (issue 6 item 8: infra/loadtest.py), and schemathesis over every route (issue 12)
CHECK_VENV := .local/check
CHECK_STAMP := $(CHECK_VENV)/.installed
CHECK_TOOLS := bandit==1.9.4 checkov==3.3.30 pip-audit==2.10.1
TRANSFORMED := .local/check/transformed.json
LOAD_SECONDS ?= 60
FUZZ_EXAMPLES ?= 40
$(CHECK_STAMP):
	$(PYTHON) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/pip install --quiet $(CHECK_TOOLS)
	touch $(CHECK_STAMP)
check: $(STAMP) $(CHECK_STAMP) $(SAM) $(DDB_JAR)
	@echo "== bandit (medium and high severity fail)"
	$(CHECK_VENV)/bin/bandit -q -r layers functions infra --severity-level medium
	@echo "== cfn-lint: template.yaml and the SAM-transformed template"
	$(BIN)/python -m infra.checks cfn-lint
	@echo "== checkov (offline) on the SAM-transformed template; accepted findings are skips beside each resource"
	$(BIN)/python -m infra.checks transform --out $(TRANSFORMED)
	BC_SKIP_MAPPING=TRUE $(CHECK_VENV)/bin/checkov --skip-download --framework cloudformation --compact --quiet -f $(TRANSFORMED)
	@echo "== sam validate (offline)"
	$(SAM_ENV) $(SAM) validate --template-file template.yaml
	@echo "== sam build"
	$(MAKE) --no-print-directory build
	@echo "== dependency lock"
	$(BIN)/python -m infra.checks lock --check
	@echo "== pip-audit"
	$(BIN)/python -m infra.checks audit --pip-audit $(CHECK_VENV)/bin/pip-audit
	@echo "== contract fuzzing: schemathesis, positive and negative data, every route through the runner (no 5xx)"
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/e2e/test_contract_fuzzing.py -q -p no:cacheprovider
	@if [ "$(LOAD_SECONDS)" != "0" ]; then echo "== bounded load test ($(LOAD_SECONDS) s, loopback; LOAD_SECONDS=0 skips it)"; \
		$(BIN)/python -m infra.loadtest --seconds $(LOAD_SECONDS); fi
	@echo "make check: all passed"

## bench: every benchmark, one table (DynamoDB Local; see docs/performance.md)
bench: $(STAMP) $(DDB_JAR)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## deploy: build, then a guided deploy to the account in your AWS credentials
deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) .local .aws-sam
