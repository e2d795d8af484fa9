# eosin — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# extlib: go-fitz links Debian's MuPDF instead of its bundled copy (see README.md, Licensing).
export GOFLAGS := -tags=extlib
export OMP_THREAD_LIMIT := 1
BIN := bin/eosin
FUZZTIME ?= 60s
TEST_TIMEOUT ?= 35m

.PHONY: help deps testdata build test bench lint fuzz demo clean

help: ## Show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install system packages (apt-get; idempotent, quick when present)
	@./scripts/deps.sh

testdata: ## Fetch the real test corpus (Debian documentation PDFs) into testdata/cache
	@./scripts/fetch-testdata.sh

build: deps ## Build bin/eosin
	$(GO) build -o $(BIN) ./cmd/eosin

test: deps testdata ## Run all tests (installs what they need first)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

bench: deps testdata ## Run the benchmarks and print figures
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

lint: ## gofmt + go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fuzz: deps testdata ## Run every fuzz target for FUZZTIME each (default 60s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build testdata ## Main job on a bundled example: dump what eosin reads from a real PDF
	./$(BIN) pdf dump testdata/cache/x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf --page 1

clean: ## Remove build outputs (keeps the test-corpus cache)
	rm -rf bin
