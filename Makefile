# nomad-iis (Go): build, test and run the Nomad IIS task driver.
# `make help` lists the targets. Every target works on a fresh Linux machine
# after `make deps` (which `make run` and .ci/run call for you).

SHELL         := /usr/bin/env bash
GO            ?= go
BUILD_DIR     ?= build
CACHE_DIR     ?= .cache
PLUGIN_BIN    := $(BUILD_DIR)/nomad_iis
IISSIM_BIN    := $(BUILD_DIR)/iissim
CLI_BIN       := $(BUILD_DIR)/nomad-iis
NOMAD_BIN     ?= $(abspath $(BUILD_DIR)/nomad)
PLAYWRIGHT_DIR := $(abspath $(CACHE_DIR)/playwright)
STATICCHECK   := $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION := v0.7.0
GINKGO_VERSION := v2.34.0
# Packages with goroutines of their own run under the race detector.
RACE_PKGS     := ./ps/... ./iissim/... ./driver/... ./api/... ./reliability/... ./cmd/nomad-iis
TEST_TIMEOUT  ?= 20m
FUZZTIME      ?= 20s
LOAD_DURATION ?= 20s

export NOMAD_IIS_PLAYWRIGHT_DRIVER ?= $(PLAYWRIGHT_DIR)
export NOMAD_IIS_BROWSER ?= /usr/bin/chromium

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install what builds and tests need (apt, npm, Go tools); safe to rerun
	./hack/install-deps.sh

.PHONY: build
build: ## Build nomad_iis, iissim and the nomad-iis command into build/ (and check the Windows build)
	$(GO) build -o $(PLUGIN_BIN) ./cmd/nomad_iis
	$(GO) build -o $(IISSIM_BIN) ./cmd/iissim
	$(GO) build -o $(CLI_BIN) ./cmd/nomad-iis
	GOOS=windows GOARCH=amd64 $(GO) build -o $(BUILD_DIR)/windows/nomad_iis.exe ./cmd/nomad_iis
	GOOS=windows GOARCH=amd64 $(GO) build -o $(BUILD_DIR)/windows/nomad-iis.exe ./cmd/nomad-iis

.PHONY: nomad
nomad: ## Build the Nomad agent v1.6.3 (MPL-2.0) from the module proxy into build/nomad (no-op when built)
	NOMAD_BIN=$(NOMAD_BIN) ./tools/nomad/build.sh

.PHONY: test
test: test-unit test-windows pscheck test-fuzz test-e2e test-dist ## Run every suite: unit, contract, Windows build, PowerShell syntax, fuzz, e2e, release build

.PHONY: test-unit
test-unit: ## Unit, driver harness and contract tests (race detector on concurrent packages)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -vE 'nomad-iis/(ps|iissim|driver|api|reliability|cmd/nomad-iis)(/|$$)|/e2e')

.PHONY: test-contract
test-contract: ## The contract suite alone (NOMAD_IIS_CONTRACT_BACKEND=powershell on Windows)
	$(GO) test -count=1 -v ./ps/contract

.PHONY: test-windows
test-windows: ## GOOS=windows go build and go vet of every package
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

.PHONY: pscheck
pscheck: ## Syntax-check every .ps1/.psm1 with a PowerShell grammar
	./hack/pscheck.sh

.PHONY: test-fuzz
test-fuzz: ## Each fuzz target for a bounded time (10s each); fails on any crash
	FUZZTIME=10s ./hack/fuzz.sh

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME and write build/fuzz-summary.json
	FUZZTIME=$(FUZZTIME) ./hack/fuzz.sh

.PHONY: soak
soak: ## Long fuzzing (5m a target) and a 10-minute load run
	FUZZTIME=5m ./hack/fuzz.sh
	LOAD_DURATION=10m $(GO) test -count=1 -timeout 30m -run '^TestLoad_' ./reliability

