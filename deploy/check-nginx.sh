#!/usr/bin/env bash
# Runs deploy/nginx.conf for real: two palaver nodes on PostgreSQL + Redis
# behind nginx on loopback, then `palaver bench` (the palaver-bench binary)
# through nginx, which fails on any lost, duplicated or reordered message.
set -euo pipefail
# The load comes from one machine, many users at once: the per-address and
# per-user budgets meant for people are off here.
export PALAVER_REGISTRATIONS_PER_ADDRESS=0 PALAVER_MAX_CONNECTIONS_PER_USER=0 PALAVER_MAX_CONNECTIONS_PER_ADDRESS=0 PALAVER_REPLAY_RATE=0
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# Both binaries, built where cargo puts them (CARGO_TARGET_DIR respected).
cargo build --release --quiet -p palaver -p palaver-bench
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/palaver
BENCH=$TARGET_DIR/release/palaver-bench
WORK=$(mktemp -d)
SCHEMA="palaver_t_nginx_$$"
psql "$PG_URL" -qc "CREATE SCHEMA $SCHEMA"
DB_URL="$PG_URL?options=-c%20search_path%3D$SCHEMA"
export PALAVER_JWT_SECRET="nginx-check-secret-0123456789-0123456789"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port); PN=$(free_port)
for port in "$P1" "$P2"; do
    mkdir -p "$WORK/node-$port"
    "$BIN" --port "$port" --data-dir "$WORK/node-$port" --database-url "$DB_URL" \
        --bus "$REDIS_URL" --cluster "nginx-check-$$" --rate-limit 0 --trusted-proxy 127.0.0.1 >"$WORK/node-$port.log" 2>&1 &
    pids+=($!)
done
for port in "$P1" "$P2"; do
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "node on $port did not start" >&2; cat "$WORK/node-$port.log" >&2; exit 1; }
done
sed -e "s/127.0.0.1:8001/127.0.0.1:$P1/; s/127.0.0.1:8002/127.0.0.1:$P2/; s/127.0.0.1:8080/127.0.0.1:$PN/" \
    deploy/nginx.conf >"$WORK/nginx.conf"
cat >>"$WORK/nginx.conf" <<CONF
pid $WORK/nginx.pid;
error_log $WORK/error.log;
CONF
sed -i "s|^http {|http {\n    access_log off;\n    client_body_temp_path $WORK; proxy_temp_path $WORK;\n    fastcgi_temp_path $WORK; uwsgi_temp_path $WORK; scgi_temp_path $WORK;|" "$WORK/nginx.conf"
"$NGINX" -t -c "$WORK/nginx.conf" -p "$WORK" 2>&1 | tail -1
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PN/healthz" >/dev/null && break; sleep 0.2; done

out=$("$BENCH" --url "http://127.0.0.1:$PN" --users 6 --json fanout \
        --rooms 2 --members 6 --senders 2 --rate 50 --warmup 500ms --duration 3s)
echo "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])["result"]
bad = {k: r[k] for k in ("lost", "duplicates", "out_of_order") if r[k]}
expected = r["sent"] * r["members"]
if bad or r["delivered"] != expected:
    sys.exit(f"nginx check failed: {bad}, delivered {r['delivered']} of {expected}")
print(f"nginx check: 1 passed, 0 failed ({r['delivered']} deliveries through nginx to 2 nodes, p99 {r['latency']['p99_ms']} ms)")
PY
