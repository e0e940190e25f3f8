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
lint: tools ## cargo fmt --check, clippy with warnings denied, no unused dependency (cargo-machete), docs without warnings (cargo doc), rust-version checked against Cargo.lock (scripts/check-msrv.sh)
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@scripts/install-tools.sh --machete
	@scripts/check-unused-deps.sh
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --locked
	@scripts/check-msrv.sh

.PHONY: check-docs
check-docs: ## Check that docs/rules.md names real tests for every SPEC rule
	@scripts/check-rules-table.sh

.PHONY: emulators
emulators: ## Install and start moto (127.0.0.1:4566) and Tansu (127.0.0.1:9092) unless something answers there
	@scripts/emulators.sh up

.PHONY: lint-infra
lint-infra: ## Validate infra/template.yaml offline (cfn-lint 1.53.x on it and its SAM-expanded form, consistency check, checkov security scan) and the compose profile
	@scripts/lint-infra.sh

.PHONY: test
test: lint check-docs lint-infra ## Every check and every test: the workspace's, then make package (arm64) and the end-to-end test on its zips under qemu
	@scripts/install-tools.sh --qemu
	@scripts/emulators.sh install-test-tools
	@scripts/emulators.sh up --owned .local/run/test.owned
	@status=0; \
	  { $(CARGO) build --workspace --bins --locked && scripts/run-bin.sh --check-no-rebuild && \
	    $(CARGO) test --workspace --locked && \
	    ARCH=arm64 scripts/package.sh && $(MAKE) --no-print-directory e2e-package; } || status=$$?; \
	  scripts/emulators.sh down --owned .local/run/test.owned; exit $$status

# The end-to-end test on the bootstraps taken out of dist/arm64's zips, under
# qemu-aarch64; the emulators must be up (make test and make test-package
# start them). --workspace, as make test builds: the same features, so
# nothing is compiled again.
.PHONY: e2e-package
e2e-package:
	$(CARGO) build --locked --workspace --bins
	FOODSTREAM_FUNCTIONS_DIR=$(CURDIR)/dist/arm64/bin \
	  FOODSTREAM_FUNCTION_LAUNCHER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
	  $(CARGO) test --locked --workspace --test e2e

.PHONY: bench
bench: tools ## Benchmarks, each figure next to its floor or ceiling: criterion, cold starts, load and cost per batching profile, DynamoDB writes per order and throughput; writes SVG charts and run.txt to docs/bench (BENCH_PLOTS_DIR); ends with one bench-summary JSON line (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_RATE, BENCH_DELIVER_SHARE)
	@scripts/bench.sh

.PHONY: events
events: ## Rewrite the ready payloads under events/ from the code
	UPDATE_EVENTS=1 $(CARGO) test --locked -p foodstream-handlers --test functions event_payloads_are_current

.PHONY: package
package: tools ## Build every function once for Lambda (ARCH=arm64 default, or x86_64): dist/<arch>/ zips, bootstraps, deployable template
	@scripts/package.sh

.PHONY: test-package
test-package: ## Only the package part of make test: make package if dist/arm64 is missing, then the end-to-end test on it under qemu
	@scripts/install-tools.sh --qemu
	@test -f dist/arm64/template.json || ARCH=arm64 scripts/package.sh
	@scripts/emulators.sh up --owned .local/run/test-package.owned
	@status=0; $(MAKE) --no-print-directory e2e-package || status=$$?; \
	  scripts/emulators.sh down --owned .local/run/test-package.owned; exit $$status

.PHONY: replay
replay: ## List the failure records and the delivery timer's dead letters, or re-drive them: make replay KEY=<key> | ALL=1 [PARKED=1: the consumers' parked records too] (the local stack; on AWS set FAILURE_BUCKET, TIMER_QUEUE, TIMER_DEAD_LETTER_QUEUE, MSK_CLUSTER_ARN and no AWS_ENDPOINT_URL)
	@AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL-http://127.0.0.1:4566} AWS_REGION=$${AWS_REGION:-us-east-1} \
	  AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test} \
	  KAFKA_BOOTSTRAP_SERVERS=$${KAFKA_BOOTSTRAP_SERVERS-$(if $(MSK_CLUSTER_ARN),,127.0.0.1:9092)} \
	  scripts/run-bin.sh foodstream-ops replay $(if $(KEY),--key "$(KEY)") $(if $(ALL),--all) $(if $(PARKED),--parked)

