#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: every figure there comes from this script.
# Usage: bench/run.sh [scenario ...]   (default: all; results in bench/results/)
# Each scenario starts a fresh release server (fresh data dir, --rate-limit 0,
# since the bench's senders exceed a person's typing speed on purpose), runs
# `palaver bench` (bench/, the palaver-bench binary) against it from this
# same machine, and stops it; a failing step stops the server it started.
set -euo pipefail
# The load comes from one machine, many users at once: the per-address and
# per-user budgets meant for people are off here.
export PALAVER_REGISTRATIONS_PER_ADDRESS=0 PALAVER_MAX_CONNECTIONS_PER_USER=0 PALAVER_MAX_CONNECTIONS_PER_ADDRESS=0 PALAVER_REPLAY_RATE=0
cd "$(dirname "$0")/.."
# Both binaries, built where cargo puts them (CARGO_TARGET_DIR respected).
cargo build --release --quiet -p palaver -p palaver-bench
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/palaver
BENCH=$TARGET_DIR/release/palaver-bench
OUT=${OUT:-bench/results}
REPEAT=${REPEAT:-3}
mkdir -p "$OUT"

SERVER=
DATA=
start_server() {  # extra server flags...
    DATA=$(mktemp -d)
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BIN" --port "$PORT" --data-dir "$DATA" --rate-limit 0 "$@" >"$DATA/server.log" 2>&1 &
    SERVER=$!
    URL="http://127.0.0.1:$PORT"
    for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf "$URL/healthz" >/dev/null || { echo "the server did not start:" >&2; cat "$DATA/server.log" >&2; exit 1; }
}
stop_server() {  # keeps the server's log as $OUT/server-$1.log
    [ -n "$SERVER" ] || return 0
    kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
    cp "$DATA/server.log" "$OUT/server-$1.log" 2>/dev/null || true
    rm -rf "$DATA"
    SERVER= DATA=
}
# A step that fails leaves no server behind (its log: $OUT/server-failed.log).
trap 'stop_server failed' EXIT
bench() { "$BENCH" --url "$URL" --server-pid "$SERVER" --json "$@"; }

run_ramp() {
    for i in $(seq "$REPEAT"); do
        start_server
        bench ramp --rooms 4 --members 50 --senders 5 --rate 250 --factor 1.2 --max-steps 9 \
            --warmup 1s --duration 5s --slo-ms 100 --plot "$OUT/ramp-$i.svg" >"$OUT/ramp-$i.json"
        stop_server "ramp-$i"
    done
}
run_fanout500() {
    for i in $(seq "$REPEAT"); do
        start_server
        bench --users 200 fanout --rooms 4 --members 500 --senders 2 --rate 10 --warmup 2s --duration 10s >"$OUT/fanout500-$i.json"
        stop_server "fanout500-$i"
    done
}
run_slow() {
    for i in $(seq "$REPEAT"); do
        for stalled in 0 1; do
            start_server
            bench --users 100 fanout --rooms 1 --members 500 --senders 5 --rate 20 --stalled "$stalled" \
                --warmup 2s --duration 10s >"$OUT/slow-$stalled-$i.json"
            stop_server "slow-$stalled-$i"
        done
    done
}
run_stalled() {
    # One member per room that never reads: the server's RSS growth per such member.
    for i in $(seq "$REPEAT"); do
        start_server
        bench stalled --rooms 10 --members 3 --senders 1 --rate 50 --size 16384 \
            --warmup 1s --duration 15s >"$OUT/stalled-$i.json"
        stop_server "stalled-$i"
    done
}
run_connections() {
    # Pings every 10 s (instead of 30 s) so that the idle minute shows their cost.
    start_server --ping-interval 10s
    bench --users 100 connections --count "${CONNECTIONS:-19500}" --members 1000 --idle 60s >"$OUT/connections.json"
    stop_server connections
}
run_ingest() {
    for i in $(seq "$REPEAT"); do
        start_server
        bench ingest --rooms 100 --rate "${INGEST_RATE:-400}" --warmup 2s --duration 8s >"$OUT/ingest-$i.json"
        stop_server "ingest-$i"
    done
}
run_resume() {
    start_server
    bench resume --missed 10000 --repeat 5 >"$OUT/resume.json"
    stop_server resume
}
run_my_rooms() {
    # One user in 500 rooms: GET /users/me/rooms, one request at a time.
    for i in $(seq "$REPEAT"); do
        start_server
        bench my-rooms --rooms 500 --requests 200 >"$OUT/my_rooms-$i.json"
        stop_server "my_rooms-$i"
    done
}
run_mixed() {
    # Sends, edits, deletes and reaction toggles; every member's view must end as the history.
    for i in $(seq "$REPEAT"); do
        start_server
        bench mixed --rooms 4 --members 50 --senders 5 --rate 10 --warmup 2s --duration 10s >"$OUT/mixed-$i.json"
        stop_server "mixed-$i"
    done
}

for scenario in "${@:-ramp fanout500 slow stalled connections ingest resume my_rooms mixed}"; do
    for s in $scenario; do
        echo "== $s"
        "run_$s"
    done
done
echo "results in $OUT"