.PHONY: report-reliability
report-reliability: nomad build ## Fuzz, run the reliability scenarios, write bench/RELIABILITY.md
	-FUZZTIME=$(FUZZTIME) ./hack/fuzz.sh
	NOMAD_BIN=$(NOMAD_BIN) NOMAD_IIS_PLUGIN=$(abspath $(PLUGIN_BIN)) LOAD_DURATION=$(LOAD_DURATION) \
		$(GO) run ./reliability/cmd/report -e2e

.PHONY: e2e
e2e: test-e2e ## Alias of test-e2e

.PHONY: test-e2e
test-e2e: nomad build ## Ginkgo suites against a real Nomad agent with the plugin loaded
	NOMAD_BIN=$(NOMAD_BIN) NOMAD_IIS_PLUGIN=$(abspath $(PLUGIN_BIN)) \
		$(GO) test -count=1 -timeout 30m -tags e2e ./e2e/...

# Licences of the modules linked into the binaries: hack/licenses.sh with
# go-licenses, installed like staticcheck (again when not this version).
GO_LICENSES   := $(shell $(GO) env GOPATH)/bin/go-licenses
GO_LICENSES_VERSION := v1.6.0
LICENSES_ENV  := GO=$(GO) GO_LICENSES=$(GO_LICENSES) GO_LICENSES_VERSION=$(GO_LICENSES_VERSION)

.PHONY: licenses
licenses: go-licenses ## Check the licences of every linked module, regenerate THIRD_PARTY_NOTICES
	$(LICENSES_ENV) ./hack/licenses.sh

.PHONY: licenses-check
licenses-check: go-licenses ## Licence check and fail when THIRD_PARTY_NOTICES is out of date (part of lint)
	$(LICENSES_ENV) ./hack/licenses.sh --check

.PHONY: go-licenses
go-licenses:
	@$(GO) version -m $(GO_LICENSES) 2>/dev/null | grep -qE '^\s+mod\s+github.com/google/go-licenses\s+$(GO_LICENSES_VERSION)\s' || \
		$(GO) install github.com/google/go-licenses@$(GO_LICENSES_VERSION)

.PHONY: lint
lint: licenses-check ## gofmt, go vet, staticcheck, licence check (hack/licenses.sh --check), PowerShell lint (pslint)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...
	./hack/pscheck.sh --lint

.PHONY: pslint
pslint: ## Lint the PowerShell module (scripts/) beyond syntax: 5.1 only, calls, cmdlets, binder, console
	./hack/pscheck.sh --lint

.PHONY: run
run: ## Start Nomad with the plugin on iissim and deploy the sample site (Ctrl-C stops all)
	./hack/install-deps.sh --quiet
	$(MAKE) --no-print-directory nomad build
	$(GO) build -o $(BUILD_DIR)/nomad-iis-run ./e2e/cmd/run
	NOMAD_BIN=$(NOMAD_BIN) NOMAD_IIS_PLUGIN=$(abspath $(PLUGIN_BIN)) exec $(BUILD_DIR)/nomad-iis-run

.PHONY: vagrant-e2e
vagrant-e2e: build ## Unit, contract and e2e suites in a Windows Server 2022 VM with IIS (needs Vagrant)
	./vagrant/e2e.sh

.PHONY: bench
bench: ## Compare nomad-iis with a process per call, Info-ZIP, unzip, cat, zip+curl; write bench/REPORT.md
	./hack/bench.sh

.PHONY: bench-go
bench-go: ## The Go micro-benchmarks: process host (fake backend), status, ZIP extraction
	$(GO) test -run '^$$' -bench . -count 5 ./ps ./api ./api/ziputil

.PHONY: dist
dist: ## Release archives, SBOMs, SIGNING.txt, SHA256SUMS into dist/ (hack/dist.sh; VERSION=..., NOMAD_IIS_SIGN_* to sign)
	GO=$(GO) ./hack/dist.sh

.PHONY: test-dist
test-dist: ## Run hack/dist.sh signed (throwaway certificate) and unsigned, and check what it makes
	$(GO) test -count=1 -timeout 30m -tags dist ./release/

.PHONY: clean
clean: ## Remove build output and caches (not the Go module cache)
	rm -rf $(BUILD_DIR) $(CACHE_DIR) dist
