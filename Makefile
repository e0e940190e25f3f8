# foodstream: serverless Rust on API Gateway, MSK and DynamoDB.
# `make help` lists the targets. Every target installs what it needs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: tools
tools: ## Install the toolchain pieces the project needs (idempotent)
	@scripts/install-tools.sh

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: lint
lint: tools ## cargo fmt --check and clippy with warnings denied
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

.PHONY: check-docs
check-docs: ## Check that docs/rules.md names real tests for every SPEC rule
	@scripts/check-rules-table.sh

.PHONY: test
test: lint check-docs ## Every check and every test
	$(CARGO) test --workspace --locked

.PHONY: demo
demo: tools ## Play the whole SPEC scenario (in memory until the local stack lands) and print its timeline
	@echo "make demo: the local stack (emulated API Gateway, MSK and DynamoDB stream mappings) is not built yet."
	@echo "Until it is, this plays the whole scenario of SPEC section 2 through the real use cases over the"
	@echo "in-memory adapters, with the three topics and the orders table stream simulated in process."
	@echo
	$(CARGO) run --quiet --locked -p foodstream-application --example scenario
