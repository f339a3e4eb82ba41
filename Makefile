# sessionguard: make test runs everything CI runs. See README.md.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Every module of the repository: the main one and the nested ones (bench/,
# e2e/), since ./... stops at module boundaries.
MODULES := . $(patsubst %/go.mod,%,$(wildcard */go.mod))

.PHONY: test deps fmt-check vet lint fuzz fuzz-short bench

test: deps fmt-check vet
	@for m in $(MODULES); do \
		echo "== go test -race $$m/..."; \
		(cd $$m && $(GO) test -race -count=1 -timeout 20m ./...) || exit 1; \
	done
	@$(MAKE) --no-print-directory fuzz-short

deps:
	@./scripts/test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

lint: vet
	@for m in $(MODULES); do (cd $$m && $(STATICCHECK) ./...) || exit 1; done

# Short seeded fuzzing for make test; make fuzz for the long run.
fuzz-short:
	@./scripts/fuzz.sh 3s

fuzz:
	@./scripts/fuzz.sh $${FUZZTIME:-2m}

# Side-by-side benchmarks; regenerates docs/BENCHMARKS.md.
bench: deps
	@./scripts/bench.sh
