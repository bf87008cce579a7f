# Vigil. "make test" is the whole test suite; .ci/run calls exactly it.
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test run build bench bench-http fuzz

# gofmt, vet, staticcheck, and every test with the race detector, on SQLite
# and, when VIGIL_TEST_POSTGRES_URL is set, PostgreSQL (CI sets it and
# VIGIL_CI=1, which turns a missing server into a failure).
test: tools/axe/node_modules/axe-core/axe.min.js
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -race -timeout 30m ./...

# axe-core for the accessibility check of the browser tests, pinned by
# tools/axe/package-lock.json. Without npm the check is skipped (and fails
# under VIGIL_CI=1).
tools/axe/node_modules/axe-core/axe.min.js: tools/axe/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tools/axe --no-audit --no-fund --silent; else echo "npm not found: the accessibility check will be skipped"; fi

# The server on the embedded SQLite store in ./vigil-data.
run:
	$(GO) run ./cmd/vigil serve

build:
	$(GO) build -trimpath -o bin/vigil ./cmd/vigil

# The store benchmark (seeds once, then measures); see docs/benchmarks.md.
# BENCH_N=1000000 for the large store, BENCH_POSTGRES=postgres://… for PostgreSQL too.
bench:
	scripts/bench.sh

# What users meet: a real vigil serve on a seeded store, driven over HTTP by
# wrk at 1, 8 and 32 clients as a responder; see docs/benchmarks.md.
# BENCH_N, BENCH_POSTGRES and BENCH_DURATION (default 10s a run) as above.
bench-http:
	scripts/bench-http.sh

# Run each fuzzer for a while (the seed corpora also run in "make test").
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizeObservable$$' -fuzztime=$(FUZZTIME) .
	$(GO) test -run='^$$' -fuzz='^FuzzParseObservableLines$$' -fuzztime=$(FUZZTIME) .
	$(GO) test -run='^$$' -fuzz='^FuzzExtractObservables$$' -fuzztime=$(FUZZTIME) .
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeIncident$$' -fuzztime=$(FUZZTIME) ./http
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./intake
	$(GO) test -run='^$$' -fuzz='^FuzzJSONDepth$$' -fuzztime=$(FUZZTIME) ./intake
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./intake/email
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./duty
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./plan
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./evidence
	$(GO) test -run='^$$' -fuzz='^FuzzHighlight$$' -fuzztime=$(FUZZTIME) ./internal/sqlstore
