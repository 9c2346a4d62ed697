#!/usr/bin/env bash
# Interleaved rounds of serve_load at 32 clients: store off, SQLite, PostgreSQL before/after.
cd /work/main
PG=postgres://tact@127.0.0.1:36200/bench
for round in 1 2 3; do
  for store in off sqlite pgold pg; do
    BIN=./target/release/tact
    case $store in
      off) arg=off;; sqlite) rm -f /tmp/bench.db*; arg=sqlite:/tmp/bench.db;;
      pg|pgold) psql "$PG" -qc 'drop schema public cascade; create schema public' >/dev/null 2>&1; arg=$PG;;
    esac
    [ $store = pgold ] && BIN=/tmp/tact-old
    $BIN serve --store "$arg" --listen 127.0.0.1:8099 > /tmp/sb3-serve-$store-$round.log 2>&1 &
    pid=$!
    for i in $(seq 120); do curl -sf http://127.0.0.1:8099/ready >/dev/null && break; sleep 0.5; done
    target/release/deps/serve_load-e3bea2a726181209 --url http://127.0.0.1:8099 --concurrency 32 --batch 0 --overload-factor --seconds 10 --authors 1000 > /tmp/sb3-$store-$round.txt 2>&1
    curl -s http://127.0.0.1:8099/metrics | grep -E 'tact_store_duration_seconds_(sum|count)\{op="record"' > /tmp/sb3-metrics-$store-$round.txt
    kill $pid; wait $pid 2>/dev/null
    echo "round $round $store: $(grep -E '^\| 32' /tmp/sb3-$store-$round.txt)"
  done
done