.PHONY: token
token: ## Mint a local bearer token: make token ROLE=customer|owner|operator SUB=<user> [STORE=<store>]
	@scripts/run-bin.sh foodstream-local token \
	  --role "$(ROLE)" --sub "$(SUB)" $(if $(STORE),--store "$(STORE)")

.PHONY: invoke
invoke: ## Run one function once on the running local stack's emulators (make up first), with the environment the stack gives it: make invoke FUNCTION=<name> [EVENT=events/<file>.json]; its answer on stdout
	@test -n "$(FUNCTION)" || { echo "usage: make invoke FUNCTION=<name> [EVENT=events/<file>.json]" >&2; exit 2; }
	@scripts/run-bin.sh foodstream-local invoke --function "$(FUNCTION)" $(if $(EVENT),--event "$(EVENT)")

# The function's environment is the one the running stack gives it
# (`foodstream-local env`: its tables, queues, topics, the emulators'
# endpoint and credentials); a developer's own AWS profile never reaches it.
.PHONY: watch
watch: ## cargo lambda watch on one function (rebuilt on every change) with the environment the running local stack (make up first) gives it: make watch FUNCTION=<name>; then cargo lambda invoke --invoke-address 127.0.0.1 <name> --data-file events/<file>.json (127.0.0.1:9000)
	@test -n "$(FUNCTION)" || { echo "usage: make watch FUNCTION=<name>" >&2; exit 2; }
	@scripts/install-tools.sh --lambda
	@env_lines=$$(scripts/run-bin.sh foodstream-local env --function "$(FUNCTION)"); \
	  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN; \
	  while IFS= read -r line; do export "$$line"; done <<<"$$env_lines"; \
	  export PATH="$(CURDIR)/.local/venv/bin:$$PATH"; \
	  echo "watch: $(FUNCTION) on 127.0.0.1:9000; in another shell:" \
	    "PATH=$(CURDIR)/.local/venv/bin:\$$PATH cargo lambda invoke --invoke-address 127.0.0.1 $(FUNCTION) --data-file events/$(FUNCTION).json" >&2; \
	  exec cargo lambda watch --invoke-address 127.0.0.1 --bin "$(FUNCTION)"

.PHONY: deploy
deploy: ## Deploy the arm64 package (make package) to AWS with SAM (guided the first time; costs money, see README)
	@scripts/deploy.sh deploy

.PHONY: destroy
destroy: ## Delete the AWS stack (DynamoDB tables, the photo bucket and the user pool are retained)
	@scripts/deploy.sh destroy

.PHONY: up
up: tools ## Start the local stack in the background and print the API's and the console's URLs (reuses a running one; FUNCTIONS=package runs the arm64 package)
	@scripts/stack.sh up

.PHONY: logs
logs: ## Follow the local stack's log (FUNCTION=<name> for one function's); ORDER=<id>: one order's lines across all functions, in time order
ifdef ORDER
	@scripts/run-bin.sh foodstream-ops logs --order "$(ORDER)" --dir .local/logs/functions
else
	@scripts/stack.sh logs
endif

.PHONY: status
status: ## Is the local stack up, and do the emulators answer
	@scripts/stack.sh status

.PHONY: down
down: ## Stop everything the project started: the stack, its function instances, the emulators (by PID)
	@scripts/stack.sh down
	@scripts/emulators.sh down

.PHONY: demo
demo: up ## Bring the local stack up and play the whole SPEC scenario through its HTTP API, then print the timeline
	@scripts/run-bin.sh foodstream-harness scenario
	@echo "The stack is still up: its console (the URL above) shows every function, mapping, topic and failure record, live; make logs, make token, make down."