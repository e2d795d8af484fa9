# eosin — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# extlib: go-fitz links Debian's MuPDF instead of its bundled copy (see README.md, Licensing).
export GOFLAGS := -tags=extlib
export OMP_THREAD_LIMIT := 1
BIN := bin/eosin
FUZZTIME ?= 60s
TEST_TIMEOUT ?= 35m

.PHONY: help deps testdata build test bench lint fuzz demo clean worker-image

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

DEMO_PDFS := \
  testdata/cache/x/r-bioc-pcamethods/usr/lib/R/site-library/pcaMethods/doc/outliers.pdf \
  testdata/cache/x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf \
  testdata/cache/x/r-cran-seroincidence/usr/lib/R/site-library/seroincidence/doc/methodology.pdf \
  testdata/cache/x/r-bioc-hilbertvis/usr/lib/R/site-library/HilbertVis/doc/HilbertVis.pdf
DEMO_OUT ?= corpus

demo: build testdata ## Main job: build a figure–caption dataset from 4 real Debian PDFs (local Beam runner)
	./$(BIN) build $(DEMO_PDFS) --output $(DEMO_OUT)
	@echo "dataset: $(DEMO_OUT)/$$(cat $(DEMO_OUT)/LATEST)  (run again: nothing new; add PDFs: only they are processed)"

WORKER_IMAGE ?= eosin-worker:latest

worker-image: ## Build the Beam worker image (cgo eosin + libtesseract) and bin/eosin-worker
	docker build -f deploy/worker.Dockerfile -t $(WORKER_IMAGE) .
	mkdir -p bin && id=$$(docker create $(WORKER_IMAGE)) && docker cp $$id:/opt/eosin/eosin bin/eosin-worker; docker rm $$id >/dev/null

clean: ## Remove build outputs (keeps the test-corpus cache)
	rm -rf bin

.PHONY: eval
EVAL_OUT ?= /tmp/eosin-eval
# Folders holding PDFs and a gt.jsonl of their publisher captions, scored by eval/cmd/gteval.
EVAL_GT ?= $(wildcard ../shared/data/biomed)
eval: deps testdata ## Figure/caption recall, precision and reject reasons on every corpus: vignettes, EVAL_GT folders (born-digital and image-only), simulated scans
	@mkdir -p $(EVAL_OUT)
	@echo "== vignettes, born-digital (ground truth: the LaTeX/Sweave/R Markdown sources)"
	$(GO) run ./eval/cmd/figeval -corpus testdata/cache -out $(EVAL_OUT)/vignettes -v | tee $(EVAL_OUT)/vignettes.txt
	@for d in $(EVAL_GT); do \
	  echo "== $$d (ground truth: publisher XML; image-only documents go through OCR)"; \
	  $(GO) run ./eval/cmd/gteval -dir $$d -out $(EVAL_OUT)/gt-$$(basename $$d) -v | tee $(EVAL_OUT)/gt-$$(basename $$d).txt || exit 1; \
	done
	@echo "== simulated scans of the vignettes (rendered, degraded, image-only; $${SCAN_PAGES:-2} captioned pages per document)"
	$(GO) run ./layout/scan/cmd/scaneval -corpus testdata/cache -pages $${SCAN_PAGES:-2} | tee $(EVAL_OUT)/simscan.txt
	@echo; echo "== summary (details above and in $(EVAL_OUT)/*.txt)"
	@for f in $(EVAL_OUT)/*.txt; do \
	  echo "-- $$(basename $$f .txt)"; grep -E '^== (born-digital|image-only)|^figures: recall|^rejects:|^ *TOTAL' $$f; \
	done
