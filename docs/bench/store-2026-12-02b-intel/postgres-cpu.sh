#!/usr/bin/env bash
# CPU seconds of PostgreSQL and of tact per run, store on PostgreSQL: old vs new binary.
cd /work/main
PG=postgres://tact@127.0.0.1:36200/bench
tick=$(getconf CLK_TCK)
pgcpu() { local t=0; for p in $(pgrep -u postgres); do s=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null); t=$((t + ${s:-0})); done; echo $t; }
for round in 1 2; do
  for store in pgold pg; do
    BIN=./target/release/tact; [ $store = pgold ] && BIN=/tmp/tact-old
    psql "$PG" -qc 'drop schema public cascade; create schema public' >/dev/null 2>&1
    $BIN serve --store "$PG" --listen 127.0.0.1:8099 > /dev/null 2>&1 &
    pid=$!
    for i in $(seq 120); do curl -sf http://127.0.0.1:8099/ready >/dev/null && break; sleep 0.5; done
    a=$(pgcpu); ta=$(awk '{print $14+$15}' /proc/$pid/stat)
    target/release/deps/serve_load-e3bea2a726181209 --url http://127.0.0.1:8099 --concurrency 32 --batch 0 --overload-factor --seconds 10 --authors 1000 > /tmp/pgcpu-$store-$round.txt 2>&1
    b=$(pgcpu); tb=$(awk '{print $14+$15}' /proc/$pid/stat)
    n=$(psql "$PG" -Atc 'select count(*) from decisions')
    kill $pid; wait $pid 2>/dev/null
    echo "$store round $round: decisions $n, postgres cpu $(echo "scale=2; ($b-$a)/$tick" | bc) s, tact cpu $(echo "scale=2; ($tb-$ta)/$tick" | bc) s; $(grep -E '^\| 32' /tmp/pgcpu-$store-$round.txt | cut -d'|' -f5)"
  done
done
