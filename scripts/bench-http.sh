#!/usr/bin/env bash
# The HTTP benchmark of docs/benchmarks.md: seed a store with N incidents
# (once; later runs reuse it, as scripts/bench.sh does), then drive a real
# "vigil serve" on it with wrk at 1, 8 and 32 clients as a seeded responder.
#
#   scripts/bench-http.sh                  # SQLite, 100,000 incidents
#   BENCH_N=1000000 scripts/bench-http.sh  # SQLite, 1,000,000 (about 10 min to seed)
#   BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/bench-http.sh
#                                          # also PostgreSQL, in a schema bench_N of that database
#   BENCH_DURATION=30s scripts/bench-http.sh   # longer runs (default 10s each)
#   BENCH_ONLY='search|create' scripts/bench-http.sh   # some scenarios only
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
	echo "installing wrk (Debian's package)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
N="${BENCH_N:-100000}"
DIR="${BENCH_DIR:-${TMPDIR:-/tmp}/vigil-bench-$N}"
ARGS=(-duration "${BENCH_DURATION:-10s}" -clients "${BENCH_CLIENTS:-1,8,32}")
if [ -n "${BENCH_ONLY:-}" ]; then ARGS+=(-only "$BENCH_ONLY"); fi
go build -trimpath -o bin/vigil ./cmd/vigil

if [ ! -f "$DIR/vigil.db" ]; then
	echo "seeding $N incidents into $DIR"
	bin/vigil seed -data "$DIR" -incidents "$N" -timeline 10 || { rm -rf "$DIR"; exit 1; }
fi
echo "== SQLite, $N incidents ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
bin/vigil bench http -data "$DIR" "${ARGS[@]}"

if [ -n "${BENCH_POSTGRES:-}" ]; then
	schema="bench_$N"
	sep='?'; case "$BENCH_POSTGRES" in *\?*) sep='&';; esac
	url="$BENCH_POSTGRES${sep}search_path=$schema"
	if ! psql "$BENCH_POSTGRES" -tAc "SELECT 1 FROM information_schema.schemata WHERE schema_name = '$schema'" | grep -q 1; then
		echo "seeding $N incidents into PostgreSQL schema $schema"
		psql "$BENCH_POSTGRES" -qc "CREATE SCHEMA $schema"
		bin/vigil seed -database "$url" -incidents "$N" -timeline 10 ||
			{ psql "$BENCH_POSTGRES" -qc "DROP SCHEMA $schema CASCADE"; exit 1; }
	fi
	echo "== PostgreSQL, $N incidents (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	# The evidence folder of the instance: a scratch one.
	scratch=$(mktemp -d)
	bin/vigil bench http -database "$url" -data "$scratch" "${ARGS[@]}"
	rm -rf "$scratch"
fi
