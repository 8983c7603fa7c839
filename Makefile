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

.PHONY: run test unit lint typecheck build bench check deploy clean openapi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

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
SAM_VENV := .local/sam
$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
build: $(STAMP) $(SAM_VENV)/bin/sam
	$(BIN)/python -m infra.openapi --check
	PATH="$(abspath $(SAM_VENV)/bin):$$PATH" $(SAM_VENV)/bin/sam build --template-file template.yaml

## bench: every benchmark, one table
bench: $(STAMP) $(DDB_JAR)
	$(BIN)/python -m benchmarks

## deploy: build, then a guided deploy to the account in your AWS credentials
deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

clean:
	rm -rf $(VENV) .local .aws-sam
