# credserver: the two commands are `make demo` and `make test`; both install
# what they need (scripts/install-peers.sh is idempotent).
SHELL := /bin/bash
GO ?= go
PEERS_DIR ?= $(HOME)/.cache/credserver-peers
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(PEERS_DIR)/bin/staticcheck-$(STATICCHECK_VERSION)
export CREDSERVER_PEERS_DIR := $(PEERS_DIR)

.PHONY: all build peers test unit lint demo fuzz soak bench clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

peers:
	bash scripts/install-peers.sh

$(STATICCHECK):
	mkdir -p $(PEERS_DIR)/bin
	GOBIN=$(PEERS_DIR)/bin/.staticcheck $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(PEERS_DIR)/bin/.staticcheck/staticcheck $@

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Everything: lint, then all tests (unit, fuzz seeds, integration against the
# real peers) with the race detector.
test: peers lint
	$(GO) test -race -count=1 -timeout 25m ./...

# Unit tests only, no peers needed (integration tests skip without CI set).
unit:
	$(GO) test -count=1 ./...

demo: peers
	$(GO) run ./tools/demo

# A short run of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# Go benchmarks of the hot pieces, then tools/bench: wrk against credserver
# and against a bare handler in the same run, latency at half of peak, the
# cold path against direct STS calls, and memory with 100,000 users cached.
bench: peers
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./internal/auth ./internal/policy ./internal/vend ./internal/server
	$(GO) run ./tools/bench

# 60 s of sustained load on the real local stack; reports errors (target:
# zero), throughput and latency percentiles.
soak: peers
	$(GO) run ./tools/soak -duration 60s

clean:
	rm -rf bin

# The Helm chart alone (make test runs the same checks in deploy/helm).
.PHONY: helm-lint
helm-lint: peers
	$(PEERS_DIR)/bin/helm lint --strict deploy/helm/credserver
	$(PEERS_DIR)/bin/helm lint --strict deploy/helm/credserver --values deploy/helm/testdata/all-features.yaml
	$(PEERS_DIR)/bin/helm template credserver deploy/helm/credserver --values deploy/helm/testdata/all-features.yaml >/dev/null
