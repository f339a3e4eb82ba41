# sessionguard: make test runs everything CI runs. See README.md.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Every module of the repository, however deep (scripts/modules.sh finds
# every go.mod): ./... stops at module boundaries, so each is run in its own
# directory. Each runs with GOWORK=off, as its users will build it: its own
# go.mod, with replace directives to the repository's other modules.
MODULES := $(shell ./scripts/modules.sh)
EACH = GOWORK=off; export GOWORK; for m in $(MODULES); do

.PHONY: test modules deps fmt-check vet lint fuzz fuzz-short bench load soak

test: modules deps fmt-check lint
	@$(EACH) \
		echo "== go test -race $$m/..."; \
		(cd $$m && $(GO) test -race -count=1 -timeout 20m ./...) || exit 1; \
	done
	@$(MAKE) --no-print-directory fuzz-short

# Fails when a go.mod in the tree is missing from go.work (or the reverse),
# or requires a module of the repository without a replace directive.
modules:
	@./scripts/check-modules.sh

deps:
	@./scripts/test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# go vet checks each module against its go directive (stdversion): the core
# module's is Go 1.25.
vet:
	@$(EACH) (cd $$m && $(GO) vet ./...) || exit 1; done

lint: vet
	@$(EACH) (cd $$m && $(STATICCHECK) ./...) || exit 1; done

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
	@cd cmd/sessionguard && SESSIONGUARD_SOAK=$${SOAK_DURATION:-2m} \
		$(GO) test -count=1 -run '^TestSoak$$' -v -timeout 60m ./internal/app
