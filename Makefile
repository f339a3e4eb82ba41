# sessionguard: make test runs everything CI runs. See README.md.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Every module of the repository: the main one and the nested ones (bench/,
# e2e/), since ./... stops at module boundaries.
MODULES := . $(patsubst %/go.mod,%,$(wildcard */go.mod))

.PHONY: test deps fmt-check vet lint fuzz fuzz-short bench load soak

test: deps fmt-check lint
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
	@./scripts/fuzz.sh 3000x

fuzz:
	@./scripts/fuzz.sh $${FUZZTIME:-1000000x}

# Side-by-side benchmarks; regenerates docs/BENCHMARKS.md.
bench: deps
	@./scripts/bench.sh

# wrk against sessionguard serve on loopback (memory, bolt, Redis, and no
# session layer); updates the load section of docs/BENCHMARKS.md.
load:
	@./scripts/load.sh

# Mixed sign-in, read, write and sign-out traffic from parallel clients
# against the reference app on bolt and on Redis, for SOAK_DURATION per
# store (default 2m); make test runs the same test for 3 seconds.
soak: deps
	@SESSIONGUARD_SOAK=$${SOAK_DURATION:-2m} $(GO) test -count=1 -run '^TestSoak$$' -v -timeout 60m ./demo
