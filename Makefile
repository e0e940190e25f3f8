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

.PHONY: emulators
emulators: ## Install and start moto (127.0.0.1:4566) and Tansu (127.0.0.1:9092) unless something answers there
	@scripts/emulators.sh up

.PHONY: lint-infra
lint-infra: ## Validate infra/template.yaml offline: cfn-lint 1.53.x on it and on its SAM-expanded form, consistency check
	@scripts/lint-infra.sh

.PHONY: test
test: lint check-docs lint-infra ## Every check and every test (starts the emulators it needs, stops what it started)
	@scripts/emulators.sh up --owned .local/run/test.owned
	@status=0; $(CARGO) test --workspace --locked || status=$$?; \
	  scripts/emulators.sh down --owned .local/run/test.owned; exit $$status

.PHONY: events
events: ## Rewrite the ready payloads under events/ from the code
	UPDATE_EVENTS=1 $(CARGO) test --locked -p foodstream-handlers --test functions event_payloads_are_current

.PHONY: build
build: tools ## Build every function for Lambda with cargo lambda (x86_64, and arm64 when its target installs)
	@scripts/build-functions.sh

.PHONY: token
token: ## Mint a local bearer token: make token ROLE=customer|owner|operator SUB=<user> [STORE=<store>]
	@$(CARGO) run --quiet --locked -p foodstream-local --bin foodstream-local -- token \
	  --role "$(ROLE)" --sub "$(SUB)" $(if $(STORE),--store "$(STORE)")

.PHONY: deploy
deploy: ## Build with cargo lambda and deploy the stack to AWS with SAM (guided the first time; costs money, see README)
	@scripts/deploy.sh deploy

.PHONY: destroy
destroy: ## Delete the AWS stack (DynamoDB tables and the photo bucket are retained)
	@scripts/deploy.sh destroy

.PHONY: down
down: ## Stop everything the project started (emulators, by PID)
	@scripts/emulators.sh down

.PHONY: demo
demo: tools ## Play the whole SPEC scenario (in memory until the local stack lands) and print its timeline
	@echo "make demo: the local stack (emulated API Gateway, MSK and DynamoDB stream mappings) is not built yet."
	@echo "Until it is, this plays the whole scenario of SPEC section 2 through the real use cases over the"
	@echo "in-memory adapters, with the three topics and the orders table stream simulated in process."
	@echo
	$(CARGO) run --quiet --locked -p foodstream-application --example scenario
