#!/usr/bin/env bash
# The store benchmark of docs/benchmarks.md: seed a store with N incidents
# (once; later runs reuse it), then measure creates, lists, counts and search.
#
#   scripts/bench.sh                 # SQLite, 100,000 incidents / 1,000,000 timeline entries
#   BENCH_N=1000000 scripts/bench.sh # SQLite, 1,000,000 / 10,000,000 (about 10 min to seed, 5 GB)
#   BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/bench.sh
#                                    # also PostgreSQL, in a schema bench_N of that database
#   BENCH_INTAKE_DURATION=10s scripts/bench.sh   # shorter intake runs (default 60s each)
#   BENCH_TAXII_OBJECTS=1000000 scripts/bench.sh  # the TAXII import/read run (default 200,000 objects)
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_N:-100000}"
DIR="${BENCH_DIR:-${TMPDIR:-/tmp}/vigil-bench-$N}"
RATES="${BENCH_RATES:-250,1000,2000}"
go build -trimpath -o bin/vigil ./cmd/vigil

if [ ! -f "$DIR/vigil.db" ]; then
	echo "seeding $N incidents into $DIR"
	bin/vigil seed -data "$DIR" -incidents "$N" -timeline 10 || { rm -rf "$DIR"; exit 1; }
fi
bin/vigil bench store -data "$DIR" -rates "$RATES"
bin/vigil bench pages -data "$DIR"
# Intake: its own fresh store and server, 32 clients, 90 % repeats of 1,000 open alerts.
INTAKE="${BENCH_INTAKE_DURATION:-60s}"
bin/vigil bench intake -duration "$INTAKE" -batch 1,100
bin/vigil bench taxii -objects "${BENCH_TAXII_OBJECTS:-200000}"
bin/vigil bench ioc -alerts "${BENCH_IOC_ALERTS:-100000}" -indicators "${BENCH_IOC_INDICATORS:-100000}"

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
	bin/vigil bench store -database "$url" -rates "$RATES"
	bin/vigil bench pages -database "$url"
	ischema="bench_intake_$$"
	psql "$BENCH_POSTGRES" -qc "CREATE SCHEMA $ischema"
	bin/vigil bench intake -duration "$INTAKE" -batch 1,100 -database "$BENCH_POSTGRES${sep}search_path=$ischema" || true
	psql "$BENCH_POSTGRES" -qc "DROP SCHEMA $ischema CASCADE"
	tschema="bench_taxii_$$"
	psql "$BENCH_POSTGRES" -qc "CREATE SCHEMA $tschema"
	bin/vigil bench taxii -objects "${BENCH_TAXII_OBJECTS:-200000}" -database "$BENCH_POSTGRES${sep}search_path=$tschema" || true
	psql "$BENCH_POSTGRES" -qc "DROP SCHEMA $tschema CASCADE"
fi
